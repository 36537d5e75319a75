"""Distil the shipped diffusion model (the teacher, 10 DPM-Solver++ steps, guidance 2.5) into a 1-2 step student.

    python -m models.train diffusion --variant distilled --data-size 4096 --steps 6000 --threads 1

Method: trajectory-endpoint distillation, sampled like a consistency model.
- The teacher runs as the issue's bars measure it, the app's sampler at 10 steps (DPM-Solver++ 2M, guidance 2.5,
  bf16; the app's default has since become 4 steps, as good by the raters' eyes), except that its sixth
  timestep is 499 instead of 498, so its path passes through the student's second timestep. For each
  (noise, condition) we keep the path's states z_t at `store_t` and its end, the picture x0.
- The student is the teacher's network (initialised from its weights) trained to answer, at any kept state, the
  picture the teacher's path ends in: f(z_t, t, c) = x0. That is the consistency function of the teacher's own
  sampler, so one model serves 1 step (x0 from pure noise) and 2 (x0, taken to t=499, x0 again: DDIM at 2
  trailing steps, or DDPM, which re-noises with fresh noise as consistency models do). Loss: pseudo-Huber
  on x0 (near-L1 for large errors: blurs less than L2 where the student cannot match the teacher).
- Guidance is baked in: the targets are the guided teacher's pictures, the student has no unconditional
  branch, and its weights say so (`baked_guidance`), so the generator never applies guidance on top.

Why this and not the alternatives, on a ~2-3 h single-thread CPU budget (forward of 32 images at 1 thread,
bf16: 0.26 s; forward + backward: 0.92 s; measured here):
- Progressive distillation (Salimans & Ho 2022) halves the steps per stage (8 -> 4 -> 2 -> 1), each stage
  tens of thousands of iterations at 4 guided-teacher forwards per sample; 1 and 2 steps are separate models.
- Consistency distillation / LCM (Song et al. 2023; Luo et al. 2023) bootstraps its target through an EMA
  of the student, one ODE step at a time, so the signal reaches t=999 only after many iterations; 1-step
  LCM pictures are known to be blurry.
- Here the teacher's cost (20 forwards per path) is paid once, in chunks kept on disk, and every path
  gives targets at several timesteps for every epoch after; a student step is a plain regression
  (knowledge distillation, Luhman & Luhman 2021, at every kept t as in consistency models).

Conditions: the field distribution the renderer draws (`world.render.choose_fields`), half of them as the
app's prompts usually leave them (only the gesture and any held object said, the rest "any"), the others
with each field dropped at random. Noise seeds are the run's own (`noise_seed` + chunk), not the benchmark's.

The loop is top to bottom in `main`; `models.train` calls it for `--variant distilled` (same CLI, Accelerate,
bf16 autocast, checkpoints with resume, train_log.csv). Safetensors only.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from core import settings
from core.vocab import HandSpec, condition_indices, condition_sizes
from models.card import card
from models.diffusion import HandDiffusionPipeline, load_pipeline, make_sampler, native_bf16
from models.training import checkpoint
from models.training.diffusion import Trainer
from world.render import choose_fields

# ---------------------------------------------------------------------------------------------
# The configuration (one block; `--batch`, `--lr` and `--data-size` override what they name)
# ---------------------------------------------------------------------------------------------

TRAIN_DEFAULTS: dict = {
    "teacher": "full",  # the shipped variant distilled (models/weights/diffusion/<teacher>)
    "teacher_sampler": "dpm++",
    "guidance": 2.5,  # the app's default, baked into the student
    "teacher_timesteps": [995, 896, 796, 696, 597, 499, 398, 298, 199, 100],  # DPM++'s 10, with 499 for 498
    "store_t": [995, 796, 499, 298],  # states kept per path (fp16 on disk)...
    "train_t": [999, 796, 499, 298],  # ...and the t the student is told: its samplers start from noise at 999
    "t_weights": [0.45, 0.1, 0.35, 0.1],  # 999 and 499 are where 1- and 2-step sampling ask
    "chunk": 128,  # teacher paths per chunk file
    "chunks_at_start": 8,  # paths generated before the first student step
    "steps_per_chunk": 40,  # then one more chunk every this many steps, up to data_size paths
    "val_paths": 64,  # one held-out chunk (its own seed), for the validation loss
    "noise_seed": 600_000,  # chunk k draws its noise from noise_seed + k (the validation chunk: noise_seed - 1)
    "p_prompt_like": 0.5,  # conditions as prompts leave them: gesture (+ object) only
    "p_field": 0.3,  # otherwise each field is "any" with this probability
    "batch": 32,
    "lr": 1e-4,
    "warmup_steps": 100,
    "grad_clip": 1.0,
    "huber_c": 0.03,  # pseudo-Huber scale, in [-1, 1] pixel units (about 4 grey levels)
    "ema_decay": 0.999,
    "ema_power": 0.75,
}


# ---------------------------------------------------------------------------------------------
# The teacher's paths
# ---------------------------------------------------------------------------------------------


def sample_conditions(n: int, rng: np.random.Generator, config: dict) -> torch.Tensor:
    """(n, 5) condition indices: the renderer's fields, some as prompts leave them, the rest with random dropout."""
    any_slot = np.array(condition_sizes()) - 1
    rows = []
    for _ in range(n):
        fields = choose_fields(rng, None, None)
        cond = np.array(condition_indices(HandSpec(**fields)))
        if rng.random() < config["p_prompt_like"]:
            keep = np.array([True, False, fields["object"] != "none", False, False])
        else:
            keep = rng.random(len(cond)) >= config["p_field"]
        rows.append(np.where(keep, cond, any_slot))
    return torch.from_numpy(np.stack(rows)).long()


