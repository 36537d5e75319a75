"""Conditional convolutional VAE: encoder and decoder both read the spec.

Trained as a plain VAE, on purpose: reconstruction = squared error summed over pixels (images in
[-1, 1]), plus beta * KL(q(z|x, c) || N(0, I)) with beta annealed linearly from 0 over the first
`kl_anneal_steps` (Bowman et al. 2016), so the encoder learns to use z before the prior squeezes it.
beta is stated in config.json and the model card; with the summed squared error, beta = b is the
ELBO of a Gaussian decoder with variance b/2 per pixel, so b < 1 trades prior fit for sharpness.
No perceptual or adversarial loss (those would need downloaded weights, or turn it into a GAN):
the app tests the claim that VAEs draw blurry hands, and this model must not fake its answer.

The decoder is `models.conditioning.ConvDecoder`, the same network the GAN uses as its generator.
This module holds the networks and the Generator; the training step is `models.training.vae`.
Shipped layout: models/weights/vae/<variant>/{config.json, diffusion_pytorch_model.safetensors,
MODEL_CARD.md, training.json, train_log.csv}.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from PIL import Image
from torch import nn
from torch.nn import functional as F

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
    to_pil,
)
from models.conditioning import ConditionEmbedding, CondNorm, ConvDecoder, check_size, check_sizes

FAMILY = "vae"


class Encoder(nn.Module):
    """(x, spec) -> (mu, logvar): 4x4 stride-2 convs down to 4x4, FiLM-conditioned norms."""

    def __init__(self, widths: list[int], z_dim: int, embed_dim: int, sizes: list[int] | None = None) -> None:
        super().__init__()
        chans = [3, *widths]
        self.embed = ConditionEmbedding(embed_dim, sizes)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 4, stride=2, padding=1)
                                   for a, b in zip(chans[:-1], widths, strict=True))
        self.norms = nn.ModuleList(CondNorm(w, embed_dim) for w in widths)
        self.reduce = nn.Conv2d(widths[-1], 64, 1)  # keeps the dense head small (64*16 inputs, not 256*16)
        self.head = nn.Linear(64 * 16, 2 * z_dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.embed(cond)
        h = x
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = F.silu(norm(conv(h), e))
        mu, logvar = self.head(self.reduce(h).flatten(1)).float().chunk(2, dim=1)
        return mu, logvar.clamp(-30, 20)


class VAEModel(ModelMixin, ConfigMixin):
    """Encoder + decoder; the training objective's constants live in the config too (for the card)."""

    @register_to_config
    def __init__(self, size: int = 64, z_dim: int = 128, widths: tuple[int, ...] = (256, 128, 96, 48),
                 encoder_widths: tuple[int, ...] = (32, 64, 128, 256), embed_dim: int = 128, style_dim: int = 128,
                 beta: float = 0.5, kl_anneal_steps: int = 2000, reconstruction: str = "sum squared error",
                 condition_sizes: list[int] | None = None) -> None:
        super().__init__()
        check_size(size, widths)
        check_size(size, encoder_widths)
        self.encoder = Encoder(list(encoder_widths), z_dim, embed_dim, condition_sizes)
        self.decoder = ConvDecoder(z_dim, list(widths), embed_dim, style_dim, condition_sizes)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction through a reparameterised sample, and the posterior (mu, logvar)."""
        mu, logvar = self.encoder(x, cond)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return self.decoder(z, cond), mu, logvar


def build_model(config: dict) -> VAEModel:
    """A fresh VAE from a training config: the trainer's network and the one the cards count."""
    return VAEModel(size=config["size"], z_dim=config["z_dim"], widths=tuple(config["widths"]),
                    encoder_widths=tuple(config["encoder_widths"]), embed_dim=config["embed_dim"],
                    style_dim=config["style_dim"], beta=config["beta"],
                    kl_anneal_steps=config["kl_anneal_steps"], condition_sizes=condition_sizes())


def parameter_budget(config: dict) -> dict[str, int]:
    """Parameters trained (encoder and decoder) and parameters run to draw a hand (the decoder)."""
    vae = build_model(config)
    return {"trained": count_parameters(vae), "sampling": count_parameters(vae.decoder)}


def describe(config: dict, num_parameters: int) -> str:
    """The architecture section of this family's model card (models.card writes the rest)."""
    return f"""### Conditional VAE for rendered 64x64 hands

- {num_parameters:,} parameters. Encoder: 4x4 stride-2 convs, widths {config['encoder_widths']}, FiLM-conditioned
  GroupNorms, dense head to mu and log-variance of a {config['z_dim']}-d Gaussian. Decoder:
  `models.conditioning.ConvDecoder` (the same network as the GAN's generator), widths {config['widths']}.
  Both read the spec through one `nn.Embedding` per field (summed).
- Objective (a plain VAE, no perceptual or adversarial term): squared error summed over pixels in
  [-1, 1] + beta * KL(q(z|x,c) || N(0,I)), beta = {config['beta']} reached linearly over the first
  {config['kl_anneal_steps']} steps (KL annealing). Adam lr {config['lr']}, batch {config['batch']}.
- Sampling: z ~ N(0, I) -> decoder, one forward pass. Expect blur: the Gaussian likelihood rewards the
  mean of the plausible images; that is one of the claims the app tests.
- Weights stored fp16 (load as fp32). Conditioning field dropout (15% per field, 10% all) as for every
  family, so "any" slots are trained.
- Data: procedurally rendered hands only (see training.json for size, steps, wall time, hardware).
"""


