"""Generate hands from the command line with a shipped variant.

    python -m models.generate --backend {vae,gan,diffusion} --prompt TEXT --n N --seed S --out DIR
                              [--steps K] [--guidance G] [--sampler dpm++|ddim|ddpm] [--variant full|scarce]

Writes DIR/000.png ... and DIR/meta.json; prints the meta as JSON on stdout; bad input -> one line
on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.limits import DEFAULT_VARIANT, IMAGES, SAMPLERS, SEED
from models.base import GenerateOptions
from models.registry import FAMILY_NAMES, BackendUnavailable, Registry


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=FAMILY_NAMES, required=True)
    p.add_argument("--prompt", required=True)
    p.add_argument("--n", type=int, default=IMAGES.default)
    p.add_argument("--seed", type=int, default=SEED.default)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--variant", default=DEFAULT_VARIANT)
    p.add_argument("--steps", type=int, default=None, help="diffusion only (default: the family's)")
    p.add_argument("--guidance", type=float, default=None, help="diffusion only (default: the family's)")
    p.add_argument("--sampler", choices=SAMPLERS, default=None)
    args = p.parse_args(argv)

    from prompt import parse

    try:
        spec = parse(args.prompt)
        generator = Registry().load(args.backend, args.variant)
        options = GenerateOptions(steps=args.steps, guidance=args.guidance, sampler=args.sampler)
        result = generator.generate(spec, args.n, args.seed, options)
    except (ValueError, BackendUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    files = []
    for k, image in enumerate(result.images):
        files.append(f"{k:03d}.png")
        image.save(args.out / files[-1])
    meta = {"backend": args.backend, "variant": result.variant, "prompt": args.prompt, "spec": spec.to_dict(),
            "seed": args.seed, "n": len(result.images), "latency_s": round(result.latency_s, 4), "steps": result.steps,
            "evaluations": result.evaluations, "files": files}
    (args.out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