@torch.no_grad()
def teacher_paths(teacher: HandDiffusionPipeline, cond: torch.Tensor, noise: torch.Tensor, config: dict) -> dict:
    """Run the guided teacher from `noise` (unet space); the states at `store_t`, the end x0 and the conditions."""
    scheduler = make_sampler(config["teacher_sampler"], teacher.scheduler.config)
    scheduler.set_timesteps(timesteps=config["teacher_timesteps"])
    cond_emb = teacher.conditioner(torch.cat([cond, teacher.conditioner.unconditional(len(cond))]))
    z, kept = noise * scheduler.init_noise_sigma, {}
    for t in scheduler.timesteps:
        if int(t) in config["store_t"]:
            kept[f"z{int(t)}"] = z.half()
        v = teacher.guided_velocity(scheduler.scale_model_input(z, t), t, cond_emb, config["guidance"],
                                    native_bf16(z.device))
        z = scheduler.step(v, t, z).prev_sample
    return {**kept, "x0": z.clamp(-1, 1).half(), "cond": cond}


def path_chunk(teacher: HandDiffusionPipeline, index: int, n: int, folder: Path, config: dict) -> dict:
    """Chunk `index` of the teacher's paths: read from `folder` if made before, else made (deterministically) and saved."""
    path = folder / f"chunk-{index:05d}.safetensors" if index >= 0 else folder / "validation.safetensors"
    if path.exists():
        return load_file(str(path))
    seed = config["noise_seed"] + index
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn((n, teacher.unet.config.in_channels, teacher.unet.config.sample_size,
                         teacher.unet.config.sample_size), generator=gen)
    chunk = teacher_paths(teacher, sample_conditions(n, np.random.default_rng(seed), config), noise, config)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in chunk.items()}, str(path.with_suffix(".tmp")))
    path.with_suffix(".tmp").rename(path)
    return chunk


