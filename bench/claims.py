"""The claims table: each claim about generators and hands, the metric that tests it, the values,
and whether it holds — decided by a 95% bootstrap interval, not by eye."""

from __future__ import annotations

import csv

import numpy as np

from bench.stats import diff_ci, paired_diff_ci, verdict
from models.registry import Registry


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


def _few_steps_row(sweep: list[dict], app_steps: int | None, margin: float = 3.0) -> dict | None:
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
    """Every claim the results can test, in the table's order: the architectures, data, compute, then
    what makes hands hard."""
    full = {b["family"]: b for b in results["backends"] if b["variant"] == "full"}
    scarce = {b["family"]: b for b in results["backends"] if b["variant"] == "scarce"}
    equal = {row["family"]: row for row in results.get("equal_training") or []}
    return (_architecture_rows(full, registry) + _data_rows(full, scarce, equal, registry)
            + _compute_rows(results, full, equal, registry) + _difficulty_rows(full, results.get("renders")))


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
