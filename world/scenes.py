"""Scenes around the rendered hand: the hand-filling frame, or a hand small in a larger picture (issue 18, part 2).

The headshot article's claim: a generator trained on pictures where hands are a small part of the frame never
learns them. "small-hand" makes that measurable at the same 64 px: the hand-filling render of (seed, index)
becomes a tile 1/`ZOOM` of the frame's width (the hand then spans about a quarter of it), pasted at a random place
on a background of the renderer's kinds, its forearm running on out of the picture. The hand is the very hand of
the hand-filling set at (seed, index), so the two training sets differ only in how much of the frame the hand
fills; the label keeps where it went (`tile_box`, `hand_box`, keypoints), so a picture can be cropped back.

    python -m world.scenes --count 64 --out scenes/   # sheet.png and labels.jsonl of small-hand scenes
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from core.vocab import HandSpec
from world.render import HandRender, _background, contact_sheet, render_sample

SCENES: tuple[str, ...] = ("hand", "small-hand")
ZOOM = 3  # the small-hand frame holds ZOOM x ZOOM hand-filling frames
SCENE_STREAM = 18  # the scene's own random stream (background, place): the hand's stream is untouched
FOREARM = (-0.5, -14.0)  # the arm drawn under the tile, from/to along the hand's -y axis (units of P), where the
# tile's own forearm (world.render: radius 0.3 at the wrist to 0.34 at -1.6) is still inside the tile


def render_scene(seed: int, index: int = 0, size: int = 64, scene: str = "hand", spec: HandSpec | None = None) -> HandRender:
    """The picture of (seed, index) in `scene`: "hand" is `render_sample` itself, byte for byte."""
    if scene == "hand":
        return render_sample(seed, index, size, spec)
    if scene == "small-hand":
        return small_hand(seed, index, size, spec)
    raise ValueError(f"unknown scene {scene!r}; choose from {', '.join(SCENES)}")


def small_hand(seed: int, index: int = 0, size: int = 64, spec: HandSpec | None = None) -> HandRender:
    """The hand of `render_sample(seed, index, size)` at 1/ZOOM of its size in a `size` px frame.

    Drawn at ZOOM x `size` px (the tile at its own resolution) and box-filtered down, so the small hand
    is exactly the hand-filling picture shrunk ZOOM times. Label: the tile's, with keypoints in frame
    pixels, `tile_box` (where the hand-filling frame went) and `hand_box` (hand and object pixels).
    """
    tile = render_sample(seed, index, size, spec)
    rng = np.random.default_rng([seed, index, SCENE_STREAM])
    big = size * ZOOM
    canvas = _background(rng, big)
    x0, y0 = (int(v) for v in rng.integers(0, big - size + 1, 2))
    _draw_forearm(canvas, tile, (x0, y0))
    alpha = np.clip(tile.hand_cover + tile.object_cover, 0.0, 1.0)[..., None]
    window = canvas[y0 : y0 + size, x0 : x0 + size]
    canvas[y0 : y0 + size, x0 : x0 + size] = window * (1 - alpha) + tile.image / 255.0 * alpha
    hand, obj = np.zeros((big, big)), np.zeros((big, big))
    hand[y0 : y0 + size, x0 : x0 + size], obj[y0 : y0 + size, x0 : x0 + size] = tile.hand_cover, tile.object_cover
    shrink = lambda a: a.reshape(size, ZOOM, size, ZOOM, *a.shape[2:]).mean((1, 3))  # noqa: E731
    image, hand_cover, object_cover = shrink(canvas), shrink(hand), shrink(obj)
    label = dict(tile.label, scene="small-hand",
                 keypoints=[[round((x + x0) / ZOOM, 2), round((y + y0) / ZOOM, 2), v] for x, y, v in tile.label["keypoints"]],
                 tile_box=[x0 / ZOOM, y0 / ZOOM, (x0 + size) / ZOOM, (y0 + size) / ZOOM],
                 hand_box=_box(hand_cover + object_cover > 0.5))
    projection = tile.projection / ZOOM + np.array([[0, 0, 0, x0 / ZOOM], [0, 0, 0, y0 / ZOOM]])
    return HandRender(image=np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8), mask=hand_cover > 0.5, label=label,
                      projection=projection, object_cover=object_cover, hand_cover=hand_cover)


def _box(mask: np.ndarray) -> list[float]:
    """[x0, y0, x1, y1] in pixels around the True pixels (pixel edges, so x1 - x0 is the width)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def _draw_forearm(canvas: np.ndarray, tile: HandRender, offset: tuple[int, int]) -> None:
    """The forearm on from under the tile out of the frame: a shaded skin capsule along the hand's -y axis.

    The tile's own forearm is cut at its border; this one runs under it (the tile is pasted over)
    and on, in the tile's median skin colour.
    """
    start, stop = FOREARM
    ends = np.array([[0.0, start, 0.0], [0.0, stop, 0.0]]) @ tile.projection[:, :3].T + tile.projection[:, 3]
    a, b = ends + np.array(offset, float)
    ys, xs = np.mgrid[0 : canvas.shape[0], 0 : canvas.shape[1]] + 0.5
    ab = b - a
    t = np.clip(((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / max(float(ab @ ab), 1e-9), 0, 1)
    along = start + t * (stop - start)  # the point's place on the arm, in units of P: the radius widens as render's
    width = (0.3 + 0.04 * np.clip((0.05 - along) / 1.65, 0, 1)) * float(np.linalg.norm(tile.projection[:, :3], axis=1).mean())
    gap = np.hypot(xs - (a[0] + t * ab[0]), ys - (a[1] + t * ab[1])) / np.maximum(width, 1e-6)
    inside = gap < 1
    skin = np.median(tile.image[tile.hand_cover > 0.99], axis=0) / 255.0 if (tile.hand_cover > 0.99).any() else 0.6
    canvas[inside] = skin * (0.78 + 0.22 * np.sqrt(1 - gap[inside] ** 2))[:, None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw scenes of rendered hands (a contact sheet and their labels).")
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--scene", choices=SCENES, default="small-hand")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 10_000 or not 16 <= args.size <= 256:
        print("error: --count must be 1..10000 and --size 16..256", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    renders = [render_scene(args.seed, i, args.size, args.scene) for i in range(args.count)]
    contact_sheet([r.image for r in renders[:64]], scale=3).save(args.out / "sheet.png")
    with open(args.out / "labels.jsonl", "w") as f:
        for r in renders:
            f.write(json.dumps({k: v for k, v in r.label.items() if k != "joints3d"}) + "\n")
    print(json.dumps({"out": str(args.out), "count": args.count, "scene": args.scene}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
