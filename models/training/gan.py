"""Training the conditional GAN (`models.gan`): hinge loss, DiffAugment on real and fake, an EMA of G.

Used by `models.train gan`; why each stabiliser is there is in `models.gan`'s docstring.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from models.base import count_parameters, save_fp16
from models.gan import Discriminator, GANModel, build_generator, largest_divisor

TRAIN_DEFAULTS: dict = {
    "batch": 32,
    "lr": 2e-4,  # generator
    "lr_d": 2e-4,
    "betas": [0.5, 0.999],  # SNGAN's setting for a DCGAN-shaped net with one D step per G step
    "z_dim": 128,
    "widths": [256, 128, 96, 48],
    "d_widths": [32, 64, 128, 256],
    "embed_dim": 128,
    "style_dim": 128,
    "ema_decay": 0.999,
    "augment": "translation,cutout",
}


# --- DiffAugment (translation + cutout), the same random transform for a whole forward pass ---

def translate(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ratio*size pixels, filling with zeros (mid-grey)."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (b, 1, 1), device=x.device)
    tx = torch.randint(-sw, sw + 1, (b, 1, 1), device=x.device)
    gb, gy, gx = torch.meshgrid(torch.arange(b, device=x.device), torch.arange(h, device=x.device),
                                torch.arange(w, device=x.device), indexing="ij")
    gy = (gy + ty + 1).clamp(0, h + 1)
    gx = (gx + tx + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    return padded[gb, gy, gx].permute(0, 3, 1, 2).contiguous()


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one random square of ratio*size per image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device)
    gb, gy, gx = torch.meshgrid(torch.arange(b, device=x.device), torch.arange(ch, device=x.device),
                                torch.arange(cw, device=x.device), indexing="ij")
    gy = (gy + oy - ch // 2).clamp(0, h - 1)
    gx = (gx + ox - cw // 2).clamp(0, w - 1)
    mask = torch.ones(b, h, w, dtype=x.dtype, device=x.device)
    mask[gb, gy, gx] = 0
    return x * mask.unsqueeze(1)


AUGMENTS = {"translation": translate, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: str) -> torch.Tensor:
    for name in filter(None, policy.split(",")):
        x = AUGMENTS[name](x)
    return x


@torch.no_grad()
def ema_update(ema: nn.Module, online: nn.Module, decay: float) -> None:
    torch._foreach_lerp_(list(ema.parameters()), list(online.parameters()), 1.0 - decay)


class Trainer:
    """One D step and one G step per call (hinge loss, DiffAugment on both), then the EMA update."""

    def __init__(self, config: dict, accelerator) -> None:
        self.config, self.accelerator = config, accelerator
        self.generator = build_generator(config)
        self.ema = copy.deepcopy(self.generator).requires_grad_(False).eval()
        self.discriminator = Discriminator(config["d_widths"])
        betas = tuple(config["betas"])
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=config["lr"], betas=betas)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=config["lr_d"], betas=betas)
        self.G, self.D, self.opt_g, self.opt_d = accelerator.prepare(self.generator, self.discriminator, opt_g, opt_d)
        self.ema.to(accelerator.device)
        self.modules = {"generator": self.generator, "generator_ema": self.ema, "discriminator": self.discriminator}
        self.optimizers = {"generator": self.opt_g, "discriminator": self.opt_d}
        self.num_parameters = count_parameters(self.generator)
        self.steps_done = 0

    def step(self, x: torch.Tensor, cond: torch.Tensor, step: int) -> dict[str, float]:
        policy = self.config["augment"]
        z = torch.randn(x.shape[0], self.config["z_dim"], device=x.device)
        fake = self.G(z, cond)

        self.D.requires_grad_(True)
        group = largest_divisor(x.shape[0], 4)  # minibatch-std groups must not straddle reals and fakes
        both = diff_augment(torch.cat([x, fake.detach()]), policy)
        scores = self.D(both, torch.cat([cond, cond]), group).float()
        d_real, d_fake = scores.chunk(2)
        loss_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        self.opt_d.zero_grad(set_to_none=True)
        self.accelerator.backward(loss_d)
        self.opt_d.step()

        self.D.requires_grad_(False)  # G's step needs gradients through D, not for D's weights
        loss_g = -self.D(diff_augment(fake, policy), cond, group).float().mean()
        self.opt_g.zero_grad(set_to_none=True)
        self.accelerator.backward(loss_g)
        self.opt_g.step()

        decay = min(self.config["ema_decay"], (1 + step) / (10 + step))
        ema_update(self.ema, self.accelerator.unwrap_model(self.G), decay)
        self.steps_done = step + 1
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "d_real": d_real.mean().item(),
                "d_fake": d_fake.mean().item()}

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {}  # the EMA generator is a checkpointed module

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        pass

    def export(self, path: Path) -> None:
        save_fp16(self.ema, path)

    def snapshot(self, path: Path) -> None:
        """The EMA generator as of now, for the app's diversity-over-training view."""
        save_fp16(self.ema, path)

    def warm_start(self, path: Path, step: int) -> None:
        state = GANModel.from_pretrained(path, torch_dtype=torch.float32, use_safetensors=True).state_dict()
        self.accelerator.unwrap_model(self.G).load_state_dict(state)
        self.ema.load_state_dict(state)
