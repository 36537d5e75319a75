"""The claims table: each claim about generators and hands, the metric that tests it, the values,
and whether it holds — decided by a 95% bootstrap interval — and, beside the judge's verdict, the
raters' (people who looked at 1,248 of the project's pictures; bench.raters_claims).

    python -m bench.claims [--results results/benchmark.json] [--out results]

`python -m bench` measures the claims and writes the table with the rest of the benchmark. This command
decides them again from the last benchmark's measurements and the rater set, without generating anything:
it writes the claims back into benchmark.json (the app reads them there) and benchmark.md, and writes
OUT/claims.json (with every setting's rater means) and OUT/claims.md. The human-feedback row and the report's
"Human feedback" section come from results/feedback_eval.json and feedback_confirm.json (--feedback, --feedback-confirm;
bench.feedback_report), read, not rerun.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from bench import distill_claim, feedback_report
from bench.raters_claims import NOT_RATED, Comparison, RaterClaim, Side, attach, both_verdicts, number, per_source, pictures
from bench.stats import diff_ci, paired_diff_ci, verdict
from core.settings import REPO_ROOT
from models.registry import Registry

FEW_STEPS_MARGIN = 3.0  # Hand Score points (of 100) a few sampling steps may lose against the most steps


def _fmt(x: float, digits: int = 1) -> str:
    return "nan" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _combine(verdicts: list[str]) -> str:
    if not verdicts or "not measured" in verdicts:
        return "not measured"
    if all(v == "holds" for v in verdicts):
        return "holds"
    if any(v == "does not hold" for v in verdicts):
        return "does not hold"
    return "inconclusive"


def _row(claim: str, metric: str, values: str, verdict_: str) -> dict:
    return {"claim": claim, "metric": metric, "values": values, "verdict": verdict_}


def _versus(claim: str, metric: str, key: str, best: dict, others: list[dict], higher: bool, scale: float = 1.0) -> dict:
    """`best` beats every one of `others` on `key` (a per-image list), each by a CI-backed margin."""
    parts, verdicts = [], []
    for other in others:
        d, lo, hi = diff_ci(best[key], other[key])
        verdicts.append(verdict(lo, hi, expect_positive=higher))
        parts.append(f"{best['family']}−{other['family']} {_fmt(d * scale, 2)} [{_fmt(lo * scale, 2)}, {_fmt(hi * scale, 2)}]")
    return _row(claim, metric, "; ".join(parts), _combine(verdicts))


def _loss_cv(registry: Registry, family: str, column_hint: str) -> float | None:
    """Coefficient of variation of a logged loss over the second half of training."""
    path = registry.weights_root / family / "full" / "train_log.csv"
    if not path.exists():
        return None
    with open(path) as f:
        rows = list(csv.DictReader(f))
    cols = [c for c in (rows[0].keys() if rows else []) if column_hint in c]
    if not rows or not cols:
        return None
    values = np.array([float(r[cols[0]]) for r in rows[len(rows) // 2:] if r[cols[0]] not in ("", None)])
    return float(values.std() / (abs(values.mean()) + 1e-9)) if len(values) > 2 else None


def _few_steps_row(sweep: list[dict], app_steps: int | None, margin: float = FEW_STEPS_MARGIN) -> dict | None:
    """A few sampling steps lose at most `margin` Hand Score points against the most steps swept.

    The sweep draws the same prompts and seeds at every step count, so images are compared in pairs.
    """
    few = [m for m in sweep if m["steps"] <= 10]
    if not few or max(m["steps"] for m in sweep) <= 10:
        return None
    many = max(sweep, key=lambda m: m["steps"])
    pick = next((m for m in few if m["steps"] == app_steps), few[-1])
    d, lo, hi = paired_diff_ci(pick["_scores"], many["_scores"])
    holds = "holds" if lo > -margin else ("does not hold" if hi < -margin else "inconclusive")
    speedup = many["latency_median_s"] / max(pick["latency_median_s"], 1e-9)
    return _row(f"Few steps are enough: {pick['steps']} steps within {margin:g} points of {many['steps']}",
                f"Hand Score, {pick['steps']} − {many['steps']} steps, same prompts and seeds (paired)",
                f"{_fmt(d)} [{_fmt(lo)}, {_fmt(hi)}]; {speedup:.0f}x faster per image", holds)


def _guidance_row(scales: list[dict], app_guidance: float | None) -> dict | None:
    """Fingers right at the app's guidance vs guidance 0 (the prompt ignored), same seeds: does
    the prompt steer the hand? None unless both were measured."""
    by = {m["guidance"]: m for m in scales}
    if 0.0 not in by or len(by) < 2:
        return None
    default = by.get(app_guidance) or by[max(by)]
    d, lo, hi = paired_diff_ci(default["_correct"], by[0.0]["_correct"])
    return _row("Diffusion is text-guided", f"fingers right at guidance {default['guidance']:g} vs 0 (prompt ignored), "
                "same prompts and seeds (paired, percentage points)",
                f"{_fmt(100 * d)} [{_fmt(100 * lo)}, {_fmt(100 * hi)}]", verdict(lo, hi))


def evaluate(results: dict, registry: Registry) -> list[dict]:
    """Every claim the results can test, in the table's order: the architectures, data, compute, what makes hands
    hard, then human feedback (from results/feedback_eval.json, when there is one); each with the raters' verdict
    beside the judge's (RATER_CLAIMS)."""
    full = {b["family"]: b for b in results["backends"] if b["variant"] == "full"}
    scarce = {b["family"]: b for b in results["backends"] if b["variant"] == "scarce"}
    equal = {row["family"]: row for row in results.get("equal_training") or []}
    rows = (_architecture_rows(full, registry) + _data_rows(full, scarce, equal, registry)
            + _compute_rows(results, full, equal, registry) + _difficulty_rows(full, results.get("renders")))
    return attach(with_file_rows(rows, feedback_report.load()), RATER_CLAIMS)