class Paths:
    """The pool of teacher paths in memory (fp16), as the chunks they were made in (all of one size)."""

    def __init__(self) -> None:
        self.parts: list[dict] = []

    def __len__(self) -> int:
        return sum(len(p["cond"]) for p in self.parts)

    def add(self, chunk: dict) -> None:
        self.parts.append(chunk)

    def batch(self, size: int, gen: torch.Generator, config: dict) -> tuple[torch.Tensor, ...]:
        """(z_t, t, cond, x0) for `size` random (path, kept state) pairs, states drawn by `t_weights`."""
        rows = len(self.parts[0]["cond"])
        idx = torch.randint(len(self), (size,), generator=gen).tolist()
        which = torch.multinomial(torch.tensor(config["t_weights"]), size, replacement=True, generator=gen).tolist()
        picked = [self.parts[i // rows] for i in idx]
        at = [i % rows for i in idx]
        z = torch.stack([p[f"z{config['store_t'][k]}"][j] for p, j, k in zip(picked, at, which, strict=True)]).float()
        cond = torch.stack([p["cond"][j] for p, j in zip(picked, at, strict=True)])
        x0 = torch.stack([p["x0"][j] for p, j in zip(picked, at, strict=True)]).float()
        return z, torch.tensor(config["train_t"])[which], cond, x0


# ---------------------------------------------------------------------------------------------
# The student
# ---------------------------------------------------------------------------------------------


class Distiller(Trainer):
    """The student: the diffusion Trainer (AdamW, EMA, checkpointed state, export, warm start) started from the
    teacher's weights, with the regression onto the teacher's path ends as its loss."""

    def __init__(self, teacher_dir: Path, teacher_config: dict, config: dict, accelerator) -> None:
        super().__init__({**teacher_config, **config}, accelerator)  # the teacher's network, this run's optimiser
        self.warm_start(teacher_dir, 0)
        self.teacher_config = teacher_config  # the architecture (the teacher's training.json config)
        self.baked_guidance = config["guidance"]
        self.abar = self.scheduler.alphas_cumprod.float()

    def endpoint_loss(self, z: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """Pseudo-Huber distance between the student's x0 (from its v at t) and the teacher's path end."""
        with self.accelerator.autocast():
            v = self.unet(z, t, class_labels=self.conditioner(cond)).sample.float()
        abar = self.abar[t].view(-1, 1, 1, 1)
        d = abar.sqrt() * z - (1 - abar).sqrt() * v - x0
        c = self.config["huber_c"]
        return ((d.square() + c * c).sqrt() - c).mean()

    def distil(self, batch: tuple[torch.Tensor, ...], step: int) -> dict[str, float]:
        return self.optimise(self.endpoint_loss(*batch), step)

    @torch.no_grad()
    def validate(self, paths: dict) -> dict[str, float]:
        """The EMA student's loss on held-out paths from pure noise (1 step) and from t = 499 (the 2nd of 2 steps)."""
        self.ema.store(self._params())
        self.ema.copy_to(self._params())
        n, kept = len(paths["cond"]), dict(zip(self.config["train_t"], self.config["store_t"], strict=True))
        out = {f"val_{t}": self.endpoint_loss(paths[f"z{kept[t]}"].float(), torch.full((n,), t), paths["cond"],
                                              paths["x0"].float()).item() for t in (999, 499)}
        self.ema.restore(self._params())
        return out


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def save(run, distiller: Distiller, step: int, wall: float, n_paths: int, hardware: str, final: bool = False) -> None:
    """Checkpoint; unless --no-export, the fp16 student, training.json, the loss log and the model card.

    training.json's config is the teacher's (the architecture the card and the parameter budget read), with
    this run's under "distill".
    """
    checkpoint.save(run.run_dir / "checkpoint.safetensors", distiller.modules, distiller.optimizers,
                    distiller.extra_state(), {"step": step, "wall_s": wall})
    if not run.args.no_export:
        distiller.export(run.export_dir)
        config = run.config
        info = {
            "family": "diffusion", "variant": run.args.variant, "teacher": f"diffusion/{config['teacher']}",
            "method": "trajectory-endpoint distillation (models.training.distill)",
            "data_size": n_paths, "data_seed": config["noise_seed"], "image_size": run.args.size, "steps": step,
            "batch": config["batch"], "images_seen": step * config["batch"], "wall_s": round(wall, 1),
            "hardware": hardware, "mixed_precision": run.precision, "num_parameters": distiller.num_parameters,
            "config": {**distiller.teacher_config, "distill": config}, "final": final,
        }
        before = run.export_dir / "training.json"
        if before.exists() and "measured" in json.loads(before.read_text()):  # python -m bench.distill's, with its step
            info["measured"] = json.loads(before.read_text())["measured"]
        before.write_text(json.dumps(info, indent=2) + "\n")
        if (run.run_dir / "train_log.csv").exists():
            (run.export_dir / "train_log.csv").write_text((run.run_dir / "train_log.csv").read_text())
        (run.export_dir / "MODEL_CARD.md").write_text(card(run.export_dir))
    run.say(f"checkpoint at step {step} ({wall:.0f} s, {n_paths} teacher paths)")


def main(run, accelerator, log, hardware: str, resume) -> int:
    """The whole distillation: teacher, paths, student, loop. From `models.train`: `run` (its Run), `log` (its
    LossLog), `resume` (its resume: the run's checkpoint, else a shipped student, else step 0).

    Long because it is the training loop, kept in one piece to be read top to bottom (nanoGPT style).
    """
    args, config = run.args, run.config
    teacher_dir = settings.weights_root() / "diffusion" / config["teacher"]
    teacher = load_pipeline(teacher_dir)
    teacher.unet.requires_grad_(False)
    teacher.conditioner.requires_grad_(False)
    distiller = Distiller(teacher_dir, json.loads((teacher_dir / "training.json").read_text())["config"], config, accelerator)
    step, wall_before = resume(run, distiller)

    # the teacher's paths: the held-out chunk, then what the pool had reached (read back from disk)
    folder, chunk = run.run_dir / "paths", config["chunk"]
    max_chunks = max(1, args.data_size // chunk)
    wanted = lambda s: min(max_chunks, config["chunks_at_start"] + s // config["steps_per_chunk"])
    validation = path_chunk(teacher, -1, config["val_paths"], folder, config)
    paths = Paths()
    while len(paths.parts) < wanted(step):
        paths.add(path_chunk(teacher, len(paths.parts), chunk, folder, config))
    run.say(f"{len(paths)} teacher paths ready; student from step {step}")

    # the loop
    gen = torch.Generator().manual_seed(args.seed * 1000003 + step)
    started = last_checkpoint = time.perf_counter()
    wall = lambda: wall_before + time.perf_counter() - started
    val = distiller.validate(validation)
    while step < args.steps:
        if len(paths.parts) < wanted(step):
            paths.add(path_chunk(teacher, len(paths.parts), chunk, folder, config))
        losses = distiller.distil(paths.batch(config["batch"], gen, config), step)
        step += 1
        if step % args.log_every == 0 or step == args.steps:
            log.write({"step": step, "images_seen": step * config["batch"], "wall_s": round(wall(), 1),
                       **{k: round(v, 5) for k, v in {**losses, **val}.items()}})
        if time.perf_counter() - last_checkpoint > args.checkpoint_minutes * 60:
            val = distiller.validate(validation)
            save(run, distiller, step, wall(), len(paths), hardware)
            last_checkpoint = time.perf_counter()
    save(run, distiller, step, wall(), len(paths), hardware, final=True)
    print(json.dumps({"family": "diffusion", "variant": args.variant, "steps": step, "run_dir": str(run.run_dir)}))
    return 0
