"""Set-level metrics in a feature space we own: KID against clean renders, and diversity; and the
AUROC by which the scorer and its detector are judged.

Feature space: the encoder of our silhouette net (`judge.silhouette.PartNet`, trained on clean
renders only), average-pooled at its three scales plus max-pooled at the coarsest: 116 numbers
per image. Why this and not Inception: Inception weights cannot be had offline here, and an
ImageNet embedding would mostly measure backgrounds and colours. Our encoder was trained to find
hand pixels, extended fingers and fingertips, so its features move with what we care about
(finger layout, hand shape, edge quality) and less with background colour; it is 0.3 MB, runs on
CPU in milliseconds and is independent of the generators (it never saw their output). Caveat:
numbers are comparable only between runs with the same weights file.

Features are standardised with the reference set's mean and spread, so no channel dominates the
polynomial kernel (KID uses torchmetrics' implementation, degree 3, gamma 1/d).
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from judge.silhouette import SIZE, load_net, to_input


def extract(images, batch: int = 256) -> np.ndarray:
    """N images (HxWx3 uint8, any size) -> N x 116 float32 features."""
    import torch

    net = load_net()
    if net is None:
        raise RuntimeError("silhouette weights unavailable: no feature space for KID")
    out = []
    from judge.score import _as_rgb

    arr = [to_input(_as_rgb(im)) for im in images]
    for s in range(0, len(arr), batch):
        x = torch.from_numpy(np.stack(arr[s : s + batch]).astype(np.float32).transpose(0, 3, 1, 2) / 255.0)
        with torch.inference_mode():
            out.append(net.forward_with_features(x)[1].numpy())
    return np.concatenate(out) if out else np.zeros((0, 116), np.float32)


def standardise(feats: np.ndarray, ref: np.ndarray) -> np.ndarray:
    mu, sd = ref.mean(0), ref.std(0) + 1e-6
    return ((feats - mu) / sd).astype(np.float32)


def kid(fake: np.ndarray, real: np.ndarray, subsets: int = 50, seed: int = 0) -> tuple[float, float]:
    """KID (mean, std over subsets) between feature sets, standardised on `real`."""
    import torch
    from torchmetrics.image.kid import KernelInceptionDistance

    ref = real
    size = int(min(len(fake), len(real), 1000))
    if size < 2:
        raise ValueError("KID needs at least 2 images in each set")
    with warnings.catch_warnings():  # "will save all extracted features": we pass features
        warnings.simplefilter("ignore", UserWarning)
        metric = KernelInceptionDistance(feature=torch.nn.Identity(), subsets=subsets, subset_size=size)
    metric.update(torch.from_numpy(standardise(real, ref)).double(), real=True)
    metric.update(torch.from_numpy(standardise(fake, ref)).double(), real=False)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def diversity(feats: np.ndarray, ref: np.ndarray) -> float:
    """Mean pairwise Euclidean distance of standardised features: the mode-collapse meter.

    A collapsed generator repeating one hand scores near 0; clean renders score the value
    `diversity(ref, ref)` (report both).
    """
    d = pair_distances(feats, ref)
    return float(d.mean()) if len(d) else 0.0


def pair_distances(feats: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Euclidean distance of every pair of images (upper triangle), in features standardised on `ref`."""
    z = standardise(feats, ref).astype(np.float64)
    sq = (z**2).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None] - 2 * z @ z.T, 0)
    return np.sqrt(d2)[np.triu_indices(len(z), 1)]


_ref_diversity: dict[bytes, float] = {}


def reference_diversity(ref: np.ndarray) -> float:
    """`diversity(ref, ref)`, remembered per reference set (500 x 500 distances on every
    `score_set` call otherwise)."""
    import hashlib

    key = hashlib.blake2b(np.ascontiguousarray(ref).tobytes(), digest_size=16).digest() + str(ref.shape).encode()
    if key not in _ref_diversity:
        if len(_ref_diversity) > 8:
            _ref_diversity.clear()
        _ref_diversity[key] = diversity(ref, ref)
    return _ref_diversity[key]


_reference: dict[tuple[int, int], np.ndarray] = {}
_reference_lock = threading.Lock()


def reference_features(count: int = 500, seed: int = 7303) -> np.ndarray:
    """Features of `count` clean renders (seed 7303: neither training nor calibration).

    Computed once per process (a lock, so the app's warm-up thread and a first request don't both do it)."""
    key = (count, seed)
    with _reference_lock:
        if key not in _reference:
            from world.render import render_sample

            _reference[key] = extract([render_sample(seed, i, SIZE).image for i in range(count)])
        return _reference[key]


def auroc(pos, neg) -> float:
    """P(score of a positive > score of a negative), ties count half (torchmetrics' binary AUROC)."""
    import torch
    from torchmetrics.functional.classification import binary_auroc

    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    preds = torch.from_numpy(np.concatenate([pos, neg]))
    target = torch.cat([torch.ones(len(pos), dtype=torch.long), torch.zeros(len(neg), dtype=torch.long)])
    return float(binary_auroc(preds, target, thresholds=None))
