"""Conditional GAN: a spec-conditioned generator against a projection discriminator.

The stabilisers are the known ones, each for a reason:
- spectral norm on every discriminator layer (Miyato et al. 2018): bounds D's Lipschitz constant;
- a minibatch-standard-deviation feature in D (Karras et al. 2018): lets D see a lack of variety;
- hinge loss: D stops pushing once a sample is confidently classified;
- projection discriminator (Miyato & Koyama 2018): D(x, c) = psi(h) + <embed(c), h>, with the same
  one-embedding-per-field conditioning as the generator, so "left hand" is judged, not only "a hand";
- DiffAugment (Zhao et al. 2020), translation + cutout on real and fake alike, so D cannot memorise
  1,000 images; no flips (prompts say left/right) and no colour jitter (skin tone is a condition);
- an EMA of G's weights, which is what ships; snapshots of it through training let the app show how
  diversity evolves (mode collapse shows up as seeds converging to one hand).

The generator network is `models.conditioning.ConvDecoder`, the same as the VAE's decoder.
This module holds the networks (D too: its size is part of the parameter budget) and the Generator;
the losses, DiffAugment and the EMA are in `models.training.gan`.
Shipped layout: models/weights/gan/<variant>/{config.json, diffusion_pytorch_model.safetensors,
MODEL_CARD.md, training.json, train_log.csv, snapshots/step-NNNNNN/}.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

from core.settings import device as default_device
from core.vocab import HandSpec, condition_sizes
from models.base import (
    GenerateOptions,
    Generation,
    StepCallback,
    check_request,
    condition_tensor,
    count_parameters,
    image_generators,
    randn,
    save_fp16,
    snapshot_names,
    to_pil,
)
from models.conditioning import ConditionEmbedding, ConvDecoder, check_size, check_sizes

FAMILY = "gan"


class GANModel(ModelMixin, ConfigMixin):
    """The shipped generator: (z, spec indices) -> 64x64 image in [-1, 1]."""

    @register_to_config
    def __init__(self, size: int = 64, z_dim: int = 128, widths: tuple[int, ...] = (256, 128, 96, 48),
                 embed_dim: int = 128, style_dim: int = 128, condition_sizes: list[int] | None = None) -> None:
        super().__init__()
        check_size(size, widths)
        self.decoder = ConvDecoder(z_dim, list(widths), embed_dim, style_dim, condition_sizes)

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.decoder(z, cond)


class Discriminator(nn.Module):
    """Spectrally normalised CNN with a projection head; used in training only, never shipped."""

    def __init__(self, widths: list[int]) -> None:
        super().__init__()
        chans = [3, *widths]
        self.convs = nn.ModuleList(spectral_norm(nn.Conv2d(a, b, 4, stride=2, padding=1))
                                   for a, b in zip(chans[:-1], widths, strict=True))
        self.last = spectral_norm(nn.Conv2d(widths[-1] + 1, widths[-1], 3, padding=1))  # +1: minibatch std
        self.head = spectral_norm(nn.Linear(widths[-1], 1))
        self.embed = ConditionEmbedding(widths[-1])
        for emb in self.embed.fields:
            spectral_norm(emb)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, group: int = 4) -> torch.Tensor:
        h = x
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
        h = torch.cat([h, minibatch_std(h, group)], dim=1)
        h = F.leaky_relu(self.last(h), 0.2).sum(dim=(2, 3))  # global sum pooling, as in SNGAN
        return self.head(h).squeeze(1) + (self.embed(cond) * h).sum(1)


def minibatch_std(h: torch.Tensor, group: int) -> torch.Tensor:
    """One extra feature map: how much the images of each group of `group` consecutive rows differ
    (Karras et al. 2018). A collapsed generator makes near-identical images, which D then sees.
    Groups are consecutive, so a batch of [reals; fakes] never mixes the two when group | len(reals)."""
    b, _, hh, ww = h.shape
    group = largest_divisor(b, group)
    spread = h.float().view(b // group, group, *h.shape[1:]).std(dim=1, unbiased=False).mean(dim=(1, 2, 3))
    return spread.repeat_interleave(group)[:, None, None, None].expand(b, 1, hh, ww).to(h.dtype)


def largest_divisor(n: int, at_most: int) -> int:
    return next(g for g in range(min(n, at_most), 0, -1) if n % g == 0)


def build_generator(config: dict) -> GANModel:
    """A fresh generator from a training config: the trainer's network and the one the cards count."""
    return GANModel(size=config["size"], z_dim=config["z_dim"], widths=tuple(config["widths"]),
                    embed_dim=config["embed_dim"], style_dim=config["style_dim"], condition_sizes=condition_sizes())


