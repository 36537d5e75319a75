"""Issue 18's experiments, judged: scaling curves, the headshot effect, better captions (parts 1-3).

    python -m bench.experiments scaling        # every snapshot of scale-1k/5k/20k: Hand Score, fingers right, near-duplicates
    python -m bench.experiments headshot       # small-hand's hands cropped, beside scale-20k's at the same crop size; full frames
    python -m bench.experiments captions       # captions-visible against scale-20k: fingers right on the same prompts and seeds
    python -m bench.experiments caption-check  # no model: what visible captions change on the rated clean renders
        [--per-prompt N] [--seed S] [--weights DIR] [--out DIR]

The runs come from `python -m models.experiments` (weights under runs/experiments/weights/). A part whose runs are not
trained yet says which, in one line, and exits 2. Each part writes results/experiments_<part>.json (with the judge's
commit, and the judge files changed since) and a plot. Every setting draws the 14 benchmark prompts x --per-prompt
images, prompt k from seed --seed + k, at `OPTIONS`: the settings compared are paired picture by picture.
Seeds from 40000: not the benchmark's (1000+), the guidance check's (5000), bench.distill's (30000+), nor the raters'.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.distill import compare, judge_version
from bench.measure import measure, near_duplicate_rates, specs_for_prompts
from bench.prompts import PROMPTS
from bench.stats import mean_ci, verdict
from core.settings import REPO_ROOT
from core.vocab import HandSpec
from judge import Judge
from judge.fit.raters import RATERS_DIR
from judge.witnesses import silhouette
from models import experiments
from models.base import GenerateOptions
from models.registry import Registry
from world.captions import visible_fields
from world.render import render_sample
from world.scenes import ZOOM, render_scene

OPTIONS = GenerateOptions(steps=10, guidance=2.5, sampler="dpm++")  # the benchmark table's setting, pinned
SEED, PER_PROMPT = 40000, 6
REACH = 0.35  # a hand's centre lies this share of a tile's side back from its fingertips' end (hands fill 55-85 %)
RATED_RENDERS = {1: (61000, 64), 2: (62000, 16)}  # the rater set's clean renders per batch: (render seed, count)
PARTS = (*experiments.PARTS, "caption-check")


class MissingRuns(Exception):
    """A part needs runs that have no trained weights yet."""


def log(message: str) -> None:
    print(f"[experiments {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def require(registry: Registry, part: str) -> None:
    """Raise MissingRuns naming every run of `part` with no weights under the registry's root."""
    missing = [n for n in experiments.PARTS[part] if n not in registry.variants("diffusion")]
    if missing:
        where = registry.weights_root / "diffusion"
        where = where.relative_to(REPO_ROOT) if where.is_relative_to(REPO_ROOT) else where
        raise MissingRuns(f"{part} needs runs not trained yet: {', '.join(missing)} (no weights in {where}); "
                          f"train them: python -m models.experiments --only {' '.join(missing)}")


def at_steps(registry: Registry, name: str, steps: int):
    """Run `name` at `steps` (its snapshot there, or the run itself if it ended there), and a note if it is not."""
    generator = registry.load("diffusion", name)
    snapshot = f"step-{steps:06d}"
    if snapshot in generator.snapshots():
        return generator.at_snapshot(snapshot), None
    trained = registry.trained_steps("diffusion", name)
    note = None if trained == steps else f"{name} has no snapshot at {steps:,} steps: its {trained:,}-step weights used"
    return generator, note


def points_of(registry: Registry, name: str) -> list[tuple[int, object]]:
    """(steps, generator) for every snapshot of a run and its last weights, by steps (each step once)."""
    generator = registry.load("diffusion", name)
    out = {int(s.split("-")[1]): s for s in generator.snapshots()}
    out[registry.trained_steps("diffusion", name) or 0] = None
    return [(step, generator if s is None else generator.at_snapshot(s)) for step, s in sorted(out.items())]


def summary(row: dict, threshold: float | None = None) -> dict:
    """The published numbers of one measured setting (percentages as points)."""
    out = {"n_images": row["n_images"], "hand_score": row["hand_score"],
           "fingers_right": [100 * v for v in row["finger_accuracy"]], "hand_found": row.get("hand_found_rate"),
           "kid": row.get("kid")}
    if threshold is not None:
        out["near_duplicates"] = [100 * v for v in mean_ci(near_duplicate_rates(row["_pairs"], threshold))]
    return out


