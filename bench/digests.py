"""Fingerprints of generated images: SHA-256 of the PNG bytes per family (and diffusion sampler).

    python -m bench.digests [--prompt TEXT] [--seed S] [--n 2] [--steps 3]

Same prompt, seed and settings must give the same digests in any run and any process on one
machine; diff two outputs to check. JSON on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys

from models.base import GenerateOptions
from models.registry import BackendUnavailable, Registry
from prompt import parse

CASES = (("vae", None), ("gan", None), ("diffusion", "dpm++"), ("diffusion", "ddpm"))  # ddpm draws noise every step


def digests(registry: Registry, prompt: str, seed: int, n: int = 2, steps: int = 3) -> dict[str, list[str]]:
    spec, out = parse(prompt), {}
    for family, sampler in CASES:
        options = GenerateOptions(steps=steps, guidance=2.5, sampler=sampler)
        pngs = []
        for image in registry.load(family, "full").generate(spec, n, seed, options).images:
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            pngs.append(hashlib.sha256(buffer.getvalue()).hexdigest())
        out[family if sampler is None else f"{family}/{sampler}"] = pngs
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prompt", default="a thumbs up with the left hand")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--n", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    args = p.parse_args(argv)
    try:
        print(json.dumps(digests(Registry(), args.prompt, args.seed, args.n, args.steps)))
    except (ValueError, BackendUnavailable) as err:
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