def with_file_rows(rows: list[dict], evaluation: dict | None) -> list[dict]:
    """`rows` with the claims read from files other commands measured: distillation (results/distill.json), then
    human feedback (`evaluation`, bench.feedback's file)."""
    return feedback_report.with_claim(distill_claim.with_claim(rows, distill_claim.load()), evaluation)


def _architecture_rows(full: dict, registry: Registry) -> list[dict]:
    """The articles' claims about the three families: blur, best hands, prompt, collapse, speed, stability."""
    rows: list[dict] = []
    vae, gan, diff = full.get("vae"), full.get("gan"), full.get("diffusion")
    if not (vae and gan and diff):
        return rows
    rows.append(_versus("VAEs are blurry (the blurriest of the three)", "sharpness relative to clean renders, per image",
                        "_sharpness", vae, [gan, diff], higher=False))
    rows.append(_versus("Diffusion draws the best hands", "Hand Score (0-100), per image", "_scores", diff, [vae, gan],
                        higher=True))
    rows.append(_versus("Diffusion follows the prompt best", "extended fingers match the prompt, per image",
                        "_correct", diff, [vae, gan], higher=True, scale=100))
    rows.append(_versus("GANs are the least diverse (mode collapse)", "diversity within a prompt, per prompt",
                        "_diversity", gan, [vae, diff], higher=False))
    rows.append(_versus("GANs collapse: one prompt, the same hand whatever the seed",
                        "near-duplicate pairs within a prompt (closer than 99% of clean-render pairs), per prompt",
                        "_duplicates", gan, [vae, diff], higher=True, scale=100))
    rows.append(_versus("Diffusion is slow (sequential denoising)", "latency of one image, per call (s)",
                        "_latencies", diff, [vae, gan], higher=True))
    ratio = diff["latency_median_s"] / max(gan["latency_median_s"], 1e-9)
    rows[-1]["values"] += f"; diffusion/GAN latency ratio {ratio:.0f}x"
    cv_gan, cv_diff = _loss_cv(registry, "gan", "g_"), _loss_cv(registry, "diffusion", "loss")
    if cv_gan is not None and cv_diff is not None:
        rows.append(_row("GAN training is unstable; diffusion training is stable",
                         "variation (std/mean) of the logged loss over the 2nd half of training",
                         f"GAN generator loss {cv_gan:.2f} vs diffusion loss {cv_diff:.2f} (one run each, no CI)",
                         "holds" if cv_gan > cv_diff else "does not hold"))
    return rows


