"""Training the diffusion model (`models.diffusion`): v-prediction with Min-SNR weighting, AdamW, an EMA.

Used by `models.train diffusion`; the choices are explained in `models.diffusion`'s docstring.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers.training_utils import EMAModel
from torch import nn

from models.diffusion import (
    HandDiffusionPipeline,
    build_conditioner,
    build_unet,
    copy_as,
    load_pipeline,
    save_fp16,
    training_scheduler,
)

TRAIN_DEFAULTS: dict = {
    "batch": 32,
    "lr": 3e-4,
    "weight_decay": 0.0,
    "warmup_steps": 500,
    "grad_clip": 1.0,
    "min_snr_gamma": 5.0,
    "ema_decay": 0.9995,
    "ema_power": 0.75,
    "patch": 2,  # pixel-unshuffle factor: the UNet runs at size / patch
    "channels": [64, 128, 128],
    "attention": [False, False, True],  # self-attention per level (8x8 only)
    "layers_per_block": 1,
    "embed_dim": 64,
}


class Trainer:
    """One optimisation step of v-prediction with Min-SNR weighting, plus EMA and export."""

    baked_guidance: float | None = None  # a distilled student's (models.training.distill), saved with its weights

    def __init__(self, config: dict, accelerator):
        self.config = config
        self.accelerator = accelerator
        unet = build_unet(config, config.get("size", 64))
        conditioner = build_conditioner(config)
        self.scheduler = training_scheduler()
        params = list(unet.parameters()) + list(conditioner.parameters())
        optimizer = torch.optim.AdamW(params, lr=config["lr"], weight_decay=config["weight_decay"])
        self.unet, self.conditioner, self.optimizer = accelerator.prepare(unet, conditioner, optimizer)
        self.ema = EMAModel(params, decay=config["ema_decay"], use_ema_warmup=True, power=config["ema_power"])
        self.modules = {"unet": self.unet, "conditioner": self.conditioner}
        self.optimizers = {"opt": self.optimizer}
        self.snr = self._snr_table()
        self.warm_from = 0  # the step a warm start began at: the lr warms up again from there

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for m in self.modules.values() for p in m.parameters())

    def _params(self) -> list[nn.Parameter]:
        return list(self.unet.parameters()) + list(self.conditioner.parameters())

    def _snr_table(self) -> torch.Tensor:
        abar = self.scheduler.alphas_cumprod
        return abar / (1 - abar)

    def loss(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Min-SNR-weighted v-prediction loss on pixel-unshuffled images."""
        patch = self.config["patch"]
        x0 = F.pixel_unshuffle(x, patch) if patch > 1 else x
        noise = torch.randn_like(x0)
        t = torch.randint(0, self.scheduler.config.num_train_timesteps, (x0.shape[0],), device=x0.device)
        zt = self.scheduler.add_noise(x0, noise, t)
        target = self.scheduler.get_velocity(x0, noise, t)
        with self.accelerator.autocast():
            pred = self.unet(zt, t, class_labels=self.conditioner(cond)).sample
        snr = self.snr.to(x0.device)[t]
        weight = snr.clamp(max=self.config["min_snr_gamma"]) / (snr + 1)
        per_image = F.mse_loss(pred.float(), target, reduction="none").mean(dim=(1, 2, 3))
        return (weight * per_image).mean()

    def step(self, x: torch.Tensor, cond: torch.Tensor, step: int) -> dict[str, float]:
        return self.optimise(self.loss(x, cond), step)

    def optimise(self, loss: torch.Tensor, step: int) -> dict[str, float]:
        """lr warm-up, backward, clipping, AdamW and the EMA: one update on `loss` (a student distils the same way)."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.config["lr"] * min(1.0, (step + 1 - self.warm_from) / self.config["warmup_steps"])
        self.optimizer.zero_grad(set_to_none=True)
        self.accelerator.backward(loss)
        grad_norm = self.accelerator.clip_grad_norm_(self._params(), self.config["grad_clip"])
        self.optimizer.step()
        self.ema.step(self._params())
        return {"loss": loss.item(), "grad_norm": float(grad_norm)}

    def _param_names(self) -> list[str]:
        return [f"{m}.{n}" for m, module in self.modules.items() for n, _ in module.named_parameters()]

    def extra_state(self) -> dict[str, torch.Tensor]:
        state = {f"ema.{name}": p for name, p in zip(self._param_names(), self.ema.shadow_params, strict=True)}
        state["ema_step"] = torch.tensor([self.ema.optimization_step], dtype=torch.long)
        return state

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        for name, shadow in zip(self._param_names(), self.ema.shadow_params, strict=True):
            shadow.copy_(state[f"ema.{name}"])
        self.ema.optimization_step = int(state["ema_step"][0])

    def ema_pipeline(self) -> HandDiffusionPipeline:
        """A standalone fp32 pipeline holding the EMA weights (the online model is untouched)."""
        unet = copy_as(self.accelerator.unwrap_model(self.unet), torch.float32)
        conditioner = copy_as(self.accelerator.unwrap_model(self.conditioner), torch.float32)
        self.ema.copy_to(list(unet.parameters()) + list(conditioner.parameters()))
        return HandDiffusionPipeline(unet=unet, scheduler=self.scheduler, conditioner=conditioner,
                                     patch=self.config["patch"], baked_guidance=self.baked_guidance)

    def export(self, path: str | Path) -> None:
        save_fp16(self.ema_pipeline(), path)

    def snapshot(self, path: str | Path) -> None:
        """The EMA pipeline as of now (`DiffusionGenerator.at_snapshot` serves it): the benchmark compares
        the scarce run with the full one at the same number of training steps."""
        save_fp16(self.ema_pipeline(), path)

    def warm_start(self, path: str | Path, step: int) -> None:
        """Continue from shipped (EMA) weights at `step`: they seed both the online and the EMA model.

        The EMA keeps the decay it had reached at `step`; the reset optimiser gets a fresh lr warm-up.
        """
        shipped = load_pipeline(path)
        self.accelerator.unwrap_model(self.unet).load_state_dict(shipped.unet.state_dict())
        self.accelerator.unwrap_model(self.conditioner).load_state_dict(shipped.conditioner.state_dict())
        for shadow, p in zip(self.ema.shadow_params, self._params(), strict=True):
            shadow.copy_(p.detach())
        self.ema.optimization_step = step
        self.warm_from = step
