"""A small conv head on the silhouette net's frozen encoder (40 x 16 x 16) + its hand/finger/tip
maps pooled to 16 x 16: quality, hand logit, finger count, prompt one-hot joined before the heads.
The judge already runs the silhouette net, so the extra cost is the head only.

    python enchead.py [--k 5] [--epochs 60] [--loso]

Augmentation: the mirror image (pre-computed), random +-1 cell shifts, channel dropout.
"""

from __future__ import annotations

import argparse
import math
import os
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from cnn import N_FINGER, N_PROMPT, prompt_onehot


class EncHead(nn.Module):
    def __init__(self, in_ch: int = 43, width=(48, 64), extra: int = 0, dropout: float = 0.3):
        super().__init__()
        a, b = width

        def blk(i, o, s):
            return nn.Sequential(nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

        self.body = nn.Sequential(nn.Dropout2d(0.1), blk(in_ch, a, 1), blk(a, b, 2), blk(b, b, 1))
        feat = 2 * b + N_PROMPT + extra
        self.drop = nn.Dropout(dropout)
        self.quality, self.hand, self.fingers = nn.Linear(feat, 1), nn.Linear(feat, 1), nn.Linear(feat, N_FINGER)

    def forward(self, x, prompt, extra=None):
        h = self.body(x)
        f = [h.mean((2, 3)), h.amax((2, 3)), prompt] + ([extra] if extra is not None else [])
        f = self.drop(torch.cat(f, 1))
        return 3.0 + self.quality(f).squeeze(1), self.hand(f).squeeze(1), self.fingers(f)


def _shift(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    dx, dy = (int(v) for v in torch.randint(-1, 2, (2,), generator=rng))
    return torch.roll(x, (dy, dx), (2, 3))


def fit(x2, prompt, quality, hand, fingers, epochs=60, batch=64, lr=3e-3, seed=0, width=(48, 64)):
    """x2: N x 2 x C x 16 x 16 (as-is, mirrored)."""
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    net = EncHead(x2.shape[2], width)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-2)
    steps = epochs * math.ceil(len(x2) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.15)
    X, P = torch.from_numpy(x2).float(), torch.from_numpy(prompt)
    Q, H, Fg = torch.from_numpy(quality).float(), torch.from_numpy(hand).float(), torch.from_numpy(fingers).long()
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(X), generator=rng)
        for s in range(0, len(X), batch):
            i = perm[s:s + batch]
            view = torch.randint(0, 2, (len(i),), generator=rng)
            xb = _shift(X[i, view], rng)
            q, h, f = net(xb, P[i])
            loss = F.smooth_l1_loss(q, Q[i]) + F.binary_cross_entropy_with_logits(h, H[i])
            fm = Fg[i] >= 0
            if fm.any():
                loss = loss + 0.5 * F.cross_entropy(f[fm], Fg[i][fm])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return net.eval()


@torch.inference_mode()
def predict(net, x2, prompt):
    X, P = torch.from_numpy(x2).float(), torch.from_numpy(prompt)
    q1, h1, f1 = net(X[:, 0], P)
    q2, h2, f2 = net(X[:, 1], P)
    pf = (f1.softmax(1) + f2.softmax(1)) / 2
    return {"q": ((q1 + q2) / 2).numpy(), "p_hand": torch.sigmoid((h1 + h2) / 2).numpy(),
            "fingers": pf.argmax(1).numpy(), "p_fingers": pf.numpy()}


def run(k=5, epochs=60, loso=False, seed=0, out_dir="runs/quality", tag=""):
    from data import fmt_metrics, grouped_kfold, load, loso_splits, metrics

    torch.set_num_threads(1)
    rs = load(images=False)
    x2 = np.load(f"{out_dir}/encmaps.npy")
    pr = prompt_onehot(np.load(f"{out_dir}/cache.npz")["expected"])
    n = len(x2)
    pred = {"q": np.zeros(n), "p_hand": np.zeros(n), "fingers": np.zeros(n, int), "p_fingers": np.zeros((n, 7))}
    splits = loso_splits(rs.groups) if loso else grouped_kfold(rs.groups, k, seed)
    t0 = time.time()
    for fi, (names, tr, te) in enumerate(splits):
        net = fit(x2[tr], pr[tr], rs.quality[tr], rs.hand[tr], rs.finger_target[tr], epochs, seed=seed + fi)
        p = predict(net, x2[te], pr[te])
        for key in pred:
            pred[key][te] = p[key]
        print(f"fold {fi} {len(te)} {time.time() - t0:.0f}s", flush=True)
    name = f"enchead_{'loso' if loso else f'k{k}'}{tag}"
    np.savez(f"{out_dir}/pred_{name}.npz", **pred)
    print(name, fmt_metrics(metrics(rs, pred["q"], pred["p_hand"], pred["p_hand"] > 0.5, pred["fingers"])))
    print("head params", sum(p.numel() for p in net.parameters()))
    return pred


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--loso", action="store_true")
    a = ap.parse_args()
    run(a.k, a.epochs, a.loso)
