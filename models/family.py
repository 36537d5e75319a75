"""The family contract: what a generator family provides, stated as one record per family.

`models.registry.FAMILIES` holds the three records. Serving uses `load`, `description`, `defaults`
and `parameter_budget`; the training CLI (`models.train`) alone calls `training()`, which imports
the family's trainer module, so serving never imports a trainer, accelerate or the dataset.
What a family can do beyond the `Generator` protocol is a field here (`supports_snapshots`),
never a probe of the objects it returns.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from models.base import GenerateOptions, Generator


class Trainer(Protocol):
    """One family's training step, checkpointed state and export; `models.train` runs the loop around it."""

    modules: dict[str, torch.nn.Module]  # checkpointed with their optimizers (models.training.checkpoint)
    optimizers: dict[str, torch.optim.Optimizer]
    num_parameters: int  # of the shipped generator

    def step(self, x: torch.Tensor, cond: torch.Tensor, step: int) -> dict[str, float]: ...

    def extra_state(self) -> dict[str, torch.Tensor]: ...

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None: ...

    def export(self, path: Path) -> None: ...

    def warm_start(self, path: Path, step: int) -> None: ...

    def snapshot(self, path: Path) -> None:
        """Save the shipped generator as of now under `path` (only where the family supports snapshots)."""
        ...


class TrainingModule(Protocol):
    """What a family's trainer module (`Family.trainer`) defines."""

    TRAIN_DEFAULTS: dict[str, Any]

    def Trainer(self, config: dict, accelerator: Any) -> Trainer: ...  # the module's Trainer class


@dataclass(frozen=True)
class Family:
    """One generator family, everything the rest of the project may know about it."""

    name: str
    summary: str  # one paragraph: what it is and its expected weakness (opens its model cards)
    load: Callable[[Path], Generator]  # a variant's folder -> a ready Generator (fp32, on settings.device())
    description: Callable[[dict, int], str]  # (training config, parameters) -> the card's architecture section
    parameter_budget: Callable[[dict], dict[str, int]]  # training config -> {"trained": n, "sampling": n}
    trainer: str  # import path of its trainer module (a TrainingModule); imported only by training()
    defaults: GenerateOptions = field(default_factory=GenerateOptions)  # what a request leaves unset becomes
    variant_defaults: dict[str, GenerateOptions] = field(default_factory=dict)  # a variant's own (a distilled
    # student: fewer steps); the variant's generator applies them too, so callers need not
    supports_snapshots: bool = False  # its trainer keeps earlier states (--snapshot-every); its Generator has
    # snapshots() and at_snapshot(name)

    def defaults_for(self, variant: str) -> GenerateOptions:
        """What a request to `variant` leaves unset becomes (the app's and the benchmark's settings for it)."""
        return self.variant_defaults.get(variant, self.defaults)

    def training(self) -> TrainingModule:
        """The trainer module: for the training CLI only (it imports accelerate and the losses)."""
        return importlib.import_module(self.trainer)