def parameter_budget(config: dict) -> dict[str, int]:
    """Parameters trained (G and D) and parameters run to draw a hand (G): the cards compare the families on both."""
    sampling = count_parameters(build_generator(config))
    return {"trained": sampling + count_parameters(Discriminator(config["d_widths"])), "sampling": sampling}


def describe(config: dict, num_parameters: int) -> str:
    """The architecture section of this family's model card (models.card writes the rest)."""
    return f"""### Conditional GAN for rendered 64x64 hands

- Generator: `models.conditioning.ConvDecoder` (the VAE's decoder network), {num_parameters:,} parameters;
  z ({config['z_dim']}-d, N(0, I)) and the spec embedding (one `nn.Embedding` per field, summed) drive
  FiLM-conditioned GroupNorms; widths {config['widths']} from 4x4, 4x4 stride-2 transposed convs, tanh.
- Discriminator (not shipped): spectral-norm CNN, widths {config['d_widths']}, projection head conditioned
  by the same field embeddings.
- Objective: hinge loss; DiffAugment `{config['augment']}` on real and fake (no flips: prompts say
  left/right; no colour: skin tone is a condition). Adam lr G {config['lr']}, D {config['lr_d']},
  betas {config['betas']}, batch {config['batch']}, 1 D step per G step.
- Shipped weights: EMA of G (decay {config['ema_decay']}), fp16 (load as fp32).
  `snapshots/step-NNNNNN/` hold the EMA generator during training (diversity over time).
- Conditioning field dropout (15% per field, 10% all) as for every family: "any" slots are trained.
- Data: procedurally rendered hands only (see training.json for size, steps, wall time, hardware).
- Limits: 64x64; trained on a synthetic renderer, not photos; may mode-collapse on scarce data
  (that is one of the things the app shows).
"""


# --- the Generator the app sees ---

class GANGenerator:
    """`models.base.Generator` for the GAN: one forward pass of the EMA generator per batch.

    Snapshots: `snapshots()` lists the names saved during training (e.g. "step-002500"), oldest
    first; `at_snapshot(name)` returns a GANGenerator for that point of training (variant
    "<variant>@<name>"), so the app can show the same seeds across training.
    """

    family = FAMILY

    def __init__(self, model: GANModel, variant: str = "full", path: Path | None = None) -> None:
        self.model = model.eval().requires_grad_(False)
        self.variant = variant
        self.path = Path(path) if path is not None else None

    @property
    def num_parameters(self) -> int:
        return count_parameters(self.model)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.inference_mode()
    def generate(self, spec: HandSpec, n: int, seed: int, options: GenerateOptions | None = None,
                 callback: StepCallback | None = None) -> Generation:
        """n images for `spec`; image k depends only on (seed, k). Options are ignored (one pass)."""
        check_request(n, seed)
        start = time.perf_counter()
        z = randn((self.model.config.z_dim,), image_generators(seed, FAMILY, n), device=self.device)
        images = to_pil(self.model(z, condition_tensor(spec, n, device=self.device)))
        latency = time.perf_counter() - start
        return Generation(images=images, backend=FAMILY, variant=self.variant, seed=seed, steps=1,
                          latency_s=latency, evaluations=1)

    def snapshots(self) -> list[str]:
        return snapshot_names(self.path, "*.safetensors")

    def at_snapshot(self, name: str) -> GANGenerator:
        if name not in self.snapshots():
            raise KeyError(f"no snapshot {name!r} in {self.variant}; have {self.snapshots()}")
        model = GANModel.from_pretrained(self.path / "snapshots" / name, torch_dtype=torch.float32, use_safetensors=True)
        return GANGenerator(model.to(self.device), f"{self.variant}@{name}", self.path)

    def save_pretrained(self, path: str | Path) -> None:
        save_fp16(self.model, Path(path))

    @classmethod
    def from_pretrained(cls, path: str | Path) -> GANGenerator:
        return load(path)


def load(path: str | Path, device: str | None = None) -> GANGenerator:
    """Load shipped weights (fp16 on disk) as fp32; the variant is the folder's name."""
    path = Path(path)
    model = GANModel.from_pretrained(path, torch_dtype=torch.float32, use_safetensors=True)
    if model.config.condition_sizes is not None:
        check_sizes(model.config.condition_sizes)
    return GANGenerator(model.to(device or default_device()), path.name, path)
