"""Set-level metrics in a feature space we own: KID against clean renders, and diversity; the
summary of a scored set; and the AUROC by which the scorer and its detector are judged.

Feature space: the encoder of our silhouette net (`judge.witnesses.silhouette.PartNet`, trained on clean
renders only), average-pooled at its three scales plus max-pooled at the coarsest: 116 numbers
per image. Why this and not Inception: Inception weights cannot be had offline here, and an
ImageNet embedding would mostly measure backgrounds and colours. Our encoder was trained to find
hand pixels, extended fingers and fingertips, so its features move with what we care about
(finger layout, hand shape, edge quality) and less with background colour; it is 0.3 MB, runs on
CPU in milliseconds and is independent of the generators (it never saw their output). Caveat:
numbers are comparable only between runs with the same weights file.

Features are standardised with the reference set's mean and spread, so no channel dominates the
polynomial kernel (KID uses torchmetrics' implementation, degree 3, gamma 1/d).
The clean-render reference set and its diversity are computed once per `Judge` (its `reference_features`).
"""

from __future__ import annotations

import warnings

import numpy as np

from judge.image import as_rgb
from judge.report import HandReport, SetReport
from judge.rules import MALFORMATIONS
from judge.witnesses.silhouette import to_input


def extract(net, images, batch: int = 256) -> np.ndarray:
    """N images (HxWx3 uint8, any size) -> N x 116 float32 features of the silhouette net `net`."""
    import torch

    out = []
    arr = [to_input(as_rgb(im)) for im in images]
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


def bootstrap_ci(values: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of the mean."""
    if len(values) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (n_boot, len(values)))].mean(1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def summarise(reports: list[HandReport], kid_value: tuple[float, float] | None = None, div: float | None = None,
              ref_div: float | None = None, notes: list[str] | None = None) -> SetReport:
    """A set's reports as one SetReport: rates, mean score and its CI; `notes` follow the reports' own."""
    n = len(reports)
    scores = np.array([r.hand_score for r in reports], float)
    found = [r for r in reports if r.hand_found]
    judged = [r for r in reports if r.expected_count is not None]
    flags = sorted({f for r in reports for f in r.flags})
    sharp = [r.sharpness for r in found if r.sharpness is not None]
    return SetReport(
        n=n,
        hand_found_rate=len(found) / max(n, 1),
        mean_score=float(scores.mean()) if n else float("nan"),
        score_ci=bootstrap_ci(scores),
        finger_count_accuracy=(sum(bool(r.gesture_match) for r in judged) / len(judged)) if judged else None,
        malformation_rate=sum(any(f in MALFORMATIONS for f in r.flags) for r in found) / max(len(found), 1),
        kid=kid_value,
        diversity=div,
        reference_diversity=ref_div,
        sharpness_mean=float(np.mean(sharp)) if sharp else None,
        flag_rates={f: sum(f in r.flags for r in reports) / n for f in flags},
        reports=reports,
        notes=sorted({note for r in reports for note in r.notes}) + list(notes or []),
    )


def auroc(pos, neg) -> float:
    """P(score of a positive > score of a negative), ties count half (torchmetrics' binary AUROC).

    The scores go in as ranks scaled into [0, 1]: torchmetrics reads values outside [0, 1] as logits and
    squashes them with a sigmoid, which ties every Hand Score above ~37 at exactly 1.0 (AUROC is a
    rank statistic, so ranks change nothing else)."""
    import torch
    from scipy.stats import rankdata
    from torchmetrics.functional.classification import binary_auroc

    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    values = np.concatenate([pos, neg])
    preds = torch.from_numpy(rankdata(values) / max(len(values), 1))
    target = torch.cat([torch.ones(len(pos), dtype=torch.long), torch.zeros(len(neg), dtype=torch.long)])
    return float(binary_auroc(preds, target, thresholds=None))
