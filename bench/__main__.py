"""The benchmark: the claims about VAEs, GANs, diffusion and hands, measured; and the speed of /compare.

    python -m bench [--quick] [--out results/]

Writes OUT/benchmark.json, OUT/benchmark.md and PNG plots. JSON summary on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bench import claims, report, speed, speedups
from bench.measure import duplicate_threshold, measure, near_duplicate_rates, pair_distances, specs_for_prompts
from bench.stats import mean_ci
from core.settings import REPO_ROOT
from judge import Judge
from models.base import GenerateOptions
from models.registry import FAMILY_NAMES as FAMILIES
from models.registry import Registry, family_record
from world.render import render_sample


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def measure_renders(judge: Judge, per_prompt: int, seed: int = 1000) -> dict:
    """The same prompts drawn by the renderer itself: the ceiling every family is compared with."""
    images, specs, groups = [], [], []
    for k, (key, spec) in enumerate(specs_for_prompts().items()):
        for i in range(per_prompt):
            images.append(render_sample(seed + k, i, 64, spec).image)
            specs.append(spec)
            groups.append(key)
    rep = judge.score_set(images, specs)
    scores = [r.hand_score for r in rep.reports]
    return {
        "family": "renders", "variant": "clean", "n_images": len(images),
        "hand_score": mean_ci(scores),
        "finger_accuracy": mean_ci([float(bool(r.gesture_match)) for r in rep.reports if r.expected_count is not None]),
        "malformation_rate": rep.malformation_rate, "hand_found_rate": rep.hand_found_rate,
        "sharpness": mean_ci([r.sharpness for r in rep.reports if r.sharpness is not None]),
        "kid": rep.kid, "diversity": rep.diversity, "_scores": scores,
        "_pairs": pair_distances(judge, images, np.array(groups)),
    }


def equal_training_pairs(registry: Registry, judge: Judge, backends: list[dict], per_prompt: int,
                         latency_calls: int) -> list[dict]:
    """Scarce vs full at the same number of training steps, where the full run kept a snapshot there.

    Without this a scarce run that is shorter than the full one confounds "less data" with "less training".
    """
    rows = []
    for b in backends:
        if b["variant"] != "scarce":
            continue
        steps, full_steps = registry.trained_steps(b["family"], "scarce"), registry.trained_steps(b["family"], "full")
        if steps is None or steps == full_steps or not family_record(b["family"]).supports_snapshots:
            continue
        full = registry.load(b["family"], "full")
        name = f"step-{steps:06d}"
        if name not in full.snapshots():
            continue
        log(f"{b['family']}/full at {name}: the same training steps as the scarce run")
        m = measure(registry, judge, b["family"], f"full@{name}", per_prompt, latency_calls, generator=full.at_snapshot(name))
        rows.append({"family": b["family"], "steps": steps, "full": m})
    return rows


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a small run (< 5 minutes on a 2-core CPU)")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "results")
    p.add_argument("--per-prompt", type=int, default=None, help="images per prompt per backend (14 prompts)")
    p.add_argument("--latency-calls", type=int, default=None)
    p.add_argument("--sweep", type=int, nargs="*", default=None, help="diffusion step counts to sweep")
    p.add_argument("--guidance", type=float, nargs="*", default=None,
                   help="diffusion guidance scales to sweep (0 = the prompt ignored)")
    p.add_argument("--compare-runs", type=int, default=None, help="timed /compare calls (p50)")
    p.add_argument("--no-app", action="store_true", help="skip the app cold-start and memory measurement")
    p.add_argument("--families", nargs="*", default=list(FAMILIES), choices=FAMILIES)
    return p.parse_args(argv)


@dataclass(frozen=True)
class Plan:
    """How much the run measures: the --quick sizes, or the full run's, unless a flag says otherwise."""

    per_prompt: int
    latency_calls: int
    sweep: list[int]
    guidance: list[float]
    compare_runs: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Plan:
        quick = args.quick
        return cls(per_prompt=args.per_prompt or (2 if quick else 15),
                   latency_calls=args.latency_calls or (3 if quick else 20),
                   sweep=args.sweep if args.sweep is not None else ([4, 8, 20] if quick else [4, 8, 10, 20, 50, 250]),
                   guidance=args.guidance if args.guidance is not None else ([0.0, 2.5] if quick else [0.0, 1.0, 2.5, 5.0]),
                   compare_runs=args.compare_runs or (2 if quick else 7))


