"""Set metrics of the judge that every figure leans on."""

from __future__ import annotations

import numpy as np

from judge.metrics import auroc


def test_auroc_is_a_rank_statistic_at_any_scale():
    """Hand Scores are 0-100: a perfect separation must read 1.0, not ties squashed by a sigmoid."""
    assert auroc([90, 80, 70], [50, 60, 40]) == 1.0
    assert auroc([0.9, 0.8, 0.7], [0.5, 0.6, 0.4]) == 1.0
    assert auroc([40, 50], [90, 95]) == 0.0
    assert auroc([1, 1], [1, 0]) == 0.75  # ties count half


def test_auroc_matches_the_pair_count():
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(60, 20, 40), rng.normal(50, 20, 50)
    pairs = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert abs(auroc(pos, neg) - pairs) < 1e-6  # torchmetrics computes in float32