def _data_rows(full: dict, scarce: dict, equal: dict, registry: Registry) -> list[dict]:
    """Scarce data: worse hands, and more repetition (at equal training steps where a snapshot allows)."""
    rows: list[dict] = []
    for family, small in scarce.items():
        if family in equal:  # the full run's snapshot at the scarce run's step: data is the only difference
            d, lo, hi = diff_ci(equal[family]["full"]["_scores"], small["_scores"])
            rows.append(_row(f"Scarce data hurts hands ({family})", "Hand Score: 20,000 vs 1,000 training images",
                             f"full−scarce {_fmt(d)} [{_fmt(lo)}, {_fmt(hi)}]; both at {equal[family]['steps']} training steps "
                             "(full: its snapshot there)", verdict(lo, hi)))
        elif family in full:
            d, lo, hi = diff_ci(full[family]["_scores"], small["_scores"])
            steps = {v: registry.trained_steps(family, v) for v in ("full", "scarce")}
            note = "same training steps" if steps["full"] == steps["scarce"] else (
                f"NB unequal training: {steps['full']} vs {steps['scarce']} steps")
            rows.append(_row(f"Scarce data hurts hands ({family})", "Hand Score: 20,000 vs 1,000 training images",
                             f"full−scarce {_fmt(d)} [{_fmt(lo)}, {_fmt(hi)}]; {note}", verdict(lo, hi)))
    for family, small in scarce.items():  # the same comparison on repetition: memorising 1,000 hands
        big = equal[family]["full"] if family in equal else full.get(family)
        if big is not None and big.get("_duplicates") and small.get("_duplicates"):
            d, lo, hi = diff_ci(small["_duplicates"], big["_duplicates"])
            rows.append(_row(f"Scarce data makes a generator repeat itself ({family})",
                             "near-duplicate pairs within a prompt, scarce − full (percentage points, per prompt)",
                             f"{_fmt(100 * d)} [{_fmt(100 * lo)}, {_fmt(100 * hi)}]", verdict(lo, hi)))
    return rows


def _compute_rows(results: dict, full: dict, equal: dict, registry: Registry) -> list[dict]:
    """Compute at sampling (steps, guidance) and in training (snapshots, the same run earlier)."""
    rows: list[dict] = []
    sweep = results.get("sweep") or []
    if len(sweep) >= 2:
        lo_s, hi_s = sweep[0], sweep[-1]
        d, lo, hi = paired_diff_ci(hi_s["_scores"], lo_s["_scores"])
        rows.append(_row("More compute at sampling helps (diffusion steps)",
                         f"Hand Score at {hi_s['steps']} vs {lo_s['steps']} steps, same prompts and seeds (paired)",
                         f"{_fmt(d)} [{_fmt(lo)}, {_fmt(hi)}]", verdict(lo, hi)))
    guided = _guidance_row(results.get("guidance") or [], results.get("speed", {}).get("guidance"))
    if guided:
        rows.append(guided)
    fast = _few_steps_row(sweep, results.get("speed", {}).get("diffusion_steps"))
    if fast:
        rows.append(fast)
    snaps = results.get("snapshots") or []
    if len(snaps) >= 2:
        first, last = snaps[0], snaps[-1]
        rows.append(_row("More training compute helps (GAN snapshots)", "Hand Score, first vs last snapshot",
                         f"{first['snapshot']} {_fmt(first['hand_score'])} → {last['snapshot']} {_fmt(last['hand_score'])} "
                         "(one run, no CI)", "holds" if last["hand_score"] > first["hand_score"] else "does not hold"))
    for family, row in equal.items():  # the same run earlier and now, same prompts and seeds: training compute
        if family in full and registry.trained_steps(family, "full") != row["steps"]:
            d, lo, hi = paired_diff_ci(full[family]["_scores"], row["full"]["_scores"])
            rows.append(_row(f"More training compute helps ({family})",
                             f"Hand Score at {registry.trained_steps(family, 'full'):,} vs {row['steps']:,} training steps "
                             "(same run, same prompts and seeds, paired)",
                             f"{_fmt(d)} [{_fmt(lo)}, {_fmt(hi)}]", verdict(lo, hi)))
    return rows


