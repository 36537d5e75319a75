"""Did learning from feedback help? A fine-tuned variant against diffusion/full on held-out seeds fixed before any training.

    python -m bench.feedback                                         # the shipped diffusion/feedback
    python -m bench.feedback --path runs/diffusion-feedback-raters-dpo-shuffled/best --out results/feedback_eval_placebo.json
    python -m bench.feedback --record                                # also into its training.json and model card
    python -m bench.feedback --confirm --record                      # once, for the variant chosen: feedback_confirm.json

The held-out set is fixed here, in code, before any training (issue 17, part 4): the 14 benchmark prompts x
PER_PROMPT = 15 pictures; prompt k is drawn from seed EVAL_SEED + k = 900,000 + k and picture i from its own noise
(seed, index), as in the app, so picture i of both models starts from the same noise and every difference is paired.
Seeds from 900,000 are no one else's: the benchmark draws from 1,000, the guidance check 5,000, bench.distill 30,000,
bench.experiments 40,000, the raters' pictures 50,000 and 70,000, the arena and the app's new-seed button below
100,000 (so no vote was cast on these seeds), the distilled student's noise 600,000 and the judge's pairs 800,000.
The conditions are the benchmark's: the hand spec has only so many gestures, so held out here means seeds, not words.
Both models sample at the family's defaults.

Measured, paired on the same pictures: the judge's Hand Score (difference and bootstrap 95 % CI), fingers right
(difference in points, CI, and an exact McNemar test: a binomial test on the discordant pairs, scipy's binomtest;
statsmodels is not installed), diversity and near-duplicates per prompt (bench.measure; the near-duplicate threshold
is two clean renders' 1st-percentile distance, as in the benchmark), KID against clean renders (the judge's
score_set). The bars of issue 17: fingers right +8 points or more with the CI above 0; the Hand Score does not fall;
near-duplicates rise by 3 points at most. The claim "human feedback improves hands" holds (or does not) only when
the fingers-right interval excludes 0 *and* McNemar's p < 0.05; else it is inconclusive: with few discordant
pictures the bootstrap interval is too narrow (a 3-step run, pictures alike by eye, `--quick`: 4 of 42 pictures
flipped to wrong, interval [-19, -2] points, McNemar p = 0.125). The judge is refitted by others: which judge scored
is recorded.

A confirmation set (`--confirm`: the same prompts, seeds 950,000 + k, which nothing else draws). The held-out set
above was used to compare every run (the four of the first round, then the runs tried to close the bars), so the one
finally chosen is the best of several on those very pictures and its figures there are flattered by the choice. It is
measured once more on the confirmation set, which no choice has seen; that is the figure the claim rests on.

A blind A/B sheet (results/feedback_ab.png): per prompt, the first AB_COLUMNS seeds, each cell the two models' pictures
of that seed side by side, sides shuffled; its key is in a separate file (results/feedback_ab_key.json), so a person can
judge the sheet first and look at the key after.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy.stats import binomtest

from bench.__main__ import measure_renders
from bench.distill import judge_version
from bench.measure import duplicate_threshold, measure, near_duplicate_rates
from bench.prompts import PROMPTS
from bench.stats import paired_diff_ci, verdict
from core.settings import FEEDBACK_CONFIRM, FEEDBACK_EVAL
from judge import Judge
from models.card import card
from models.diffusion import DiffusionGenerator
from models.registry import FEEDBACK, Registry

EVAL_SEED, PER_PROMPT = 900_000, 15  # fixed before any training: never change them to suit a result
CONFIRM_SEED = 950_000  # --confirm: a second held-out set, drawn once for the variant finally chosen (docstring)
QUICK_PER_PROMPT = 3  # --quick: a smoke run, not the held-out evaluation (never recorded)
AB_COLUMNS, AB_SEED, CELL = 4, 17, 128
BAR_FINGERS_POINTS, BAR_DUPLICATES_POINTS = 8.0, 3.0


def mcnemar(candidate: list[float], base: list[float]) -> dict:
    """Exact McNemar on paired right/wrong: among the pictures where exactly one model is right, is each as likely?"""
    c, b = np.asarray(candidate, bool), np.asarray(base, bool)
    only_candidate, only_base = int((c & ~b).sum()), int((~c & b).sum())
    p = binomtest(only_candidate, only_candidate + only_base, 0.5).pvalue if only_candidate + only_base else 1.0
    return {"only_candidate_right": only_candidate, "only_full_right": only_base, "p": float(p)}


def compare(candidate: dict, base: dict, threshold: float) -> dict:
    """The paired differences candidate - base, and the issue's bars on them."""
    score = paired_diff_ci(candidate["_scores"], base["_scores"])
    fingers = paired_diff_ci(np.array(candidate["_correct"]) * 100, np.array(base["_correct"]) * 100)
    dup_c, dup_b = (near_duplicate_rates(r["_pairs"], threshold) for r in (candidate, base))
    duplicates = paired_diff_ci(np.array(dup_c) * 100, np.array(dup_b) * 100)
    diversity = paired_diff_ci(candidate["_diversity"], base["_diversity"])
    exact = mcnemar(candidate["_correct"], base["_correct"])
    claim = verdict(fingers[1], fingers[2])  # and only where McNemar agrees: with few discordant pictures the
    claim = claim if exact["p"] < 0.05 else "inconclusive"  # bootstrap interval is too narrow (4 of 42: CI off 0, p 0.125)
    return {
        "hand_score": [round(v, 2) for v in score],
        "fingers_right_points": [round(v, 2) for v in fingers],
        "mcnemar": exact,
        "near_duplicates_points": [round(v, 2) for v in duplicates],
        "diversity_per_prompt": [round(v, 4) for v in diversity],
        "kid": {"candidate": candidate["kid"], "full": base["kid"]},
        "bars": {
            "fingers_right_up_8_points_ci_above_0": fingers[0] >= BAR_FINGERS_POINTS and fingers[1] > 0,
            "fingers_right_mcnemar_p_below_0.05": exact["p"] < 0.05,
            "hand_score_does_not_fall": score[0] >= 0,
            "hand_score_not_significantly_lower": score[2] >= 0,
            "near_duplicates_rise_at_most_3_points": duplicates[0] <= BAR_DUPLICATES_POINTS,
        },
        "claim_human_feedback_improves_hands": claim,
    }