def scaling(registry: Registry, judge: Judge, args: argparse.Namespace) -> dict:
    """Every snapshot of the three data sizes, on the same prompts and seeds; near-duplicates against clean renders."""
    from bench.__main__ import measure_renders  # the benchmark's reference (imported here: it loads the app's parts)
    from bench.measure import duplicate_threshold

    renders = measure_renders(judge, args.per_prompt, args.seed)
    threshold = duplicate_threshold(renders["_pairs"])
    curves, notes = {}, []
    for name in experiments.PARTS["scaling"]:
        run = experiments.run_named(name)
        points = []
        for step, generator in points_of(registry, name):
            log(f"{name} at {step:,} steps")
            row = measure(registry, judge, "diffusion", f"{name}@{step}", args.per_prompt, 1, args.seed, OPTIONS,
                          generator=generator)
            points.append({"step": step, **summary(row, threshold)})
        if points[-1]["step"] < run.steps:
            notes.append(f"{name}: trained {points[-1]['step']:,} of {run.steps:,} steps")
        curves[name] = {"data_size": run.data_size, "planned_steps": run.steps, "points": points}
    return {"renders": summary(renders, threshold), "duplicate_threshold": threshold, "curves": curves, "notes": notes}


def plot_scaling(result: dict, path: Path) -> None:
    """Hand Score, fingers right and near-duplicates against training steps, one curve (with its CI) per data size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = (("hand_score", "Hand Score"), ("fingers_right", "fingers right (%)"), ("near_duplicates", "near-duplicates (%)"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (key, title) in zip(axes, keys):
        for curve in result["curves"].values():
            steps = [p["step"] for p in curve["points"]]
            mean, lo, hi = (np.array([p[key][i] for p in curve["points"]]) for i in range(3))
            ax.plot(steps, mean, marker="o", label=f"{curve['data_size']:,} hands")
            ax.fill_between(steps, lo, hi, alpha=0.2)
        ax.axhline(result["renders"][key][0], color="grey", linestyle="--", label="clean renders")
        ax.set(title=title, xlabel="training steps")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_bars(groups: dict[str, dict[str, list[float]]], path: Path, title: str) -> None:
    """One panel per measure, a bar with its 95 % CI per setting: {measure: {setting: [mean, low, high]}}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 3.8), squeeze=False)
    for ax, (measure_name, bars) in zip(axes[0], groups.items()):
        names = list(bars)
        mean = np.array([bars[n][0] for n in names])
        err = np.array([[bars[n][0] - bars[n][1], bars[n][2] - bars[n][0]] for n in names]).T
        ax.bar(range(len(names)), mean, yerr=err, capsize=3, color="#7a9cc6")
        ax.set_xticks(range(len(names)), [n.replace("_", " ") for n in names], rotation=25, ha="right", fontsize=8)
        ax.set_title(measure_name)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot(result: dict, path: Path) -> None:
    """The part's plot beside its JSON."""
    if result["part"] == "scaling":
        plot_scaling(result, path)
    elif result["part"] == "headshot":
        views = {**result["views"], **{f"clean {k[6:]}": v for k, v in result["clean"].items() if k.startswith("clean_")}}
        plot_bars({m: {k: v[m] for k, v in views.items()} for m in ("hand_score", "fingers_right")}, path,
                  f"hands small in the frame vs hand-filling, {result['steps']:,} training steps")
    elif result["part"] == "captions":
        per = result["fingers_right_per_prompt"]
        plot_bars({f"fingers right (%), {name} captions": {k: [v[name]] * 3 for k, v in per.items()}
                   for name in ("plain", "visible")}, path, f"captions, {result['steps']:,} training steps")


def draw(generator, specs: list[HandSpec], per_prompt: int, seed: int) -> list[Image.Image]:
    """per_prompt pictures of every spec, prompt k from seed + k (as bench.measure draws them)."""
    return [im for k, spec in enumerate(specs) for im in generator.generate(spec, per_prompt, seed + k, OPTIONS).images]


