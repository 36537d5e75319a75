"""Fit the finger counter (`judge.witnesses.counter`) and measure it on generator settings it never saw.

1. Pretrain on the 20,000 renders the generators learnt from (seed 0; their true extended count), each
   batch made to look like generator output (`degrade`: blur, coarse resampling, noise) and jittered in
   pose and colour (`jitter`). Cached by the recipe's digest, so the held-out folds share it.
2. Held out by source: for each generator setting with counted hands, fine-tune the pretrained net on every
   other source's counted pictures (the raters' counts as soft targets, half of every batch renders so it
   does not forget), and predict the held-out source. Written to `results/judge_counter.json` (the
   figures) and the cache (`heldout_probabilities`, which `judge.fit.train_quality` reads to choose whose
   count the judge reports).
3. The shipped net: fine-tuned the same way on every counted picture -> `judge/weights/counter.safetensors`.

    python -m judge.fit.train_counter           # ~35 min on 2 cores
    python -m judge.fit.train_counter --quick   # smoke test: a few steps, three folds, into the cache folder
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.settings import REPO_ROOT, cache_dir
from judge.fit import raters
from judge.fit.raters import RatedPicture
from judge.witnesses import counter


# ---- the recipe: one visible block -------------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    renders: int = 20_000  # the generators' own training renders (world.dataset, seed 0)
    pretrain_steps: int = 1_500
    batch: int = 64
    lr: float = 2e-3
    finetune_steps: int = 250
    rater_batch: int = 32  # rater pictures per fine-tuning batch; as many renders beside them
    finetune_lr: float = 5e-4
    weight_decay: float = 1e-4
    threads: int = 2
    seed: int = 0


QUICK = Recipe(renders=20_000, pretrain_steps=20, finetune_steps=10)
# ------------------------------------------------------------------------------------------------


def digest(recipe: Recipe, stage: str) -> str:
    fields = asdict(recipe) if stage == "finetune" else {k: v for k, v in asdict(recipe).items()
                                                           if not k.startswith("finetune") and k != "rater_batch"}
    return hashlib.sha256(json.dumps([stage, fields], sort_keys=True).encode()).hexdigest()[:16]


def render_set(count: int) -> tuple[np.ndarray, np.ndarray]:
    """(images N x 64 x 64 x 3 uint8, true extended counts): the generators' training renders."""
    from world import dataset

    folder = dataset.build(count)
    images, _ = dataset.load(folder)
    with open(folder / "labels.jsonl") as f:
        counts = [min(json.loads(line)["extended_count"], counter.CLASSES - 1) for line in f]
    return images, np.array(counts, np.int64)


def rater_set(pictures: list[RatedPicture]) -> tuple[list[RatedPicture], np.ndarray, np.ndarray]:
    """The pictures raters called hands and counted, their images, and soft targets (two raters who
    differ: half each)."""
    from PIL import Image

    rows = [p for p in pictures if p.is_hand and p.counts]
    images = []
    for p in rows:
        with Image.open(p.path) as im:
            images.append(np.asarray(im.convert("RGB").resize((64, 64))))
    targets = np.zeros((len(rows), counter.CLASSES), np.float32)
    for i, p in enumerate(rows):
        targets[i, list(p.counts)] = 1.0 / len(p.counts)
    return rows, np.stack(images), targets


def jitter(x, g):
    """Pose and colour jitter of a batch (N x 3 x 64 x 64 in [0, 1]): mirror, rotate +-15 deg, scale +-12 %,
    shift +-3 px, per-channel gain and brightness. None of it changes how many fingers are out."""
    import torch
    import torch.nn.functional as F

    n = len(x)
    u = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    x = torch.where((u(n) < 0.5)[:, None, None, None], x.flip(3), x)
    angle, scale = (u(n) * 2 - 1) * math.radians(15), 1 + (u(n) * 2 - 1) * 0.12
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    shift = (u(n, 2) * 2 - 1) * 0.1
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    x = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), padding_mode="border",
                      align_corners=False)
    gain = 1 + (u(n, 3, 1, 1) * 2 - 1) * 0.15
    return (x * gain + (u(n, 1, 1, 1) * 2 - 1) * 0.08).clamp(0, 1)