def ab_sheet(candidate: dict, base: dict, per_prompt: int, seed: int) -> tuple[Image.Image, dict]:
    """The blind sheet and its key: row = prompt, cell = one seed, its two pictures on sides shuffled (AB_SEED)."""
    rng, keys, columns = random.Random(AB_SEED), {}, min(AB_COLUMNS, per_prompt)
    label_h, gap = 16, 10
    sheet = Image.new("RGB", (columns * (2 * CELL + gap) + gap, len(PROMPTS) * (CELL + label_h + gap) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    for r, key in enumerate(PROMPTS):
        for c in range(columns):
            k = r * per_prompt + c
            sides = [("candidate", candidate["_images"][k]), ("full", base["_images"][k])]
            rng.shuffle(sides)
            x, y = gap + c * (2 * CELL + gap), gap + r * (CELL + label_h + gap)
            cell = f"{r + 1}-{c + 1}"
            draw.text((x, y), f"{cell}  {PROMPTS[key][:30]}", fill="black")
            for s, (_, image) in enumerate(sides):
                sheet.paste(image.resize((CELL, CELL), Image.NEAREST), (x + s * CELL, y + label_h))
            keys[cell] = {"left": sides[0][0], "right": sides[1][0], "prompt": PROMPTS[key], "seed": seed + r, "index": c}
    return sheet, keys


def weights_digest(folder: Path) -> str:
    """sha256 (16 hex) over the variant's safetensors files: which weights were measured, so a confirmation is only
    read beside the evaluation of the very same weights (`core.settings.feedback_results`)."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*.safetensors")):
        h.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return h.hexdigest()[:16]


def learnt_from(folder: Path) -> str | None:
    """Which source of pairs the variant learnt from (raters, votes, judge), from its training.json; None if unknown."""
    try:
        return json.loads((folder / "training.json").read_text())["feedback"]["pairs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ab_name(out: Path) -> str:
    """The A/B sheet's name beside `out`: feedback_eval_x.json -> feedback_ab_x; feedback_confirm.json -> feedback_confirm_ab."""
    return out.stem.replace("eval", "ab") if "eval" in out.stem else out.stem + "_ab"


def record(folder: Path, result: dict, key: str) -> None:
    """The verdict into the variant's training.json (`key`: "feedback_eval", or "feedback_confirm" for the
    confirmation set) and its model card rewritten (models.card)."""
    info = json.loads((folder / "training.json").read_text())
    cmp = result["comparison"]
    info[key] = {"command": result["command"], "images": result["images"],
                             "judge": result["judge"]["commit"].split()[0]
                             + (" (with uncommitted judge changes)" if result["judge"]["uncommitted"] else ""),
                             "hand_score": cmp["hand_score"], "fingers_right_points": cmp["fingers_right_points"],
                             "mcnemar_p": cmp["mcnemar"]["p"], "near_duplicates_points": cmp["near_duplicates_points"][0]}
    (folder / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    (folder / "MODEL_CARD.md").write_text(card(folder))


def candidate_generator(args: argparse.Namespace, registry: Registry) -> tuple[str, DiffusionGenerator, Path] | str:
    """(name, generator, folder) of what is evaluated, or a one-line reason there is nothing to evaluate."""
    if args.path is not None:
        if not (args.path / "model_index.json").exists():
            return f"no diffusion model in {args.path} (a run's best/ or evals/step-N)"
        if args.record and not (args.path / "training.json").exists():
            return f"nothing to record into: {args.path} has no training.json (record a run's best/ or a shipped variant)"
        return f"{args.path.parent.name}/{args.path.name}", DiffusionGenerator.from_pretrained(args.path), args.path
    if args.variant not in registry.variants("diffusion"):
        return (f"no trained diffusion/{args.variant}: train one (python -m bench.feedback_pairs raters --train dpo) and "
                f"ship its best/ as models/weights/diffusion/{args.variant}, or pass --path")
    return args.variant, registry.load("diffusion", args.variant), registry.weights_root / "diffusion" / args.variant


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", default=FEEDBACK, help="a shipped diffusion variant (default: feedback)")
    p.add_argument("--path", type=Path, default=None, help="or a variant's folder anywhere (a run's best/)")
    p.add_argument("--out", type=Path, default=None, help="default results/feedback_eval.json (--confirm: feedback_confirm.json)")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_PER_PROMPT} pictures per prompt: a smoke run, never recorded")
    p.add_argument("--record", action="store_true", help="write the verdict into the variant's training.json and card")
    p.add_argument("--confirm", action="store_true",
                   help=f"the confirmation set (seeds {CONFIRM_SEED:,}+), drawn once for the chosen variant")
    args = p.parse_args(argv)
    registry = Registry()
    found = candidate_generator(args, registry)
    if isinstance(found, str):
        print(f"error: {found}", file=sys.stderr)
        return 2
    if args.record and args.quick:
        print("error: --quick is a smoke run: it is never recorded", file=sys.stderr)
        return 2
    name, generator, folder = found
    out = args.out or (FEEDBACK_CONFIRM if args.confirm else FEEDBACK_EVAL)
    per_prompt = QUICK_PER_PROMPT if args.quick else PER_PROMPT
    judge = Judge.load()
    reference = judge.reference_features()
    seed = CONFIRM_SEED if args.confirm else EVAL_SEED
    rows = {"full": measure(registry, judge, "diffusion", "full", per_prompt, 1, seed, reference=reference),
            "candidate": measure(registry, judge, "diffusion", name, per_prompt, 1, seed, reference=reference,
                                 generator=generator)}
    threshold = duplicate_threshold(measure_renders(judge, per_prompt)["_pairs"])
    keep = ("n_images", "hand_score", "finger_accuracy", "hand_found_rate", "malformation_rate", "kid", "diversity",
            "reference_diversity", "diversity_per_prompt")
    result = {
        "command": "python -m bench.feedback " + " ".join(argv if argv is not None else sys.argv[1:]),
        "candidate": name, "weights": weights_digest(folder), "judge": judge_version(), "quick": args.quick,
        "seed": seed, "confirm": args.confirm, "learnt_from": learnt_from(folder),
        "prompts": len(PROMPTS), "per_prompt": per_prompt, "images": len(rows["full"]["_scores"]),
        "near_duplicate_threshold": threshold,
        "models": {k: {**{f: row[f] for f in keep}, "near_duplicates": float(np.mean(near_duplicate_rates(row["_pairs"], threshold)))}
                   for k, row in rows.items()},
        "comparison": compare(rows["candidate"], rows["full"], threshold),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    sheet, keys = ab_sheet(rows["candidate"], rows["full"], per_prompt, seed)
    sheet.save(out.with_name(ab_name(out) + ".png"))
    out.with_name(ab_name(out) + "_key.json").write_text(
        json.dumps({"candidate": name, "cells": keys}, indent=1) + "\n")
    if args.record:
        record(folder, result, "feedback_confirm" if args.confirm else "feedback_eval")
    print(json.dumps({"candidate": name, **result["comparison"]}, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
