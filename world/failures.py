"""How generators fail, imitated on fresh renders: pictures that are *not* good hands, with what a
person would say of them.

The judge is fitted to people's eyes on the generators' own pictures, but those hold few of the
ways a picture can go wrong. These kinds imitate what the VAE, the GAN and an undertrained diffusion
model actually draw (the rater set's notes: "greenish smear", "melted claw", "blobby", "two hands on
top of each other"), each made from a clean render so that only the failure is new:

- `blur`: a heavy Gaussian blur (sigma 3-5): the VAE's smudge. Mild blur is left out on purpose:
  people still see a hand in a moderately soft picture.
- `melt`: a smooth random displacement field (elastic warp) that bends fingers into wax.
- `shuffle`: 8 px tiles in random order, softened: the hand's texture without its shape.
- `noise`: strong colour noise on a heavily blurred base: a sampler stopped far too early.
- `blobs`: soft skin-coloured ellipses on the picture's own background: a hand's colour and size,
  none of its parts.
- `half_erased`: the hand on one side of a line through it painted over with the background: a stump.
- `ghost`: two renders laid over each other: a double exposure of two half-transparent hands.

`failure(kind, seed, index)` is deterministic in (kind, seed, index); `failures(count, seed)` cycles
through the kinds. Each kind carries the rater-scale verdict it stands for (`Failure.quality`, 1 = not
a hand ... 5 = a clean, correct hand, and `hand`), which is how the judge's fit labels them: smears,
shuffles, noise and blobs are no hand (1); a melted, half-erased or doubled hand is still hand-like
but clearly broken (2), and whether people would call it a hand is left open (looking at seed 99000's
sheet, some of each still read as hands).

    python -m world.failures --seed 99000 --out sheet.png      # a contact sheet, one row per kind
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from world.render import HandRender, contact_sheet, render_sample


def _blur(r: HandRender, rng: np.random.Generator, _other: HandRender) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(r.image, (0, 0), rng.uniform(3, 5))


def _melt(r: HandRender, rng: np.random.Generator, _other: HandRender) -> np.ndarray:
    """Elastic warp: per-pixel offsets of up to ~8 px that vary smoothly over ~5 px."""
    import cv2

    size = r.image.shape[0]
    sigma, amp = rng.uniform(3.5, 6), rng.uniform(5, 9) * size / 64
    field = [cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), sigma) for _ in range(2)]
    field = [f * amp / (np.abs(f).max() + 1e-6) for f in field]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    warped = cv2.remap(r.image, xs + field[0], ys + field[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return cv2.GaussianBlur(warped, (0, 0), 0.7)


def _shuffle(r: HandRender, rng: np.random.Generator, _other: HandRender, tile: int = 8) -> np.ndarray:
    import cv2

    size = r.image.shape[0]
    n = size // tile
    tiles = r.image.reshape(n, tile, n, tile, 3).transpose(0, 2, 1, 3, 4).reshape(n * n, tile, tile, 3)
    tiles = tiles[rng.permutation(n * n)].reshape(n, n, tile, tile, 3).transpose(0, 2, 1, 3, 4)
    return cv2.GaussianBlur(tiles.reshape(size, size, 3), (0, 0), 1.0)


def _noise(r: HandRender, rng: np.random.Generator, _other: HandRender) -> np.ndarray:
    import cv2

    base = cv2.GaussianBlur(r.image, (0, 0), rng.uniform(4, 7)).astype(np.float32)
    return np.clip(base + rng.normal(0, rng.uniform(15, 50), base.shape), 0, 255).astype(np.uint8)


def _background(r: HandRender) -> np.ndarray:
    """The render's background colour: the median of its non-hand border pixels."""
    img, mask = r.image, r.mask
    border = np.zeros_like(mask)
    border[:4], border[-4:], border[:, :4], border[:, -4:] = True, True, True, True
    pixels = img[border & ~mask]
    return np.median(pixels if len(pixels) else img.reshape(-1, 3), 0)