def degrade(x, g):
    """Make renders look like generator output: per picture, maybe a Gaussian blur (sigma up to 1.8 px),
    maybe a coarse resample (16-32 px and back: the VAE's and early snapshots' mush), maybe pixel noise."""
    import torch
    import torch.nn.functional as F

    n, c, h, w = x.shape
    u = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    sigma = torch.where(u(n) < 0.6, 0.3 + 1.5 * u(n), torch.full((n,), 0.01))
    r = torch.arange(-3, 4, dtype=torch.float32)
    k = torch.exp(-(r[None] ** 2) / (2 * sigma[:, None] ** 2))
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)
    y = x.reshape(1, n * c, h, w)
    y = F.conv2d(F.pad(y, (3, 3, 0, 0), mode="replicate"), k[:, None, None, :], groups=n * c)
    y = F.conv2d(F.pad(y, (0, 0, 3, 3), mode="replicate"), k[:, None, :, None], groups=n * c).reshape(n, c, h, w)
    coarse = u(n) < 0.35
    if coarse.any():
        side = int(16 + 16 * float(u(1)))
        small = F.interpolate(y[coarse], size=(side, side), mode="bilinear", antialias=True, align_corners=False)
        y[coarse] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    noisy = (u(n) < 0.4).float()[:, None, None, None]
    return (y + noisy * torch.randn(y.shape, generator=g) * 0.06 * u(n, 1, 1, 1)).clamp(0, 1)


def _batch(images: np.ndarray, idx: np.ndarray):
    import torch

    return torch.from_numpy(images[idx]).permute(0, 3, 1, 2).float() / 255.0


