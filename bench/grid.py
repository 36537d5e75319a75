"""The grid for the model cards and release notes: rows are prompts, columns are backends.

    python -m bench.grid [--out docs/grid.png] [--per-cell 2] [--seed 0] [--variant full]

Every image is scored; its Hand Score is printed under it (red, 'flagged', when the scorer flags it). One
JSON line on stdout: the file written and the mean score per backend.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw

from bench.prompts import PROMPTS
from core.settings import REPO_ROOT
from judge import Judge
from models.registry import FAMILY_NAMES as FAMILIES
from models.registry import Registry
from prompt import GestureEncoder, PromptParser

ROW_PROMPTS = ("open_palm", "fist", "point", "peace", "thumbs_up", "four", "banana", "cup")
CELL, LABEL_W, HEAD_H, TEXT_H = 96, 150, 24, 14


def build(registry: Registry, judge: Judge, variant: str, per_cell: int, seed: int) -> tuple[Image.Image, dict[str, float]]:
    families = [f for f in FAMILIES if variant in registry.variants(f)]
    col_w = per_cell * CELL
    sheet = Image.new("RGB", (LABEL_W + len(families) * (col_w + 8), HEAD_H + len(ROW_PROMPTS) * (CELL + TEXT_H + 6)), "white")
    draw = ImageDraw.Draw(sheet)
    scores: dict[str, list[float]] = {f: [] for f in families}
    for c, family in enumerate(families):
        draw.text((LABEL_W + c * (col_w + 8) + 4, 6), f"{family} ({variant})", fill="black")
    parser = PromptParser(GestureEncoder())  # one parser for every row: its encoder loads at most once
    for r, key in enumerate(ROW_PROMPTS):
        y = HEAD_H + r * (CELL + TEXT_H + 6)
        draw.multiline_text((4, y + CELL // 2 - 12), textwrap.fill(PROMPTS[key], 22), fill="black")
        spec = parser.parse(PROMPTS[key])
        for c, family in enumerate(families):
            generation = registry.load(family, variant).generate(spec, per_cell, seed + r)
            for i, (image, report) in enumerate(zip(generation.images, judge.score_set(generation.images, spec).reports)):
                x = LABEL_W + c * (col_w + 8) + i * CELL
                sheet.paste(image.resize((CELL, CELL), Image.NEAREST), (x, y))
                scores[family].append(report.hand_score)
                draw.text((x + 2, y + CELL + 1), f"{report.hand_score:.0f}" + (" flagged" if report.flags else ""),
                          fill="firebrick" if report.flags else "darkgreen")
    return sheet, {f: round(sum(v) / len(v), 1) for f, v in scores.items() if v}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "grid.png")
    parser.add_argument("--per-cell", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", default="full")
    args = parser.parse_args(argv)
    if not 1 <= args.per_cell <= 8:
        print("error: --per-cell must be from 1 to 8", file=sys.stderr)
        return 2
    registry = Registry()
    if not any(args.variant in registry.variants(f) for f in FAMILIES):
        print(f"error: no backend has a {args.variant!r} variant", file=sys.stderr)
        return 2
    sheet, means = build(registry, Judge.load(), args.variant, args.per_cell, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(json.dumps({"file": str(args.out), "variant": args.variant, "mean_hand_score": means}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
