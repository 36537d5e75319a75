"""Rater labels -> per-picture targets, groups for leave-one-source-out, and the metrics.

Protocol (see REPORT.md):
- one row per picture; double-rated pictures are averaged: quality = mean of the ratings,
  hand = share of raters who saw a hand (0, 0.5, 1), fingers = the counts given by raters who saw
  a hand and could count (a prediction is right if it equals any of them; 94 % of doubly rated
  pairs agree, so this is nearly always one number).
- group = the `source` string (the generator setting). The same setting in both batches
  (e.g. "gan/full", "vae/full", "diffusion/full steps=10", "render") is one group. Clean renders
  are the group "render"; each malformation "render <kind>" is its own group (5 groups of 8).
  23 groups in all; every model is fitted on 22 and predicts the 23rd.
- metrics are computed on the pooled held-out predictions (each picture predicted by the fit that
  never saw its source).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS = Path("judge/fit/raters")
MAX_FINGERS = 6  # classes 0..6, 6 meaning "six or more"


@dataclass
class RaterSet:
    ids: np.ndarray  # picture id
    files: list[str]
    prompts: list[str]
    sources: list[str]
    family: np.ndarray  # str
    quality: np.ndarray  # mean rater quality 1..5
    hand: np.ndarray  # share of raters seeing a hand
    fingers: list[set]  # rater finger counts (hand seen, count given); empty: no target
    finger_target: np.ndarray  # one class 0..6 for training (-1: none): the lowest-disagreement pick
    images: np.ndarray | None = None  # N x 64 x 64 x 3 uint8

    @property
    def generated(self) -> np.ndarray:
        return self.family != "render"

    @property
    def groups(self) -> np.ndarray:
        return np.asarray(self.sources)


def load(root: Path = LABELS, images: bool = True) -> RaterSet:
    rows = [json.loads(line) for line in open(root / "labels.jsonl")]
    rows.sort(key=lambda r: r["id"])
    q, h, fs, ft = [], [], [], []
    for r in rows:
        rs = r["ratings"]
        q.append(np.mean([x["quality"] for x in rs]))
        h.append(np.mean([bool(x["hand"]) for x in rs]))
        counts = {min(int(x["fingers"]), MAX_FINGERS) for x in rs if x["hand"] and x["fingers"] is not None}
        fs.append(counts)
        ft.append(min(counts) if len(counts) == 1 else (int(round(np.mean(sorted(counts)))) if counts else -1))
    imgs = None
    if images:
        from PIL import Image

        imgs = np.stack([np.asarray(Image.open(root / r["file"]).convert("RGB")) for r in rows])
    return RaterSet(
        ids=np.array([r["id"] for r in rows]),
        files=[r["file"] for r in rows],
        prompts=[r["prompt"] for r in rows],
        sources=[r["source"] for r in rows],
        family=np.array([r["family"] for r in rows]),
        quality=np.array(q, float),
        hand=np.array(h, float),
        fingers=fs,
        finger_target=np.array(ft, int),
        images=imgs,
    )


def loso_splits(groups: np.ndarray):
    """Yield (held-out source, train index, test index) for every source."""
    for g in sorted(set(groups)):
        test = np.flatnonzero(groups == g)
        train = np.flatnonzero(groups != g)
        yield g, train, test


def grouped_kfold(groups: np.ndarray, k: int = 5, seed: int = 0):
    """K folds of whole sources (cheaper than LOSO for the CNN): sources shuffled, dealt round-robin
    by size so the folds are balanced."""
    rng = np.random.default_rng(seed)
    names = sorted(set(groups))
    rng.shuffle(names)
    names.sort(key=lambda g: -(groups == g).sum())
    folds: list[list[str]] = [[] for _ in range(k)]
    sizes = [0] * k
    for g in names:
        i = int(np.argmin(sizes))
        folds[i].append(g)
        sizes[i] += int((groups == g).sum())
    for f in folds:
        test = np.flatnonzero(np.isin(groups, f))
        train = np.flatnonzero(~np.isin(groups, f))
        yield ",".join(f), train, test


# ---------------------------------------------------------------- metrics


def _auroc(y: np.ndarray, s: np.ndarray) -> float:
    from scipy.stats import rankdata

    pos, neg = y == 1, y == 0
    r = rankdata(s)
    return float((r[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * neg.sum()))


def metrics(rs: RaterSet, score: np.ndarray, p_hand: np.ndarray, hand_found: np.ndarray,
            fingers: np.ndarray | None, on: np.ndarray | None = None) -> dict:
    """The issue's bars on held-out predictions.

    score: anything monotone in predicted quality; p_hand: P(hand) for AUROC; hand_found: bool;
    fingers: predicted count (or None). `on`: mask of pictures to evaluate (default: generated).
    """
    from scipy.stats import kendalltau, spearmanr

    on = rs.generated if on is None else on
    out: dict = {"n": int(on.sum())}
    out["spearman_quality"] = float(spearmanr(score[on], rs.quality[on])[0])
    y = rs.hand[on]
    sure = y != 0.5  # the 10 split decisions are left out of the hand metrics
    out["hand_auroc"] = _auroc((y[sure] > 0.5).astype(int), p_hand[on][sure])
    nothand = on & (rs.hand < 0.5)
    ishand = on & (rs.hand > 0.5)
    out["found_on_not_hand"] = float(hand_found[nothand].mean())
    out["found_on_hand"] = float(hand_found[ishand].mean())
    if fingers is not None:
        idx = [i for i in np.flatnonzero(ishand) if rs.fingers[i]]
        out["finger_acc"] = float(np.mean([fingers[i] in rs.fingers[i] for i in idx]))
        out["finger_n"] = len(idx)
    src = np.asarray(rs.sources)
    names = sorted(set(src[on]))
    pm = [score[on & (src == g)].mean() for g in names]
    rm = [rs.quality[on & (src == g)].mean() for g in names]
    out["source_kendall"] = float(kendalltau(pm, rm)[0])
    return out


def per_source(rs: RaterSet, q_pred: np.ndarray, p_hand: np.ndarray, hand_found: np.ndarray,
               fingers: np.ndarray | None = None) -> list[dict]:
    src = np.asarray(rs.sources)
    rows = []
    for g in sorted(set(src), key=lambda g: -rs.quality[src == g].mean()):
        m = src == g
        row = {"source": g, "n": int(m.sum()), "rater_q": rs.quality[m].mean(), "pred_q": q_pred[m].mean(),
               "rater_hand": (rs.hand[m] > 0.5).mean(), "pred_hand": hand_found[m].mean(),
               "mean_p_hand": p_hand[m].mean()}
        if fingers is not None:
            idx = [i for i in np.flatnonzero(m & (rs.hand > 0.5)) if rs.fingers[i]]
            row["finger_acc"] = float(np.mean([fingers[i] in rs.fingers[i] for i in idx])) if idx else float("nan")
        rows.append(row)
    return rows


def fmt_metrics(m: dict) -> str:
    keys = ["n", "spearman_quality", "hand_auroc", "found_on_not_hand", "found_on_hand", "finger_acc", "source_kendall"]
    return "  ".join(f"{k}={m[k]:.3f}" if isinstance(m.get(k), float) else f"{k}={m.get(k)}" for k in keys if k in m)
