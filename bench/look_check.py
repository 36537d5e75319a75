"""How many of the benchmark's own pictures the look net sends to the witnesses for other looks, per threshold.

Why: the look net (`judge.fit.train_look`) decides which witnesses judge a picture, and the witnesses for other looks
judge by the rules alone, which are too kind to a generator's smear (with the first look head, at a threshold of 0.8 one distilled diffusion
picture of a smeared hand holding a phone went there and scored 99 instead of 7.6). A look net or threshold is
only fit to ship when the generators' pictures stay where the model fitted to people judges them. The judge may not
import the generators, so the pictures are drawn here: the benchmark's prompts, 15 per prompt from seeds 1000 + k,
every shipped variant, as `python -m bench` draws them.

    python -m bench.look_check                     # results/look_check.json, for judge/weights
    python -m bench.look_check --weights DIR       # a candidate folder
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bench.measure import specs_for_prompts
from core.settings import REPO_ROOT
from judge.calibration import Calibration
from judge.judge import DEFAULT_WEIGHTS
from judge.witnesses.look import LOOK_NET_FILE
from models.registry import Registry

BENCH_SEED = 1000  # the benchmark's pictures (bench.measure)
THRESHOLDS = (0.7, 0.8, 0.9)
OUT = REPO_ROOT / "results" / "look_check.json"


def generated(registry: Registry, per_prompt: int, seed: int) -> dict[str, list[np.ndarray]]:
    """`per_prompt` pictures of every benchmark prompt from every shipped variant, by "family/variant"."""
    specs = list(specs_for_prompts().values())
    out = {}
    for family in ("vae", "gan", "diffusion"):
        for variant in registry.variants(family):
            generator = registry.load(family, variant)
            out[f"{family}/{variant}"] = [np.asarray(im) for k, spec in enumerate(specs)
                                          for im in generator.generate(spec, per_prompt, seed + k).images]
    return out


def sent_away(weights: Path, pictures: dict[str, list[np.ndarray]]) -> dict[str, dict[str, int]]:
    """How many pictures of each variant the look net in `weights` sends to the other looks, per threshold."""
    from judge.witnesses.look import LOOK_NET_FILE, load_net, probabilities
    from judge.witnesses.silhouette import to_input

    net = load_net(weights / LOOK_NET_FILE)
    out = {}
    for name, images in pictures.items():
        p = probabilities(net, [to_input(im) for im in images])
        out[name] = {"n": len(images), **{f"above_{t:g}": int((p > t).sum()) for t in THRESHOLDS}}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--per-prompt", type=int, default=15, help="pictures per prompt and variant (the benchmark's 15)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.per_prompt < 1:
        print("error: --per-prompt must be at least 1", file=sys.stderr)
        return 2
    if not (args.weights / LOOK_NET_FILE).exists():
        print(f"error: no look net in {args.weights}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(2)
    sent = sent_away(args.weights, generated(Registry(), args.per_prompt, BENCH_SEED))
    above = Calibration.of_folder(args.weights).other_look_above
    result = {"command": "python -m bench.look_check", "weights": args.weights.name, "above": above,
              "sent_at_above": sum(v[f"above_{above:g}"] for v in sent.values()) if above in THRESHOLDS else None,
              "per_variant": sent}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
