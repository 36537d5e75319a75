"""Spec conditioning and the conditioned image decoder shared by the VAE and the GAN.

Both families read the same HandSpec the same way: one `nn.Embedding` per spec field (its last
row is the field's "any" slot), summed into one vector. The VAE's decoder and the GAN's generator
are the same network (`ConvDecoder`), so when the app puts them side by side the difference it
shows is the training objective, not the architecture.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from core.vocab import condition_sizes


class ConditionEmbedding(nn.Module):
    """(B, fields) long indices -> (B, dim): the sum of one learned vector per field.

    A sum (not a concatenation) is what a projection discriminator needs: <sum_f e_f, h> is one
    projection term per field, and the "any" slot of each field learns its own neutral vector.
    """

    def __init__(self, dim: int, sizes: list[int] | None = None) -> None:
        super().__init__()
        self.sizes = list(sizes or condition_sizes())
        self.fields = nn.ModuleList(nn.Embedding(n, dim) for n in self.sizes)

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        if cond.shape[-1] != len(self.fields):
            raise ValueError(f"expected {len(self.fields)} condition fields, got {cond.shape[-1]}")
        return torch.stack([emb(cond[:, i]) for i, emb in enumerate(self.fields)]).sum(0)


def check_sizes(saved: list[int]) -> None:
    """Weights trained on another vocabulary would read indices as the wrong words: refuse them."""
    if list(saved) != condition_sizes():
        raise ValueError(f"weights were trained for condition sizes {saved}, this code has {condition_sizes()}")


class CondNorm(nn.Module):
    """GroupNorm whose scale and shift come from a condition vector (FiLM / AdaGN).

    GroupNorm rather than BatchNorm: an image must not depend on what else is in its batch
    (image k of a request is the same whatever n is), and there are no running statistics that an
    EMA copy of the weights would disagree with.
    """

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(min(8, channels // 4), channels, affine=False)
        self.film = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(c)[:, :, None, None].chunk(2, dim=1)
        return self.norm(x) * (1 + scale) + shift


class ConvDecoder(nn.Module):
    """(z, spec indices) -> (B, 3, size, size) image in [-1, 1], DCGAN-shaped.

    z and the spec embedding are mixed by a small MLP into one style vector that drives every
    norm (hierarchical conditioning, as in BigGAN); a linear stem makes a 4x4 map, and each
    width doubles the resolution with a 4x4 stride-2 transposed convolution (2.25x cheaper than
    upsample + 3x3 conv: this must train at several steps/s on one CPU thread), the last with a
    resize-convolution. Most parameters sit in the cheap linear layers, most compute at 32x32-64x64.
    """

    def __init__(self, z_dim: int, widths: list[int], embed_dim: int, style_dim: int,
                 sizes: list[int] | None = None) -> None:
        super().__init__()
        self.z_dim, self.widths = z_dim, list(widths)
        self.embed = ConditionEmbedding(embed_dim, sizes)
        self.style = nn.Sequential(nn.Linear(z_dim + embed_dim, style_dim), nn.SiLU(), nn.Linear(style_dim, style_dim))
        self.stem = nn.Linear(style_dim, widths[0] * 16)
        self.norms = nn.ModuleList(CondNorm(w, style_dim) for w in widths)
        self.ups = nn.ModuleList(nn.ConvTranspose2d(a, b, 4, stride=2, padding=1)
                                 for a, b in zip(widths[:-1], widths[1:], strict=True))
        # last doubling: nearest upsample + 3x3 conv to RGB (a transposed conv there leaves a visible
        # checkerboard; with 3 output channels the resize-convolution costs little)
        self.to_rgb = nn.Conv2d(widths[-1], 3, 3, padding=1)

    @property
    def size(self) -> int:
        return 4 * 2 ** len(self.widths)

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.synthesize(z, self.embed(cond))

    def synthesize(self, z: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Decode from an embedding vector rather than indices (lets the app blend two specs)."""
        s = self.style(torch.cat([z, embedding], dim=1))
        h = self.stem(s).view(-1, self.widths[0], 4, 4)
        for norm, up in zip(self.norms[:-1], self.ups, strict=True):
            h = up(F.silu(norm(h, s)))
        h = F.interpolate(F.silu(self.norms[-1](h, s)), scale_factor=2, mode="nearest")
        return torch.tanh(self.to_rgb(h))


def check_size(size: int, widths: list[int]) -> None:
    """A width list (4x4 first, one entry per doubling) must reach the requested image size."""
    reached = 4 * 2 ** len(widths)
    if reached != size:
        raise ValueError(f"widths {list(widths)} make {reached}x{reached} images, not {size}x{size}")
