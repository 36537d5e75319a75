"""The family records (one place) and the `Registry` that serves their shipped variants.

`FAMILIES` is the only place that turns a family name into code, so the UI, the scorer and the
benchmark depend on the `Generator` protocol and the `Family` record alone. A `Registry` finds
variants under <weights root>/<family>/<variant>/ and builds each one once, through a
`core.loading.Lazy` it owns; whoever needs generators (the app, a benchmark script, a test)
creates one and passes it on.
"""

from __future__ import annotations

import json
import threading
from functools import partial
from pathlib import Path

from core import settings
from core.limits import DEFAULT_SAMPLER, DEFAULT_VARIANT, GUIDANCE, STEPS
from core.loading import Lazy, Unavailable
from models import diffusion, gan, vae
from models.base import GenerateOptions, Generator
from models.family import Family

# diffusion/full fine-tuned on preference pairs (models.training.dpo: Diffusion-DPO on votes, rater labels or the
# judge's scores); the same network, sampled at the family's own defaults
FEEDBACK = "feedback"

FAMILIES: tuple[Family, ...] = (
    Family(
        name="vae",
        summary="A conditional convolutional VAE: the encoder squeezes a hand into a latent code, the decoder draws it "
                "back; trained with reconstruction + beta-weighted KL. Expected weakness: blur.",
        load=vae.load, description=vae.describe, parameter_budget=vae.parameter_budget, trainer="models.training.vae",
    ),
    Family(
        name="gan",
        summary="A conditional GAN (spectral norm, hinge loss, projection discriminator, DiffAugment, EMA generator). "
                "Expected weaknesses: mode collapse, unstable training.",
        load=gan.load, description=gan.describe, parameter_budget=gan.parameter_budget, trainer="models.training.gan",
        supports_snapshots=True,
    ),
    Family(
        name="diffusion",
        summary="A conditional diffusers UNet with classifier-free guidance, sampled by diffusers schedulers "
                "(DPM-Solver++ by default). Expected weakness: speed (sequential denoising).",
        load=diffusion.load, description=diffusion.describe, parameter_budget=diffusion.parameter_budget,
        trainer="models.training.diffusion", supports_snapshots=True,
        defaults=GenerateOptions(steps=STEPS.default, guidance=GUIDANCE.default, sampler=DEFAULT_SAMPLER),
        variant_defaults={diffusion.DISTILLED: diffusion.STUDENT_DEFAULTS,  # 2 steps, its guidance in its weights
                          FEEDBACK: diffusion.DEFAULTS},  # what full samples at, so the two compare on the same terms
    ),
)
FAMILY_NAMES: tuple[str, ...] = tuple(f.name for f in FAMILIES)


class BackendUnavailable(Unavailable):
    """A family/variant cannot be served (unknown, missing or damaged weights); others still can."""


def family_record(name: str) -> Family:
    """The record of the family called `name`."""
    for record in FAMILIES:
        if record.name == name:
            return record
    raise BackendUnavailable(f"unknown backend {name!r}; choose from {', '.join(FAMILY_NAMES)}")


class Registry:
    """The generators under one weights root, each variant built once (thread-safely) on first use.

    `root` None follows HANDS_WEIGHTS, read on every call (tests point it at damaged copies); when
    the folder changes, the variants loaded from the previous one are dropped: a registry serves
    one root at a time. A variant that fails to load keeps its reason (its Lazy) and raises
    `BackendUnavailable` on every request, while the other variants serve.
    """

    def __init__(self, root: Path | None = None) -> None:
        self._root = Path(root) if root is not None else None
        self._loads: dict[tuple[Path, str, str], Lazy[Generator]] = {}
        self._loads_lock = threading.Lock()  # guards the dict; each Lazy guards its own build

    def __reduce__(self):
        """Pickled (ZeroGPU passes a call's arguments to its GPU worker that way) as a fresh registry on the same root."""
        return Registry, (self._root,)

    @property
    def weights_root(self) -> Path:
        """The folder served from: the one given, else HANDS_WEIGHTS, else the shipped models/weights."""
        return self._root if self._root is not None else settings.weights_root()

    def variants(self, family: str) -> list[str]:
        """Shipped variants of a family ('full' first): folders holding safetensors weights."""
        folder = self.weights_root / family
        if not folder.is_dir():
            return []
        names = sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("**/*.safetensors")))
        return sorted(names, key=lambda n: (n != DEFAULT_VARIANT, n))

    def available(self) -> dict[str, list[str]]:
        return {name: self.variants(name) for name in FAMILY_NAMES}

    def trained_steps(self, family: str, variant: str = DEFAULT_VARIANT) -> int | None:
        """Optimisation steps a shipped variant was trained for (its training.json), None if unknown."""
        try:
            return int(json.loads((self.weights_root / family / variant / "training.json").read_text())["steps"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def load(self, family: str, variant: str = DEFAULT_VARIANT) -> Generator:
        """The variant's Generator, built on first use; BackendUnavailable says why it cannot be served."""
        record = family_record(family)
        root = self.weights_root
        path = root / family / variant
        if Path(variant).name != variant or variant in ("", ".", "..") or not path.is_dir():
            raise BackendUnavailable(f"{family}/{variant}: no weights in {root.name}/{family}/{variant}")
        with self._loads_lock:
            if any(key[0] != root for key in self._loads):
                self._loads = {}  # HANDS_WEIGHTS moved: serve the new root only
            lazy = self._loads.get((root, family, variant))
            if lazy is None:
                lazy = self._loads[root, family, variant] = Lazy(partial(record.load, path), f"{family}/{variant} weights")
        try:
            return lazy.get()
        except Unavailable as err:  # a damaged file takes down only this variant
            raise BackendUnavailable(str(err)) from None