# --- the Generator the app sees ---

ImageBatch = torch.Tensor | list[Image.Image]


class VAEGenerator:
    """`models.base.Generator` for the VAE, plus the latent-space tools only this family has:
    `encode`, `decode` and `interpolate` (the app's latent walk)."""

    family = FAMILY

    def __init__(self, model: VAEModel, variant: str = "full") -> None:
        self.model = model.eval().requires_grad_(False)
        self.variant = variant

    @property
    def num_parameters(self) -> int:
        return count_parameters(self.model)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def z_dim(self) -> int:
        return self.model.config.z_dim

    def prior(self, seed: int, n: int) -> torch.Tensor:
        """z ~ N(0, I), row k drawn from (seed, "vae", k) alone."""
        return randn((self.z_dim,), image_generators(seed, FAMILY, n), device=self.device)

    @torch.inference_mode()
    def generate(self, spec: HandSpec, n: int, seed: int, options: GenerateOptions | None = None,
                 callback: StepCallback | None = None) -> Generation:
        """n decoded prior samples for `spec`; options are ignored (one forward pass)."""
        check_request(n, seed)
        start = time.perf_counter()
        images = to_pil(self.model.decoder(self.prior(seed, n), condition_tensor(spec, n, device=self.device)))
        return Generation(images=images, backend=FAMILY, variant=self.variant, seed=seed, steps=1,
                          latency_s=time.perf_counter() - start, evaluations=1)

    @torch.inference_mode()
    def encode(self, images: ImageBatch, spec: HandSpec | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior (mu, logvar) of images (PIL, or a Bx3xHxW tensor in [-1, 1]).

        The encoder is conditioned: pass the spec the images show; None means every field "any".
        """
        x = as_tensor(images, self.device)
        return self.model.encoder(x, condition_tensor(spec or HandSpec(), x.shape[0], device=self.device))

    @torch.inference_mode()
    def decode(self, z: torch.Tensor, spec: HandSpec) -> list[Image.Image]:
        """Images for latents z (B x z_dim) under `spec`."""
        z = z.to(self.device, torch.float32)
        return to_pil(self.model.decoder(z, condition_tensor(spec, z.shape[0], device=self.device)))

    @torch.inference_mode()
    def interpolate(self, spec_a: HandSpec, spec_b: HandSpec, seed_a: int, seed_b: int, steps: int = 8) -> Generation:
        """A walk from (spec_a, seed_a) to (spec_b, seed_b): z along the great circle (slerp, which
        keeps |z| typical of N(0, I)), the spec embedding along the straight line between the two."""
        if not isinstance(steps, int) or not 2 <= steps <= 64:
            raise ValueError(f"steps must be an integer from 2 to 64, got {steps!r}")
        check_request(1, seed_a)
        check_request(1, seed_b)
        start = time.perf_counter()
        t = torch.linspace(0, 1, steps, device=self.device)[:, None]
        z = slerp(self.prior(seed_a, 1), self.prior(seed_b, 1), t)
        embed = self.model.decoder.embed
        e_a, e_b = (embed(condition_tensor(s, 1, device=self.device)) for s in (spec_a, spec_b))
        images = to_pil(self.model.decoder.synthesize(z, torch.lerp(e_a, e_b, t)))
        return Generation(images=images, backend=FAMILY, variant=self.variant, seed=seed_a, steps=1,
                          latency_s=time.perf_counter() - start, evaluations=1)

    def save_pretrained(self, path: str | Path) -> None:
        save_fp16(self.model, Path(path))

    @classmethod
    def from_pretrained(cls, path: str | Path) -> VAEGenerator:
        return load(path)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between rows a (1 x d) and b (1 x d) at fractions t (k x 1)."""
    cos = F.cosine_similarity(a, b).clamp(-1 + 1e-7, 1 - 1e-7)
    omega = torch.acos(cos)
    if omega.abs().item() < 1e-4:
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def as_tensor(images: ImageBatch, device: torch.device) -> torch.Tensor:
    """PIL images or a tensor -> Bx3xHxW float in [-1, 1] on `device`."""
    if isinstance(images, torch.Tensor):
        return images.to(device, torch.float32)
    arr = np.stack([np.asarray(im.convert("RGB"), dtype=np.float32) for im in images])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).to(device) / 127.5 - 1.0


def load(path: str | Path, device: str | None = None) -> VAEGenerator:
    """Load shipped weights (fp16 on disk) as fp32; the variant is the folder's name."""
    path = Path(path)
    model = VAEModel.from_pretrained(path, torch_dtype=torch.float32, use_safetensors=True)  # never a pickle
    if model.config.condition_sizes is not None:
        check_sizes(model.config.condition_sizes)
    return VAEGenerator(model.to(device or default_device()), path.name)
