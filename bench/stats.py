"""Bootstrap intervals for the claims: a claim holds only when its 95% interval says so."""

from __future__ import annotations

import numpy as np


def mean_ci(values, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high) of a 95% percentile bootstrap."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    if len(v) == 0:
        return (float("nan"),) * 3
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(1)
    return float(v.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def diff_ci(a, b, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(mean(a) - mean(b), low, high): independent resampling of both groups."""
    a = np.asarray([x for x in a if x is not None and np.isfinite(x)], float)
    b = np.asarray([x for x in b if x is not None and np.isfinite(x)], float)
    if len(a) == 0 or len(b) == 0:
        return (float("nan"),) * 3
    rng = np.random.default_rng(seed)
    da = a[rng.integers(0, len(a), (n_boot, len(a)))].mean(1)
    db = b[rng.integers(0, len(b), (n_boot, len(b)))].mean(1)
    d = da - db
    return float(a.mean() - b.mean()), float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))


def paired_diff_ci(a, b, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(mean(a - b), low, high) for matched pairs (same prompt and seed, two settings): resample the pairs."""
    pairs = np.asarray([(x, y) for x, y in zip(a, b) if x is not None and y is not None and np.isfinite(x) and np.isfinite(y)],
                       float).reshape(-1, 2)
    if len(pairs) == 0:
        return (float("nan"),) * 3
    d = pairs[:, 0] - pairs[:, 1]
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), (n_boot, len(d)))].mean(1)
    return float(d.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def verdict(low: float, high: float, expect_positive: bool = True) -> str:
    """'holds' when the whole interval is on the claimed side, 'does not hold' when it is on the
    other side, else 'inconclusive'."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "not measured"
    if expect_positive:
        return "holds" if low > 0 else ("does not hold" if high < 0 else "inconclusive")
    return "holds" if high < 0 else ("does not hold" if low > 0 else "inconclusive")
