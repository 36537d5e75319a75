"""Which witnesses should judge a picture: P(it is drawn in a look unlike the renders and the generators' pictures).

Why: the witnesses the quality model reads were trained on one look (shaded renders on calm backgrounds), and the
trees were fitted to people on the generators' pictures, which share it. Witnesses retrained on many looks count
clip-art hands far better but agree less with people on the generators' own pictures. So the judge sends each
picture to the witnesses made for its look (`judge.judge.Judge.evaluate`).

The look net is a small CNN on the 64 px picture (61 k weights; about 1 ms a picture on one thread, mirror
included). It replaced a head on the silhouette net's pooled features and ten picture statistics (2026-12-08): that
head sent only half of the renders drawn in other looks and two thirds of the line drawings away at the threshold
the generators' own pictures allow; the silhouette's features were learnt to find a hand in one look, not to tell
looks apart. Fitted by `python -m judge.fit.train_look`. Everything here takes the network as an argument;
loading it once is the `Judge`'s business.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from judge.witnesses.silhouette import load_state, over_pixels

LOOK_NET_FILE = "look_net.safetensors"
OTHER_LOOKS_DIR = "other_looks"  # in a weights folder: the witnesses trained on many looks, with their calibration


def _looknet_class():
    import torch
    import torch.nn as nn

    from judge.witnesses.silhouette import conv_block

    class LookNet(nn.Module):
        """RGB at 64 px -> one logit, P(another look). Four strided blocks; mean- and max-pooled features, so
        that a look can rest on the whole picture (paper, a flat fill) or on a few pixels (an ink line)."""

        def __init__(self, width: tuple[int, int, int, int] = (16, 32, 64, 64)) -> None:
            super().__init__()
            a, b, c, d = width
            self.body = nn.Sequential(conv_block(3, a, stride=2), conv_block(a, b, stride=2),
                                      conv_block(b, c, stride=2), conv_block(c, d, stride=2))
            self.head = nn.Linear(2 * d, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.body(x)
            return self.head(torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1))[:, 0]

    return LookNet


def LookNet(**kwargs):  # noqa: N802 - a factory so that importing this module does not import torch
    return _looknet_class()(**kwargs)


def load_net(path: Path):
    """A fitted look net from its safetensors file, in eval mode (raises if missing or stale)."""
    return load_state(LookNet(), path)


def probabilities(net, small: list[np.ndarray], batch: int = 256) -> np.ndarray:
    """P(another look) per 64 px picture (`mirrored_probability`)."""
    return over_pixels(partial(mirrored_probability, net), small, batch, (0,))


def mirrored_probability(net, x):
    """P(another look) of a batch, its logit averaged with the mirror image's (a look has no side)."""
    import torch

    with torch.inference_mode():
        return torch.sigmoid((net(x) + net(x.flip(3))) / 2)
