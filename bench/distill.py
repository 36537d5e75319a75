"""Fast diffusion, measured: the distilled student at 1 and 2 steps against its teacher at 10 steps, and against
plain sampling of the same teacher at 1 and 2 steps (issue 18, part 4).

    python -m bench.distill [--per-prompt 8] [--seed 30000] [--latency-calls 20]
                            # results/distill.json and results/distill_grid.png

Every setting draws the same pictures: the 14 benchmark prompts x `--per-prompt` images, prompt k from seed
`--seed` + k, each image's noise from its (seed, index) as in the app, so picture i of the student and picture i
of the teacher start from the same noise and every difference is paired. Seeds from 30000: not the benchmark's
(1000+), the guidance check's (5000), the rater set's (50000+, 70000+) nor the student's training noise
(600000+). Latency: single-image calls, the settings and the GAN taken in turn (so load on the machine falls on
all alike), median per setting. The teacher at 4 steps (the app's default since the raters found it as good as
10) is measured beside, for context.

The bars (issue 18): at 1-2 steps the student is within 5 Hand Score points and 5 points of fingers right of
the teacher at 10 steps; it beats plain sampling at the same number of steps (paired 95 % CI above 0); it is at
least 5x faster per image than the teacher at 10 steps.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from bench import cards
from bench.measure import measure, specs_for_prompts
from bench.prompts import PROMPTS
from bench.stats import paired_diff_ci
from core.settings import REPO_ROOT
from judge import Judge
from models.base import GenerateOptions
from models.diffusion import DISTILLED
from models.registry import Registry

SETTINGS: dict[str, tuple[str, GenerateOptions]] = {
    "teacher_10": ("full", GenerateOptions(steps=10, guidance=2.5, sampler="dpm++")),  # the bars' teacher
    "teacher_4": ("full", GenerateOptions(steps=4, guidance=2.5, sampler="dpm++")),  # the app's default since
    "student_2": (DISTILLED, GenerateOptions(steps=2)),
    "student_1": (DISTILLED, GenerateOptions(steps=1)),
    "plain_2": ("full", GenerateOptions(steps=2, guidance=2.5, sampler="dpm++")),
    "plain_1": ("full", GenerateOptions(steps=1, guidance=2.5, sampler="dpm++")),
}
BAR_POINTS, BAR_SPEEDUP = 5.0, 5.0
CELL, LABEL_W, HEAD_H, TEXT_H = 96, 150, 24, 14


def judge_version() -> dict:
    """Which judge scored: the last commit touching judge/, and judge files changed since (others edit it)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": git("log", "-1", "--format=%h %s", "--", "judge"),
            "uncommitted": git("status", "--porcelain", "--", "judge").splitlines()}


def latencies(registry: Registry, settings: dict, calls: int, seed: int) -> dict[str, list[float]]:
    """Seconds per single-image call for every setting and the GAN, in turn."""
    specs = list(specs_for_prompts().values())
    runs = {name: (registry.load("diffusion", variant), options) for name, (variant, options) in settings.items()}
    runs["gan"] = (registry.load("gan", "full"), None)
    out: dict[str, list[float]] = {name: [] for name in runs}
    for j in range(calls):
        for name, (generator, options) in runs.items():
            out[name].append(generator.generate(specs[j % len(specs)], 1, seed + j, options).latency_s)
    return out


def compare(rows: dict, a: str, b: str) -> dict:
    """Paired differences a - b: Hand Score points and fingers-right percentage points, with 95 % CIs."""
    score = paired_diff_ci(rows[a]["_scores"], rows[b]["_scores"])
    fingers = paired_diff_ci(np.array(rows[a]["_correct"]) * 100, np.array(rows[b]["_correct"]) * 100)
    return {"hand_score": [round(v, 2) for v in score], "fingers_right_points": [round(v, 2) for v in fingers]}


def bars(rows: dict, comparisons: dict, speed: dict) -> dict:
    """The issue's three bars per student step count, from the measured differences."""
    out = {}
    for k in (1, 2):
        to_teacher, to_plain = comparisons[f"student_{k} - teacher_10"], comparisons[f"student_{k} - plain_{k}"]
        out[f"{k}_step"] = {
            "within_5_points_of_teacher": to_teacher["hand_score"][0] >= -BAR_POINTS,
            "within_5_points_of_teacher_ci_low": to_teacher["hand_score"][1] >= -BAR_POINTS,
            "within_5_fingers_points_of_teacher": to_teacher["fingers_right_points"][0] >= -BAR_POINTS,
            "beats_plain_sampling": to_plain["hand_score"][1] > 0,
            "beats_plain_sampling_on_fingers": to_plain["fingers_right_points"][1] > 0,
            "speedup_vs_teacher_10": round(speed["teacher_10"] / speed[f"student_{k}"], 2),
            "speedup_vs_teacher_4": round(speed["teacher_4"] / speed[f"student_{k}"], 2),
            "at_least_5x_faster": speed["teacher_10"] / speed[f"student_{k}"] >= BAR_SPEEDUP,
        }
    return out


