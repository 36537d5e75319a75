"""The recommended quality model, evaluated leave-one-source-out with everything chosen inside
the fold (including the hand_found threshold).

Model: three gradient-boosted tree ensembles (sklearn HistGradientBoosting, 200 rounds of
<= 15 leaves) on feature set T = judge report (30) + image statistics (43) + the judge's witness
scalars (38: silhouette area/confidence/likeness/tips/widths/lengths, view and count heads,
malformation detector) + multi-threshold count evidence (18) = 129 numbers per picture, plus
optional synthetic negatives (synth.py) in every training fold.

hand_found threshold: in each LOSO fold, an inner 5-fold grouped CV on the 22 training sources
gives out-of-fold P(hand); the threshold is the one that finds a hand on `target_fp` of the
inner generated not-hands.

    python final.py [--neg] [--target-fp 0.08]
"""

from __future__ import annotations

import argparse
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np

from data import fmt_metrics, grouped_kfold, load, loso_splits, metrics, per_source
from tabular import make


def fit_heads(X, quality, hand, fingers, seed=0):
    yh = (hand >= 0.5).astype(int)
    has = fingers >= 0
    return (make("hgb", "quality", seed).fit(X, quality), make("hgb", "hand", seed).fit(X, yh),
            make("hgb", "fingers", seed).fit(X[has], fingers[has]))


def predict_heads(heads, X):
    mq, mh, mf = heads
    pf = np.zeros((len(X), 7))
    pf[:, mf.classes_] = mf.predict_proba(X)
    return {"q": mq.predict(X), "p_hand": mh.predict_proba(X)[:, 1], "p_fingers": pf, "fingers": pf.argmax(1)}


def inner_threshold(X, hand, groups, generated, extra=None, target_fp=0.08, k=5):
    """Out-of-fold P(hand) inside the training sources -> threshold at `target_fp` on not-hands."""
    p = np.zeros(len(X))
    for _, tr, te in grouped_kfold(groups, k, 1):
        Xt, yt = X[tr], (hand[tr] >= 0.5).astype(int)
        if extra is not None:
            Xt, yt = np.vstack([Xt, extra]), np.concatenate([yt, np.zeros(len(extra), int)])
        p[te] = make("hgb", "hand").fit(Xt, yt).predict_proba(X[te])[:, 1]
    neg = generated & (hand < 0.5)
    return float(np.quantile(p[neg], 1 - target_fp))


def run(X, rs, neg=None, target_fp=0.08, splits=None):
    n = len(X)
    pred = {"q": np.zeros(n), "p_hand": np.zeros(n), "p_fingers": np.zeros((n, 7)), "fingers": np.zeros(n, int),
            "threshold": np.zeros(n)}
    for name, tr, te in (splits if splits is not None else loso_splits(rs.groups)):
        Xt, q, h, f = X[tr], rs.quality[tr], rs.hand[tr], rs.finger_target[tr]
        if neg is not None:
            Xt = np.vstack([Xt, neg])
            q, h = np.concatenate([q, np.ones(len(neg))]), np.concatenate([h, np.zeros(len(neg))])
            f = np.concatenate([f, -np.ones(len(neg), int)])
        p = predict_heads(fit_heads(Xt, q, h, f), X[te])
        for k in ("q", "p_hand", "p_fingers", "fingers"):
            pred[k][te] = p[k]
        pred["threshold"][te] = inner_threshold(X[tr], rs.hand[tr], rs.groups[tr], rs.generated[tr], neg, target_fp)
        print(f"  {name}: threshold {pred['threshold'][te][0]:.3f}", flush=True)
    pred["hand_found"] = pred["p_hand"] > pred["threshold"]
    return pred


def report(rs, pred, label=""):
    m = metrics(rs, pred["q"], pred["p_hand"], pred["hand_found"], pred["fingers"])
    print(label, fmt_metrics(m))
    return m


if __name__ == "__main__":
    from mlp import table_T

    ap = argparse.ArgumentParser()
    ap.add_argument("--neg", action="store_true")
    ap.add_argument("--target-fp", type=float, default=0.08)
    a = ap.parse_args()
    rs = load(images=False)
    X = table_T()
    neg = np.load("runs/quality/synth.npz")["X"] if a.neg else None
    pred = run(X, rs, neg, a.target_fp)
    tag = "T_neg" if a.neg else "T"
    np.savez(f"runs/quality/final_{tag}.npz", **pred)
    report(rs, pred, tag)
    for r in per_source(rs, pred["q"], pred["p_hand"], pred["hand_found"], pred["fingers"]):
        print(r)