def judged(judge: Judge, images: list, specs: list[HandSpec]) -> dict:
    """Per picture (the `_scores` and `_correct` bench.distill.compare pairs) and their means with 95 % CIs."""
    reports = judge.score_set(images, specs, kid_metrics=False).reports
    scores = [r.hand_score for r in reports]
    correct = [float(bool(r.gesture_match)) for r in reports]
    return {"n_images": len(images), "hand_score": mean_ci(scores), "fingers_right": [100 * v for v in mean_ci(correct)],
            "hand_found": float(np.mean([r.hand_found for r in reports])), "_scores": scores, "_correct": correct}


def crop_hand(image, box: tuple[float, float, float, float], size: int = 64) -> Image.Image:
    """The hand in `box` as the judge sees hands: drawn at the box's pixels (size / ZOOM a side), shown at `size`.

    A hand-filling picture goes through the same two steps with the whole frame as its box (`at_crop_size`), so
    both hands reach the judge with the same number of pixels."""
    image = image if isinstance(image, Image.Image) else Image.fromarray(image)
    side = round(image.width / ZOOM)
    return image.resize((side, side), Image.BOX, box=box).resize((size, size), Image.BICUBIC)


def at_crop_size(image) -> Image.Image:
    """A hand-filling picture shrunk to the small-hand crop's pixels, then shown at the judge's size."""
    image = image if isinstance(image, Image.Image) else Image.fromarray(image)
    return crop_hand(image, (0, 0, image.width, image.height), image.width)


def locate_hands(judge: Judge, images: list) -> list[tuple[float, float, float, float]]:
    """Where each small-hand picture's hand is: a box of the tile's size (a ZOOMth of the frame) around it.

    The model outputs no box, so the judge's silhouette net finds the hand: on the picture enlarged ZOOM times (its
    hand then as large as in the frames the net was trained on), its hand map's largest blob is hand and forearm. The
    arm runs out of the frame, so the blob's point farthest from where it meets the border is the fingertips' end,
    and the hand's centre lies `REACH` of a tile back towards the border. No blob: the training distribution's prior
    (tiles are placed uniformly, so the frame's centre). An arm ending inside the frame: the hand-weighted centre.
    """
    from scipy import ndimage

    rgbs = [np.asarray(im.convert("RGB") if isinstance(im, Image.Image) else im) for im in images]
    size = rgbs[0].shape[0]
    big = [np.asarray(Image.fromarray(rgb).resize((size * ZOOM, size * ZOOM), Image.BICUBIC)) for rgb in rgbs]
    with judge.networks.lock:
        maps = silhouette.predict_batch(judge.networks.silhouette.get(), big)
    ys, xs = np.mgrid[0 : size * ZOOM, 0 : size * ZOOM] + 0.5
    border = np.zeros((size * ZOOM,) * 2, bool)
    border[:2], border[-2:], border[:, :2], border[:, -2:] = True, True, True, True
    boxes = []
    for m in maps:
        labels, n = ndimage.label(m.hand > 0.5)
        centre = np.array([size * ZOOM / 2] * 2)
        if n:
            blob = labels == 1 + int(np.argmax(ndimage.sum(m.hand > 0.5, labels, range(1, n + 1))))
            touch = blob & border
            if touch.any():
                start = np.array([xs[touch].mean(), ys[touch].mean()])
                far = int(np.argmax(np.hypot(xs - start[0], ys - start[1]) * blob))
                end = np.array([xs.flat[far], ys.flat[far]])
                centre = end + (start - end) / max(float(np.linalg.norm(start - end)), 1e-6) * REACH * size
            else:
                w = m.hand * blob
                centre = np.array([(xs * w).sum(), (ys * w).sum()]) / w.sum()
        x0, y0 = np.clip(centre / ZOOM - size / ZOOM / 2, 0, size - size / ZOOM)
        boxes.append((float(x0), float(y0), float(x0 + size / ZOOM), float(y0 + size / ZOOM)))
    return boxes


