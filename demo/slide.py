"""One comparison as one slide: a 1920x1080 PNG a teacher can drop into a presentation.

Title = the prompt; three columns (one per model) with their sentence, the pictures, and each picture's verdict
line under it in large type. Drawn with PIL and the DejaVu font matplotlib ships (it has ✓ and ✗).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from core.vocab import HandSpec
from demo import pipeline, present
from demo.links import Inputs

SIZE = (1920, 1080)
MARGIN, GAP = 48, 40
INK, GREY, WHITE = (30, 30, 30), (110, 110, 110), (255, 255, 255)
MARK_COLOURS = {"right": (26, 154, 58), "wrong": (214, 40, 40), "unsure": (201, 138, 0)}


@lru_cache(maxsize=16)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans from matplotlib's own data folder: present wherever the app runs (matplotlib is a requirement)."""
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


def wrap(draw: ImageDraw.ImageDraw, text: str, typeface: ImageFont.FreeTypeFont, width: float, indent: float = 0) -> list[str]:
    """Greedy word wrap to `width` pixels (the first line starts `indent` pixels in)."""
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        room = width - (indent if not lines else 0)
        if line and draw.textlength(candidate, font=typeface) > room:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + [line] if line else lines


def caption_lines(draw: ImageDraw.ImageDraw, verdict: present.Verdict, width: int, size: int) -> list[str]:
    """A verdict's words wrapped to `width` after its mark, at type `size`: never cut."""
    indent = draw.textlength(verdict.mark + " ", font=font(size + 4, bold=True))
    return wrap(draw, verdict.words, font(size), width, indent)


def caption(draw: ImageDraw.ImageDraw, xy: tuple[int, int], verdict: present.Verdict, width: int, size: int) -> None:
    """A verdict line under a picture: the mark in its colour, then the words, wrapped."""
    x, y = xy
    mark_font = font(size + 4, bold=True)
    draw.text((x, y - 2), verdict.mark, fill=MARK_COLOURS[verdict.kind], font=mark_font)
    indent = draw.textlength(verdict.mark + " ", font=mark_font)
    for k, line in enumerate(caption_lines(draw, verdict, width, size)):
        draw.text((x + (indent if k == 0 else 0), y + k * round(size * 1.2)), line, fill=INK, font=font(size))


TYPE_SIZES = (28, 24, 20, 18, 16, 14)


def grid(draw: ImageDraw.ImageDraw, verdicts: list[present.Verdict], width: int, height: int,
         sizes: tuple[int, ...] = TYPE_SIZES) -> tuple[int, int, int, int]:
    """(pictures per row, picture side, caption height, type size): the largest type at which every verdict,
    wrapped whole, still leaves pictures at least 60 % of their cell's width; at that type, the number of pictures
    per row that makes them largest."""
    n, gap = max(1, len(verdicts)), 18
    layouts = []
    for size in sizes:
        for per_row in range(math.ceil(math.sqrt(n)), min(n, 4) + 1):
            cell_w = (width - gap * (per_row - 1)) // per_row
            lines = max((len(caption_lines(draw, v, cell_w, size)) for v in verdicts), default=1)
            caption_h = lines * round(size * 1.2) + 12
            side = int(min(cell_w, height / math.ceil(n / per_row) - caption_h - gap))
            layouts.append((side >= 0.6 * cell_w, size, side, per_row, caption_h))
        fitting = [layout for layout in layouts if layout[0] and layout[1] == size]
        if fitting:
            _, size, side, per_row, caption_h = max(fitting, key=lambda layout: layout[2])
            return per_row, side, caption_h, size
    _, size, side, per_row, caption_h = max(layouts, key=lambda layout: (layout[1] == sizes[-1], layout[2]))
    return per_row, side, caption_h, size


def column(canvas: Image.Image, box: tuple[int, int, int, int], run: pipeline.BackendRun, spec: HandSpec | None,
           size: int) -> None:
    """One model's column: its name, its tally, and a grid of pictures each with its verdict line in `size` type."""
    x0, y0, x1, y1 = box
    draw = ImageDraw.Draw(canvas)
    draw.text((x0, y0), present.TITLES.get(run.backend, run.backend), fill=INK, font=font(46, bold=True))
    if not run.ok or run.generation is None:
        draw.text((x0, y0 + 60), "could not draw", fill=GREY, font=font(30))
        return
    draw.text((x0, y0 + 60), present.tally(run, spec), fill=GREY, font=font(30))
    images, verdicts = run.generation.images, present.verdicts(run, spec)
    top, gap = y0 + 116, 18
    per_row, side, caption_h, size = grid(draw, verdicts, x1 - x0, y1 - top, (size,))
    cell_w = (x1 - x0 - gap * (per_row - 1)) // per_row
    for k, (image, verdict) in enumerate(zip(images, verdicts)):
        x = x0 + (k % per_row) * (cell_w + gap)
        y = top + (k // per_row) * (side + caption_h + gap)
        canvas.paste(image.convert("RGB").resize((side, side), Image.NEAREST), (x, y))
        caption(draw, (x, y + side + 8), verdict, cell_w, size)


def compose(inputs: Inputs, runs: list[pipeline.BackendRun], spec: HandSpec | None) -> Image.Image:
    """The slide: the prompt as title, the settings that reproduce it, one column per model."""
    canvas = Image.new("RGB", SIZE, WHITE)
    draw = ImageDraw.Draw(canvas)
    draw.text((MARGIN, MARGIN - 8), f"“{inputs.prompt}”"[:70], fill=INK, font=font(60, bold=True))
    setup = (f"Why can't AI draw hands? · seed {inputs.seed} · {inputs.steps} diffusion steps · guidance "
             f"{inputs.guidance:g} · {inputs.training_data} training data")
    draw.text((MARGIN, MARGIN + 70), setup, fill=GREY, font=font(28))
    width = (SIZE[0] - 2 * MARGIN - GAP * (len(runs) - 1)) // max(1, len(runs))
    height = SIZE[1] - MARGIN - (MARGIN + 140 + 116)  # under the column headings
    size = min((grid(draw, present.verdicts(run, spec), width, height)[3] for run in runs if run.ok), default=28)
    for k, run in enumerate(runs):  # one type size on the whole slide: the one the longest verdicts need
        x = MARGIN + k * (width + GAP)
        column(canvas, (x, MARGIN + 140, x + width, SIZE[1] - MARGIN), run, spec, size)
    return canvas


def file_name(inputs: Inputs) -> str:
    """'hands-a-fist-seed-3.png': what the slide shows, as a file name."""
    slug = re.sub(r"[^a-z0-9]+", "-", inputs.prompt.lower()).strip("-")[:40] or "hands"
    return f"hands-{slug}-seed-{inputs.seed}.png"
