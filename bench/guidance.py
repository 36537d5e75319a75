"""Choose the diffusion model's default guidance on a seed of its own (5000), never the benchmark's.

The benchmark (`python -m bench`, seeds from 1000) sweeps guidance too, but a default picked there
would be tuned on the test. This measures the Hand Score and gesture accuracy per guidance scale on
other seeds, so a new default can then be checked by the benchmark.

    python -m bench.guidance [--scales 1 2.5 5 7.5] [--per-prompt 5]     # ~3 min on one core
"""

from __future__ import annotations

import argparse
import json
import sys

from bench.measure import measure
from core.limits import GUIDANCE
from judge import Judge
from models.base import GenerateOptions
from models.registry import Registry

SEED = 5000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 2.5, 5.0, 7.5])
    parser.add_argument("--per-prompt", type=int, default=5)
    parser.add_argument("--variant", default="full")
    args = parser.parse_args(argv)
    if args.per_prompt < 1 or not all(GUIDANCE.contains(s) for s in args.scales):
        parser.error(f"--per-prompt must be positive and every scale within [{GUIDANCE.lo:g}, {GUIDANCE.hi:g}]")
    registry, judge, rows = Registry(), Judge.load(), []
    for scale in args.scales:
        m = measure(registry, judge, "diffusion", args.variant, args.per_prompt, 1, seed=SEED, options=GenerateOptions(guidance=scale))
        rows.append({"guidance": scale, "hand_score": [round(v, 2) for v in m["hand_score"]],
                     "finger_accuracy": round(m["finger_accuracy"][0], 3), "kid": m["kid"], "n_images": m["n_images"]})
        print(json.dumps(rows[-1]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
