"""The finger counter: how many extended digits a person would count, read from the pixels.

Why a witness of its own: the silhouette net and its count head were trained on clean renders, and
on the generators' pictures they count differently from people (62 % agreement held out): a blurry
hand whose fingers merge, a GAN hand with a smudged stub, are counted by people from what they
see, not from where the net expects a fingertip. This small CNN looks at the 64 px picture alone.
It is first trained on renders made to look like generator output (blur, coarse resampling, noise,
colour and pose jitter; their true counts as labels), then fine-tuned on the counts the raters gave
(`judge/fit/raters/`), so it counts as people do. `python -m judge.fit.train_counter` fits it and
measures it on sources it never saw. Everything here takes the network as an argument; loading it
once is the `Judge`'s business.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from judge.witnesses.silhouette import load_state, mirrored_softmax, over_pixels

CLASSES = 7  # 0..6 extended digits, six meaning six or more (as the raters' counts compare)
WEIGHTS_FILE = "counter.safetensors"  # its name in a weights folder


def _counternet_class():
    import torch
    import torch.nn as nn

    from judge.witnesses.silhouette import conv_block

    class CounterNet(nn.Module):
        """RGB at 64 px -> logits over 0..6 extended digits; mean- and max-pooled features, so a count can
        rest both on the whole hand and on one finger's evidence."""

        def __init__(self, width: tuple[int, int, int, int] = (24, 48, 96, 128)) -> None:
            super().__init__()
            a, b, c, d = width
            self.body = nn.Sequential(
                conv_block(3, a), conv_block(a, a, stride=2),
                conv_block(a, b), conv_block(b, b, stride=2),
                conv_block(b, c), conv_block(c, c, stride=2),
                conv_block(c, d),
            )
            self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(2 * d, CLASSES))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.body(x)
            return self.head(torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1))

    return CounterNet


def CounterNet(**kwargs):  # noqa: N802 - a factory so that importing this module does not import torch
    return _counternet_class()(**kwargs)


def load_net(path: Path):
    """A trained counter from its safetensors file, in eval mode (raises if missing or stale)."""
    return load_state(CounterNet(), path)


def probabilities(net, rgb64: list[np.ndarray], batch: int = 128) -> np.ndarray:
    """N x CLASSES: P(0..6 extended digits), averaged with the mirror image (a mirrored hand has as many)."""
    return over_pixels(partial(mirrored_softmax, net), rgb64, batch, (0, CLASSES))
