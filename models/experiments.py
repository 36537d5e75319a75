"""The training runs of issue 18, parts 1-3, in one place: one command trains them all, one at a time, each resumable.

    python -m models.experiments --dry-run            # each run, its exact command, what is done, the hours it needs
    python -m models.experiments [--only NAME ...]    # train what is unfinished (stop any time: rerunning resumes)
    python -m models.experiments --accelerate         # the same, through `accelerate launch --mixed_precision bf16`
    python -m models.experiments --measure-step       # ops and FLOPs of one training step: the GPU estimate's basis

Every run is `python -m models.train diffusion` (HF Accelerate: the same script on this CPU and on GPUs) with the
shipped model's recipe (`models.training.diffusion.TRAIN_DEFAULTS`), the same `STEPS` and seed, and a snapshot every
`SNAPSHOT_EVERY` steps. The data differ only as each part asks:
- scaling (part 1): 1,000 / 5,000 / 20,000 rendered hands (data seed 0: each set is the start of the next);
- headshot (part 2): the 20,000 hands small in a larger frame (`--scene small-hand`, `world.scenes`);
- captions (part 3): the 20,000 hands conditioned on what their pictures show (`--captions visible`, `world.captions`).
`scale-20k` is also the hand-filling, plain-caption model parts 2 and 3 are compared with, at equal steps.
Runs keep their checkpoints in `runs/experiments/<name>/` and their weights and snapshots in
`runs/experiments/weights/diffusion/<name>/` (`Registry(WEIGHTS)` serves them; `bench.experiments` judges them);
`runs/` is not committed (a run's checkpoint is ~60 MB, its snapshots ~19 MB each), nor served by the app.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from core.settings import REPO_ROOT

ROOT = REPO_ROOT / "runs" / "experiments"
WEIGHTS = ROOT / "weights"  # a weights root: <family>/<run name>/, as models/weights is for the shipped variants
STEPS = 20_000  # per run: about the shipped diffusion/full's 21,005, and 10 snapshots
SNAPSHOT_EVERY = 2_000
SEED = 0  # the run seed (batch order, field dropout, init) and the data seed, the same for every run
# CPU speed of this recipe on the 2-core machine it was trained on (diffusion/full's train_log.csv, bf16): steps per
# hour with the machine to itself, and shared with the other agents' work.
CPU_STEPS_PER_HOUR = {"quiet": 4_400, "busy": 1_700}
RENDER_S_PER_HAND = 0.025  # CPU seconds to render a training hand (world.dataset: 0.020, a small-hand scene 0.025)
# One training step at batch 32, from `--measure-step` on this CPU: top-level PyTorch ops dispatched, and FLOPs.
STEP_OPS, STEP_GFLOP = 1_737, 191.3
# GPU estimate (not measured: no GPU here): a 4.9 M-parameter UNet at batch 32 is launch-bound in eager PyTorch, each
# op costing ~10-20 us of dispatch and launch; its 191 GFLOP would take ~2 ms at a modest 100 TFLOP/s.
GPU_S_PER_OP = (10e-6, 20e-6)
GPU_FLOPS = 100e12


@dataclass(frozen=True)
class ExperimentRun:
    """One training run: its name (the variant under WEIGHTS/diffusion/), the part it serves, its data and budget."""

    name: str
    part: str
    data_size: int
    captions: str = "plain"
    scene: str = "hand"
    steps: int = STEPS

    @property
    def run_dir(self) -> Path:
        return ROOT / self.name

    @property
    def export_dir(self) -> Path:
        return WEIGHTS / "diffusion" / self.name

    def argv(self, threads: int | None = None) -> list[str]:
        """The models.train arguments of this run (paths relative to the repository: the commands are portable)."""
        rel = lambda p: str(p.relative_to(REPO_ROOT))  # noqa: E731
        args = ["diffusion", "--variant", self.name, "--data-size", str(self.data_size), "--data-seed", str(SEED),
                "--seed", str(SEED), "--steps", str(self.steps), "--snapshot-every", str(SNAPSHOT_EVERY),
                "--run-dir", rel(self.run_dir), "--export", rel(self.export_dir)]
        args += ["--captions", self.captions] if self.captions != "plain" else []
        args += ["--scene", self.scene] if self.scene != "hand" else []
        return args + (["--threads", str(threads)] if threads else [])

    def command(self, accelerate: bool = False, threads: int | None = None) -> list[str]:
        launcher = ["accelerate", "launch", "--mixed_precision", "bf16", "-m"] if accelerate else [sys.executable, "-m"]
        return launcher + ["models.train", *self.argv(threads)]

    def done_steps(self) -> int:
        """Steps trained so far (the last export's training.json; 0 before the first checkpoint)."""
        try:
            return int(json.loads((self.export_dir / "training.json").read_text())["steps"])
        except (OSError, ValueError, KeyError):
            return 0


RUNS: tuple[ExperimentRun, ...] = (  # in the order they are trained: the shared baseline first
    ExperimentRun("scale-20k", "scaling", 20_000),
    ExperimentRun("small-hand", "headshot", 20_000, scene="small-hand"),
    ExperimentRun("captions-visible", "captions", 20_000, captions="visible"),
    ExperimentRun("scale-5k", "scaling", 5_000),
    ExperimentRun("scale-1k", "scaling", 1_000),
)
PARTS: dict[str, tuple[str, ...]] = {  # the runs each part's judgement (bench.experiments) needs
    "scaling": ("scale-1k", "scale-5k", "scale-20k"),
    "headshot": ("small-hand", "scale-20k"),
    "captions": ("captions-visible", "scale-20k"),
}


def run_named(name: str) -> ExperimentRun:
    for run in RUNS:
        if run.name == name:
            return run
    raise KeyError(f"no experiment run {name!r}; runs: {', '.join(r.name for r in RUNS)}")


def estimate(runs: list[ExperimentRun]) -> dict:
    """Hours still needed: CPU (the measured rates) and GPU (estimated from the step's ops and FLOPs)."""
    left = sum(max(0, r.steps - r.done_steps()) for r in runs)
    render_h = sum(r.data_size for r in runs if r.done_steps() == 0) * RENDER_S_PER_HAND / 3600
    gpu_step = [max(STEP_OPS * s, STEP_GFLOP * 1e9 / GPU_FLOPS) for s in GPU_S_PER_OP]
    return {"steps_left": left, "cpu_hours_quiet": round(left / CPU_STEPS_PER_HOUR["quiet"], 1),
            "cpu_hours_busy": round(left / CPU_STEPS_PER_HOUR["busy"], 1), "rendering_core_hours": round(render_h, 2),
            "gpu_minutes": [round(left * s / 60) for s in gpu_step]}


def dry_run(runs: list[ExperimentRun], accelerate: bool, threads: int | None) -> None:
    """Print every run (what it is, what is done, its command) and the time the unfinished ones need."""
    for r in runs:
        data = f"{r.data_size:,} hands" + (f", captions {r.captions}" if r.captions != "plain" else "") + \
            (f", scene {r.scene}" if r.scene != "hand" else "")
        print(f"{r.name:17s} part {r.part:9s} {data:40s} {r.done_steps():>6,}/{r.steps:,} steps, "
              f"snapshots every {SNAPSHOT_EVERY:,}")
        command = r.command(accelerate, threads)
        print(f"    {shlex.join(command if accelerate else ['python', *command[1:]])}")
    est = estimate(runs)
    print(f"left: {est['steps_left']:,} steps = {est['cpu_hours_quiet']} CPU hours on the 2-core machine alone "
          f"({CPU_STEPS_PER_HOUR['quiet']:,} steps/h), {est['cpu_hours_busy']} shared ({CPU_STEPS_PER_HOUR['busy']:,} steps/h); "
          f"rendering the new sets {est['rendering_core_hours']} core hours")
    print(f"GPU estimate (unmeasured): {est['gpu_minutes'][0]}-{est['gpu_minutes'][1]} minutes on one GPU "
          f"({STEP_OPS:,} ops per step at {GPU_S_PER_OP[0] * 1e6:.0f}-{GPU_S_PER_OP[1] * 1e6:.0f} us each: launch-bound; "
          f"{STEP_GFLOP:.0f} GFLOP per step)")


def measure_step() -> dict:
    """Top-level ops and FLOPs of one training step of the recipe at its batch (CPU, fp32): `STEP_OPS`, `STEP_GFLOP`."""
    import torch
    from accelerate import Accelerator
    from torch.utils.flop_counter import FlopCounterMode

    from models.training import diffusion as training

    torch.set_num_threads(1)
    config = dict(training.TRAIN_DEFAULTS, size=64)
    trainer = training.Trainer(config, Accelerator(mixed_precision="no", cpu=True))
    x, cond = torch.rand(config["batch"], 3, 64, 64) * 2 - 1, torch.zeros(config["batch"], 5, dtype=torch.long)
    trainer.step(x, cond, 0)  # warm: the first step allocates the optimiser's state
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        trainer.step(x, cond, 1)
    with FlopCounterMode(display=False) as flops:
        trainer.step(x, cond, 2)
    return {"top_level_ops": sum(e.cpu_parent is None for e in prof.events()),
            "gflop": round(flops.get_total_flops() / 1e9, 1), "batch": config["batch"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dry-run", action="store_true", help="print the runs and the hours they need; train nothing")
    p.add_argument("--only", nargs="+", metavar="NAME", help=f"these runs only: {', '.join(r.name for r in RUNS)}")
    p.add_argument("--accelerate", action="store_true", help="launch through `accelerate launch` (bf16; GPUs)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads per run (models.train --threads)")
    p.add_argument("--measure-step", action="store_true", help="print one training step's ops and FLOPs, and exit")
    args = p.parse_args(argv)
    if args.measure_step:
        print(json.dumps(measure_step()))
        return 0
    try:
        runs = [run_named(n) for n in args.only] if args.only else list(RUNS)
    except KeyError as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2
    if args.dry_run:
        dry_run(runs, args.accelerate, args.threads)
        return 0
    for r in runs:
        if r.done_steps() >= r.steps:
            print(f"{r.name}: done ({r.done_steps():,} steps)", file=sys.stderr)
            continue
        print(f"{r.name}: training from step {r.done_steps():,} to {r.steps:,}", file=sys.stderr)
        code = subprocess.run(r.command(args.accelerate, args.threads), cwd=REPO_ROOT).returncode
        if code != 0:
            print(f"error: {r.name} stopped with exit code {code}; rerun the same command to resume", file=sys.stderr)
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
