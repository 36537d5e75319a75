"""Train the malformation detector (`judge.witnesses.defect`) on labelled renders of its own seed.

Twins: for each index the renderer draws one fully fixed spec (a gesture the malformation
applies to, palm or back view, handedness, skin tone) and renders the hand clean and with one
malformation: same pose, same camera, one thing broken. Extra clean renders of every gesture,
object and view teach it that a fist, a cup or a side view is not a malformation.

    python -m judge.fit.train_defect                  # 6,000 twins + 3,000 clean: 9 min to render, 14 epochs
    python -m judge.fit.train_defect --init judge/weights/defect.safetensors --epochs 4 --lr 1e-3   # then
    python -m judge.fit.train_defect --init judge/weights/defect.safetensors --epochs 4 --lr 1e-3 \
        --focus bent_joint --focus-pairs 3000        # then: more twins of the hardest kind to see
    python -m judge.fit.train_defect --pairs 200 --generic 100 --epochs 1 --out runs/defect-smoke.safetensors  # smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from core.anatomy import DIGIT_KEYPOINTS
from core.settings import cache_dir
from core.vocab import ANOMALIES, SKIN_TONES, HandSpec
from judge.judge import DEFAULT_WEIGHTS
from judge.witnesses.defect import CLASSES, WEIGHTS_FILE, DefectNet, stack_input
from judge.witnesses.silhouette import WEIGHTS_FILE as SILHOUETTE_FILE
from world.render import _ANOMALY_GESTURES, render_sample

WEIGHTS = DEFAULT_WEIGHTS / WEIGHTS_FILE
SILHOUETTE = DEFAULT_WEIGHTS / SILHOUETTE_FILE

TRAIN_SEED = 7301  # calibration uses 7202, validation 9303 (judge.fit.validate)
FOCUS_SEED = 7321  # extra twins of the malformations that are hardest to see (--focus)


def twin_spec(rng: np.random.Generator, anomaly: str) -> HandSpec:
    """A fully fixed spec that `anomaly` can be applied to, so clean and malformed renders are twins."""
    return HandSpec(gesture=str(rng.choice(_ANOMALY_GESTURES[anomaly])), object="none",
                    view=str(rng.choice(["palm", "back"])), handedness=str(rng.choice(["right", "left"])),
                    skin_tone=str(rng.choice(SKIN_TONES)))


def _looks(seed: int, i: int, clean, broken, plain: float = 0.15, line_art: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Both twins in one random style (`world.styles`): the same look, rotation and scale, moved by the
    clean twin's matrix, so the only difference left is still the malformation."""
    from dataclasses import replace

    from world import styles

    style = styles.sample_style(np.random.default_rng([seed, i, 77]), plain, line_art=line_art)
    if clean.label["object"] != "none":
        style = replace(style, background="keep")
    m = styles.matrix(style, clean.mask) if style.geometric else None
    tips = np.array([clean.label["keypoints"][DIGIT_KEYPOINTS[d][3]][:2] for d in clean.label["visible_extended"]])
    out = []
    for r in (clean, broken):
        image, masks, pts = styles.warp(style, r.image, r.mask[None].astype(np.uint8), tips.reshape(-1, 2), m)
        out.append(styles.paint(styles.legible(style, masks[0], pts), image, masks[0]))
    return out[0], out[1]


def _cache_name(pairs: int, generic: int, seed: int, kinds: tuple[str, ...], silhouette_weights: Path,
                randomise: bool, plain: float, line_art: float = 0.0) -> str:
    """The cached set's file name: its inputs hold the silhouette net's maps, so that net's bytes name it too."""
    import hashlib

    which = "" if kinds == ANOMALIES else "-" + "+".join(kinds)
    net = hashlib.blake2b(silhouette_weights.read_bytes(), digest_size=4).hexdigest()
    looks = (f"-r{plain:g}" + (f"-l{line_art:g}" if line_art else "")) if randomise else ""
    return f"defect-v2-p{pairs}-g{generic}-s{seed}{which}-n{net}{looks}.npz"


