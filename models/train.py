"""Train one generator family on rendered hands — the whole loop in one file (nanoGPT-style).

    python -m models.train {vae,gan,diffusion} [--data-size N] [--steps S] [--variant full|scarce]
    python -m models.train diffusion --variant distilled --data-size PATHS --steps S   # models.training.distill
    python -m models.train diffusion --variant feedback --pairs raters --objective dpo --steps S   # models.training.dpo

Runs on HF Accelerate, so the same script runs here on the CPU and on GPUs:
    accelerate launch --mixed_precision bf16 -m models.train diffusion --steps 50000
Every family gets identical data and identical conditioning (with the same field dropout, which
is what classifier-free guidance needs); only its `Trainer` (models/training/<family>.py, found
through the family's record in models.registry) differs.
Checkpoints (safetensors) every few minutes; rerunning the same command resumes.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed

from core.settings import REPO_ROOT
from core.vocab import condition_sizes
from models import registry
from models.base import cpu_has_native_bf16
from models.card import card
from models.diffusion import DISTILLED
from models.family import Trainer
from models.feedback_pairs import SOURCES
from models.registry import FEEDBACK
from models.training import checkpoint, dpo
from world import dataset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The whole configuration of a run, in one place."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("family", choices=registry.FAMILY_NAMES)
    p.add_argument("--variant", default="full", help="name of the shipped variant (full, scarce, ...)")
    p.add_argument("--data-size", type=int, default=20000,
                   help="number of rendered training hands (--variant distilled: of the teacher's sampling paths)")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--captions", choices=dataset.CAPTION_MODES, default="plain",
                   help="what the hands are conditioned on: as posed (plain), or as the picture shows them (visible)")
    p.add_argument("--scene", choices=dataset.SCENES, default="hand",
                   help="hand-filling frames (hand), or the same hands small in a larger frame (small-hand)")
    p.add_argument("--size", type=int, default=64, help="image size in pixels")
    p.add_argument("--steps", type=int, default=10000, help="total optimisation steps (resume continues)")
    p.add_argument("--batch", type=int, default=None, help="batch size (family default if unset)")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run-dir", type=Path, default=None, help="checkpoints and logs (default runs/<family>-<variant>)")
    p.add_argument("--export", type=Path, default=None, help="where to save_pretrained (default models/weights/<family>/<variant>)")
    p.add_argument("--no-export", action="store_true", help="do not write shipped weights (smoke runs)")
    p.add_argument("--checkpoint-minutes", type=float, default=4.0)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--snapshot-every", type=int, default=0,
                   help="keep the shipped generator every N steps under snapshots/ (families that support snapshots)")
    p.add_argument("--mixed-precision", choices=["auto", "no", "bf16", "fp16"], default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--pairs", choices=SOURCES, default="raters", help="--variant feedback: the source of preference pairs")
    p.add_argument("--pairs-file", type=Path, default=None, help="--variant feedback: the pairs (default runs/feedback/pairs-<source>)")
    p.add_argument("--objective", choices=dpo.OBJECTIVES, default="dpo",
                   help="--variant feedback: DPO or a control (runs/diffusion-feedback-<pairs>-<objective>; "
                        "exports the best state by held-out pair accuracy to <run dir>/best unless --export)")
    args = p.parse_args(argv)
    if args.snapshot_every and not registry.family_record(args.family).supports_snapshots:
        p.error(f"--snapshot-every: the {args.family} family keeps no snapshots "
                f"(those that do: {', '.join(f.name for f in registry.FAMILIES if f.supports_snapshots)})")
    return args


def hardware() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()}x {torch.cuda.get_device_name(0)}"
    return f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def drop_conditions(cond: torch.Tensor, generator: torch.Generator, p_field: float = 0.15, p_all: float = 0.1) -> torch.Tensor:
    """Replace fields by their "any" slot at random: open fields in prompts, and CFG's unconditional."""
    sizes = torch.tensor(condition_sizes(), device=cond.device) - 1
    u = torch.rand(cond.shape, generator=generator).to(cond.device)
    drop_all = (torch.rand(cond.shape[0], generator=generator) < p_all).to(cond.device)
    mask = (u < p_field) | drop_all[:, None]
    return torch.where(mask, sizes.expand_as(cond), cond)