def grid(rows: dict, per_prompt: int, columns: int = 2) -> Image.Image:
    """Rows: prompts; columns: settings, the first `columns` pictures of each, with their Hand Scores."""
    names, keys = list(rows), list(PROMPTS)
    col_w = columns * CELL
    sheet = Image.new("RGB", (LABEL_W + len(names) * (col_w + 8), HEAD_H + len(keys) * (CELL + TEXT_H + 6)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, name in enumerate(names):
        draw.text((LABEL_W + c * (col_w + 8) + 4, 6), name.replace("_", " at ") + " step(s)", fill="black")
    for r, key in enumerate(keys):
        y = HEAD_H + r * (CELL + TEXT_H + 6)
        draw.multiline_text((4, y + CELL // 2 - 12), textwrap.fill(PROMPTS[key], 22), fill="black")
        for c, name in enumerate(names):
            for i in range(columns):
                k = r * per_prompt + i
                x = LABEL_W + c * (col_w + 8) + i * CELL
                sheet.paste(rows[name]["_images"][k].resize((CELL, CELL), Image.NEAREST), (x, y))
                draw.text((x + 2, y + CELL + 1), f"{rows[name]['_scores'][k]:.0f}", fill="black")
    return sheet


def record(result: dict, folder: Path) -> None:
    """The student's measured bars into its training.json, and its model card rewritten from it (models.card)."""
    info = json.loads((folder / "training.json").read_text())
    rows, comparisons = result["settings"], result["comparisons"]
    info["measured"] = {
        "command": result["command"].strip(), "judge": result["judge"]["commit"].split()[0]
        + (" (with uncommitted judge changes)" if result["judge"]["uncommitted"] else ""),
        "images": rows["teacher_10"]["n_images"], "steps": result["student"]["steps"],
        "teacher_hand_score": rows["teacher_10"]["hand_score"][0],
        "teacher_fingers_right": 100 * rows["teacher_10"]["finger_accuracy"][0],
        "per_steps": {str(k): {
            "hand_score": rows[f"student_{k}"]["hand_score"][0],
            "fingers_right": 100 * rows[f"student_{k}"]["finger_accuracy"][0],
            "vs_teacher": comparisons[f"student_{k} - teacher_10"]["hand_score"],
            "vs_plain": comparisons[f"student_{k} - plain_{k}"]["hand_score"],
            "speedup": result["bars"][f"{k}_step"]["speedup_vs_teacher_10"]} for k in (1, 2)},
    }
    (folder / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    (folder / "MODEL_CARD.md").write_text(cards.card(folder, cards.load_benchmark()))  # as python -m bench.cards writes it


def summary(row: dict, latency: list[float]) -> dict:
    keys = ("n_images", "hand_score", "finger_accuracy", "hand_found_rate", "malformation_rate", "sharpness", "kid",
            "diversity", "reference_diversity", "diversity_per_prompt")
    return {**{k: row[k] for k in keys}, "latency_median_s": float(np.median(latency)),
            "latency_p90_s": float(np.percentile(latency, 90))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-prompt", type=int, default=8)
    parser.add_argument("--seed", type=int, default=30000)
    parser.add_argument("--latency-calls", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the app serves with HANDS_THREADS, default 1)")
    parser.add_argument("--student-sampler", default=None, help="override the student's sampler (choose it on other seeds)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "distill.json")
    parser.add_argument("--record", action="store_true", help="write the bars into the student's training.json and card")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    registry = Registry()
    if DISTILLED not in registry.variants("diffusion") or args.per_prompt < 2:
        print(f"error: needs shipped diffusion/{DISTILLED} weights and --per-prompt >= 2", file=sys.stderr)
        return 2
    settings = dict(SETTINGS)
    if args.student_sampler:
        settings.update({f"student_{k}": (DISTILLED, GenerateOptions(steps=k, sampler=args.student_sampler)) for k in (1, 2)})
    judge, started = Judge.load(), time.perf_counter()
    reference = judge.reference_features()
    rows = {name: measure(registry, judge, "diffusion", variant, args.per_prompt, 1, args.seed, options, reference)
            for name, (variant, options) in settings.items()}
    timing = latencies(registry, settings, args.latency_calls, args.seed + 500)
    speed = {name: float(np.median(v)) for name, v in timing.items()}
    comparisons = {f"{a} - {b}": compare(rows, a, b) for a, b in (
        ("student_1", "teacher_10"), ("student_2", "teacher_10"), ("student_1", "plain_1"), ("student_2", "plain_2"),
        ("plain_1", "teacher_10"), ("plain_2", "teacher_10"), ("teacher_4", "teacher_10"), ("student_2", "teacher_4"))}
    student = json.loads((registry.weights_root / "diffusion" / DISTILLED / "training.json").read_text())
    result = {
        "command": "python -m bench.distill " + " ".join(argv if argv is not None else sys.argv[1:]),
        "judge": judge_version(),
        "student": {k: student[k] for k in ("steps", "data_size", "wall_s", "hardware", "final")},
        "prompts": len(PROMPTS), "per_prompt": args.per_prompt, "seed": args.seed, "threads": args.threads,
        "settings": {name: {"variant": variant, **asdict(options), **summary(rows[name], timing[name])}
                     for name, (variant, options) in settings.items()},
        "gan_latency_median_s": speed["gan"],
        "latency_vs_gan": {name: round(speed[name] / speed["gan"], 1) for name in settings},
        "comparisons": comparisons,
        "bars": bars(rows, comparisons, speed),
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    grid(rows, args.per_prompt).save(args.out.with_name(args.out.stem + "_grid.png"))
    if args.record:
        record(result, registry.weights_root / "diffusion" / DISTILLED)
    print(json.dumps({k: result[k] for k in ("comparisons", "bars", "latency_vs_gan")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