def _difficulty_rows(full: dict, renders: dict | None) -> list[dict]:
    """Why hands are hard: occlusion, a hand that looks right but is wrong, no margin for error."""
    rows: list[dict] = []
    for name, b in full.items():
        d, lo, hi = diff_ci(b["_open_scores"], b["_occluded_scores"])
        rows.append(_row(f"Occlusion makes hands harder ({name})", "Hand Score: open-finger prompts − fists/held objects",
                         f"{_fmt(d)} [{_fmt(lo)}, {_fmt(hi)}]", verdict(lo, hi)))
    for name, b in full.items():
        found = np.ones(b["n_images"]) * 0.0
        found[: int(round(b["hand_found_rate"] * b["n_images"]))] = 1.0
        d, lo, hi = diff_ci(found, b["_correct"])
        rows.append(_row(f"A hand can look like a hand and still be wrong ({name})",
                         "hand found (MediaPipe/silhouette) − fingers right, per image",
                         f"{_fmt(100 * d)} points [{_fmt(100 * lo)}, {_fmt(100 * hi)}]", verdict(lo, hi)))
    if renders:
        for name, b in full.items():
            rows.append(_row(f"Little tolerance for error: generated vs rendered hands ({name})",
                             "malformation rate (extra/missing/fused/long finger, joint past limit)",
                             f"{100 * b['malformation_rate']:.0f}% vs renders {100 * renders['malformation_rate']:.0f}%",
                             "holds" if b["malformation_rate"] > renders["malformation_rate"] else "does not hold"))
    return rows


# ---- the same claims by the raters' eyes (bench.raters_claims; the settings as judge/fit/raters/ names them) ----

APP = "diffusion/full steps=10"  # the app's diffusion: 10 DPM-Solver++ steps, guidance 2.5
FAMILY_SOURCES = {"vae": "vae/full", "gan": "gan/full", "diffusion": APP}  # each family's shipped model
DIFFUSION_STEPS = tuple(Side(f"{n} steps", f"diffusion/full steps={n}") for n in (2, 4)) + (
    Side("10 steps", APP), Side("50 steps (DDPM)", "diffusion/full steps=50 sampler=ddpm"))
GUIDANCE = (Side("guidance 0", "diffusion/full steps=10 guidance=0.0", "fingers"), Side("guidance 2.5", APP, "fingers"),
            Side("guidance 7.5", "diffusion/full steps=10 guidance=7.5", "fingers"))
GAN_SNAPSHOTS = tuple(Side(f"step {n:,}", f"gan/full@step-{n:06d}") for n in (1600, 3200, 4800)) + (
    Side("fully trained", "gan/full"),)


def _best_family(measure: str) -> Comparison:
    return Comparison(Side("diffusion", APP, measure), (Side("VAE", FAMILY_SOURCES["vae"], measure),
                                                   Side("GAN", FAMILY_SOURCES["gan"], measure)))