def loader(args: argparse.Namespace, batch: int, accelerator: Accelerator) -> torch.utils.data.DataLoader:
    """Rendered hands (uint8 images, spec indices), shuffled by the run's seed."""
    images, conds = dataset.load(dataset.build(args.data_size, args.data_seed, args.size, captions=args.captions, scene=args.scene))
    data = torch.utils.data.TensorDataset(torch.from_numpy(images[:]).permute(0, 3, 1, 2), torch.from_numpy(conds))
    return accelerator.prepare(torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, drop_last=len(data) >= batch,
                                                           generator=torch.Generator().manual_seed(args.seed)))


def infinite(batches):
    while True:
        yield from batches


@dataclass
class Run:
    """Where one run keeps its state and what it was started with."""

    args: argparse.Namespace
    config: dict
    precision: str
    run_dir: Path
    export_dir: Path
    say: Callable[[str], None]


def resume(run: Run, trainer: Trainer) -> tuple[int, float]:
    """(step, wall seconds) to continue from: the run's checkpoint, else the shipped weights, else (0, 0)."""
    args, run_dir, export_dir = run.args, run.run_dir, run.export_dir
    if (run_dir / "checkpoint.safetensors").exists():
        extra, meta = checkpoint.load(run_dir / "checkpoint.safetensors", trainer.modules, trainer.optimizers)
        trainer.load_extra_state(extra)
        run.say(f"resumed {args.family}/{args.variant} at step {meta['step']}")
        return int(meta["step"]), float(meta["wall_s"])
    if (export_dir / "training.json").exists() and not args.no_export:
        # no local checkpoint (a fresh clone): continue from the shipped weights, optimiser reset
        info = json.loads((export_dir / "training.json").read_text())
        trainer.warm_start(export_dir, int(info["steps"]))
        if (export_dir / "train_log.csv").exists():  # keep the shipped loss history: exports rewrite it from here
            (run_dir / "train_log.csv").write_text((export_dir / "train_log.csv").read_text())
        run.say(f"warm start of {args.family}/{args.variant} from shipped weights at step {info['steps']}")
        return int(info["steps"]), float(info["wall_s"])
    return 0, 0.0


class LossLog:
    """train_log.csv, appended to (a resumed run continues its file); the header comes from the first row."""

    def __init__(self, path: Path) -> None:
        self.path, self.file, self.writer = path, None, None

    def write(self, row: dict) -> None:
        if self.writer is None:
            new = not self.path.exists()
            self.file = open(self.path, "a", newline="")  # stays open for the run
            self.writer = csv.DictWriter(self.file, fieldnames=list(row))
            if new:
                self.writer.writeheader()
        self.writer.writerow(row)
        self.file.flush()


