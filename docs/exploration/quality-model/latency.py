"""Per-picture cost of the quality model on one thread, on top of the judge's own evidence:
image statistics + witness scalars + count features + the three tree ensembles (sklearn, and a
flattened numpy evaluation of the same trees, which is what the judge would ship).
Needs the judge package on the path (PYTHONPATH=<checkout>)."""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import time

import numpy as np


def tree_arrays(hgb) -> list[np.ndarray]:
    """sklearn HistGradientBoosting -> per class a stacked node table (feature, threshold, left,
    right, is_leaf, value, missing_go_to_left) for a numpy evaluator."""
    out = []
    for k in range(len(hgb._predictors[0])):
        tabs = []
        for it in hgb._predictors:
            nd = it[k].nodes
            tabs.append(np.stack([nd["feature_idx"], nd["num_threshold"], nd["left"], nd["right"], nd["is_leaf"],
                                  nd["value"], nd["missing_go_to_left"]], 1).astype(np.float64))
        out.append(tabs)
    return out


def eval_trees(tabs, x: np.ndarray) -> float:
    s = 0.0
    for t in tabs:
        i = 0
        while not t[i, 4]:
            v = x[int(t[i, 0])]
            go_left = v <= t[i, 1] if not np.isnan(v) else bool(t[i, 6])
            i = int(t[i, 2] if go_left else t[i, 3])
        s += t[i, 5]
    return s


def n_nodes(hgb) -> int:
    return sum(len(p.nodes) for it in hgb._predictors for p in it)


def main():
    import torch

    torch.set_num_threads(1)
    from countfeat import count_features
    from data import load
    from features import image_stats, witness_features
    from final import fit_heads
    from judge.score import score
    from maps import silhouette_maps
    from mlp import table_T
    from prompt.spec import parse

    rs = load()
    X = table_T()
    heads = fit_heads(X, rs.quality, rs.hand, rs.finger_target)
    print("tree nodes per head (quality, hand, fingers):", [n_nodes(h) for h in heads],
          "=> parameters (threshold+value+feature per node) ~", 3 * sum(n_nodes(h) for h in heads))
    idx = np.random.default_rng(0).choice(len(X), 40, replace=False)
    specs = [parse(rs.prompts[i]) for i in idx]
    times = {"judge score()": [], "image_stats": [], "witness scalars (re-run net)": [], "count_features": [],
             "3 heads sklearn": [], "3 heads numpy trees": []}
    flat = [tree_arrays(h) for h in heads]
    for i, sp in zip(idx, specs):
        im = rs.images[i]
        t = time.perf_counter(); score(im, sp); times["judge score()"].append(time.perf_counter() - t)
        t = time.perf_counter(); image_stats(im); times["image_stats"].append(time.perf_counter() - t)
        t = time.perf_counter(); witness_features(im[None]); times["witness scalars (re-run net)"].append(time.perf_counter() - t)
        mp = silhouette_maps(im[None])
        t = time.perf_counter(); count_features(mp); times["count_features"].append(time.perf_counter() - t)
        x = X[i:i + 1]
        t = time.perf_counter()
        heads[0].predict(x); heads[1].predict_proba(x); heads[2].predict_proba(x)
        times["3 heads sklearn"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for tabs in flat:
            [eval_trees(c, x[0]) for c in tabs]
        times["3 heads numpy trees"].append(time.perf_counter() - t)
    for k, v in times.items():
        print(f"{k:32s} median {1000 * np.median(v):6.2f} ms   p90 {1000 * np.percentile(v, 90):6.2f} ms")
    # sanity: the numpy evaluator agrees with sklearn
    xq = X[idx[0]]
    raw = eval_trees(flat[0][0], xq) + heads[0]._baseline_prediction.ravel()[0]
    print("numpy vs sklearn quality:", raw, heads[0].predict(X[idx[0]:idx[0] + 1])[0])


if __name__ == "__main__":
    main()
