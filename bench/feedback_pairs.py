"""Build one source's preference pairs (`models.feedback_pairs`), and optionally train on them: one command per source.

    python -m bench.feedback_pairs raters                 # runs/feedback/pairs-raters.safetensors (seconds)
    python -m bench.feedback_pairs judge --per-condition 32
    python -m bench.feedback_pairs votes                  # the arena's votes, pictures drawn again
    python -m bench.feedback_pairs raters --train dpo,sft-winners,dpo-shuffled,continued --steps 500 --threads 1
    python -m bench.feedback_pairs raters --null-check 128   # the pair accuracy of changes that carry no preference

The pairs are built once (an existing file is kept; `--rebuild` makes it again) and the split into training and
held-out pairs is fixed there, before any training. `--train` then runs `python -m models.train diffusion --variant
feedback --pairs SOURCE --objective O` for each objective in turn, same steps and seed; each run resumes where it
stopped, so rerunning the same command finishes the set. This module lives in bench because the rater labels sit
with the judge and the judge scores the "AI feedback" pairs: `models` may import neither.

Sources:
- `raters`: the rater set's pictures from diffusion settings (`judge.fit.raters`), paired within a prompt when their
  rater quality differs by `--min-gap` (default 1 point); the 64 px PNG is the picture trained on; unit: its id.
- `judge`: diffusion/full at its defaults, `--per-condition` pictures for each benchmark condition, seeds from
  JUDGE_SEED (800,000 + 100 k + chunk: no one else's), scored by `judge.Judge` (its report's hand_score, public API
  only: the judge is refitted by others), paired when the scores differ by `--min-gap` (default 25 points, one rater
  quality point on the quality model's scale); unit: seed and index.
- `votes`: `models.feedback_pairs.from_votes` on `$HANDS_DATA`'s store.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench.distill import judge_version
from bench.measure import specs_for_prompts
from core import settings
from core.settings import data_dir
from feedback.store import Store, StoreUnavailable
from models.feedback_pairs import SOURCES, PairSet, assemble, from_votes, graded_pairs, pairs_file
from models.registry import Registry
from models.train import main as train_main
from models.training.dpo import OBJECTIVES, PreferenceTrainer
from models.training.dpo import TRAIN_DEFAULTS as DPO_DEFAULTS
from prompt import PromptParser

JUDGE_SEED = 800_000  # condition k, chunk j: seed JUDGE_SEED + 100 k + j (the arena draws under 100,000)
CHUNK = 16  # pictures per generate call (core.limits.IMAGES)
MIN_GAP = {"raters": 1.0, "judge": 25.0}


def rater_pairs(min_gap: float) -> PairSet:
    """The rater set's diffusion pictures, paired within a prompt by rater quality."""
    from judge.fit import raters

    parser, specs, items, groups = PromptParser(), {}, [], []
    for picture in raters.load():
        if picture.family != "diffusion":
            continue
        spec = specs.setdefault(picture.prompt, parser.parse(picture.prompt))
        with Image.open(picture.path) as image:
            items.append((np.asarray(image.convert("RGB")), spec, picture.quality, f"rater:{picture.id}"))
        groups.append(picture.prompt)
    info = {"pictures": len(items), "prompts": len(specs), "min_gap_quality": min_gap,
            "from": "judge/fit/raters (diffusion sources only)"}
    return assemble("raters", graded_pairs(items, groups, min_gap), info)


def judge_pairs(per_condition: int, min_gap: float) -> PairSet:
    """diffusion/full's own pictures for every benchmark condition, paired by the judge's Hand Score."""
    from judge import Judge

    judge, generator = Judge.load(), Registry().load("diffusion", "full")
    items, groups = [], []
    for k, (key, spec) in enumerate(specs_for_prompts().items()):
        for j, start in enumerate(range(0, per_condition, CHUNK)):
            seed = JUDGE_SEED + 100 * k + j
            for i, image in enumerate(generator.generate(spec, min(CHUNK, per_condition - start), seed).images):
                items.append((np.asarray(image.convert("RGB")), spec, judge.score(image, spec).hand_score, f"judge:{seed}:{i}"))
                groups.append(key)
    info = {"pictures": len(items), "conditions": len(set(groups)), "per_condition": per_condition,
            "min_gap_hand_score": min_gap, "seeds_from": JUDGE_SEED, "judge": judge_version(),
            "generator": "diffusion/full at the family's defaults"}
    return assemble("judge", graded_pairs(items, groups, min_gap), info)


