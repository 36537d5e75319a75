"""The diffusion family: a small conditional UNet on rendered hands, diffusers-style.

Architecture (chosen by measuring candidates on this 2-core CPU, one thread, batch 32, bf16):
the 64x64x3 image is pixel-unshuffled to 32x32x12 and denoised by a `UNet2DModel` at 32x32
(channels 64/128/128, one ResNet per level, self-attention at 8x8 only), then pixel-shuffled back.
A full-resolution 64x64 UNet of the same size (32/64/128/128) costs the same per training step
here but half its width sits at 64x64 with only 32 channels; the unshuffled UNet spends its
width where the hand's shape is decided and its 2x2 patches still carry every pixel. 4.9M
parameters (UNet 4.76M + conditioner 0.15M): 1.9x the VAE's 2.6M and 1.8x the GAN's G + D (2.8M) trained,
3.2x the 1.5M that the GAN or the VAE decoder run at sampling (each card's parameter budget).

Conditioning: `HandConditioner` embeds the five spec fields (one `nn.Embedding` each, the last
index of each = "any"), concatenates and projects them with an MLP into the UNet's time-embedding
space (`class_embed_type="identity"` adds it to the time embedding), which each ResNet applies as
a GroupNorm scale and shift (`resnet_time_scale_shift="scale_shift"`, AdaGN as in ADM): the
default adds it *before* GroupNorm, which subtracts it again per group -- with 2 channels per
group here most of the time and condition signal was erased (measured: a fresh UNet's output did
not depend on t or the spec at all with 32 channels / 32 groups). The spec is five global
attributes, not a token sequence, so cross-attention (`UNet2DConditionModel`) would pay for
attention maps that have nothing to attend to. Classifier-free guidance's unconditional branch is
"every field any", which the shared training loop already produces by field dropout.

Training: v-prediction on the cosine ("squaredcos_cap_v2") schedule. The cosine schedule ends
at SNR ~ 0, where epsilon-prediction turns into a division by ~0 when converted to x0 (the first
sampling step and the previews); v stays well-posed everywhere. Min-SNR-5 loss weighting
(min(SNR, 5) / (SNR + 1) for v), AdamW 3e-4 with a short warm-up, EMA of the weights
(diffusers `EMAModel`, warm-up power 3/4); the training step is `models.training.diffusion`.

Sampling: DPM-Solver++ 2M (default; steps and guidance default to core.limits), DDIM (trailing spacing) or DDPM, all built from
the one saved scheduler config; each image's noise comes from its own seeded generator.

Weights: `HandDiffusionPipeline.save_pretrained` layout (model_index.json, unet/, scheduler/,
conditioner/) stored as fp16 safetensors (~9 MB), loaded as fp32.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DiffusionPipeline,
    DPMSolverMultistepScheduler,
    ModelMixin,
    UNet2DModel,
)
from diffusers.configuration_utils import ConfigMixin, register_to_config
from torch import nn

from core import settings
from core.limits import DEFAULT_SAMPLER, GUIDANCE, SAMPLERS, STEPS
from core.loading import load_lock
from core.vocab import HandSpec, condition_sizes
from models.base import (
    GenerateOptions,
    Generation,
    StepCallback,
    check_request,
    condition_tensor,
    count_parameters,
    cpu_has_native_bf16,
    image_generators,
    randn,
    save_atomically,
    snapshot_names,
    to_pil,
)

FAMILY = "diffusion"
# what a request leaves unset (core.limits; the benchmark's steps sweep shows what more steps buy)
DEFAULTS = GenerateOptions(steps=STEPS.default, guidance=GUIDANCE.default, sampler=DEFAULT_SAMPLER)
# a distilled student (models.training.distill) samples in 2 steps: DDIM at 2 trailing steps takes its x0 at t=999
# to t=499 along its own noise estimate and asks again (chosen over DDPM's fresh noise on seeds 40000+: same Hand
# Score, KIDx1000 171 vs 707, fingers right 55 vs 50 %); its guidance is in its weights (baked_guidance)
STUDENT_DEFAULTS = GenerateOptions(steps=2, guidance=GUIDANCE.default, sampler="ddim")
DISTILLED = "distilled"  # the student's variant name (models/weights/diffusion/distilled)


# ---------------------------------------------------------------------------------------------
# Components
# ---------------------------------------------------------------------------------------------


class HandConditioner(ModelMixin, ConfigMixin):
    """Spec indices (B, 5) -> one vector per image, added to the UNet's time embedding.

    A diffusers model (ModelMixin + ConfigMixin) so it saves and loads with the pipeline.
    Concatenation (not a sum) keeps fields apart before the MLP mixes them, so "left" and
    "point" can interact (which thumb side, which finger) rather than merely add up.
    """

    @register_to_config
    def __init__(self, field_sizes: list[int] | tuple[int, ...] = (13, 3, 5, 6, 4), embed_dim: int = 64,
                 out_dim: int = 256):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(size, embed_dim) for size in field_sizes)
        self.mlp = nn.Sequential(
            nn.Linear(embed_dim * len(field_sizes), out_dim), nn.SiLU(), nn.Linear(out_dim, out_dim)
        )

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        parts = [emb(cond[:, i]) for i, emb in enumerate(self.embeddings)]
        return self.mlp(torch.cat(parts, dim=1))

    def unconditional(self, n: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """Indices meaning "every field left open": the classifier-free guidance branch."""
        sizes = torch.tensor(self.config.field_sizes, device=device) - 1
        return sizes.expand(n, -1).clone()


def build_unet(config: dict, size: int = 64) -> UNet2DModel:
    """The denoiser at size / patch with 3 * patch^2 channels in and out."""
    channels = tuple(config["channels"])
    patch = config["patch"]
    down = tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in config["attention"])
    up = tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(config["attention"]))
    return UNet2DModel(
        sample_size=size // patch, in_channels=3 * patch**2, out_channels=3 * patch**2,
        block_out_channels=channels, layers_per_block=config["layers_per_block"],
        down_block_types=down, up_block_types=up, attention_head_dim=32, class_embed_type="identity",
        resnet_time_scale_shift="scale_shift",
    )


def build_conditioner(config: dict) -> HandConditioner:
    return HandConditioner(field_sizes=condition_sizes(), embed_dim=config["embed_dim"],
                           out_dim=4 * config["channels"][0])


def training_scheduler() -> DDPMScheduler:
    """The schedule the model is trained on; every sampler is derived from its config."""
    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2",
                         prediction_type="v_prediction", clip_sample=True, clip_sample_range=1.0)


def make_sampler(name: str, config: dict):
    """A fresh sampler (schedulers are stateful, so one per request) from the saved config.

    Private keys are dropped first: an in-memory config lists `_use_default_values`, which
    from_config would replace by the new class's defaults, while the same config read back from
    disk has lost that list; without this, a pipeline would sample differently after a save.
    """
    config = {k: v for k, v in config.items() if not k.startswith("_")}
    if name == "dpm++":
        # thresholding: pixel-space x0 stays in [-1, 1]; lambda_min_clipped: diffusers'
        # recommended guard for the cosine schedule's last steps.
        return DPMSolverMultistepScheduler.from_config(
            config, algorithm_type="dpmsolver++", solver_order=2, thresholding=True, sample_max_value=1.0,
            lambda_min_clipped=-5.1, timestep_spacing="linspace")
    if name == "ddim":
        return DDIMScheduler.from_config(config, timestep_spacing="trailing", clip_sample=True)
    if name == "ddpm":
        return DDPMScheduler.from_config(config, timestep_spacing="trailing", clip_sample=True)
    raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {name!r}")


# ---------------------------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------------------------

PreviewFn = Callable[[int, int, torch.Tensor], None]


class HandDiffusionPipeline(DiffusionPipeline):
    """UNet + scheduler + conditioner in diffusers' layout; works on tensors, knows no PIL.

    `patch` (saved in model_index.json) is the pixel-unshuffle factor between image and UNet.
    `baked_guidance` (also saved there): set on a distilled student, which learnt its teacher's guided
    output and has no unconditional branch to mix; such a pipeline is always run without guidance.
    """

    def __init__(self, unet: UNet2DModel, scheduler: DDPMScheduler, conditioner: HandConditioner, patch: int = 2,
                 baked_guidance: float | None = None):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler, conditioner=conditioner)
        self.register_to_config(patch=patch, baked_guidance=baked_guidance)

    @property
    def image_size(self) -> int:
        return self.unet.config.sample_size * self.config.patch

    def to_unet_space(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_unshuffle(x, self.config.patch) if self.config.patch > 1 else x

    def to_image_space(self, z: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(z, self.config.patch) if self.config.patch > 1 else z

    def predict_x0(self, z: torch.Tensor, v: torch.Tensor, t: torch.Tensor | int) -> torch.Tensor:
        """x0 from a v-prediction at timestep t (the same for every sampler), for previews."""
        abar = self.scheduler.alphas_cumprod.to(z.device)[int(t)]
        return (abar.sqrt() * z - (1 - abar).sqrt() * v).clamp(-1, 1)

    def guided_velocity(self, z: torch.Tensor, t: torch.Tensor, cond_emb: torch.Tensor,
                        guidance: float, bf16: bool = False) -> torch.Tensor:
        """One UNet forward; cond and uncond rows are batched together when guidance != 1.

        bf16 autocasts the UNet only; the sampler's arithmetic stays in fp32.
        """
        n = z.shape[0]
        z_in = z if guidance == 1 else torch.cat([z, z])
        with torch.autocast(z.device.type, dtype=torch.bfloat16, enabled=bf16):
            out = self.unet(z_in, t, class_labels=cond_emb).sample.float()
        if guidance == 1:
            return out
        cond_v, uncond_v = out[:n], out[n:]
        return uncond_v + guidance * (cond_v - uncond_v)

    @torch.no_grad()
    def __call__(self, cond: torch.Tensor, generators: list[torch.Generator], steps: int = DEFAULTS.steps,
                 guidance: float = DEFAULTS.guidance, sampler: str = DEFAULTS.sampler,
                 on_step: PreviewFn | None = None, bf16: bool = False) -> tuple[torch.Tensor, int]:
        """Sample len(generators) images (B, 3, H, W) in [-1, 1]; returns (images, unet calls).

        `on_step(i, total, x0)` gets the current clean-image estimate after step i (1-based).
        """
        device = self.unet.device
        scheduler = make_sampler(sampler, self.scheduler.config)
        scheduler.set_timesteps(steps, device=device)
        size = self.image_size
        z = self.to_unet_space(randn((3, size, size), generators, device=device)) * scheduler.init_noise_sigma
        cond_in = cond if guidance == 1 else torch.cat([cond, self.conditioner.unconditional(len(cond), cond.device)])
        cond_emb = self.conditioner(cond_in.to(device)).to(self.unet.dtype)
        total = len(scheduler.timesteps)
        for i, t in enumerate(scheduler.timesteps):
            z_in = scheduler.scale_model_input(z, t)
            v = self.guided_velocity(z_in, t, cond_emb, guidance, bf16)
            if on_step is not None:
                on_step(i + 1, total, self.to_image_space(self.predict_x0(z, v, t)))
            z = scheduler.step(v, t, z, generator=generators).prev_sample
        return self.to_image_space(z).clamp(-1, 1), total


def save_fp16(pipeline: HandDiffusionPipeline, path: str | Path) -> None:
    """save_pretrained with fp16 weights, atomically (see models.base.save_atomically)."""
    half = HandDiffusionPipeline(
        unet=copy_as(pipeline.unet, torch.float16), scheduler=pipeline.scheduler,
        conditioner=copy_as(pipeline.conditioner, torch.float16), patch=pipeline.config.patch,
        baked_guidance=pipeline.config.get("baked_guidance"))
    save_atomically(half, path)


def copy_as(module: ModelMixin, dtype: torch.dtype) -> ModelMixin:
    """A detached copy in `dtype` (.half()/.float(): diffusers' .to(dtype) warns needlessly)."""
    copy = type(module).from_config(module.config)
    copy.load_state_dict(module.state_dict())
    copy = copy.half() if dtype == torch.float16 else copy.float()
    return copy.eval()


def load_pipeline(path: str | Path, device: str = "cpu") -> HandDiffusionPipeline:
    """Load fp16-stored weights as fp32 (CPUs have no fast fp16 math)."""
    path = Path(path)
    unet = UNet2DModel.from_pretrained(path / "unet", torch_dtype=torch.float32, use_safetensors=True)  # never a pickle
    conditioner = HandConditioner.from_pretrained(path / "conditioner", torch_dtype=torch.float32, use_safetensors=True)
    scheduler = DDPMScheduler.from_pretrained(path / "scheduler")
    if list(conditioner.config.field_sizes) != condition_sizes():
        # weights trained on another vocabulary would read indices as the wrong words
        raise ValueError(f"weights expect condition sizes {list(conditioner.config.field_sizes)}, "
                         f"this code has {condition_sizes()}")
    config = HandDiffusionPipeline.load_config(path)
    pipe = HandDiffusionPipeline(unet=unet, scheduler=scheduler, conditioner=conditioner, patch=config.get("patch", 1),
                                 baked_guidance=config.get("baked_guidance"))
    pipe.unet.eval()
    pipe.conditioner.eval()
    return pipe.to(device)


# ---------------------------------------------------------------------------------------------
# Generator (the protocol the app, scorer and benchmark use)
# ---------------------------------------------------------------------------------------------


class DiffusionGenerator:
    """The `Generator` protocol over a `HandDiffusionPipeline`.

    bf16: autocast the UNet to bfloat16 (default: only where the hardware computes bf16
    natively). Measured on this Zen 4 CPU, one thread: 1.4-1.7x faster sampling, the same
    pixels on every run, within 2 levels of fp32 (mean 0.25 of 255). Images within a request are
    batched; image k of n matches image k of a smaller request to within float rounding of
    batched kernels (measured: identical in fp32, at most 1-2 levels in bf16).
    """

    family = FAMILY

    def __init__(self, pipeline: HandDiffusionPipeline, variant: str = "full", bf16: bool | None = None,
                 path: Path | None = None):
        self.pipeline = pipeline
        self.variant = variant
        self.bf16 = native_bf16(pipeline.unet.device) if bf16 is None else bf16
        self.path = path
        # a distilled student has its guidance in its weights: a request's guidance cannot change it
        self.baked_guidance = pipeline.config.get("baked_guidance")
        self.defaults = DEFAULTS if self.baked_guidance is None else STUDENT_DEFAULTS

    def snapshots(self) -> list[str]:
        """Earlier states of this run kept under `snapshots/` (e.g. "step-003274"), oldest first: the
        benchmark compares the scarce run with the full one at the same number of training steps."""
        return snapshot_names(self.path, "unet/*.safetensors", "conditioner/*.safetensors")

    def at_snapshot(self, name: str) -> DiffusionGenerator:
        """This run at an earlier step (a whole pipeline: the conditioner was trained alongside)."""
        if name not in self.snapshots():
            raise KeyError(f"no snapshot {name!r} in {self.variant}; have {self.snapshots()}")
        with load_lock():  # never alongside another model load (core.loading)
            pipe = load_pipeline(self.path / "snapshots" / name, str(self.pipeline.unet.device))
        return DiffusionGenerator(pipe, f"{self.variant}@{name}", self.bf16, self.path)

    @property
    def num_parameters(self) -> int:
        return count_parameters(self.pipeline.unet) + count_parameters(self.pipeline.conditioner)

    def generate(self, spec: HandSpec, n: int, seed: int, options: GenerateOptions | None = None,
                 callback: StepCallback | None = None) -> Generation:
        check_request(n, seed)
        steps, guidance, sampler = resolve_options(options, self.defaults)
        if self.baked_guidance is not None:
            guidance = 1.0  # one forward per step: the teacher's guidance is already in the student's answer
        keep = bool(options and options.keep_frames)
        frames: list[list] = []

        def on_step(i: int, total: int, x0: torch.Tensor) -> None:
            previews = to_pil(x0)
            if keep:
                frames.append(previews)
            if callback is not None:
                callback(i, total, previews)

        device = self.pipeline.unet.device
        start = time.perf_counter()
        images, calls = self.pipeline(
            condition_tensor(spec, n, device), image_generators(seed, FAMILY, n), steps=steps, guidance=guidance,
            sampler=sampler, on_step=on_step if (keep or callback) else None, bf16=self.bf16)
        latency = time.perf_counter() - start
        return Generation(images=to_pil(images), backend=FAMILY, variant=self.variant, seed=seed, steps=calls,
                          latency_s=latency, evaluations=calls, frames=frames)

    def save_pretrained(self, path: str | Path) -> None:
        save_fp16(self.pipeline, path)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> DiffusionGenerator:
        return cls(load_pipeline(path, settings.device()), variant=Path(path).name, path=Path(path))


def native_bf16(device: torch.device) -> bool:
    """bf16 only pays where the hardware computes it natively (else it is emulated, slower)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_native_bf16()


def resolve_options(options: GenerateOptions | None, defaults: GenerateOptions = DEFAULTS) -> tuple[int, float, str]:
    """Fill defaults and reject what core.limits does not allow, with messages a UI can show."""
    options = options or GenerateOptions()
    steps = defaults.steps if options.steps is None else options.steps
    guidance = defaults.guidance if options.guidance is None else float(options.guidance)
    sampler = options.sampler or defaults.sampler
    if not isinstance(steps, int) or not STEPS.contains(steps):
        raise ValueError(f"steps must be an integer from {STEPS.lo} to {STEPS.hi}, got {steps!r}")
    if not math.isfinite(guidance) or not GUIDANCE.contains(guidance):
        raise ValueError(f"guidance must be between {GUIDANCE.lo:g} and {GUIDANCE.hi:g}, got {guidance!r}")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    return steps, guidance, sampler


def load(path: str | Path) -> DiffusionGenerator:
    """Registry entry point: models/weights/diffusion/<variant>/ -> Generator."""
    return DiffusionGenerator.from_pretrained(path)


def parameter_budget(config: dict) -> dict[str, int]:
    """Parameters trained and run to draw a hand: the same UNet and conditioner (run once per step, twice with CFG)."""
    total = count_parameters(build_unet(config, config.get("size", 64))) + count_parameters(build_conditioner(config))
    return {"trained": total, "sampling": total}


def describe(config: dict, num_parameters: int) -> str:
    """The architecture section of this family's model card (models.card writes the rest)."""
    return f"""### Conditional pixel-space diffusion model for rendered 64x64 hands

- `HandDiffusionPipeline` (diffusers layout): `UNet2DModel` on the pixel-unshuffled image
  (x{config['patch']}: 64x64x3 -> 32x32x12), channels {config['channels']}, self-attention at
  levels {config['attention']}, {config['layers_per_block']} ResNet per level, AdaGN (scale-shift)
  conditioning; `HandConditioner`: one `nn.Embedding` per spec field (last row = "any"),
  concatenated, MLP into the time embedding. {num_parameters:,} parameters in all.
- Objective: v-prediction, cosine schedule (1000 steps), Min-SNR-{config['min_snr_gamma']:g}
  weighting; AdamW lr {config['lr']}, batch {config['batch']}, warm-up {config['warmup_steps']} steps,
  grad clip {config['grad_clip']}; bf16 autocast where the hardware has it.
- Shipped weights: EMA (max decay {config['ema_decay']}, warm-up power {config['ema_power']}),
  fp16 on disk, loaded as fp32. Steps, wall time and hardware: training.json.
- Sampling: DPM-Solver++ 2M (default, {DEFAULTS.steps} steps), DDIM (trailing), DDPM;
  classifier-free guidance {DEFAULTS.guidance:g} by default (unconditional = every field "any").
- Conditioning field dropout (15% per field, 10% all) as for every family.
- Data: procedurally rendered hands only. Limits: 64x64; synthetic renderer, not photos.
""" + (distilled_description(config["distill"]) if "distill" in config else "")


def distilled_description(config: dict) -> str:
    """The card's paragraph on a distilled student (its training config's "distill" part)."""
    return f"""
### Distilled: a {STUDENT_DEFAULTS.steps}-step student of diffusion/{config['teacher']}

- The same network, initialised from the teacher and trained to answer, from a state z_t on the teacher's
  sampling path ({config['teacher_sampler']}, {len(config['teacher_timesteps'])} steps, guidance {config['guidance']:g}), the
  picture that path ends in (kept at t = {config['store_t']}); pseudo-Huber loss on x0
  (c = {config['huber_c']}), AdamW lr {config['lr']}, EMA {config['ema_decay']}. `models.training.distill` says why.
- Guidance {config['guidance']:g} is baked in: one network evaluation per step, a request's guidance is ignored.
- Sampling: {STUDENT_DEFAULTS.sampler.upper()} at {STUDENT_DEFAULTS.steps} trailing steps by default (x0 from noise at
  t=999, taken to t=499, x0 again); 1 step gives x0 from pure noise.
"""