def _blobs(r: HandRender, rng: np.random.Generator, _other: HandRender) -> np.ndarray:
    """One to three soft skin-coloured ellipses, in the hand's own colour, on the render's background."""
    import cv2

    size = r.image.shape[0]
    skin = np.median(r.image[r.mask], 0) * rng.uniform(0.85, 1.15) if r.mask.any() else rng.uniform(80, 240, 3)
    img = np.ones((size, size, 3), np.float32) * _background(r)
    for _ in range(int(rng.integers(1, 4))):
        m = np.zeros((size, size), np.float32)
        centre = tuple(int(v) for v in rng.integers(size // 4, 3 * size // 4, 2))
        axes = tuple(int(v) for v in rng.integers(size // 10, size // 3, 2))
        cv2.ellipse(m, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        m = cv2.GaussianBlur(m, (0, 0), rng.uniform(1, 3))[..., None]
        img = img * (1 - m) + skin * m
    return np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)


def _half_erased(r: HandRender, rng: np.random.Generator, _other: HandRender) -> np.ndarray:
    """The hand beyond a random line through its centre painted over (inpainted) from the background."""
    import cv2

    size = r.image.shape[0]
    ys, xs = np.nonzero(r.mask)
    if not len(xs):
        return r.image.copy()
    angle = rng.uniform(0, 2 * np.pi)
    shift = rng.uniform(-0.2, 0.2) * np.sqrt(r.mask.sum())
    yy, xx = np.mgrid[0:size, 0:size]
    side = (xx - xs.mean()) * np.cos(angle) + (yy - ys.mean()) * np.sin(angle) > shift
    erase = cv2.dilate((r.mask & side).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2)
    return cv2.inpaint(r.image, erase, 5, cv2.INPAINT_TELEA)


def _ghost(r: HandRender, rng: np.random.Generator, other: HandRender) -> np.ndarray:
    """A second hand laid over the first, half transparent and shifted: a double exposure."""
    alpha = rng.uniform(0.35, 0.65)
    dy, dx = (int(v) for v in rng.integers(-8, 9, 2))
    second = np.roll(other.image, (dy, dx), axis=(0, 1)).astype(np.float32)
    return np.clip((1 - alpha) * r.image + alpha * second, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Failure:
    """One way to fail, and the verdict on the raters' scale a picture of it stands for."""

    make: Callable[[HandRender, np.random.Generator, HandRender], np.ndarray]
    quality: float  # 1 not a hand .. 5 a clean, correct hand
    hand: bool | None  # would a person recognise a hand (None: people would split)


FAILURES: dict[str, Failure] = {
    "blur": Failure(_blur, 1.0, False),
    "melt": Failure(_melt, 2.0, None),  # a hand-like shape, clearly broken
    "shuffle": Failure(_shuffle, 1.0, False),
    "noise": Failure(_noise, 1.0, False),
    "blobs": Failure(_blobs, 1.0, False),
    "half_erased": Failure(_half_erased, 2.0, None),
    "ghost": Failure(_ghost, 2.0, None),
}
KINDS: tuple[str, ...] = tuple(FAILURES)


def failure(kind: str, seed: int, index: int, size: int = 64) -> np.ndarray:
    """The `kind` failure of render (seed, index) at `size` px; the same bytes for the same arguments."""
    if kind not in FAILURES:
        raise ValueError(f"unknown failure {kind!r}; choose from {KINDS}")
    rng = np.random.default_rng([seed, index, 1 + KINDS.index(kind)])
    other = render_sample(seed, index + 1_000_000, size)  # the ghost's second hand, from the same seed's far end
    return FAILURES[kind].make(render_sample(seed, index, size), rng, other)


def failures(count: int, seed: int, size: int = 64) -> tuple[list[np.ndarray], list[str]]:
    """`count` failures of renders (seed, 0..count-1), the kinds in turn: (images, kinds)."""
    kinds = [KINDS[i % len(KINDS)] for i in range(count)]
    return [failure(kind, seed, i, size) for i, kind in enumerate(kinds)], kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A contact sheet of synthetic generator failures, one row per kind.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-kind", type=int, default=8)
    parser.add_argument("--out", type=Path, required=True, help="PNG file")
    args = parser.parse_args(argv)
    if not 1 <= args.per_kind <= 64:
        print("error: --per-kind must be 1..64", file=sys.stderr)
        return 2
    images = [failure(kind, args.seed, i) for kind in KINDS for i in range(args.per_kind)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(images, columns=args.per_kind, scale=3).save(args.out)
    print(json.dumps({"out": str(args.out), "kinds": list(KINDS), "per_kind": args.per_kind}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
