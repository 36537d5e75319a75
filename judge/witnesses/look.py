"""Which witnesses should judge a picture: P(it is drawn in a look unlike the renders and the generators' pictures).

Why: the witnesses the quality model reads were trained on one look (shaded renders on calm backgrounds), and the
trees were fitted to people on the generators' pictures, which share it. Witnesses retrained on many looks count
clip-art hands far better but agree less with people on the generators' own pictures. So the judge sends each
picture to the witnesses made for its look (`judge.judge.Judge.evaluate`). The head reads what the judge already
has: the silhouette net's pooled features, plus a few statistics of the 64 px picture that tell a drawing's look
(flat areas, ink, colours). A one-hidden-layer head fitted by `python -m judge.fit.train_look`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

LOOK_HEAD_FILE = "look_head.safetensors"
OTHER_LOOKS_DIR = "other_looks"  # in a weights folder: the witnesses trained on many looks, with their calibration


def picture_statistics(small: np.ndarray) -> list[float]:
    """Ten numbers about how a 64 px picture is drawn: flat and hard-edged areas, strong gradients, dark ink and
    bright paper, colourfulness, how many distinct colours, contrast and fine texture."""
    import cv2

    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    edge = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    saturation = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)[..., 1].astype(np.float32)
    coarse = (small // 32).reshape(-1, 3).astype(np.int32)
    colours = len(np.unique(coarse[:, 0] * 64 + coarse[:, 1] * 8 + coarse[:, 2]))
    return [float((edge < 2).mean()), float((edge > 80).mean()), float(np.percentile(edge, 90)),
            float((grey < 50).mean()), float((grey > 220).mean()), float(saturation.mean()), float(saturation.std()),
            float(colours), float(grey.std()), float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())]


def look_features(small: np.ndarray, pooled: np.ndarray) -> np.ndarray:
    """The head's input: the silhouette net's pooled features of the picture, then `picture_statistics`."""
    return np.concatenate([pooled, picture_statistics(small)]).astype(np.float32)


@dataclass(frozen=True)
class LookHead:
    """P(another look) from `look_features`: standardised, one hidden ReLU layer, a sigmoid."""

    weights: dict[str, np.ndarray]

    @classmethod
    def load(cls, path: Path) -> LookHead:
        from safetensors.numpy import load_file

        return cls(load_file(str(path)))

    def probability(self, small: np.ndarray, pooled: np.ndarray) -> float:
        head = self.weights
        z = (look_features(small, pooled) - head["mu"]) / head["sd"]
        logit = (np.maximum(z @ head["w1"] + head["b1"], 0) @ head["w2"] + head["b2"])[0]
        return float(1 / (1 + np.exp(-logit)))
