"""Training the conditional VAE (`models.vae`): the negative ELBO with KL annealing, Adam.

Used by `models.train vae`; the objective is explained in `models.vae`'s docstring.
"""

from __future__ import annotations

from pathlib import Path

import torch

from models.base import count_parameters, save_fp16
from models.vae import VAEModel, build_model

TRAIN_DEFAULTS: dict = {
    "batch": 32,
    "lr": 5e-4,
    "z_dim": 128,
    "widths": [256, 128, 96, 48],  # decoder, as the GAN's generator
    "encoder_widths": [32, 64, 128, 256],
    "embed_dim": 128,
    "style_dim": 128,
    "beta": 0.5,
    "kl_anneal_steps": 2000,
}


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, in nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(dim=1)


class Trainer:
    """Negative ELBO (per pixel, for readable numbers) with the annealed beta; Adam."""

    def __init__(self, config: dict, accelerator) -> None:
        self.config, self.accelerator = config, accelerator
        self.vae = build_model(config)
        opt = torch.optim.Adam(self.vae.parameters(), lr=config["lr"])
        self.model, self.opt = accelerator.prepare(self.vae, opt)
        self.modules = {"vae": self.vae}
        self.optimizers = {"vae": self.opt}
        self.num_parameters = count_parameters(self.vae)
        self.steps_done = 0

    def beta_at(self, step: int) -> float:
        warm = self.config["kl_anneal_steps"]
        return self.config["beta"] * min(1.0, step / warm) if warm > 0 else self.config["beta"]

    def step(self, x: torch.Tensor, cond: torch.Tensor, step: int) -> dict[str, float]:
        recon, mu, logvar = self.model(x, cond)
        sse = (recon.float() - x).pow(2).sum(dim=(1, 2, 3))
        kl = kl_divergence(mu, logvar)
        beta = self.beta_at(step)
        loss = (sse + beta * kl).mean() / x[0].numel()
        self.opt.zero_grad(set_to_none=True)
        self.accelerator.backward(loss)
        self.opt.step()
        self.steps_done = step + 1
        return {"loss": loss.item(), "mse": sse.mean().item() / x[0].numel(), "kl": kl.mean().item(), "beta": beta}

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        pass

    def export(self, path: Path) -> None:
        save_fp16(self.vae, path)

    def warm_start(self, path: Path, step: int) -> None:
        """No EMA here: the shipped weights are the online weights."""
        self.vae.load_state_dict(VAEModel.from_pretrained(path, torch_dtype=torch.float32).state_dict())