def build(pairs: int, generic: int, seed: int = TRAIN_SEED, kinds: tuple[str, ...] = ANOMALIES,
          randomise: bool = False, silhouette_weights: Path = SILHOUETTE,
          plain: float = 0.15, line_art: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs N x C x 64 x 64 as uint8, labels N, group N: twins share a group), cached.
    The twins' malformations cycle through `kinds`; with `randomise` each twin pair (and each generic
    render) is drawn in a random style (`plain` of them only mildly changed, `line_art` of the rest line drawings); the maps come from the
    silhouette net in `silhouette_weights`."""
    from judge.witnesses import silhouette

    net = silhouette.load_net(silhouette_weights)  # its maps are the detector's input
    path = cache_dir() / _cache_name(pairs, generic, seed, kinds, silhouette_weights, randomise, plain, line_art)
    if path.exists():
        data = np.load(path)
        return data["inputs"], data["labels"], data["group"]
    images, labels, group = [], [], []
    for i in range(pairs):
        anomaly = kinds[i % len(kinds)]
        spec = twin_spec(np.random.default_rng([seed, i, 99]), anomaly)
        clean, broken = render_sample(seed, i, 64, spec=spec), render_sample(seed, i, 64, spec=spec, anomaly=anomaly)
        images += list(_looks(seed, i, clean, broken, plain, line_art)) if randomise else [clean.image, broken.image]
        labels += [0, 1 + ANOMALIES.index(anomaly)]
        group += [i, i]
    for j in range(generic):
        r = render_sample(seed + 1, j, 64)
        images.append(_looks(seed + 1, j, r, r, plain, line_art)[0] if randomise else r.image)
        labels.append(0)
        group.append(pairs + j)
    inputs = np.empty((len(images), 3 + len(silhouette.CHANNELS), 64, 64), np.uint8)
    for s in range(0, len(images), 256):
        chunk = [np.asarray(im) for im in images[s : s + 256]]
        for k, (rgb, maps) in enumerate(zip(chunk, silhouette.predict_batch(net, chunk))):
            inputs[s + k] = np.round(stack_input(rgb, maps) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, inputs=inputs, labels=np.array(labels), group=np.array(group))
    return inputs, np.array(labels), np.array(group)


def _data(pairs: int, generic: int, focus: tuple[str, ...], focus_pairs: int, randomise: bool,
          silhouette_weights: Path, plain: float, line_art: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training set (`build`), with `focus_pairs` more twins of the `focus` kinds in groups of their own."""
    inputs, labels, group = build(pairs, generic, randomise=randomise, silhouette_weights=silhouette_weights, plain=plain,
                                  line_art=line_art)
    if focus and focus_pairs:
        more = build(focus_pairs, 0, FOCUS_SEED, focus, randomise, silhouette_weights, plain, line_art)
        inputs, labels = np.concatenate([inputs, more[0]]), np.concatenate([labels, more[1]])
        group = np.concatenate([group, more[2] + group.max() + 1])
    return inputs, labels, group


def _held_out_scores(net, x_all, labels: np.ndarray, val_idx: np.ndarray) -> dict:
    """Accuracy and AUROC (clean vs malformed) on the held-out twins; leaves the net in training mode."""
    import torch

    from judge.metrics import auroc

    net.eval()
    with torch.inference_mode():
        logits = torch.cat([net(x_all[val_idx[s : s + 512]].float() / 255) for s in range(0, len(val_idx), 512)])
    net.train()
    p_clean = torch.softmax(logits, 1)[:, 0].numpy()
    y = labels[val_idx]
    return {"val_acc": round(float((logits.argmax(1).numpy() == y).mean()), 4),
            "val_auroc": round(auroc(-p_clean[y > 0], -p_clean[y == 0]), 4)}