def measure_backends(registry: Registry, judge: Judge, families: list[str], plan: Plan, results: dict) -> None:
    """Every shipped variant of every family, on the benchmark prompts."""
    for family in families:
        names = registry.variants(family)
        if not names:
            results["notes"].append(f"{family}: no shipped weights, not measured")
            continue
        for variant in names:
            log(f"{family}/{variant}: {plan.per_prompt} images x {len(specs_for_prompts())} prompts")
            row = measure(registry, judge, family, variant, plan.per_prompt, plan.latency_calls)
            row["trained_steps"] = registry.trained_steps(family, variant)  # model cards flag scores of older weights
            results["backends"].append(row)


def measure_diffusion_settings(registry: Registry, judge: Judge, plan: Plan, results: dict) -> None:
    """The sampling-compute sweeps: denoising steps, then guidance scales (0 = the prompt ignored)."""
    for steps in plan.sweep:
        log(f"diffusion sweep: {steps} steps")
        results["sweep"].append(measure(registry, judge, "diffusion", "full", max(1, plan.per_prompt // 3),
                                        max(1, plan.latency_calls // 4), options=GenerateOptions(steps=steps)))
    for scale in plan.guidance:
        log(f"diffusion guidance sweep: {scale}")
        results["guidance"].append(measure(registry, judge, "diffusion", "full", max(1, plan.per_prompt // 3), 1,
                                           options=GenerateOptions(guidance=scale)))


def measure_speed(registry: Registry, judge: Judge, plan: Plan, quick: bool, app: bool) -> dict:
    """/compare in-process, what each speed-up bought (full run), and the launched app's start and memory."""
    log("speed of the full /compare call")
    out = speed.compare_speed(registry, judge, plan.compare_runs)
    if not quick:
        log("what each speed-up bought")
        out["speedups"] = speedups.ablation(registry, judge, max(2, plan.compare_runs // 2))
    if app:
        log("app cold start and memory")
        out.update(speed.app_start_and_memory())
    return out


def add_near_duplicates(results: dict) -> None:
    """Near-duplicate pairs per prompt, against the closeness of two different clean renders."""
    threshold = duplicate_threshold(results["renders"]["_pairs"])
    for row in [results["renders"], *results["backends"], *(e["full"] for e in results["equal_training"])]:
        row["_duplicates"] = near_duplicate_rates(row["_pairs"], threshold)
        row["near_duplicates"] = mean_ci(row["_duplicates"])
    results["duplicate_threshold"] = threshold


def main(argv=None) -> int:
    args = parse_args(argv)
    plan = Plan.from_args(args)
    args.out.mkdir(parents=True, exist_ok=True)
    registry, judge = Registry(), Judge.load()  # the generators, and the one judge that scores them all
    started = time.perf_counter()
    results: dict = {
        "date": dt.date.today().isoformat(), "quick": args.quick, "per_prompt": plan.per_prompt,
        "hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        "backends": [], "sweep": [], "guidance": [], "snapshots": [], "notes": [],
    }
    log("clean renders (the reference)")
    results["renders"] = measure_renders(judge, plan.per_prompt)
    measure_backends(registry, judge, args.families, plan, results)
    results["equal_training"] = equal_training_pairs(registry, judge, results["backends"], plan.per_prompt, plan.latency_calls)
    if "diffusion" in args.families and registry.variants("diffusion"):
        measure_diffusion_settings(registry, judge, plan, results)
    if "gan" in args.families and registry.variants("gan"):
        results["snapshots"] = speed.gan_snapshots(registry, judge, max(2, plan.per_prompt // 2))
    results["speed"] = measure_speed(registry, judge, plan, args.quick, app=not args.no_app)
    results["speedups"] = results["speed"].pop("speedups", None)
    if results["speedups"] is None:
        del results["speedups"]
    results["compare_p50_s"] = results["speed"].get("compare_p50_s")
    validation = REPO_ROOT / "results" / "scorer_validation.json"
    results["scorer_validation"] = json.loads(validation.read_text()) if validation.exists() else None
    add_near_duplicates(results)
    results["claims"] = claims.evaluate(results, registry)
    results["wall_s"] = round(time.perf_counter() - started, 1)
    report.write(results, args.out)
    summary = {"out": str(args.out), "wall_s": results["wall_s"], "compare_p50_s": results["compare_p50_s"],
               "claims": {c["claim"]: c["verdict"] for c in results["claims"]}}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
