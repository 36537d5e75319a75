"""Grouped K-fold (whole sources held out) evaluation of the tiny CNN variants.

    python cnn_eval.py VARIANT [--epochs 40] [--k 5]

VARIANT: rgb (RGB + prompt), rgb_neg (+ synthetic negatives in training), rgbmaps (RGB + the
silhouette net's hand/finger/tip maps as channels + prompt), rgbmaps_neg.
Saves held-out predictions to runs/quality/pred_cnn_<variant>.npz.
"""

from __future__ import annotations

import argparse
import os
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np
import torch

import cnn
from data import fmt_metrics, grouped_kfold, load, metrics


def inputs(rs, variant: str, maps_path: str = "runs/quality/maps.npy") -> np.ndarray:
    x = rs.images.transpose(0, 3, 1, 2).astype(np.float32) / 255
    if "maps" in variant:
        x = np.concatenate([x, np.load(maps_path).astype(np.float32)], 1)
    return x


def run(variant: str, epochs: int = 40, k: int = 5, seed: int = 0, n_neg: int = 300, out_dir: str = "runs/quality"):
    torch.set_num_threads(1)
    rs = load()
    exp = np.load(f"{out_dir}/cache.npz")["expected"]
    x, pr = inputs(rs, variant), cnn.prompt_onehot(exp)
    n = len(x)
    pred = {"q": np.zeros(n), "p_hand": np.zeros(n), "fingers": np.zeros(n, int), "p_fingers": np.zeros((n, 7)),
            "fold": np.zeros(n, int)}
    for fi, (names, tr, te) in enumerate(grouped_kfold(rs.groups, k, seed)):
        t = time.time()
        xt, pt, qt, ht, ft = x[tr], pr[tr], rs.quality[tr], rs.hand[tr], rs.finger_target[tr]
        if variant.endswith("_neg"):
            neg = cnn.synthetic_negatives(rs.images[tr], n_neg, seed + fi)
            xn = neg.transpose(0, 3, 1, 2).astype(np.float32) / 255
            if "maps" in variant:  # the maps of synthetic pictures need the judge: run it here
                from maps import silhouette_maps

                xn = np.concatenate([xn, silhouette_maps(neg).astype(np.float32)], 1)
            pn = cnn.prompt_onehot(exp[np.random.default_rng(fi).choice(tr, n_neg)])
            xt, pt = np.concatenate([xt, xn]), np.concatenate([pt, pn])
            qt, ht = np.concatenate([qt, np.ones(n_neg)]), np.concatenate([ht, np.zeros(n_neg)])
            ft = np.concatenate([ft, -np.ones(n_neg, int)])
        net = cnn.fit(xt, pt, qt, ht, ft, epochs=epochs, seed=seed + fi)
        p = cnn.predict(net, x[te], pr[te])
        for key in ("q", "p_hand", "fingers", "p_fingers"):
            pred[key][te] = p[key]
        pred["fold"][te] = fi
        print(f"fold {fi} ({len(te)} held out: {names}) {time.time() - t:.0f}s", flush=True)
    np.savez(f"{out_dir}/pred_cnn_{variant}.npz", **pred)
    print(variant, fmt_metrics(metrics(rs, pred["q"], pred["p_hand"], pred["p_hand"] > 0.5, pred["fingers"])))
    print("params", cnn.n_params(net), "latency ms", round(cnn.latency(net, x.shape[1]), 2))
    torch.save(net.state_dict(), f"{out_dir}/cnn_{variant}_lastfold.pt")
    return pred


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("variant")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--k", type=int, default=5)
    a = ap.parse_args()
    run(a.variant, a.epochs, a.k)
