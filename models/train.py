"""Train one generator family on rendered hands — the whole loop in one file (nanoGPT-style).

    python -m models.train {vae,gan,diffusion} [--data-size N] [--steps S] [--variant full|scarce]

Runs on HF Accelerate, so the same script runs here on the CPU and on GPUs:
    accelerate launch --mixed_precision bf16 -m models.train diffusion --steps 50000
Every family gets identical data and identical conditioning (with the same field dropout, which
is what classifier-free guidance needs); only its `Trainer` (in its own file) differs.
Checkpoints (safetensors) every few minutes; rerunning the same command resumes.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import platform
import sys
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed

from core.settings import REPO_ROOT
from core.vocab import condition_sizes
from models import checkpoint
from models.base import FAMILIES
from models.card import card
from world import dataset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("family", choices=FAMILIES)
    p.add_argument("--variant", default="full", help="name of the shipped variant (full, scarce, ...)")
    p.add_argument("--data-size", type=int, default=20000, help="number of rendered training hands")
    p.add_argument("--data-seed", type=int, default=0)
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
    p.add_argument("--snapshot-every", type=int, default=0, help="GAN: keep generator snapshots every N steps")
    p.add_argument("--mixed-precision", choices=["auto", "no", "bf16", "fp16"], default="auto")
    p.add_argument("--threads", type=int, default=None)
    return p.parse_args(argv)


def cpu_has_native_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


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


def infinite(loader):
    while True:
        yield from loader


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    precision = args.mixed_precision
    if precision == "auto":
        precision = "bf16" if (torch.cuda.is_available() or cpu_has_native_bf16()) else "no"
    accelerator = Accelerator(mixed_precision=precision)
    set_seed(args.seed)
    run_dir = args.run_dir or REPO_ROOT / "runs" / f"{args.family}-{args.variant}"
    export_dir = args.export or REPO_ROOT / "models" / "weights" / args.family / args.variant
    run_dir.mkdir(parents=True, exist_ok=True)

    family = importlib.import_module(f"models.{args.family}")
    config = dict(family.TRAIN_DEFAULTS, size=args.size)
    if args.batch:
        config["batch"] = args.batch
    if args.lr:
        config["lr"] = args.lr
    trainer = family.Trainer(config, accelerator)

    folder = dataset.build(args.data_size, args.data_seed, args.size)
    images, conds = dataset.load(folder)
    data = torch.utils.data.TensorDataset(torch.from_numpy(images[:]).permute(0, 3, 1, 2), torch.from_numpy(conds))
    loader = torch.utils.data.DataLoader(data, batch_size=config["batch"], shuffle=True, drop_last=len(data) >= config["batch"],
                                         generator=torch.Generator().manual_seed(args.seed))
    loader = accelerator.prepare(loader)

    ckpt_path = run_dir / "checkpoint.safetensors"
    step, wall_before = 0, 0.0
    if ckpt_path.exists():
        extra, meta = checkpoint.load(ckpt_path, trainer.modules, trainer.optimizers)
        trainer.load_extra_state(extra)
        step, wall_before = int(meta["step"]), float(meta["wall_s"])
        accelerator.print(f"resumed {args.family}/{args.variant} at step {step}", file=sys.stderr)
    elif (export_dir / "training.json").exists() and not args.no_export:
        # no local checkpoint (a fresh clone): continue from the shipped weights, optimiser reset
        info = json.loads((export_dir / "training.json").read_text())
        step, wall_before = int(info["steps"]), float(info["wall_s"])
        trainer.warm_start(export_dir, step)
        if (export_dir / "train_log.csv").exists():  # keep the shipped loss history: exports rewrite it from here
            (run_dir / "train_log.csv").write_text((export_dir / "train_log.csv").read_text())
        accelerator.print(f"warm start of {args.family}/{args.variant} from shipped weights at step {step}", file=sys.stderr)
    drop_gen = torch.Generator().manual_seed(args.seed * 1000003 + step)

    log_path = run_dir / "train_log.csv"
    writer = None
    started = time.perf_counter()
    last_ckpt = started

    def save(final: bool = False) -> None:
        wall = wall_before + time.perf_counter() - started
        meta = {"step": step, "wall_s": wall}
        checkpoint.save(ckpt_path, trainer.modules, trainer.optimizers, trainer.extra_state(), meta)
        if not args.no_export:
            trainer.export(export_dir)
            info = {
                "family": args.family, "variant": args.variant, "data_size": args.data_size, "data_seed": args.data_seed,
                "image_size": args.size, "steps": step, "batch": config["batch"], "images_seen": step * config["batch"],
                "wall_s": round(wall, 1), "hardware": hardware(), "mixed_precision": precision,
                "num_parameters": trainer.num_parameters, "config": config, "final": final,
            }
            (export_dir / "training.json").write_text(json.dumps(info, indent=2) + "\n")
            if log_path.exists():
                (export_dir / "train_log.csv").write_text(log_path.read_text())
            (export_dir / "MODEL_CARD.md").write_text(card(export_dir))
        accelerator.print(f"checkpoint at step {step} ({wall:.0f} s)", file=sys.stderr)

    batches = infinite(loader)
    while step < args.steps:
        raw, cond = next(batches)
        x = raw.float() / 127.5 - 1.0
        cond = drop_conditions(cond, drop_gen)
        losses = trainer.step(x, cond, step)
        step += 1
        if step % args.log_every == 0 or step == args.steps:
            row = {"step": step, "images_seen": step * config["batch"],
                   "wall_s": round(wall_before + time.perf_counter() - started, 1), **{k: round(v, 5) for k, v in losses.items()}}
            if writer is None:
                new = not log_path.exists()
                fh = open(log_path, "a", newline="")
                writer = csv.DictWriter(fh, fieldnames=list(row))
                if new:
                    writer.writeheader()
            writer.writerow(row)
            fh.flush()
        if args.snapshot_every and step % args.snapshot_every == 0 and hasattr(trainer, "snapshot") and not args.no_export:
            trainer.snapshot(export_dir / "snapshots" / f"step-{step:06d}")
        if time.perf_counter() - last_ckpt > args.checkpoint_minutes * 60:
            save()
            last_ckpt = time.perf_counter()
    save(final=True)
    print(json.dumps({"family": args.family, "variant": args.variant, "steps": step, "run_dir": str(run_dir)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
