"""A learned malformation detector: P(clean), P(extra finger), P(missing finger), ... per image.

Why, on top of the silhouette geometry: counting tips and measuring widths finds a sixth finger
or a fused pair, but it misses what is only a *shape*: a joint bent backwards, a finger a little
too long, a gap where a finger should be. Those are easy to see and hard to write down. This
small CNN looks at the image together with the silhouette net's maps (hand, fingers, tips,
knuckles) and names the malformation. It is trained by `python -m judge.fit.train_defect` on renders
of its own seed: each malformed hand next to its clean twin (same pose, view and skin, one thing
broken), so the only difference it can learn is the malformation; extra twins of bent joints (seed
7321), the kind hardest to see at 64 px, come on top. It never sees generator output nor the
calibration (7202) or validation (9303) seeds. Everything here takes the network as an argument;
loading it once is the `Judge`'s business.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.vocab import ANOMALIES
from judge.witnesses.silhouette import load_state, mirrored_softmax

CLASSES: tuple[str, ...] = ("clean", *ANOMALIES)
WEIGHTS_FILE = "defect.safetensors"  # its name in a weights folder


def _defectnet_class():
    import torch
    import torch.nn as nn

    from judge.witnesses.silhouette import CHANNELS, conv_block

    class DefectNet(nn.Module):
        """(RGB + silhouette maps) at 64 px -> class logits (CLASSES). ~0.2 M weights."""

        def __init__(self, width: tuple[int, int, int] = (32, 64, 96)) -> None:
            super().__init__()
            a, b, c = width
            self.body = nn.Sequential(
                conv_block(3 + len(CHANNELS), a), conv_block(a, a, stride=2),
                conv_block(a, b, stride=2), conv_block(b, b),
                conv_block(b, c, stride=2), conv_block(c, c),
            )
            self.head = nn.Linear(2 * c, len(CLASSES))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.body(x)
            return self.head(torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1))

    return DefectNet


def DefectNet(**kwargs):  # noqa: N802 - a factory so that importing this module does not import torch
    return _defectnet_class()(**kwargs)


def stack_input(rgb64: np.ndarray, maps) -> np.ndarray:
    """One image's network input: 3 + len(CHANNELS) planes in [0, 1], float32."""
    planes = [maps.hand, maps.finger, maps.tips, *maps.extra.values()]  # `predict_batch` fills extra in CHANNELS order
    return np.concatenate([rgb64.astype(np.float32).transpose(2, 0, 1) / 255.0, np.stack(planes).astype(np.float32)])


def load_net(path: Path):
    """A trained detector from its safetensors file, in eval mode (raises if missing or stale)."""
    return load_state(DefectNet(), path)


def probabilities(net, inputs: list[np.ndarray], batch: int = 128) -> list[dict[str, float]]:
    """Class probabilities for stacked inputs (`stack_input`), averaged with the mirror image."""
    import torch

    out: list[dict[str, float]] = []
    for s in range(0, len(inputs), batch):
        x = torch.from_numpy(np.stack(inputs[s : s + batch]))
        p = mirrored_softmax(net, x)
        out.extend({c: float(v) for c, v in zip(CLASSES, row)} for row in p.numpy())
    return out
