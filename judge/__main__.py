"""Score hands in image files: python -m judge IMAGE... [--prompt TEXT] [--overlay DIR] [--no-landmarks]

One JSON object per image on stdout (file, hand_found, hand_score, extended_count, flags, ...);
exit status 2, with one line on stderr, for a bad prompt or an unreadable image.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from core.vocab import HandSpec
from judge.judge import Judge
from judge.overlay import draw


def _spec(prompt: str | None) -> HandSpec | None:
    if prompt is None:
        return None
    from prompt import parse

    return parse(prompt)


def _read(paths: list[Path]) -> list[tuple[Path, np.ndarray]] | None:
    """Every image as RGB; None (and a line on stderr) when one cannot be read."""
    images = []
    for path in paths:
        try:
            with Image.open(path) as im:
                images.append((path, np.asarray(im.convert("RGB"))))
        except (OSError, ValueError) as err:
            print(f"error: cannot read {path}: {type(err).__name__}: {err}", file=sys.stderr)
            return None
    return images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score hands in images: one JSON object per image on stdout.")
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--prompt", default=None, help="what the image was asked to show (sets the expected fingers)")
    parser.add_argument("--overlay", type=Path, default=None, help="write <name>.overlay.png here")
    parser.add_argument("--no-landmarks", action="store_true", help="skip MediaPipe (silhouette-only score)")
    args = parser.parse_args(argv)
    try:
        spec = _spec(args.prompt)
    except ValueError as err:
        print(f"error: bad --prompt: {err}", file=sys.stderr)
        return 2
    images = _read(args.images)
    if images is None:
        return 2
    if args.overlay is not None:
        args.overlay.mkdir(parents=True, exist_ok=True)
    import torch

    from core.settings import threads

    # One image at a time: more threads only contend. This sets torch's thread count for the whole
    # process, which is why it happens here, in the command line's own process, and nowhere in the judge.
    torch.set_num_threads(threads() or 1)
    judge = Judge.load()
    for path, rgb in images:
        report = judge.score(rgb, spec, use_landmarks=not args.no_landmarks)
        out = {"file": str(path), **report.to_dict()}
        if args.overlay is not None:
            target = args.overlay / f"{path.stem}.overlay.png"
            draw(report).save(target)
            out["overlay"] = str(target)
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