def save(run: Run, trainer: Trainer, step: int, wall: float, final: bool = False) -> None:
    """Checkpoint the run; unless --no-export, also the shipped weights, training.json, the loss log and the card."""
    args, config, export_dir = run.args, run.config, run.export_dir
    checkpoint.save(run.run_dir / "checkpoint.safetensors", trainer.modules, trainer.optimizers, trainer.extra_state(),
                    {"step": step, "wall_s": wall})
    if not args.no_export:
        trainer.export(export_dir)
        info = {
            "family": args.family, "variant": args.variant, "data_size": args.data_size, "data_seed": args.data_seed,
            **({"captions": args.captions} if args.captions != "plain" else {}),
            **({"scene": args.scene} if args.scene != "hand" else {}),
            "image_size": args.size, "steps": step, "batch": config["batch"], "images_seen": step * config["batch"],
            "wall_s": round(wall, 1), "hardware": hardware(), "mixed_precision": run.precision,
            "num_parameters": trainer.num_parameters, "config": config, "final": final,
        }
        (export_dir / "training.json").write_text(json.dumps(info, indent=2) + "\n")
        if (run.run_dir / "train_log.csv").exists():
            (export_dir / "train_log.csv").write_text((run.run_dir / "train_log.csv").read_text())
        (export_dir / "MODEL_CARD.md").write_text(card(export_dir))
    run.say(f"checkpoint at step {step} ({wall:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    precision = args.mixed_precision
    if precision == "auto":
        precision = "bf16" if (torch.cuda.is_available() or cpu_has_native_bf16()) else "no"
    accelerator = Accelerator(mixed_precision=precision)
    set_seed(args.seed)
    feedback = args.family == "diffusion" and args.variant == FEEDBACK  # learns from preference pairs (models.training.dpo)
    name = [args.family, args.variant, *([args.pairs, args.objective] if feedback else [])]
    run_dir = args.run_dir or REPO_ROOT / "runs" / "-".join(name)
    run_dir.mkdir(parents=True, exist_ok=True)
    export_dir = args.export or (run_dir / "best" if feedback else REPO_ROOT / "models" / "weights" / args.family / args.variant)
    if args.family == "diffusion" and args.variant == DISTILLED:  # learns from the shipped model, not from renders
        from models.training import distill

        config = dict(distill.TRAIN_DEFAULTS, size=args.size, **{k: v for k, v in (("batch", args.batch), ("lr", args.lr)) if v})
        run = Run(args, config, precision, run_dir, export_dir, say=lambda message: accelerator.print(message, file=sys.stderr))
        return distill.main(run, accelerator, LossLog(run_dir / "train_log.csv"), hardware(), resume)
    if feedback:  # chosen later, by held-out pair accuracy and bench.feedback: ship a run's best/ as models/weights/diffusion/feedback
        config = dict(dpo.TRAIN_DEFAULTS, size=args.size, **{k: v for k, v in (("batch", args.batch), ("lr", args.lr)) if v})
        run = Run(args, config, precision, run_dir, export_dir, say=lambda message: accelerator.print(message, file=sys.stderr))
        renders = lambda: infinite(loader(args, config["batch"], accelerator))  # the continued-training control's data
        return dpo.main(run, accelerator, LossLog(run_dir / "train_log.csv"), hardware(), renders, drop_conditions)

    # the family's trainer, its defaults and this run's overrides; the data; where the run left off
    training = registry.family_record(args.family).training()
    config = dict(training.TRAIN_DEFAULTS, size=args.size)
    if args.batch:
        config["batch"] = args.batch
    if args.lr:
        config["lr"] = args.lr
    trainer = training.Trainer(config, accelerator)
    batches = infinite(loader(args, config["batch"], accelerator))
    run = Run(args, config, precision, run_dir, export_dir, say=lambda message: accelerator.print(message, file=sys.stderr))
    step, wall_before = resume(run, trainer)

    # the loop
    drop_gen = torch.Generator().manual_seed(args.seed * 1000003 + step)
    log = LossLog(run_dir / "train_log.csv")
    started = last_checkpoint = time.perf_counter()
    wall = lambda: wall_before + time.perf_counter() - started
    while step < args.steps:
        raw, cond = next(batches)
        losses = trainer.step(raw.float() / 127.5 - 1.0, drop_conditions(cond, drop_gen), step)
        step += 1
        if step % args.log_every == 0 or step == args.steps:
            log.write({"step": step, "images_seen": step * config["batch"], "wall_s": round(wall(), 1),
                       **{k: round(v, 5) for k, v in losses.items()}})
        if args.snapshot_every and step % args.snapshot_every == 0 and not args.no_export:
            trainer.snapshot(export_dir / "snapshots" / f"step-{step:06d}")
        if time.perf_counter() - last_checkpoint > args.checkpoint_minutes * 60:
            save(run, trainer, step, wall())
            last_checkpoint = time.perf_counter()
    save(run, trainer, step, wall(), final=True)
    print(json.dumps({"family": args.family, "variant": args.variant, "steps": step, "run_dir": str(run_dir)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
