"""Training the silhouette network on clean renders only (never on anomalies or generator output).

Targets come from the renderer's ground truth: the hand mask, the pixels of *extended* digits
(from the 2D keypoints and the skeleton's finger radii), a small Gaussian at each visible
extended fingertip (all digits together, and per digit), at each extended digit's knuckle and
at the wrist. Negatives (noise, blank, gradients, soft blobs) teach "no hand here".
Malformed hands are held out on purpose: the validation asks whether a net that only ever saw
healthy hands still finds a sixth finger, a fused pair or a long little finger.

The shipped weights (judge/weights/silhouette.safetensors) came from this schedule on 2 shared
CPU cores (~75 min in all); each step starts from the previous one's weights:

    python -m judge.fit.train_silhouette --count 6000 --epochs 5            # first 3 maps only, then:
    python -m judge.fit.train_silhouette --count 6000 --shards 2 --epochs 3 --init W --lr 2e-3  # stopped after 1
    python -m judge.fit.train_silhouette --count 6000 --shards 2 --epochs 3 --init W --lr 1.5e-3
    python -m judge.fit.train_silhouette --count 6000 --shards 3 --epochs 2 --init W --lr 1e-3
    python -m judge.fit.train_silhouette --view-head                         # side-view head, 1 min
    python -m judge.fit.train_silhouette --count-head --threads 1            # finger-count head, 4 min

(The second run weighted the per-digit maps 1/11 as much as now; it was stopped and resumed.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.anatomy import BONES, DIGIT_KEYPOINTS, FINGER_RADIUS
from core.settings import cache_dir
from judge.judge import DEFAULT_WEIGHTS
from judge.witnesses.silhouette import CHANNELS, COUNT_HEAD_FILE, SIZE, VIEW_HEAD_FILE, WEIGHTS_FILE, PartNet, save_weights
from world import styles
from world.render import render_sample

WEIGHTS = DEFAULT_WEIGHTS / WEIGHTS_FILE

TRAIN_SEED = 7101  # shards 7101-7103, view head 7151; calibration uses 7202, validation 9303
TIP_SIGMA = 1.0  # px at 64 px


def _seg_dist(px: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from pixel centres px (N x 2) to the segment a-b."""
    ab = b - a
    t = np.clip(((px - a) @ ab) / max(float(ab @ ab), 1e-9), 0, 1)
    return np.linalg.norm(px - (a + t[:, None] * ab), axis=1)


def targets(mask: np.ndarray, label: dict) -> tuple[np.ndarray, np.ndarray]:
    """(2 x H x W uint8 masks: hand, extended-digit pixels; K x 3 points: x, y, heat channel).

    Points: every visible extended fingertip goes to "tip" and to its digit's "tip_<digit>";
    each extended digit's knuckle (thumb: its MCP) to "mcp_<digit>"; the wrist to "wrist".
    """
    h, w = mask.shape
    kp = np.asarray(label["keypoints"], float)
    j3 = np.asarray(label["joints3d"], float)
    # pixels per P: the least foreshortened bone gives the scale.
    scale = max(np.linalg.norm(kp[a, :2] - kp[b, :2]) / max(np.linalg.norm(j3[a] - j3[b]), 1e-6) for a, b in BONES)
    ys, xs = np.mgrid[0:h, 0:w]
    px = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], 1)
    extended = set(label["extended"])
    d_ext = np.full(len(px), np.inf)
    d_other = np.full(len(px), np.inf)
    for a, b in BONES:
        digit = next((d for d, kps in DIGIT_KEYPOINTS.items() if b in kps and a != 0), None)
        pa, pb = kp[a, :2], kp[b, :2]
        if digit in extended and a in DIGIT_KEYPOINTS[digit]:
            if a == DIGIT_KEYPOINTS[digit][0] and digit != "thumb":
                pa = pa + 0.25 * (pb - pa)  # the knuckle end belongs to the palm
            if digit == "thumb" and a == 1:
                continue  # the thumb metacarpal is palm
            d = _seg_dist(px, pa, pb) - FINGER_RADIUS[digit] * scale
            d_ext = np.minimum(d_ext, d)
        else:
            d_other = np.minimum(d_other, _seg_dist(px, pa, pb))
    finger = mask.ravel() & (d_ext < d_other) & (d_ext < 0.6 * 0.1 * scale + 0.75)
    masks = np.stack([mask.ravel(), finger]).reshape(2, h, w).astype(np.uint8)
    points = []
    for digit in label["visible_extended"]:
        tip = kp[DIGIT_KEYPOINTS[digit][3], :2]
        points += [(tip[0], tip[1], CHANNELS.index("tip")), (tip[0], tip[1], CHANNELS.index(f"tip_{digit}"))]
    for digit in label["extended"]:
        knuckle = kp[DIGIT_KEYPOINTS[digit][1 if digit == "thumb" else 0], :2]
        points.append((knuckle[0], knuckle[1], CHANNELS.index(f"mcp_{digit}")))
    points.append((kp[0, 0], kp[0, 1], CHANNELS.index("wrist")))
    return masks, np.array(points, np.float32).reshape(-1, 3)