def locator_check(judge: Judge, specs: list[HandSpec], per_prompt: int, seed: int) -> dict:
    """Clean small-hand scenes of the same prompts: the located box against the true one, and the judge on each crop."""
    scenes = [render_scene(seed + k, i, 64, "small-hand", spec) for k, spec in enumerate(specs) for i in range(per_prompt)]
    all_specs = [spec for spec in specs for _ in range(per_prompt)]
    boxes = locate_hands(judge, [s.image for s in scenes])
    inside = [np.mean([x0 <= x < x1 and y0 <= y < y1 for x, y, _ in s.label["keypoints"]])
              for s, (x0, y0, x1, y1) in zip(scenes, boxes)]
    fills = [render_sample(seed + k, i, 64, spec).image for k, spec in enumerate(specs) for i in range(per_prompt)]
    return {
        "keypoints_inside_located_box": mean_ci(inside),
        "all_keypoints_inside": float(np.mean(np.array(inside) == 1)),
        "clean_true_crop": judged(judge, [crop_hand(s.image, tuple(s.label["tile_box"])) for s in scenes], all_specs),
        "clean_located_crop": judged(judge, [crop_hand(s.image, b) for s, b in zip(scenes, boxes)], all_specs),
        "clean_hand_filling_at_crop_size": judged(judge, [at_crop_size(im) for im in fills], all_specs),
        "clean_hand_filling": judged(judge, fills, all_specs),
        "clean_full_frame": judged(judge, [s.image for s in scenes], all_specs),
    }


def headshot(registry: Registry, judge: Judge, args: argparse.Namespace) -> dict:
    """small-hand's hands, located and cropped, against scale-20k's at the same crop size and training steps."""
    steps = registry.trained_steps("diffusion", "small-hand") or 0
    base, note = at_steps(registry, "scale-20k", steps)
    specs = list(specs_for_prompts().values())
    all_specs = [spec for spec in specs for _ in range(args.per_prompt)]
    log(f"small-hand and scale-20k at {steps:,} steps")
    small = draw(registry.load("diffusion", "small-hand"), specs, args.per_prompt, args.seed)
    filling = draw(base, specs, args.per_prompt, args.seed)
    views = {
        "small_hand_cropped": judged(judge, [crop_hand(im, b) for im, b in zip(small, locate_hands(judge, small))], all_specs),
        "hand_filling_at_crop_size": judged(judge, [at_crop_size(im) for im in filling], all_specs),
        "small_hand_full_frame": judged(judge, small, all_specs),
        "hand_filling_full_frame": judged(judge, filling, all_specs),
    }
    diff = compare(views, "hand_filling_at_crop_size", "small_hand_cropped")
    log("clean scenes: the locator and the renders' own crops")
    return {"steps": steps, "notes": [note] if note else [], "views": views,
            "hand_filling_minus_small_hand": diff,
            "verdict": {"hands small in the frame are drawn worse": verdict(*diff["hand_score"][1:])},
            "clean": locator_check(judge, specs, args.per_prompt, args.seed)}


def captions(registry: Registry, judge: Judge, args: argparse.Namespace) -> dict:
    """captions-visible against scale-20k at the same training steps: the same prompts and seeds, paired."""
    steps = registry.trained_steps("diffusion", "captions-visible") or 0
    base, note = at_steps(registry, "scale-20k", steps)
    log(f"captions-visible and scale-20k at {steps:,} steps")
    rows = {"visible": measure(registry, judge, "diffusion", "captions-visible", args.per_prompt, 1, args.seed, OPTIONS),
            "plain": measure(registry, judge, "diffusion", f"scale-20k@{steps}", args.per_prompt, 1, args.seed, OPTIONS,
                             generator=base)}
    diff = compare(rows, "visible", "plain")
    per_prompt = {key: {name: 100 * float(np.mean(row["_correct"][k * args.per_prompt:(k + 1) * args.per_prompt]))
                        for name, row in rows.items()} for k, key in enumerate(PROMPTS)}
    return {"steps": steps, "notes": [note] if note else [], "settings": {n: summary(r) for n, r in rows.items()},
            "visible_minus_plain": diff, "fingers_right_per_prompt": per_prompt,
            "verdict": {"captions of what is visible improve prompt adherence": verdict(*diff["fingers_right_points"][1:])}}


