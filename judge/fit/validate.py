"""Does the Hand Score separate malformed hands from healthy ones? The numbers quoted in the README.

Renders clean hands and labelled malformations at 64 px (validation seed 9303: neither the
silhouette net's training seed 7101 nor the calibration seed 7202), plus images with no hand,
scores each one with and without the prompt's spec, and reports:
- AUROC of the Hand Score for "malformed" (all kinds, and per kind), with the spec (the app's
  case: the prompt says which fingers should be out) and without it (anatomy alone), and of the
  learned malformation detector's P(malformed) alone (trained on seed 7301);
- extended-finger count accuracy on clean renders (exact, vs the gesture's extended digits and
  vs the digits whose tips are visible in the render);
- no-hand rejection: share of noise / blank images with hand_found false (and of soft blobs and
  skin-coloured blobs, the shape an undertrained generator draws);
- flag rates per kind, latency p50/p90 of one full score of a 64 px image.

    python -m judge.fit.validate            # 500 clean, 100 per kind, 100 noise + 100 blank
    python -m judge.fit.validate --quick    # a small version in < 1 minute
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from core.settings import REPO_ROOT
from core.vocab import ANOMALIES, HandSpec
from judge.judge import Judge
from judge.metrics import auroc
from world.render import render_sample

SEED = 9303


NO_HAND_KINDS = ("noise", "blank", "blobs", "skin_blobs")


def _skin_blob(rng: np.random.Generator) -> np.ndarray:
    """A hand-sized, skin-coloured lump with a few bumps on a smooth background, blurred: what an
    undertrained generator draws (the shape and colour of a hand, none of its parts)."""
    import cv2

    from world.render import MONK

    t = np.linspace(0, 1, 64)[None, :, None] * np.ones((64, 1, 1))
    img = rng.uniform(40, 220, 3) * (1 - t) + rng.uniform(40, 220, 3) * t
    tone = MONK[int(rng.integers(len(MONK)))]
    skin = np.array([int(tone[i : i + 2], 16) for i in (0, 2, 4)], float)
    cx, cy = (int(v) for v in rng.integers(24, 40, 2))
    ax = tuple(int(v) for v in rng.integers(9, 18, 2))
    angle = float(rng.uniform(0, 180))
    cv2.ellipse(img, (cx, cy), ax, angle, 0, 360, skin.tolist(), -1)
    for _ in range(int(rng.integers(0, 5))):  # lumps on the rim, none finger-long
        a = rng.uniform(0, 2 * np.pi)
        centre = (int(cx + ax[0] * np.cos(a)), int(cy + ax[1] * np.sin(a)))
        cv2.circle(img, centre, int(rng.integers(3, 7)), (skin * rng.uniform(0.8, 1.1)).tolist(), -1)
    img = img + rng.normal(0, 6, img.shape)
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.8, 2.0))


def no_hand_images(kind: str, count: int, seed: int = SEED) -> list[np.ndarray]:
    """Images with no hand: uniform/Gaussian noise, blank colours, soft blobs, skin-coloured blobs."""
    import cv2

    rng = np.random.default_rng([seed, NO_HAND_KINDS.index(kind) + 1])
    out = []
    for i in range(count):
        if kind == "noise":
            if i % 2:
                img = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)
            else:
                img = np.clip(rng.uniform(0, 255, 3) + rng.normal(0, rng.uniform(10, 60), (64, 64, 3)), 0, 255)
        elif kind == "blank":
            img = np.broadcast_to(rng.uniform(0, 255, 3), (64, 64, 3)).copy()
        elif kind == "skin_blobs":
            img = _skin_blob(rng)
        else:
            img = np.broadcast_to(rng.uniform(0, 255, 3), (64, 64, 3)).copy()
            for _ in range(int(rng.integers(1, 4))):
                centre = tuple(int(v) for v in rng.integers(10, 54, 2))
                axes = tuple(int(v) for v in rng.integers(5, 20, 2))
                cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, rng.uniform(0, 255, 3).tolist(), -1)
            img = cv2.GaussianBlur(img, (0, 0), 0.8)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def separable_count(label: dict, min_px: float = 2.5) -> int:
    """Visible extended fingertips that are at least `min_px` apart at 64 px (clusters).

    The renderer's `visible_extended` says a tip is not hidden, but in side views two fingers
    stacked one behind the other show their tips a pixel apart: one fingertip to any eye.
    """
    from core.anatomy import DIGIT_KEYPOINTS

    kp = np.asarray(label["keypoints"], float)
    groups: list[list[np.ndarray]] = []
    for digit in label["visible_extended"]:
        p = kp[DIGIT_KEYPOINTS[digit][3], :2]
        for g in groups:
            if min(np.linalg.norm(p - q) for q in g) < min_px:
                g.append(p)
                break
        else:
            groups.append([p])
    return len(groups)


def _spec(label: dict) -> HandSpec:
    return HandSpec(gesture=label["gesture"])


def score_renders(judge: Judge, clean: int, per_kind: int, seed: int = SEED) -> list[dict]:
    """One row per render (clean, then `per_kind` of each malformation): scored with and without its spec."""
    rows: list[dict] = []
    evidence = []
    for kind in (None, *ANOMALIES):
        for i in range(clean if kind is None else per_kind):
            r = render_sample(seed, i, 64, anomaly=kind)
            evidence.append((judge.gather(r.image), r.label))
    for ev, label in evidence:
        with_spec, blind = judge.evaluate(ev, _spec(label)), judge.evaluate(ev)
        rows.append({
            "kind": label["anomaly"] or "clean",
            "gesture": label["gesture"],
            "score_spec": with_spec.hand_score,
            "score_blind": blind.hand_score,
            "count": blind.extended_count,
            "true_count": label["extended_count"],
            "visible_count": label["visible_extended_count"],
            "separable_count": separable_count(label),
            "view": label["view"],
            "flags_spec": with_spec.flags,
            "flags_blind": blind.flags,
            "found": blind.hand_found,
            "p_malformed": None if ev.defect is None else 1.0 - ev.defect["clean"],
        })
    return rows


def separation(rows: list[dict], per_kind: int, seed: int = SEED) -> dict:
    """AUROC of the Hand Score for "malformed", with and without the spec, overall and per kind; and of
    the detector's P(malformed) alone."""
    clean_rows = [r for r in rows if r["kind"] == "clean"]
    bad_rows = [r for r in rows if r["kind"] != "clean"]
    out: dict = {"seed": seed, "size": 64, "n_clean": len(clean_rows), "n_per_kind": per_kind}
    # Malformations are rendered in palm/back views only; "_palm_back" compares them with the
    # clean renders of those views (side views hide fingers behind each other).
    for mode in ("spec", "blind"):
        key = f"score_{mode}"
        for suffix, negs in (("", clean_rows), ("_palm_back", [r for r in clean_rows if r["view"] != "side"])):
            neg = -np.array([r[key] for r in negs])
            out[f"auroc_{mode}{suffix}"] = round(auroc(-np.array([r[key] for r in bad_rows]), neg), 4)
            out[f"auroc_{mode}{suffix}_per_kind"] = {
                k: round(auroc(-np.array([r[key] for r in bad_rows if r["kind"] == k]), neg), 4) for k in ANOMALIES
            }
    if all(r["p_malformed"] is not None for r in rows):  # the learned detector alone, for comparison
        neg = np.array([r["p_malformed"] for r in clean_rows])
        out["auroc_detector_alone"] = round(auroc(np.array([r["p_malformed"] for r in bad_rows]), neg), 4)
        out["auroc_detector_alone_per_kind"] = {
            k: round(auroc(np.array([r["p_malformed"] for r in bad_rows if r["kind"] == k]), neg), 4) for k in ANOMALIES
        }
    return out


