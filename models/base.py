"""The one interface every generator family implements, the types it returns, and what families share.

The UI, the scorer and the benchmark only ever see `Generator` and `Generation`; they never
import a concrete family (they go through `models.registry`). Request bounds come from `core.limits`.
"""

from __future__ import annotations

import copy
import os
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image

from core.limits import IMAGES, SEED
from core.vocab import HandSpec, condition_indices

# callback(step, total_steps, preview_images) — diffusion calls it once per denoising step.
StepCallback = Callable[[int, int, list[Image.Image]], None]


@dataclass(frozen=True)
class GenerateOptions:
    """Knobs a caller may turn; a family ignores the ones it has no use for."""

    steps: int | None = None  # diffusion: denoising steps
    guidance: float | None = None  # classifier-free guidance scale (diffusion; GAN/VAE: truncation-like if any)
    sampler: str | None = None  # diffusion: "dpm++", "ddim", "ddpm"
    keep_frames: bool = False  # diffusion: keep per-step previews of every image


@dataclass
class Generation:
    """What one call produced and what it cost."""

    images: list[Image.Image]
    backend: str
    variant: str
    seed: int
    steps: int
    latency_s: float
    evaluations: int  # network forward passes (per batch)
    frames: list[list[Image.Image]] = field(default_factory=list)  # per step, per image

    @property
    def images_per_s(self) -> float:
        return len(self.images) / self.latency_s if self.latency_s > 0 else float("inf")


@runtime_checkable
class Generator(Protocol):
    family: str
    variant: str

    @property
    def num_parameters(self) -> int: ...

    def generate(
        self,
        spec: HandSpec,
        n: int,
        seed: int,
        options: GenerateOptions | None = None,
        callback: StepCallback | None = None,
    ) -> Generation: ...

    def save_pretrained(self, path: str | Path) -> None: ...

    @classmethod
    def from_pretrained(cls, path: str | Path) -> Generator: ...


def image_generators(seed: int, backend: str, n: int, device: str | torch.device = "cpu") -> list[torch.Generator]:
    """One torch.Generator per image from (seed, backend, index): no global RNG state, and
    image k of a request is the same whatever n is."""
    gens = []
    for index in range(n):
        key = zlib.crc32(f"{seed}:{backend}:{index}".encode())
        gens.append(torch.Generator(device=device).manual_seed(key))
    return gens


def randn(shape: tuple[int, ...], generators: list[torch.Generator], device="cpu", dtype=torch.float32) -> torch.Tensor:
    """A batch of normal noise, row k drawn from generators[k]."""
    rows = [torch.randn(shape, generator=g, device=g.device, dtype=dtype) for g in generators]
    return torch.stack(rows).to(device)


def condition_tensor(spec: HandSpec, n: int, device="cpu") -> torch.Tensor:
    """The shared conditioning: one index per spec field (len(values) = left open), n rows."""
    return torch.tensor([condition_indices(spec)] * n, dtype=torch.long, device=device)


def to_pil(batch: torch.Tensor) -> list[Image.Image]:
    """(B, 3, H, W) in [-1, 1] -> PIL images."""
    arr = ((batch.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return [Image.fromarray(np.ascontiguousarray(a.permute(1, 2, 0).cpu().numpy())) for a in arr]


def check_request(n: int, seed: int) -> None:
    """Shared validation, so every family rejects bad requests with the same words and bounds (core.limits)."""
    if not isinstance(n, int) or not IMAGES.contains(n):
        raise ValueError(f"n must be an integer from {IMAGES.lo} to {IMAGES.hi}, got {n!r}")
    if not isinstance(seed, int) or not SEED.contains(seed):
        raise ValueError(f"seed must be an integer from {SEED.lo} to {SEED.hi}, got {seed!r}")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (else autocast emulates it, slower than fp32)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def save_atomically(saveable, path: str | Path) -> None:
    """`saveable.save_pretrained` into a temp folder, then move file by file (os.replace is
    atomic), so an app loading the folder while training exports never reads a half-written file."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}-") as tmp:
        saveable.save_pretrained(tmp, safe_serialization=True)
        for src in sorted(Path(tmp).rglob("*")):
            if src.is_file():
                dst = path / src.relative_to(tmp)
                dst.parent.mkdir(parents=True, exist_ok=True)
                src.chmod(0o644)  # safetensors writes 0600; the app may run as another user
                os.replace(src, dst)


def save_fp16(model, path: str | Path) -> None:
    """save_pretrained in half precision (half the repo size); loaders cast back to fp32."""
    save_atomically(copy.deepcopy(model).to(torch.float16), path)


def count_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def snapshot_names(path: Path | None, *parts: str) -> list[str]:
    """Names under `path/snapshots` (e.g. "step-003274"), oldest first, of the folders that hold every
    entry in `parts` (a weights file pattern or sub-folder): one lister for every family's snapshots."""
    folder = path / "snapshots" if path is not None else None
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and all(any(p.glob(part)) for part in parts))
