"""Features for the quality model, three kinds:

- `report_features`: the current judge's report (hand_score, presence, sharpness, points per
  breakdown name, extended_count, flags, prompt's expected count and whether it matches).
- `image_stats`: plain image statistics (colour moments, saturation, Laplacian variance, edge
  energy, high-frequency noise, centre-vs-border contrast, colour histogram).
- `witness_features`: what the judge's nets see, without its hand-written rules: the silhouette
  net's 116 pooled encoder features, summaries of its maps (hand area / confidence, likeness,
  tip peaks, knuckle and wrist peaks, counted tips, finger widths/lengths), the view and count
  heads, and the malformation detector's class probabilities. Needs the judge package on the path
  (run with PYTHONPATH pointing at a checkout, e.g. the frozen 6cf92d1 copy).

`python features.py` caches all three for the rater set in `out` (default runs/quality/cache.npz).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

BREAKDOWN = ("hand_likeness", "finger_count", "joint_past_limit", "long_finger", "fused_fingers", "no_hand",
             "missing_finger", "blurry", "extra_finger", "bone_ratio")
FLAGS = ("wrong_gesture", "joint_past_limit", "extra_finger", "missing_finger", "fused_fingers", "no_hand",
         "long_finger", "blurry")


def report_feature_names() -> list[str]:
    return (["hand_score", "hand_found", "presence", "presence_missing", "sharpness", "sharpness_missing",
             "extended_count", "expected_count", "expected_missing", "count_diff", "gesture_match", "n_flags"]
            + [f"pts_{b}" for b in BREAKDOWN] + [f"flag_{f}" for f in FLAGS])


def report_features(rep: dict) -> np.ndarray:
    """One judge report dict (HandReport.to_dict) -> fixed-length vector (report_feature_names)."""
    pres, sharp, exp = rep.get("presence"), rep.get("sharpness"), rep.get("expected_count")
    bd = rep.get("breakdown", {})
    v = [rep["hand_score"], float(rep["hand_found"]), pres or 0.0, float(pres is None), sharp or 0.0,
         float(sharp is None), rep["extended_count"], exp if exp is not None else -1, float(exp is None),
         abs(rep["extended_count"] - exp) if exp is not None else 0, float(bool(rep.get("gesture_match"))),
         len(rep["flags"])]
    v += [-bd[b]["points"] if b in bd else 0.0 for b in BREAKDOWN]
    v += [float(f in rep["flags"]) for f in FLAGS]
    return np.array(v, np.float32)


def image_stat_names() -> list[str]:
    names = [f"{s}_{c}" for s in ("mean", "std") for c in "rgb"]
    names += ["sat_mean", "sat_std", "val_std", "lap_var", "log_lap_var", "edge_mean", "edge_p90", "hf_noise",
              "centre_border", "border_std", "fg_bg_dist", "dark_frac", "bright_frac"]
    names += [f"hist_{c}{i}" for c in "hsv" for i in range(8)]
    return names


def image_stats(rgb: np.ndarray) -> np.ndarray:
    """64x64x3 uint8 -> colour/edge/noise statistics (image_stat_names)."""
    import cv2

    img = rgb.astype(np.float32)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.float32)
    lap = cv2.Laplacian(gray, cv2.CV_32F)
    gx, gy = cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)
    edge = np.sqrt(gx**2 + gy**2)
    hf = gray - cv2.medianBlur(gray.astype(np.uint8), 3).astype(np.float32)  # salt noise / speckle
    border = np.concatenate([img[:4].reshape(-1, 3), img[-4:].reshape(-1, 3), img[:, :4].reshape(-1, 3),
                             img[:, -4:].reshape(-1, 3)])
    centre = img[16:48, 16:48].reshape(-1, 3)
    bg = np.median(border, 0)
    dist = np.linalg.norm(img - bg, axis=2)
    v = list(img.reshape(-1, 3).mean(0)) + list(img.reshape(-1, 3).std(0))
    v += [hsv[..., 1].mean(), hsv[..., 1].std(), hsv[..., 2].std(), lap.var(), np.log1p(lap.var()), edge.mean(),
          np.percentile(edge, 90), np.abs(hf).mean(), np.linalg.norm(centre.mean(0) - border.mean(0)),
          border.std(0).mean(), dist.mean(), (gray < 40).mean(), (gray > 215).mean()]
    for ch, top in ((0, 180), (1, 256), (2, 256)):
        h, _ = np.histogram(hsv[..., ch], bins=8, range=(0, top))
        v += list(h / h.sum())
    return np.array(v, np.float32)


def witness_feature_names() -> list[str]:
    names = [f"enc{i}" for i in range(116)]
    names += ["area", "confidence", "likeness", "tips_seen", "count", "n_fingers", "palm_radius", "faint_tip",
              "tip_heat_mean", "tip_heat_min", "width_max", "width_mean", "length_max", "length_mean", "bend_max",
              "side_view", "palm_width", "hand_mean", "hand_entropy", "finger_mean", "tips_max", "wrist_max",
              "mcp_max", "mcp_n", "sharpness", "sharp_missing"]
    names += [f"count_p{i}" for i in range(6)]
    names += ["defect_clean", "defect_extra_finger", "defect_missing_finger", "defect_fused_fingers",
              "defect_long_finger", "defect_bent_joint"]
    return names


def witness_features(rgbs: np.ndarray) -> np.ndarray:
    """N x 64x64x3 uint8 -> N x len(witness_feature_names) (needs the judge package importable)."""
    from judge import defect, silhouette
    from judge.score import hand_likeness, sharpness

    maps = silhouette.predict_batch([silhouette.to_input(x) for x in rgbs])
    out = []
    for rgb, m in zip(rgbs, maps):
        sil = silhouette.analyse(rgb, m)
        hm = m.hand.clip(1e-4, 1 - 1e-4)
        ent = float(-(hm * np.log(hm) + (1 - hm) * np.log(1 - hm)).mean())
        mcp = [float(m.extra[f"mcp_{d}"].max()) for d in ("thumb", "index", "middle", "ring", "little")]
        fl = sil.fingers if sil is not None else []
        seen = len(sil.tips) if sil is not None else 0
        sharp = sharpness(rgb, sil.hand) if sil is not None and sil.area >= 0.02 else None
        cp = silhouette.count_probabilities(m, seen)
        v = list(m.features)
        v += [sil.area, sil.confidence, hand_likeness(sil) if sil.area >= 0.02 else 0.0, seen, sil.count, len(fl),
              sil.palm_radius, sil.faint_tip, np.mean(sil.tip_heat) if sil.tip_heat else 0.0,
              np.min(sil.tip_heat) if sil.tip_heat else 0.0,
              max([f.width for f in fl], default=0.0), np.mean([f.width for f in fl]) if fl else 0.0,
              max([f.length for f in fl], default=0.0), np.mean([f.length for f in fl]) if fl else 0.0,
              max([f.bend for f in fl], default=0.0), sil.side_view or 0.0, sil.palm_width or 0.0,
              float(m.hand.mean()), ent, float(m.finger.mean()), float(m.tips.max()), float(m.extra["wrist"].max()),
              max(mcp), sum(p > 0.3 for p in mcp), sharp or 0.0, float(sharp is None)]
        v += list(cp) if cp is not None else [0.0] * 6
        dp = defect.probabilities([defect.stack_input(rgb, m)])[0] if sil.area >= 0.0 else None
        v += [dp[c] for c in defect.CLASSES]
        out.append(np.array(v, np.float32))
    return np.stack(out)


def expected_counts(prompts: list[str]) -> np.ndarray:
    """The prompt's expected extended-digit count (-1: the prompt does not say), via prompt.spec."""
    from prompt.spec import parse

    out = []
    for p in prompts:
        s = parse(p)
        out.append(len(s.extended) if s is not None and s.extended is not None else -1)
    return np.array(out)


def main(out: str = "runs/quality/cache.npz", reports: str = "runs/quality/scores_before.json") -> None:
    import torch

    torch.set_num_threads(1)
    from data import load

    rs = load()
    d = json.load(open(reports))
    rep = np.stack([report_features(d["rater/" + f][0]) for f in rs.files])
    ims = np.stack([image_stats(x) for x in rs.images])
    wit = witness_features(rs.images)
    exp = expected_counts(rs.prompts)
    np.savez_compressed(out, report=rep, image=ims, witness=wit, expected=exp, ids=rs.ids,
                        report_names=report_feature_names(), image_names=image_stat_names(),
                        witness_names=witness_feature_names())
    print("saved", out, rep.shape, ims.shape, wit.shape)


if __name__ == "__main__":
    main()
