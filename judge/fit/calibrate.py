"""Calibrate the scorer on seed 7202 (never the validation seed 9303).

Thresholds come from clean renders only. Every silhouette measure gets two limits from the
clean distribution of each hand's worst finger, separately for hands the view head sees
face-on and edge-on: the 90th percentile (the score starts to drop) and the 99th
(`--quantile`, the flag), so a flag means "beyond what healthy hands show". The blur threshold
sits between clean renders and the same renders Gaussian-blurred (sigma 1.2 px, the softness of
a VAE sample). MediaPipe tolerances are chosen so that few clean hands cross the anatomy limits.
The hand-likeness gate (the net's strongest wrist/knuckle/tip peak) sits at the clean 0.2nd
percentile; so does the malformation detector's P(malformed) (90th / 99th percentiles, the flag
never under 0.5). The points the detector may take, and the weight of the silhouette geometry
next to it, are those that best separate this seed's own malformed renders from its clean ones.
Writes judge/weights/scorer_calibration.json, which `Judge.load` reads.

    python -m judge.fit.calibrate --count 600            # ~5 min on one idle thread
    python -m judge.fit.calibrate --weights DIR          # the networks in DIR, written to DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from judge.calibration import FILE, Calibration
from judge.judge import DEFAULT_WEIGHTS, Judge
from judge.measures import finger_measures, hand_likeness, side_view
from judge.witnesses.anatomy_check import check
from judge.witnesses.sharpness import acutance
from judge.witnesses.silhouette import to_input
from world.render import render_sample

SEED = 7202
CAL_PATH = DEFAULT_WEIGHTS / FILE


def _q(values, q: float, default: float) -> float:
    return float(np.quantile(values, q)) if len(values) else default


def clean_samples(judge: Judge, count: int) -> tuple[dict[str, dict[str, list[float]]], dict[str, list]]:
    """What the judge's witnesses see on `count` clean renders of SEED: per view, each hand's worst
    finger per silhouette measure; and the raw edge acutance (sharp and blurred), mask confidence,
    hand area, hand-likeness, the detector's P(malformed) and MediaPipe's world landmarks."""
    import cv2

    raw = Judge(replace(judge.calibration, sharpness_ref=1.0), judge.networks)  # sharpness unscaled: raw acutance
    measures: dict[str, dict[str, list[float]]] = {"limits": {}, "limits_side": {}}
    seen: dict[str, list] = {k: [] for k in ("sharp", "blurred", "conf", "area", "world", "like", "bad")}
    for i in range(count):
        r = render_sample(SEED, i, 64)
        ev = raw.gather(r.image)
        sil = ev.sil
        if sil is None:
            raise RuntimeError("silhouette net unavailable")
        seen["conf"].append(sil.confidence)
        if ev.defect is not None:
            seen["bad"].append(1.0 - ev.defect["clean"])
        seen["area"].append(sil.area)
        seen["like"].append(hand_likeness(sil))
        view = "limits_side" if side_view(sil, judge.calibration.side_view_above) else "limits"  # as the judge sees it
        for key, values in finger_measures(sil, list(r.label["extended"])).items():
            # the judge judges each hand by its worst finger; a hand without one counts as 0
            measures[view].setdefault(key, []).append(max((v for _, v in values), default=0.0))
        if ev.sharpness is not None:
            seen["sharp"].append(ev.sharpness)
            value = acutance(cv2.GaussianBlur(to_input(r.image), (0, 0), 1.2), sil.hand)
            if value is not None:
                seen["blurred"].append(value)
        if ev.lm is not None and ev.lm.presence >= 0.5 and ev.lm.world is not None:
            seen["world"].append(ev.lm.world)
    return measures, seen


def thresholds(measures: dict[str, dict[str, list[float]]], seen: dict[str, list], quantile: float,
               lo_q: float) -> tuple[dict, dict]:
    """(the calibrated thresholds, the checks on the way: clean and blurred sharpness)."""
    ref = float(np.median(seen["sharp"]))
    clean_lo = _q(np.array(seen["sharp"]) / ref, 0.01, 0.7)
    blur_med = float(np.median(seen["blurred"])) / ref
    cal = {
        "sharpness_ref": round(ref, 4),
        "blurry_below": round(min(clean_lo, (clean_lo + blur_med) / 2), 3),
        **{view: {key: [round(_q(values, lo_q, 0.0), 3), round(_q(values, quantile, 0.0), 3)]
                    for key, values in by_key.items()} for view, by_key in measures.items()},
        "found_confidence": round(min(0.6, 0.8 * _q(seen["conf"], 0.005, 0.6)), 3),
        "found_area": round(min(0.02, 0.5 * _q(seen["area"], 0.005, 0.02)), 4),
        # a clean hand fails the hand-likeness gate 1 time in 500, and loses points below the 5th percentile
        "likeness_min": round(_q(seen["like"], 0.002, 0.27), 3),
        "likeness_low": round(_q(seen["like"], 0.05, 0.5), 3),
        # the malformation detector: points off above the clean 90th percentile, the flag above --quantile
        "detector": [round(_q(seen["bad"], lo_q, 0.2), 4), round(max(_q(seen["bad"], quantile, 0.6), 0.5), 4)],
    }
    return cal, {"clean_sharpness_q01": round(clean_lo, 3), "blurred_sharpness_median": round(blur_med, 3)}


def tolerance(judge: Judge, world: list[np.ndarray]) -> dict[str, float]:
    """MediaPipe: the smallest tolerance per kind that leaves <= 5 % of clean hands flagged by it."""
    tol = {}
    for kind, grid in (("ratio", np.arange(0.0, 1.01, 0.05)), ("bone", np.arange(0.0, 1.01, 0.05)),
                       ("angle", np.arange(0.0, 91.0, 5.0))):
        name = {"ratio": "finger_ratio", "bone": "bone_length", "angle": "joint_angle"}[kind]
        chosen = float(grid[-1])
        for t in grid:
            trial = replace(judge.calibration.tolerance, **{kind: float(t)})
            rate = np.mean([any(v.kind == name for v in check(w, trial)) for w in world]) if world else 0.0
            if rate <= 0.05:
                chosen = float(t)
                break
        tol[kind] = round(chosen, 3)
    return tol


def calibrate(count: int, quantile: float, lo_q: float = 0.90, judge: Judge | None = None) -> Calibration:
    """The calibration of `judge` (default: the shipped one's networks) on clean renders of SEED."""
    judge = judge or Judge.load()
    measures, seen = clean_samples(judge, count)
    cal, checks = thresholds(measures, seen, quantile, lo_q)
    tol = tolerance(judge, seen["world"])
    cal.update(penalty_weights(judge, cal, count))
    return Calibration.from_json({"seed": SEED, "count": count, "quantile": quantile, "cal": cal, "tolerance": tol,
                                  **checks, "n_landmark_hands": len(seen["world"])})


DETECTOR_POINTS = (30.0, 45.0, 60.0, 75.0, 90.0, 120.0, 150.0)
GEOMETRY_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


def penalty_weights(judge: Judge, cal: dict, count: int) -> dict[str, float]:
    """How many points the malformation detector may take, and how much the silhouette geometry
    counts next to it: the grid pair whose witnesses' score (the rules alone, before any quality model
    fitted to people) best separates malformed from clean renders
    of *this* seed (count clean, count/5 per kind), so the validation seed 9303 stays unseen.
    Other thresholds are the ones just calibrated (`cal`, over the judge's own)."""
    from core.vocab import ANOMALIES, HandSpec
    from judge.metrics import auroc

    tuned = Judge(replace(judge.calibration, **cal), judge.networks)
    cases = [(kind, render_sample(SEED, i, 64, anomaly=kind)) for kind in (None, *ANOMALIES)
             for i in range(count if kind is None else max(1, count // 5))]
    evidence = [(kind, tuned.gather(r.image), HandSpec(gesture=r.label["gesture"])) for kind, r in cases]
    best, best_auc = {}, -1.0
    for geometry in GEOMETRY_WEIGHTS:
        for points in DETECTOR_POINTS:
            trial = Judge(replace(tuned.calibration, detector_points=points, geometry_weight=geometry), judge.networks)
            scores = [(kind, trial.witness_report(ev, spec).hand_score) for kind, ev, spec in evidence]
            auc = auroc([-v for k, v in scores if k], [-v for k, v in scores if not k])
            print(f"geometry {geometry:.2f}, detector points {points:.0f}: AUROC {auc:.4f} (seed {SEED})",
                  file=sys.stderr)
            if auc > best_auc + 1e-4:
                best, best_auc = {"detector_points": points, "geometry_weight": geometry}, auc
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Calibrate scorer thresholds on clean renders.")
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--quantile", type=float, default=0.99)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS,
                        help="the weights folder whose networks are calibrated; the calibration is written there")
    args = parser.parse_args(argv)
    if not args.weights.is_dir():
        print(f"error: no weights folder {args.weights}", file=sys.stderr)
        return 2
    result = calibrate(args.count, args.quantile, judge=Judge.load(args.weights))
    path = args.weights / FILE
    result.save(path)
    print(json.dumps(result.to_json()))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