def heatmaps(masks: np.ndarray, points: np.ndarray) -> np.ndarray:
    """C x H x W float32 training target: the two masks, then a Gaussian per point."""
    _, h, w = masks.shape
    out = np.zeros((len(CHANNELS), h, w), np.float32)
    out[:2] = masks
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    for x, y, c in points:
        g = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * TIP_SIGMA**2))
        out[int(c)] = np.maximum(out[int(c)], g)
    return out


def negative(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """An image with no hand: noise, blank, a gradient, a smooth texture or soft blobs."""
    import cv2

    kind = rng.choice(["uniform", "gauss", "blank", "gradient", "texture", "blobs"])
    base = rng.uniform(0, 255, 3)
    if kind == "uniform":
        return rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    if kind == "gauss":
        img = base + rng.normal(0, rng.uniform(10, 80), (size, size, 3))
    elif kind == "blank":
        img = np.broadcast_to(base, (size, size, 3)).copy()
    elif kind == "gradient":
        t = np.linspace(0, 1, size)[None, :, None] * np.ones((size, 1, 1))
        img = base * (1 - t) + rng.uniform(0, 255, 3) * t
        img = np.rot90(img, int(rng.integers(4))).copy()
    elif kind == "texture":
        cells = int(rng.integers(3, 12))
        coarse = rng.uniform(-1, 1, (cells, cells, 3)).astype(np.float32)
        field = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
        img = base + rng.uniform(15, 60) * field
    else:
        img = np.broadcast_to(base, (size, size, 3)).copy()
        for _ in range(int(rng.integers(1, 4))):
            centre = tuple(int(v) for v in rng.integers(8, size - 8, 2))
            axes = tuple(int(v) for v in rng.integers(4, size // 3, 2))
            colour = tuple(float(v) for v in rng.uniform(0, 255, 3))
            cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.5))
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass
class Renders:
    """A cached training set: images, target masks (hand, extended-finger pixels), heat points per image,
    and which images hold an object (the hand mask does not cover it: its background stays)."""

    images: np.ndarray
    masks: np.ndarray
    points: list[np.ndarray]
    objects: np.ndarray

    @classmethod
    def concat(cls, parts: list[Renders]) -> Renders:
        return cls(np.concatenate([p.images for p in parts]), np.concatenate([p.masks for p in parts]),
                   [q for p in parts for q in p.points], np.concatenate([p.objects for p in parts]))


def _render_chunk(args: tuple[int, int, int]) -> Renders:
    seed, start, stop = args
    images, masks, points, objects = [], [], [], []
    for i in range(start, stop):
        r = render_sample(seed, i, SIZE)
        m, p = targets(r.mask, r.label)
        images.append(r.image)
        masks.append(m)
        points.append(p)
        objects.append(r.label["object"] != "none")
    return Renders(np.stack(images), np.stack(masks), points, np.array(objects))


def build(count: int, seed: int = TRAIN_SEED, workers: int = 2) -> Renders:
    """Rendered images, masks, heat points and object flags, cached under the dataset cache."""
    path = cache_dir() / f"silhouette-v4-n{count}-s{seed}.npz"
    if path.exists():
        data = np.load(path)
        offsets = data["offsets"]
        flat = data["points"]
        return Renders(data["images"], data["masks"], [flat[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)],
                       data["objects"])
    jobs = [(seed, s, min(s + 500, count)) for s in range(0, count, 500)]
    with ProcessPoolExecutor(workers) as pool:
        out = Renders.concat(list(pool.map(_render_chunk, jobs)))
    offsets = np.cumsum([0] + [len(q) for q in out.points])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=out.images, masks=out.masks, points=np.concatenate(out.points), offsets=offsets,
             objects=out.objects)
    return out


