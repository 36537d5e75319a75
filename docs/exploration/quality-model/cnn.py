"""A tiny CNN fitted to the raters: quality (regression), hand (logit), finger count (0..6).

~60k weights, stride-2 stem so a 64 px picture costs ~5 M multiply-adds (about 1-2 ms on one
CPU thread). Optional inputs: the prompt's expected count (one-hot, joined before the heads) and
extra image channels (e.g. the silhouette net's hand/finger/tip maps).

Evaluation: K folds of whole sources (`data.grouped_kfold`, K=5) -- cheaper than 23 LOSO fits
on a shared CPU; every picture is predicted by a fit that saw none of its source.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

N_FINGER = 7
N_PROMPT = 8  # expected count -1..5 one-hot + "no count" -> 7, padded to 8


def prompt_onehot(expected: np.ndarray) -> np.ndarray:
    out = np.zeros((len(expected), N_PROMPT), np.float32)
    out[np.arange(len(expected)), np.clip(expected + 1, 0, N_PROMPT - 1)] = 1
    return out


class TinyJudge(nn.Module):
    def __init__(self, in_ch: int = 3, width=(16, 32, 48, 64), use_prompt: bool = True, dropout: float = 0.2):
        super().__init__()
        a, b, c, d = width
        def blk(i, o, s):
            return nn.Sequential(nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))
        self.body = nn.Sequential(blk(in_ch, a, 1), blk(a, a, 2), blk(a, b, 2), blk(b, c, 2), blk(c, d, 1), blk(d, d, 2))
        self.use_prompt = use_prompt
        feat = 2 * d + (N_PROMPT if use_prompt else 0)
        self.drop = nn.Dropout(dropout)
        self.quality = nn.Linear(feat, 1)
        self.hand = nn.Linear(feat, 1)
        self.fingers = nn.Linear(feat, N_FINGER)

    def forward(self, x, prompt=None):
        h = self.body(x)
        f = torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)
        if self.use_prompt:
            f = torch.cat([f, prompt], 1)
        f = self.drop(f)
        return 3.0 + self.quality(f).squeeze(1), self.hand(f).squeeze(1), self.fingers(f)


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def augment(x: torch.Tensor, rng: torch.Generator, rgb_channels: int = 3) -> torch.Tensor:
    """Flips, rotation +-15 deg, scale 0.9-1.1, shift +-4 px, colour jitter (RGB channels only)."""
    n = len(x)
    flip = torch.rand(n, generator=rng) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    ang = (torch.rand(n, generator=rng) - 0.5) * (math.pi / 6)
    sc = 0.9 + 0.2 * torch.rand(n, generator=rng)
    sh = (torch.rand(n, 2, generator=rng) - 0.5) * (8 / 32)
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin, sh[:, 0]], 1), torch.stack([sin, cos, sh[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    c = x[:, :rgb_channels]
    gain = 1 + 0.15 * (torch.rand(n, 3, 1, 1, generator=rng) - 0.5) * 2
    bias = 0.08 * (torch.rand(n, 1, 1, 1, generator=rng) - 0.5) * 2
    mean = c.mean((1, 2, 3), keepdim=True)
    contrast = 1 + 0.2 * (torch.rand(n, 1, 1, 1, generator=rng) - 0.5) * 2
    c = ((c - mean) * contrast + mean) * gain + bias
    return torch.cat([c.clamp(0, 1), x[:, rgb_channels:]], 1)


def synthetic_negatives(imgs: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Not-a-hand pictures made from real ones: heavy blur (sigma 3-5), 8 px tile shuffle, noise,
    and soft skin-coloured blobs on the picture's own background colour."""
    import cv2

    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        src = imgs[rng.integers(len(imgs))]
        kind = k % 4
        if kind == 0:
            s = rng.uniform(3, 5)
            im = cv2.GaussianBlur(src, (0, 0), s)
        elif kind == 1:
            t = src.reshape(8, 8, 8, 8, 3).transpose(0, 2, 1, 3, 4).reshape(64, 8, 8, 3)
            t = t[rng.permutation(64)].reshape(8, 8, 8, 8, 3).transpose(0, 2, 1, 3, 4).reshape(64, 64, 3)
            im = cv2.GaussianBlur(t, (0, 0), 1.0)
        elif kind == 2:
            base = cv2.GaussianBlur(src, (0, 0), 6).astype(np.float32)
            im = np.clip(base + rng.normal(0, rng.uniform(15, 50), base.shape), 0, 255).astype(np.uint8)
        else:
            bg = np.median(np.concatenate([src[:4].reshape(-1, 3), src[-4:].reshape(-1, 3)]), 0)
            im = np.ones((64, 64, 3), np.float32) * bg
            skin = np.array([rng.uniform(120, 240), rng.uniform(80, 200), rng.uniform(60, 170)])
            for _ in range(rng.integers(1, 4)):
                m = np.zeros((64, 64), np.float32)
                cv2.ellipse(m, (int(rng.integers(16, 48)), int(rng.integers(16, 48))),
                            (int(rng.integers(6, 20)), int(rng.integers(6, 20))), float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
                m = cv2.GaussianBlur(m, (0, 0), rng.uniform(1, 3))[..., None]
                im = im * (1 - m) + skin * m
            im = np.clip(im + rng.normal(0, 5, im.shape), 0, 255).astype(np.uint8)
        out.append(im)
    return np.stack(out)


def fit(x: np.ndarray, prompt: np.ndarray, quality: np.ndarray, hand: np.ndarray, fingers: np.ndarray,
        epochs: int = 40, batch: int = 64, lr: float = 3e-3, seed: int = 0, width=(16, 32, 48, 64),
        use_prompt: bool = True, verbose: bool = False) -> TinyJudge:
    """x: N x C x 64 x 64 float in 0..1; fingers: class or -1 (no target)."""
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    net = TinyJudge(x.shape[1], width, use_prompt)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-3)
    steps = epochs * math.ceil(len(x) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.15)
    X, P = torch.from_numpy(x), torch.from_numpy(prompt)
    Q, H, Fg = torch.from_numpy(quality).float(), torch.from_numpy(hand).float(), torch.from_numpy(fingers).long()
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(len(X), generator=rng)
        tot = 0.0
        for s in range(0, len(X), batch):
            i = perm[s : s + batch]
            q, h, f = net(augment(X[i], rng), P[i])
            loss = F.smooth_l1_loss(q, Q[i]) + F.binary_cross_entropy_with_logits(h, H[i])
            fm = Fg[i] >= 0
            if fm.any():
                loss = loss + 0.5 * F.cross_entropy(f[fm], Fg[i][fm])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(i)
        if verbose and (ep % 10 == 9 or ep == epochs - 1):
            print(f"  epoch {ep + 1} loss {tot / len(X):.3f}", flush=True)
    return net.eval()


@torch.inference_mode()
def predict(net: TinyJudge, x: np.ndarray, prompt: np.ndarray, tta: bool = True) -> dict[str, np.ndarray]:
    X, P = torch.from_numpy(x), torch.from_numpy(prompt)
    q, h, f = net(X, P)
    if tta:
        q2, h2, f2 = net(X.flip(3), P)
        q, h, f = (q + q2) / 2, (h + h2) / 2, (f.softmax(1) + f2.softmax(1)).log()
    return {"q": q.numpy(), "p_hand": torch.sigmoid(h).numpy(), "fingers": f.argmax(1).numpy(),
            "p_fingers": f.softmax(1).numpy()}


def latency(net: TinyJudge, in_ch: int = 3, reps: int = 200) -> float:
    """Median ms for one picture, one thread, with flip TTA."""
    torch.set_num_threads(1)
    x, p = np.random.rand(1, in_ch, 64, 64).astype(np.float32), prompt_onehot(np.array([2]))
    for _ in range(10):
        predict(net, x, p)
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        predict(net, x, p)
        ts.append(time.perf_counter() - t)
    return 1000 * float(np.median(ts))
