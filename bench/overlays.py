"""The scorer's overlays for the README: one clean hand and each malformation, side by side.

Renders the test suite's fixed cases (seed 4242, open palm face-on; a pointing hand for the bent
joint), scores each against its gesture and writes docs/scorer/<kind>.png and strip.png, each
captioned with the Hand Score and flags.

    python -m bench.overlays
"""

from __future__ import annotations

import sys

from PIL import Image, ImageDraw

from core.settings import REPO_ROOT
from core.vocab import HandSpec
from judge import Judge
from judge.overlay import draw
from world.render import render_sample

SEED = 4242
CASES = (  # (name, anomaly, gesture, index), as in tests/test_score.py
    ("clean", None, "open_palm", 0),
    ("extra_finger", "extra_finger", "open_palm", 0),
    ("fused_fingers", "fused_fingers", "open_palm", 2),
    ("long_finger", "long_finger", "open_palm", 2),
    ("bent_joint", "bent_joint", "point", 3),
)


def main() -> int:
    out = REPO_ROOT / "docs" / "scorer"
    out.mkdir(parents=True, exist_ok=True)
    judge = Judge.load()
    tiles = []
    for name, anomaly, gesture, index in CASES:
        spec = HandSpec(gesture=gesture, view="palm")
        r = render_sample(SEED, index, 64, spec=spec, anomaly=anomaly)
        report = judge.score(r.image, HandSpec(gesture=gesture))
        tile = Image.new("RGB", (256, 300), "white")
        tile.paste(draw(report, 256), (0, 0))
        caption = f"{name}: {report.hand_score:.0f}\n{', '.join(report.flags) or 'no flags'}"
        ImageDraw.Draw(tile).multiline_text((4, 258), caption, fill="black")
        tile.save(out / f"{name}.png")
        tiles.append(tile)
        print(f"{name}: score {report.hand_score:.1f}, flags {report.flags}")
    strip = Image.new("RGB", (256 * len(tiles), 300), "white")
    for k, tile in enumerate(tiles):
        strip.paste(tile, (256 * k, 0))
    strip.save(out / "strip.png")
    print(f"wrote {out / 'strip.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