def augment(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Blur (the VAE's failure), noise (the GAN's), colour and contrast shifts; float HxWx3 0..255."""
    import cv2

    x = img.astype(np.float32)
    if rng.random() < 0.4:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.4, 1.6))
    if rng.random() < 0.5:
        x = x * rng.uniform(0.75, 1.25, 3) + rng.uniform(-25, 25, 3)
    if rng.random() < 0.4:
        x = x + rng.normal(0, rng.uniform(2, 18), x.shape)
    return np.clip(x, 0, 255)


def _initial_net(init: Path | None):
    """A fresh PartNet, or one resumed from `init`: a checkpoint with fewer output maps still seeds the
    trunk and its maps."""
    net = PartNet()
    if init is not None:
        from safetensors.torch import load_file

        state = load_file(str(init))
        own = net.state_dict()
        for k, v in state.items():
            if k in own and own[k].shape != v.shape and k.startswith("head."):
                merged = own[k].clone()
                merged[: v.shape[0]] = v
                state[k] = merged
        net.load_state_dict(state)
    return net


def _negative(rng: np.random.Generator, randomise: bool) -> np.ndarray:
    """A picture with no hand; with `randomise`, 35 % are a random style's background (stripes, checks,
    clutter, dark, bright) in that style's look and 35 % the soft and skin-coloured blobs an undertrained
    generator draws (`judge.fit.validate`'s kinds, from seeds of their own): flat skin in training makes
    any flat lump look more like a hand, so the net sees lumps that are not."""
    pick = rng.random()
    if randomise and pick < 0.35:
        style = replace(styles.sample_style(rng), background=str(rng.choice(styles.BACKGROUNDS[1:])))
        blank = np.zeros((SIZE, SIZE, 3), np.uint8)
        return styles.paint(style, blank, np.zeros((SIZE, SIZE), bool)).astype(np.float32)
    if randomise and pick < 0.7:
        from judge.fit.validate import SEED as VALIDATION_SEED
        from judge.fit.validate import no_hand_images

        seed = int(rng.integers(VALIDATION_SEED + 1, 2**31))
        return augment(rng, no_hand_images(str(rng.choice(["blobs", "skin_blobs"])), 1, seed)[0])
    return augment(rng, negative(rng))


def _example(rng: np.random.Generator, data: Renders, i: int, randomise: bool,
             plain: float, ink_inside: float = 0.0, line_art: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(image float HxWx3, target C x H x W) of training image i: augmented, or in a random style whose
    rotation and scale move the target masks and points with it (`world.styles`; `plain` of them only
    mildly changed)."""
    if not randomise:
        return augment(rng, data.images[i]), heatmaps(data.masks[i], data.points[i])
    pts = data.points[i]
    x, m, p = styles.randomise(rng, data.images[i], data.masks[i], pts, tips=pts[:, 2] == CHANNELS.index("tip"),
                               keep_background=bool(data.objects[i]), plain=plain, ink_inside=ink_inside,
                               line_art=line_art)
    return x.astype(np.float32), heatmaps(m, p)


def _batch(rng: np.random.Generator, idx: np.ndarray, data: Renders, randomise: bool = False, plain: float = 0.15,
           ink_inside: float = 0.0, line_art: float = 0.0):
    """(x, y) tensors of one training batch: augmented (or randomly styled) renders, mirrored half the
    time, and 8 % negatives."""
    import torch

    xs, ys = [], []
    for i in idx:
        if rng.random() < 0.08:
            xs.append(_negative(rng, randomise))
            ys.append(np.zeros((len(CHANNELS), SIZE, SIZE), np.float32))
            continue
        x, y = _example(rng, data, int(i), randomise, plain, ink_inside, line_art)
        if rng.random() < 0.5:
            x, y = x[:, ::-1], y[:, :, ::-1]
        xs.append(x)
        ys.append(y)
    x = torch.from_numpy(np.stack(xs).astype(np.float32).transpose(0, 3, 1, 2).copy()) / 255.0
    return x, torch.from_numpy(np.stack(ys).copy())


def save_checkpoint(path: Path, net, opt, meta: dict) -> None:
    """The net, its AdamW moments and the run's progress (`meta`, JSON) in one safetensors file, written
    whole or not at all: a stopped run resumes from its last finished epoch (`train(resume=True)`)."""
    import torch
    from safetensors.torch import save_file

    tensors = {f"net.{k}": v.detach().contiguous() for k, v in net.state_dict().items()}
    for i, state in opt.state_dict()["state"].items():
        for k, v in state.items():
            tensors[f"opt.{i}.{k}"] = torch.as_tensor(v).detach().reshape(-1).contiguous() if k == "step" else v.contiguous()
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(tmp), metadata={"meta": json.dumps(meta)})
    tmp.replace(path)