NULL_CHANGES = {  # changes of the reference that know nothing of the labels
    "output_x1.01": lambda unet, gen: (unet.conv_out.weight.mul_(1.01), unet.conv_out.bias.mul_(1.01)),
    "output_x0.99": lambda unet, gen: (unet.conv_out.weight.mul_(0.99), unet.conv_out.bias.mul_(0.99)),
    "weights_jitter_1e-3": lambda unet, gen: [p.add_(torch.randn(p.shape, generator=gen) * 1e-3) for p in unet.parameters()],
}


def null_check(pairs: PairSet, n: int) -> dict:
    """The held-out pair accuracy (as `models.training.dpo` measures it: fp16 weights, fixed draws) of the reference
    itself and of changes to it that carry no preference at all: how far from 0.5 the instrument reads with nothing
    learnt, because winners and losers differ in image statistics and any change moves their errors apart."""
    from accelerate import Accelerator

    reference = settings.weights_root() / "diffusion" / "full"
    config = json.loads((reference / "training.json").read_text())["config"]
    trainer = PreferenceTrainer(reference, config, dict(DPO_DEFAULTS, size=64), Accelerator(mixed_precision="no"))
    held = pairs.part(True).take(torch.arange(min(n, int(pairs.heldout.sum()))))
    out = {"pairs": len(held), "reference": trainer.pair_accuracy(held)}
    for name, change in NULL_CHANGES.items():
        with torch.no_grad():
            change(trainer.unet, torch.Generator().manual_seed(3))
            for shadow, p in zip(trainer.ema.shadow_params, trainer._params(), strict=True):
                shadow.copy_(p)
        out[name] = trainer.pair_accuracy(held)
        trainer.warm_start(reference, 0)
    return out


def build(source: str, args: argparse.Namespace) -> PairSet:
    if source == "raters":
        return rater_pairs(MIN_GAP["raters"] if args.min_gap is None else args.min_gap)
    if source == "judge":
        return judge_pairs(args.per_condition, MIN_GAP["judge"] if args.min_gap is None else args.min_gap)
    return from_votes(Store(data_dir()), Registry())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", choices=SOURCES)
    p.add_argument("--min-gap", type=float, default=None, help="raters: quality points (1); judge: Hand Score points (25)")
    p.add_argument("--per-condition", type=int, default=32, help="judge: pictures per benchmark condition")
    p.add_argument("--out", type=Path, default=None, help="the pairs file (default runs/feedback/pairs-<source>.safetensors)")
    p.add_argument("--rebuild", action="store_true", help="build the pairs again even if the file exists")
    p.add_argument("--train", default="", help=f"comma-separated objectives to train in turn ({', '.join(OBJECTIVES)})")
    p.add_argument("--steps", type=int, default=500, help="with --train: steps of every run")
    p.add_argument("--seed", type=int, default=0, help="with --train: the seed of every run")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--null-check", type=int, default=0, metavar="N",
                   help="print the pair accuracy of label-blind changes of the reference on N held-out pairs")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    objectives = [o for o in args.train.split(",") if o]
    if any(o not in OBJECTIVES for o in objectives):
        print(f"error: --train takes objectives from {', '.join(OBJECTIVES)}, got {args.train!r}", file=sys.stderr)
        return 2
    path = args.out or pairs_file(args.source)
    if args.rebuild or not path.exists():
        try:
            pairs = build(args.source, args)
        except StoreUnavailable as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        pairs.save(path)
    pairs = PairSet.load(path)
    print(json.dumps({"source": pairs.source, "file": path.name, **pairs.info["counts"],
                      **{k: pairs.info[k] for k in ("skipped",) if k in pairs.info}}))
    if args.null_check:
        print(json.dumps({"null_check": null_check(pairs, args.null_check)}))
    for objective in objectives:
        code = train_main(["diffusion", "--variant", "feedback", "--pairs", args.source, "--pairs-file", str(path),
                           "--objective", objective, "--steps", str(args.steps), "--seed", str(args.seed),
                           *(["--threads", str(args.threads)] if args.threads else [])])
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