def counts(rows: list[dict]) -> dict:
    """Extended-finger count accuracy on clean renders, hand-found rate, mean score, flag rates per kind."""
    clean_rows = [r for r in rows if r["kind"] == "clean"]
    out: dict = {}
    out["count_exact_clean"] = round(float(np.mean([r["count"] == r["true_count"] for r in clean_rows])), 4)
    out["count_exact_clean_visible"] = round(float(np.mean([r["count"] == r["visible_count"] for r in clean_rows])), 4)
    out["count_exact_clean_separable"] = round(
        float(np.mean([r["count"] == r["separable_count"] for r in clean_rows])), 4)
    out["count_exact_clean_by_view"] = {
        v: round(float(np.mean([r["count"] == r["true_count"] for r in clean_rows if r["view"] == v])), 4)
        for v in ("palm", "back", "side")
    }
    by_gesture: dict[str, list[bool]] = {}
    for r in clean_rows:
        by_gesture.setdefault(r["gesture"], []).append(r["count"] == r["true_count"])
    out["count_exact_by_gesture"] = {g: round(float(np.mean(v)), 3) for g, v in sorted(by_gesture.items())}
    out["clean_hand_found_rate"] = round(float(np.mean([r["found"] for r in clean_rows])), 4)
    out["clean_mean_score_spec"] = round(float(np.mean([r["score_spec"] for r in clean_rows])), 2)
    out["flag_rates_spec"] = {}
    for kind in ("clean", *ANOMALIES):
        sel = [r for r in rows if r["kind"] == kind]
        flags = sorted({f for r in sel for f in r["flags_spec"]})
        out["flag_rates_spec"][kind] = {f: round(sum(f in r["flags_spec"] for r in sel) / len(sel), 3) for f in flags}
    return out