def load_checkpoint(path: Path, net, opt) -> dict:
    """Restore what `save_checkpoint` wrote into `net` and `opt`; returns its `meta`."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata()["meta"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no iterator
    net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
    state: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, i, name = k.split(".", 2)
            state.setdefault(int(i), {})[name] = v.reshape(()) if name == "step" else v
    saved = opt.state_dict()
    saved["state"] = state
    opt.load_state_dict(saved)
    return meta


def checkpoint_path(out: Path) -> Path:
    """Where a run writing `out` keeps its resumable checkpoint (beside it; never loaded by the judge)."""
    return out.with_name(out.name.replace(".safetensors", "") + ".ckpt.safetensors")


def train(count: int, epochs: int, batch: int, out: Path, threads: int, shards: int = 1,
          init: Path | None = None, lr: float = 3e-3, randomise: bool = False, resume: bool = False,
          plain: float = 0.15, ink_inside: float = 0.0, line_art: float = 0.0) -> dict:
    """`shards` sets of `count` renders (seeds TRAIN_SEED, TRAIN_SEED + 1, ...); `init`: start from these
    weights; `randomise`: every render in a random style (`world.styles`), `plain` of them only mildly
    changed; `resume`: continue from the checkpoint beside `out` when there is one.

    Long because: one training loop, with its resume, loss and log in one place."""
    import warnings

    import torch

    torch.set_num_threads(threads)
    data = Renders.concat([build(count, TRAIN_SEED + k) for k in range(shards)])
    count = len(data.images)
    rng = np.random.default_rng(TRAIN_SEED + 100 * shards + (init is not None) + 1000 * randomise)
    net = _initial_net(init)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    per_epoch = count // batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * per_epoch, pct_start=0.1)
    pos_weight = torch.tensor([1.0, 3.0, 1.0]).view(1, 3, 1, 1)
    ckpt, first, log = checkpoint_path(out), 0, []
    if resume and ckpt.exists():
        meta = load_checkpoint(ckpt, net, opt)
        first, log, rng.bit_generator.state = meta["epoch"], meta["log"], meta["rng"]
        with warnings.catch_warnings():  # the schedule catches up without optimizer steps
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(first * per_epoch):
                sched.step()
        print(json.dumps({"resumed_after_epoch": first}), file=sys.stderr, flush=True)
    t0 = time.time() - (log[-1]["seconds"] if log else 0)
    for epoch in range(first, epochs):
        order = rng.permutation(count)
        total = 0.0
        for b in range(per_epoch):
            x, y = _batch(rng, order[b * batch : (b + 1) * batch], data, randomise, plain, ink_inside, line_art)
            logits = net(x)
            seg = torch.nn.functional.binary_cross_entropy_with_logits(
                logits[:, :2], y[:, :2], pos_weight=pos_weight[:, :2]
            )
            heat = torch.sigmoid(logits[:, 2:])
            err = ((heat - y[:, 2:]) ** 2) * (1 + 20 * y[:, 2:])
            # the count channel matters most; each digit / knuckle / wrist map gets its own weight
            loss = seg + 5 * err[:, 0].mean() + 1.5 * err[:, 1:].mean((0, 2, 3)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        entry = {"epoch": epoch + 1, "loss": round(total / per_epoch, 4), "seconds": round(time.time() - t0)}
        log.append(entry)
        print(json.dumps(entry), file=sys.stderr, flush=True)
        save_weights(net, out)
        save_checkpoint(ckpt, net, opt, {"epoch": epoch + 1, "log": log, "rng": rng.bit_generator.state})
    return {"weights": str(out), "count": count, "epochs": epochs, "randomise": randomise, "plain": plain,
            "ink_inside": ink_inside, "line_art": line_art, "log": log}


def styled(seed: int, index: int, render, plain: float = 0.15, line_art: float = 0.0) -> np.ndarray:
    """A render in the random style of (seed, index) (`world.styles`; a held object keeps its background)."""
    style = styles.for_render(styles.sample_style(np.random.default_rng([seed, index, 5]), plain, line_art=line_art),
                              render.label["object"] != "none")
    return styles.restyle(style, render.image, render.mask)


def _clean_maps(count: int, seed: int, weights: Path = WEIGHTS, randomise: bool = False, plain: float = 0.5,
                line_art: float = 0.0) -> list[tuple]:
    """(the frozen net's maps, visible tips it finds, label) for `count` clean renders (in random styles
    with `randomise`, `plain` of them only mildly changed: the labels do not change with the look)."""
    from judge.witnesses.silhouette import HAND_THRESHOLD, _largest, find_tips, load_net, predict_batch, to_input

    net = load_net(weights)
    renders = [render_sample(seed, i, SIZE) for i in range(count)]
    images = [to_input(styled(seed, i, r, plain, line_art) if randomise else r.image) for i, r in enumerate(renders)]
    return [(m, len(find_tips(m.tips, _largest(m.hand > HAND_THRESHOLD))), r.label)
            for m, r in zip(predict_batch(net, images), renders, strict=True)]


def _fit(z: np.ndarray, y: np.ndarray, classes: int, hidden: int, l2: float) -> dict:
    """Logistic (hidden=0) or one-hidden-layer softmax head by L-BFGS; numpy weights out."""
    import torch

    torch.manual_seed(0)
    x, t = torch.from_numpy(z.astype(np.float32)), torch.from_numpy(y)
    layers = [torch.nn.Linear(z.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, classes)] if hidden \
        else [torch.nn.Linear(z.shape[1], classes)]
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.LBFGS(net.parameters(), max_iter=500)

    def closure():
        opt.zero_grad()
        out = net(x)
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], t.float()) if classes == 1
                else torch.nn.functional.cross_entropy(out, t.long()))
        loss = loss + l2 * sum((m.weight**2).sum() for m in net if isinstance(m, torch.nn.Linear))
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        out = net(x)
        acc = float(((out[:, 0] > 0).long() == t).float().mean() if classes == 1 else (out.argmax(1) == t).float().mean())
    lin = [m for m in net if isinstance(m, torch.nn.Linear)]
    weights = {f"w{k + 1}": m.weight.detach().numpy().T.copy() for k, m in enumerate(lin)}
    weights.update({f"b{k + 1}": m.bias.detach().numpy().copy() for k, m in enumerate(lin)})
    return {"weights": weights, "accuracy": round(acc, 4)}


def _standardise(f: np.ndarray) -> tuple[np.ndarray, dict]:
    mu, sd = f.mean(0), f.std(0) + 1e-6
    return (f - mu) / sd, {"mu": mu.astype(np.float32), "sd": sd.astype(np.float32)}


def train_view_head(folder: Path = DEFAULT_WEIGHTS, randomise: bool = False, count: int = 3000,
                    seed: int = TRAIN_SEED + 50, plain: float = 0.5, line_art: float = 0.0) -> dict:
    """Logistic regression P(side view) on the pooled features of `folder`'s net, written beside it."""
    from safetensors.numpy import save_file

    rows = _clean_maps(count, seed, folder / WEIGHTS_FILE, randomise, plain, line_art)
    z, norm = _standardise(np.stack([m.features for m, _, _ in rows]))
    fit = _fit(z, np.array([lab["view"] == "side" for _, _, lab in rows], np.int64), 1, 0, 1e-3)
    head = {"w": fit["weights"]["w1"][:, 0], "b": fit["weights"]["b1"], **norm}
    save_file({k: np.ascontiguousarray(v, np.float32) for k, v in head.items()}, str(folder / VIEW_HEAD_FILE))
    return {"view_head": VIEW_HEAD_FILE, "count": count, "randomise": randomise, "plain": plain, "line_art": line_art,
            "train_accuracy": fit["accuracy"]}