def pretrain(recipe: Recipe, renders: tuple[np.ndarray, np.ndarray]) -> dict:
    """Step 1: the net on degraded renders; cached by the recipe, so every fold starts from the same one."""
    import torch
    import torch.nn.functional as F
    from safetensors.torch import load_file, save_file

    path = cache_dir() / "counter" / f"pretrained-{digest(recipe, 'pretrain')}.safetensors"
    if path.exists():
        return load_file(str(path))
    images, counts = renders
    torch.manual_seed(recipe.seed)
    g = torch.Generator().manual_seed(recipe.seed)
    net = counter.CounterNet().train()
    opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, recipe.lr, total_steps=recipe.pretrain_steps, pct_start=0.1)
    rng = np.random.default_rng(recipe.seed)
    t0 = time.time()
    for step in range(recipe.pretrain_steps):
        idx = rng.integers(len(images), size=recipe.batch)
        x = jitter(degrade(_batch(images, idx), g), g)
        loss = F.cross_entropy(net(x), torch.from_numpy(counts[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == recipe.pretrain_steps - 1:
            print(f"  pretrain {step}: loss {loss.item():.3f} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))
    return state


def finetune(recipe: Recipe, start: dict, images: np.ndarray, targets: np.ndarray,
             renders: tuple[np.ndarray, np.ndarray]):
    """Step 2/3: from the pretrained state, on rater pictures (soft targets) with as many degraded renders
    in every batch; returns the net in eval mode."""
    import torch

    torch.manual_seed(recipe.seed)
    g = torch.Generator().manual_seed(recipe.seed + 1)
    net = counter.CounterNet()
    net.load_state_dict(start)
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=recipe.finetune_lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, recipe.finetune_steps)
    rng = np.random.default_rng(recipe.seed + 1)
    render_images, render_counts = renders
    for _ in range(recipe.finetune_steps):
        i = rng.integers(len(images), size=recipe.rater_batch)
        j = rng.integers(len(render_images), size=recipe.rater_batch)
        x = torch.cat([jitter(_batch(images, i), g), jitter(degrade(_batch(render_images, j), g), g)])
        soft = torch.cat([torch.from_numpy(targets[i]),
                          torch.nn.functional.one_hot(torch.from_numpy(render_counts[j]), counter.CLASSES).float()])
        loss = -(soft * torch.log_softmax(net(x), 1)).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


def heldout_path(recipe: Recipe) -> Path:
    return cache_dir() / "counter" / f"heldout-{digest(recipe, 'finetune')}.json"


def held_out(recipe: Recipe, start: dict, rows: list[RatedPicture], images: np.ndarray, targets: np.ndarray,
             renders, sources: list[str]) -> dict[int, list[float]]:
    """Leave one source out: picture id -> P(0..6) from a net fine-tuned without its source."""
    groups = np.array([p.source for p in rows])
    out: dict[int, list[float]] = {}
    for source in sources:
        test, train = np.flatnonzero(groups == source), np.flatnonzero(groups != source)
        t0 = time.time()
        net = finetune(recipe, start, images[train], targets[train], renders)
        probs = counter.probabilities(net, list(images[test]))
        for k, p in zip(test, probs):
            out[rows[k].id] = [round(float(v), 5) for v in p]
        right = np.mean([int(np.argmax(out[rows[k].id])) in rows[k].counts for k in test])
        print(f"  held out {source}: {right:.3f} of {len(test)} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    return out


def report(rows: list[RatedPicture], probs: dict[int, list[float]], recipe: Recipe, seconds: float) -> dict:
    """Count right (one a rater gave) on the held-out generated hands, overall and per source."""
    gen = [p for p in rows if p.generated and p.id in probs]
    right = {p.id: int(np.argmax(probs[p.id])) in p.counts for p in gen}
    per_source = {}
    for source in sorted({p.source for p in gen}):
        hits = [right[p.id] for p in gen if p.source == source]
        per_source[source] = {"n": len(hits), "count_right": round(float(np.mean(hits)), 3)}
    return {"command": "python -m judge.fit.train_counter", "protocol": (
        "leave one source out: the counter fine-tuned without the source's pictures, from a net pretrained on "
        "degraded renders only; right when its count is one a rater gave (six or more as one answer), on the "
        "generated pictures raters call hands and counted; no hand-found gate (the judge adds that)"),
            "count_right": round(float(np.mean(list(right.values()))), 4), "n": len(right),
            "per_source": per_source, "recipe": asdict(recipe), "seconds": round(seconds, 1)}


def run(recipe: Recipe, quick: bool, weights: Path, out: Path) -> dict:
    import torch
    from safetensors.torch import save_file

    torch.set_num_threads(recipe.threads)
    t0 = time.time()
    renders = render_set(recipe.renders)
    start = pretrain(recipe, renders)
    rows, images, targets = rater_set(raters.load())
    sources = sorted({p.source for p in rows if p.generated})  # the bar is on generated pictures; renders always train
    probs = held_out(recipe, start, rows, images, targets, renders, sources[::7] if quick else sources)
    result = report(rows, probs, recipe, time.time() - t0)
    path = heldout_path(recipe)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({str(k): v for k, v in probs.items()}))
    net = finetune(recipe, start, images, targets, renders)
    weights.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(weights))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fit the finger counter; held-out report by source.")
    parser.add_argument("--quick", action="store_true", help="smoke test into the cache folder")
    args = parser.parse_args(argv)
    recipe = QUICK if args.quick else Recipe()
    scratch = cache_dir() / "counter-quick"
    weights = scratch / counter.WEIGHTS_FILE if args.quick else REPO_ROOT / "judge" / "weights" / counter.WEIGHTS_FILE
    out = scratch / "judge_counter.json" if args.quick else REPO_ROOT / "results" / "judge_counter.json"
    try:
        result = run(recipe, args.quick, weights, out)
    except (OSError, ValueError) as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    print(json.dumps({k: result[k] for k in ("count_right", "n", "seconds")} | {"out": str(out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