def rejection(judge: Judge, no_hand: int) -> dict:
    """Share of each kind of no-hand image the judge finds no hand in."""
    rates = {}
    for kind in NO_HAND_KINDS:
        reports = [judge.score(img) for img in no_hand_images(kind, no_hand)]
        rates[kind] = round(sum(not r.hand_found for r in reports) / len(reports), 4)
    return {"no_hand_rejection": rates, "no_hand_rejection_noise_blank": round((rates["noise"] + rates["blank"]) / 2, 4)}


def latency(judge: Judge, latency_n: int) -> dict:
    """p50/p90 of one full score of a 64 px render, after 3 warm-up calls."""
    times = []
    for i in range(latency_n + 3):
        img = render_sample(SEED + 1, i, 64).image
        t = time.perf_counter()
        judge.score(img)
        if i >= 3:
            times.append(1000 * (time.perf_counter() - t))
    return {"latency_ms_p50": round(float(np.percentile(times, 50)), 1),
            "latency_ms_p90": round(float(np.percentile(times, 90)), 1)}


def run(clean: int, per_kind: int, no_hand: int, latency_n: int, judge: Judge | None = None, seed: int = SEED) -> dict:
    import torch

    torch.set_num_threads(1)  # the app shares its cores; latency is quoted for one thread
    judge = judge or Judge.load()
    t0 = time.time()
    rows = score_renders(judge, clean, per_kind, seed)
    out = {**separation(rows, per_kind, seed), **counts(rows), **rejection(judge, no_hand), **latency(judge, latency_n)}
    out["seconds"] = round(time.time() - t0, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate the Hand Score on renders (AUROC, counts, no-hand).")
    parser.add_argument("--quick", action="store_true", help="small version (< 1 minute)")
    parser.add_argument("--out", type=Path, default=None, help="default results/scorer_validation.json")
    parser.add_argument("--weights", type=Path, default=None, help="a weights folder (default judge/weights)")
    parser.add_argument("--seed", type=int, default=SEED,
                        help=f"the renders' seed (default {SEED}, the validation seed; another one is a fresh check)")
    args = parser.parse_args(argv)
    judge = Judge.load(args.weights)
    if args.quick:
        result = run(clean=60, per_kind=12, no_hand=20, latency_n=20, judge=judge, seed=args.seed)
    else:
        result = run(clean=500, per_kind=100, no_hand=100, latency_n=100, judge=judge, seed=args.seed)
    result["quick"] = args.quick
    out = args.out or REPO_ROOT / "results" / ("scorer_validation_quick.json" if args.quick else "scorer_validation.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