def _scarce(family: str, same_steps: int | None) -> RaterClaim:
    """Full vs scarce data; at `same_steps` training steps where the raters saw the full run's snapshot there (the
    judge's row compares those too), with the longer-trained full model said beside it."""
    sampled = " steps=10" if family == "diffusion" else ""  # the app's steps, as the rater set names them
    scarce = Side("scarce", f"{family}/scarce{sampled}")
    longer = Comparison(Side("full data", FAMILY_SOURCES[family]), (scarce,))
    if same_steps is None:
        return RaterClaim(f"Scarce data hurts hands ({family})", longer)
    snapshot = Side(f"full data at {same_steps:,} steps", f"{family}/full@step-{same_steps:06d}{sampled}")
    return RaterClaim(f"Scarce data hurts hands ({family})", Comparison(snapshot, (scarce,)),
                      also=(("trained longer on full data", longer),))


def _per_family(family: str) -> tuple[RaterClaim, ...]:
    """What makes hands hard, by eye, for one family's shipped model."""
    source = FAMILY_SOURCES[family]
    return (RaterClaim(f"Occlusion makes hands harder ({family})",
                       Comparison(Side("open fingers", source, group="open"), (Side("fists, held objects", source, group="occluded"),))),
            RaterClaim(f"A hand can look like a hand and still be wrong ({family})",
                       Comparison(Side("a hand", source, "hand"), (Side("fingers right", source, "fingers"),))),
            RaterClaim(f"Little tolerance for error: generated vs rendered hands ({family})",
                       Comparison(Side("generated", source, "wrong"), (Side("clean renders", "render", "wrong"),))))


RATER_CLAIMS: tuple[RaterClaim, ...] = (
    RaterClaim("Diffusion draws the best hands", _best_family("quality")),
    RaterClaim("Diffusion follows the prompt best", _best_family("fingers")),
    _scarce("vae", None),
    _scarce("gan", 1600),  # the scarce runs' training steps (models/weights/*/scarce/training.json)
    _scarce("diffusion", 3274),
    RaterClaim("More compute at sampling helps (diffusion steps)", Comparison(DIFFUSION_STEPS[-1], (DIFFUSION_STEPS[0],)),
               series=DIFFUSION_STEPS),
    RaterClaim("Diffusion is text-guided", Comparison(GUIDANCE[1], (GUIDANCE[0],)), series=GUIDANCE),
    RaterClaim("Few steps are enough:", Comparison(DIFFUSION_STEPS[2], (DIFFUSION_STEPS[3],),
                                             margin=4 * FEW_STEPS_MARGIN / 100)),  # the same share of the 1-5 scale
    RaterClaim("The app's sampler (DPM-Solver++) draws better hands than DDIM",
               Comparison(Side("DPM-Solver++", APP), (Side("DDIM", "diffusion/full steps=10 sampler=ddim"),)),
               metric="raters' quality, 10 steps each (the judge's benchmark does not compare samplers)"),
    RaterClaim("More training compute helps (GAN snapshots)", Comparison(GAN_SNAPSHOTS[-1], (GAN_SNAPSHOTS[0],)),
               series=GAN_SNAPSHOTS),
    RaterClaim("More training compute helps (gan)", Comparison(GAN_SNAPSHOTS[-1], (GAN_SNAPSHOTS[0],))),
    RaterClaim("More training compute helps (diffusion)",
               Comparison(Side("fully trained", APP), (Side("step 3,274", "diffusion/full@step-003274 steps=10"),))),
) + tuple(c for family in FAMILY_SOURCES for c in _per_family(family))


# ---- the table, written --------------------------------------------------------------------------------------