def train(pairs: int, generic: int, epochs: int, batch: int, lr: float, out: Path, threads: int,
          init: Path | None = None, focus: tuple[str, ...] = (), focus_pairs: int = 0, randomise: bool = False,
          silhouette_weights: Path = SILHOUETTE, resume: bool = False, plain: float = 0.15, line_art: float = 0.0) -> dict:
    """Cross-entropy on the twins, a tenth of them held out; `resume` continues from the checkpoint beside
    `out` (written after every epoch).

    Long because: one training loop, with its resume, augmentation and log in one place."""
    import warnings

    import torch
    import torch.nn.functional as F

    from judge.fit.train_silhouette import checkpoint_path, load_checkpoint, save_checkpoint
    from judge.witnesses.silhouette import save_weights

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    t0 = time.time()
    inputs, labels, group = _data(pairs, generic, focus, focus_pairs, randomise, silhouette_weights, plain, line_art)
    print(f"data {inputs.shape} in {time.time() - t0:.0f} s", file=sys.stderr)
    held = group % 10 == 9  # a tenth of the twins (both halves) to watch for overfitting
    x_all = torch.from_numpy(inputs)
    y_all = torch.from_numpy(labels).long()
    train_idx, val_idx = np.flatnonzero(~held), np.flatnonzero(held)
    net = DefectNet()
    if init is not None:  # continue from earlier weights (a second, lower-LR cycle)
        from safetensors.torch import load_file

        net.load_state_dict(load_file(str(init)))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    per_epoch = len(train_idx) // batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(epochs * per_epoch, 1))
    rng = np.random.default_rng(0)
    log: dict = {}
    ckpt, first = checkpoint_path(out), 0
    if resume and ckpt.exists():
        meta = load_checkpoint(ckpt, net, opt)
        first, log, rng.bit_generator.state = meta["epoch"], meta["log"], meta["rng"]
        torch.manual_seed(first)
        with warnings.catch_warnings():  # the schedule catches up without optimizer steps
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(first * per_epoch):
                sched.step()
    for epoch in range(first, epochs):
        order = rng.permutation(train_idx)
        losses = []
        for s in range(0, per_epoch * batch, batch):
            idx = order[s : s + batch]
            x = x_all[idx].float() / 255
            flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
            x[flip] = x[flip].flip(3)  # hands come in both chiralities
            x[:, :3] = (x[:, :3] * torch.empty(len(idx), 1, 1, 1).uniform_(0.8, 1.2)).clamp(0, 1)  # exposure
            loss = F.cross_entropy(net(x), y_all[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        log = {"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 4),
               **_held_out_scores(net, x_all, labels, val_idx), "s": round(time.time() - t0)}
        print(json.dumps(log), file=sys.stderr, flush=True)
        save_weights(net.eval(), out)
        save_checkpoint(ckpt, net, opt, {"epoch": epoch + 1, "log": log, "rng": rng.bit_generator.state})
        net.train()
    return log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the malformation detector on labelled twin renders.")
    parser.add_argument("--pairs", type=int, default=6000, help="clean/malformed twin pairs")
    parser.add_argument("--generic", type=int, default=3000, help="extra clean renders of any gesture, object, view")
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--init", type=Path, default=None, help="start from these weights")
    parser.add_argument("--focus", nargs="*", default=[], choices=ANOMALIES, help="malformations to add more twins of")
    parser.add_argument("--focus-pairs", type=int, default=0, help="how many extra twins (seed 7321)")
    parser.add_argument("--randomise", action="store_true", help="each twin pair in a random style (world.styles)")
    parser.add_argument("--silhouette", type=Path, default=SILHOUETTE, help="the silhouette net whose maps it reads")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint beside --out")
    parser.add_argument("--plain", type=float, default=0.15, help="with --randomise, the share of pairs only mildly changed")
    parser.add_argument("--line-art", type=float, default=0.0,
                        help="with --randomise, the share of the other looks drawn as line drawings")
    args = parser.parse_args(argv)
    if min(args.pairs, args.epochs, args.batch) < 1 or min(args.generic, args.focus_pairs) < 0:
        parser.error("--pairs, --epochs and --batch must be positive, --generic and --focus-pairs non-negative")
    log = train(args.pairs, args.generic, args.epochs, args.batch, args.lr, args.out, args.threads, args.init,
                tuple(args.focus), args.focus_pairs, args.randomise, args.silhouette, args.resume, args.plain,
                args.line_art)
    print(json.dumps({"classes": CLASSES, "randomise": args.randomise, "plain": args.plain, "line_art": args.line_art,
                      **log}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
