"""A multi-task MLP on the tabular features (the portable form: a few numpy matrices, like the
judge's count head). Standardised inputs -> hidden ReLU layer -> quality, hand logit, 7 finger
logits. A small ensemble of seeds is averaged.

    python mlp.py            # LOSO on feature set T (report + image stats + witness scalars + counts)
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self, d_in: int, hidden: int = 64, dropout: float = 0.3):
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(d_in), requires_grad=False)
        self.sd = nn.Parameter(torch.ones(d_in), requires_grad=False)
        self.hidden = nn.Linear(d_in, hidden)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, 1 + 1 + 7)

    def forward(self, x):
        h = self.drop(F.relu(self.hidden(self.drop((x - self.mu) / self.sd))))
        o = self.out(h)
        return 3.0 + o[:, 0], o[:, 1], o[:, 2:]


def fit(X, quality, hand, fingers, hidden=64, epochs=400, lr=3e-3, wd=1e-2, seed=0) -> MLP:
    torch.manual_seed(seed)
    net = MLP(X.shape[1], hidden)
    Xt = torch.from_numpy(X).float()
    net.mu.data, net.sd.data = Xt.mean(0), Xt.std(0) + 1e-3
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=wd)
    Q, H, Fg = (torch.from_numpy(v) for v in (quality.astype(np.float32), hand.astype(np.float32), fingers.astype(np.int64)))
    fm = Fg >= 0
    for _ in range(epochs):
        net.train()
        q, h, f = net(Xt)
        loss = F.smooth_l1_loss(q, Q) + F.binary_cross_entropy_with_logits(h, H) + 0.5 * F.cross_entropy(f[fm], Fg[fm])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


@torch.inference_mode()
def predict(nets: list[MLP], X) -> dict:
    Xt = torch.from_numpy(X).float()
    outs = [net(Xt) for net in nets]
    q = torch.stack([o[0] for o in outs]).mean(0)
    ph = torch.stack([torch.sigmoid(o[1]) for o in outs]).mean(0)
    pf = torch.stack([o[2].softmax(1) for o in outs]).mean(0)
    return {"q": q.numpy(), "p_hand": ph.numpy(), "fingers": pf.argmax(1).numpy(), "p_fingers": pf.numpy()}


def loso(rs, X, seeds=3, splits=None, **kw) -> dict:
    from data import loso_splits

    n = len(X)
    pred = {"q": np.zeros(n), "p_hand": np.zeros(n), "fingers": np.zeros(n, int), "p_fingers": np.zeros((n, 7))}
    for _, tr, te in (splits if splits is not None else loso_splits(rs.groups)):
        nets = [fit(X[tr], rs.quality[tr], rs.hand[tr], rs.finger_target[tr], seed=s, **kw) for s in range(seeds)]
        p = predict(nets, X[te])
        for k in pred:
            pred[k][te] = p[k]
    return pred


def table_T(cache_dir: str = "runs/quality") -> np.ndarray:
    from tabular import feature_sets

    fs = feature_sets(f"{cache_dir}/cache.npz")
    return np.hstack([fs["R+I+Ws"], np.load(f"{cache_dir}/countfeat.npy")]).astype(np.float32)


if __name__ == "__main__":
    import time

    from data import fmt_metrics, load, metrics

    torch.set_num_threads(1)
    rs = load(images=False)
    X = table_T()
    for hidden in (32, 64):
        t = time.time()
        p = loso(rs, X, hidden=hidden)
        np.savez(f"runs/quality/pred_mlp{hidden}_T.npz", **p)
        print(f"mlp{hidden} T", fmt_metrics(metrics(rs, p["q"], p["p_hand"], p["p_hand"] > 0.5, p["fingers"])),
              f"{time.time() - t:.0f}s", flush=True)