def markdown_table(rows: list[dict]) -> str:
    """The claims as a markdown table; where the judge and the raters disagree the verdict says both."""
    lines = ["| claim | measured by | values | verdict | by the raters' eyes |", "|---|---|---|---|---|"]
    lines += [f"| {c['claim']} | {c['metric']} | {c['values'] or '–'} | **{both_verdicts(c)}** | {c.get('raters', NOT_RATED)} |"
              for c in rows]
    return "\n".join(lines)


def sources_markdown(sources: dict[str, dict]) -> str:
    """Every rated setting: pictures, and the raters' means with the range each likely lies in."""
    def cell(measure: str, triple) -> str:
        mean, lo, hi = triple
        return "–" if not np.isfinite(mean) else f"{number(measure, mean)} ({number(measure, lo)}–{number(measure, hi)})"

    lines = ["| setting | pictures | quality out of 5 | hands | fingers right |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {s['n']} | {cell('quality', s['quality'])} | {cell('hand', s['hand'])} | "
              f"{cell('fingers', s['fingers'])} |" for name, s in sources.items()]
    return "\n".join(lines)


def write_files(rows: list[dict], out: Path, judge_run: dict) -> None:
    """OUT/claims.json and OUT/claims.md: the table, and every rated setting's means."""
    sources = per_source(pictures())
    run = f"`python -m bench` of {judge_run.get('date', '?')}{' (quick run)' if judge_run.get('quick') else ''}"
    (out / "claims.json").write_text(json.dumps({"judge_run": judge_run, "raters_per_source": sources, "claims": rows},
                                                indent=1) + "\n")
    (out / "claims.md").write_text("\n".join([
        "# The claims, by the judge and by the raters' eyes", "",
        f"The judge's columns: {run}. The raters' column: 1,248 of the project's pictures, rated blind by people "
        "(judge/fit/raters/). Each ± is how far a difference may be off: in 95 of 100 bootstrap resamples it stays "
        "within. Where the judge and the raters disagree, the verdict says both. Rebuilt by `python -m bench.claims`.", "",
        markdown_table(rows), "", "## Every rated setting, by the raters' eyes", "",
        "Means, with the range each likely lies in. Fingers right: a hand with the number of extended fingers the "
        "prompt asks for.", "", sources_markdown(sources), ""]))


def _replace_section(markdown: str, heading: str, body: str) -> str:
    """`markdown` with the section under `heading` (up to the next '## ') replaced by `body`."""
    start = markdown.index(heading) + len(heading)
    end = markdown.find("\n## ", start)
    return markdown[:start] + "\n\n" + body + "\n" + (markdown[end:] if end >= 0 else "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The claims table again, from the last benchmark and the rater set.")
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "results" / "benchmark.json")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results")
    parser.add_argument("--feedback", type=Path, default=feedback_report.FEEDBACK_EVAL,
                        help="bench.feedback's evaluation: the human-feedback row and the report's section")
    parser.add_argument("--feedback-confirm", type=Path, default=feedback_report.FEEDBACK_CONFIRM,
                        help="its confirmation set (bench.feedback --confirm): the claim rests on it when it measured the same weights")
    args = parser.parse_args(argv)
    evaluation = feedback_report.load(args.feedback, args.feedback_confirm)
    try:
        results = json.loads(args.results.read_text())
        rows = attach(with_file_rows(results["claims"], evaluation), RATER_CLAIMS)
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"error: cannot read the benchmark's claims in {args.results}: {err}", file=sys.stderr)
        return 2
    results["claims"] = rows
    args.results.write_text(json.dumps(results, indent=1) + "\n")
    report = args.results.with_suffix(".md")
    if report.exists() and "## The claims" in report.read_text():
        markdown = _replace_section(report.read_text(), "## The claims", markdown_table(rows))
        report.write_text(feedback_report.upsert(markdown, feedback_report.section(evaluation)))
    args.out.mkdir(parents=True, exist_ok=True)
    write_files(rows, args.out, {"date": results.get("date"), "quick": results.get("quick")})
    print(json.dumps({c["claim"]: both_verdicts(c) for c in rows}, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