def caption_check(count: int) -> dict:
    """What visible captions change: on the clean renders raters judged (found by their bytes), and on training hands.

    The rules (world.captions) were written looking at batch 1's 17 flagged renders; batch 2's 16 are held out.
    """
    rows = [json.loads(line) for line in (RATERS_DIR / "labels.jsonl").read_text().splitlines() if line.strip()]
    rated = {hashlib.sha256(np.asarray(Image.open(RATERS_DIR / r["file"]).convert("RGB")).tobytes()).hexdigest(): r
             for r in rows if r["source"] == "render"}
    batches = {}
    for batch, (seed, n) in RATED_RENDERS.items():
        pictures = []
        for i in range(n):
            r = render_sample(seed, i, 64)
            row = rated[hashlib.sha256(r.image.tobytes()).hexdigest()]
            seen = visible_fields(r.label, r.projection, r.object_cover)
            pictures.append({"id": row["id"], "render": [seed, i], "prompt": row["prompt"], "view": r.label["view"],
                             "flagged": any(x["matches_prompt"] is False for x in row["ratings"]),
                             "plain": {k: r.label[k] for k in ("gesture", "object")},
                             "visible": {k: seen[k] for k in ("gesture", "object")},
                             "raters": [x["note"] for x in row["ratings"]]})
        changed = [p for p in pictures if p["plain"] != p["visible"]]
        batches[f"batch {batch}"] = {
            "renders": n, "flagged": sum(p["flagged"] for p in pictures),
            "flagged_changed": sum(p["flagged"] for p in changed), "accepted_changed": sum(not p["flagged"] for p in changed),
            "changed": changed, "flagged_unchanged": [p for p in pictures if p["flagged"] and p not in changed]}
    return {"rated_renders": batches, "training_hands": training_changes(count)}


def training_changes(count: int, seed: int = 0) -> dict:
    """Of the first `count` training hands (data seed 0), the share whose spec visible captions change, per gesture."""
    changes: dict[str, dict[str, int]] = {}
    for i in range(count):
        r = render_sample(seed, i, 64)
        seen = visible_fields(r.label, r.projection, r.object_cover)
        gesture = r.label["gesture"] if r.label["object"] == "none" else f"grip {r.label['object']}"
        into = "unchanged" if (seen["gesture"], seen["object"]) == (r.label["gesture"], r.label["object"]) else \
            f"{seen['gesture'] or 'any'}" + ("" if seen["object"] == r.label["object"] else f", object {seen['object'] or 'any'}")
        changes.setdefault(gesture, {}).setdefault(into, 0)
        changes[gesture][into] += 1
    changed = sum(n for c in changes.values() for k, n in c.items() if k != "unchanged")
    return {"hands": count, "changed": changed, "changed_share": changed / count, "per_gesture": changes}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("part", choices=PARTS)
    p.add_argument("--per-prompt", type=int, default=PER_PROMPT, help="pictures per benchmark prompt (14 prompts)")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--count", type=int, default=2000, help="caption-check: training hands to count changes on")
    p.add_argument("--weights", type=Path, default=experiments.WEIGHTS, help="the experiment runs' weights root")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "results")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    result: dict = {"command": "python -m bench.experiments " + " ".join(sys.argv[1:] if argv is None else argv),
                    "part": args.part}
    if args.part == "caption-check":
        result.update(caption_check(args.count))
    else:
        registry = Registry(args.weights)
        try:
            require(registry, args.part)
        except MissingRuns as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        if args.per_prompt < 2:
            print("error: --per-prompt must be at least 2 (near-duplicates and intervals need pairs)", file=sys.stderr)
            return 2
        judge = Judge.load()
        result.update({"judge": judge_version(), "options": {"steps": OPTIONS.steps, "guidance": OPTIONS.guidance,
                       "sampler": OPTIONS.sampler}, "prompts": len(PROMPTS), "per_prompt": args.per_prompt, "seed": args.seed})
        result.update({"scaling": scaling, "headshot": headshot, "captions": captions}[args.part](registry, judge, args))
    result["seconds"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"experiments_{args.part.replace('-', '_')}.json"
    strip = lambda v: {k: strip(x) for k, x in v.items() if not k.startswith("_")} if isinstance(v, dict) else v  # noqa: E731
    path.write_text(json.dumps(strip(result), indent=1, default=float) + "\n")
    if args.part != "caption-check":
        plot(result, path.with_suffix(".png"))
    print(json.dumps({"out": str(path), "seconds": result["seconds"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
