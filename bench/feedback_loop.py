"""The feedback loop in one picture, for the app's "Fix it with feedback" view: votes -> reward -> fine-tune ->
compare, and back to votes. Drawn with PIL (no plotting library, no font file: Pillow's own scalable default font),
so the committed PNG can be redrawn anywhere.

    python -m bench.feedback_loop                     # results/feedback_loop.png
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from core.settings import FEEDBACK_LOOP

WIDTH, HEIGHT = 1200, 330
BOX_W, BOX_H, GAP, TOP = 250, 170, 60, 40
INK, PAPER, BACK = "#222222", "#ffffff", "#777777"


@dataclass(frozen=True)
class Stage:
    """One box of the loop: a title and a few short lines under it."""

    title: str
    lines: tuple[str, ...]
    colour: str


STAGES = (
    Stage("1  Votes", ("people pick the better", "of two hands; raters", "scored 1,248 pictures", "by eye"),
          "#fde8b0"),
    Stage("2  Reward", ("pairs: the picture people", "liked more wins; the", "judge is fitted to the", "same eyes"),
          "#cfe8cf"),
    Stage("3  Fine-tune", ("Diffusion-DPO moves", "diffusion/full towards", "the preferred pictures", "= diffusion/feedback"),
          "#cfdcf5"),
    Stage("4  Compare", ("before and after on the", "same held-out seeds,", "judged: fingers right,", "Hand Score, collapse"),
          "#ead3ef"),
)


def font(size: int) -> ImageFont.ImageFont:
    """Pillow's built-in font at `size` pixels (scalable since Pillow 10.1: nothing to install)."""
    return ImageFont.load_default(size=size)


def box_x(k: int) -> int:
    """Left edge of stage k: the four boxes centred across the picture."""
    left = (WIDTH - (len(STAGES) * BOX_W + (len(STAGES) - 1) * GAP)) // 2
    return left + k * (BOX_W + GAP)


def arrow(draw: ImageDraw.ImageDraw, points: list[tuple[int, int]], colour: str = INK) -> None:
    """A polyline with an arrowhead at its last point (pointing right, left or up)."""
    draw.line(points, fill=colour, width=4)
    (x0, y0), (x1, y1) = points[-2], points[-1]
    dx, dy = (x1 > x0) - (x1 < x0), (y1 > y0) - (y1 < y0)
    head = [(x1, y1), (x1 - 14 * dx + 8 * dy, y1 - 14 * dy + 8 * dx), (x1 - 14 * dx - 8 * dy, y1 - 14 * dy - 8 * dx)]
    draw.polygon(head, fill=colour)


def draw_stage(draw: ImageDraw.ImageDraw, k: int, stage: Stage) -> None:
    """Stage k's rounded box, its title and its lines."""
    x = box_x(k)
    draw.rounded_rectangle((x, TOP, x + BOX_W, TOP + BOX_H), radius=16, fill=stage.colour, outline=INK, width=3)
    draw.text((x + 16, TOP + 14), stage.title, fill=INK, font=font(26))
    for j, line in enumerate(stage.lines):
        draw.text((x + 16, TOP + 58 + 25 * j), line, fill=INK, font=font(18))


def loop_picture() -> Image.Image:
    """The four stages left to right, an arrow between each, and the way back from compare to votes underneath."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    middle = TOP + BOX_H // 2
    for k, stage in enumerate(STAGES):
        draw_stage(draw, k, stage)
        if k:
            arrow(draw, [(box_x(k) - GAP + 6, middle), (box_x(k) - 6, middle)])
    low = TOP + BOX_H + 55
    first, last = box_x(0) + BOX_W // 2, box_x(len(STAGES) - 1) + BOX_W // 2
    arrow(draw, [(last, TOP + BOX_H + 4), (last, low), (first, low), (first, TOP + BOX_H + 8)], BACK)
    draw.text(((first + last) // 2, low + 8), "the new model's pictures go back to the vote", fill=BACK,
              font=font(18), anchor="ma")
    return image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FEEDBACK_LOOP)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    loop_picture().save(args.out, format="PNG", optimize=True)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