def train_count_head(folder: Path = DEFAULT_WEIGHTS, randomise: bool = False, count: int = 4000,
                     seed: int = TRAIN_SEED + 60, plain: float = 0.5, line_art: float = 0.0) -> dict:
    """P(0..5 extended digits) from `silhouette.count_features` of clean renders (32 hidden units), written beside
    `folder`'s net."""
    from safetensors.numpy import save_file

    from judge.witnesses.silhouette import count_features

    rows = _clean_maps(count, seed, folder / WEIGHTS_FILE, randomise, plain, line_art)
    z, norm = _standardise(np.stack([count_features(m, seen) for m, seen, _ in rows]))
    fit = _fit(z, np.array([lab["extended_count"] for _, _, lab in rows], np.int64), 6, 32, 1e-3)
    save_file({k: np.ascontiguousarray(v, np.float32) for k, v in {**fit["weights"], **norm}.items()},
              str(folder / COUNT_HEAD_FILE))
    return {"count_head": COUNT_HEAD_FILE, "count": count, "seed": seed, "randomise": randomise, "plain": plain,
            "line_art": line_art,
            "train_accuracy": fit["accuracy"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the silhouette network on clean renders.")
    parser.add_argument("--count", type=int, default=12000)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shards", type=int, default=1, help="render sets of --count each (new seeds)")
    parser.add_argument("--init", type=Path, default=None, help="start from these weights")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--dir", type=Path, default=DEFAULT_WEIGHTS,
                        help="weights folder: the net is written there (unless --out) and the heads read it and go there")
    parser.add_argument("--out", type=Path, default=None, help="the net's file (default DIR/silhouette.safetensors)")
    parser.add_argument("--randomise", action="store_true", help="every render in a random style (world.styles)")
    parser.add_argument("--plain", type=float, default=None,
                        help="with --randomise, the share of renders only mildly changed (net 0.15, heads 0.5)")
    parser.add_argument("--ink-inside", type=float, default=0.0,
                        help="with --randomise, the share of outlines that also reach into the hand (world.styles)")
    parser.add_argument("--line-art", type=float, default=0.0,
                        help="with --randomise, the share of looks drawn as line drawings (world.styles.line_drawing)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint beside --out")
    parser.add_argument("--view-head", action="store_true", help="only fit the side-view head on the saved net")
    parser.add_argument("--count-head", action="store_true", help="only fit the finger-count head on the saved net")
    parser.add_argument("--head-renders", type=int, default=None, help="renders a head is fitted on (3000 / 4000)")
    args = parser.parse_args(argv)
    if min(args.count, args.epochs, args.batch, args.threads, args.shards) < 1:
        parser.error("--count, --epochs, --batch, --threads and --shards must be positive")
    import torch

    torch.set_num_threads(args.threads)
    if args.view_head or args.count_head:
        fit = train_view_head if args.view_head else train_count_head
        sized = {} if args.head_renders is None else {"count": args.head_renders}
        sized.update({} if args.plain is None else {"plain": args.plain})
        sized["line_art"] = args.line_art
        print(json.dumps(fit(args.dir, args.randomise, **sized)))
        return 0
    out = args.out or args.dir / WEIGHTS_FILE
    result = train(args.count, args.epochs, args.batch, out, args.threads, args.shards, args.init, args.lr,
                   args.randomise, args.resume, 0.15 if args.plain is None else args.plain, args.ink_inside,
                   args.line_art)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
