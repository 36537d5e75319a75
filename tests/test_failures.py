"""Synthetic generator failures (world.failures): deterministic, each kind doing what its name says."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from core.settings import REPO_ROOT
from world.failures import FAILURES, KINDS, failure, failures
from world.render import render_sample

SEED = 4343


def _edges(img: np.ndarray) -> float:
    g = img.astype(float).mean(2)
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_deterministic_and_changes_the_render(kind):
    a, b = failure(kind, SEED, 3), failure(kind, SEED, 3)
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != failure(kind, SEED, 4).tobytes()
    clean = render_sample(SEED, 3, 64).image
    assert np.abs(a.astype(int) - clean).mean() > 2, kind


def test_labels_are_on_the_raters_scale():
    for kind, f in FAILURES.items():
        assert 1.0 <= f.quality <= 5.0 and f.hand in (True, False, None), kind
    assert not any(FAILURES[k].hand for k in ("blur", "shuffle", "noise", "blobs"))


def test_smears_lose_edges_and_noise_adds_them():
    clean = [render_sample(SEED, i, 64).image for i in range(6)]
    blur = [failure("blur", SEED, i) for i in range(6)]
    noise = [failure("noise", SEED, i) for i in range(6)]
    assert np.mean([_edges(b) for b in blur]) < 0.5 * np.mean([_edges(c) for c in clean])
    assert np.mean([_edges(n) for n in noise]) > np.mean([_edges(c) for c in clean])


def test_half_erased_only_touches_the_hand():
    r = render_sample(SEED, 5, 64)
    img = failure("half_erased", SEED, 5)
    near = np.zeros_like(r.mask)
    ys, xs = np.nonzero(r.mask)
    near[max(ys.min() - 4, 0) : ys.max() + 5, max(xs.min() - 4, 0) : xs.max() + 5] = True
    changed = np.abs(img.astype(int) - r.image).max(2) > 0
    assert changed.any() and not (changed & ~near).any()


def test_ghost_holds_two_hands():
    r, other = render_sample(SEED, 2, 64).image.astype(float), render_sample(SEED, 1_000_002, 64).image.astype(float)
    img = failure("ghost", SEED, 2).astype(float)
    assert np.abs(img - r).mean() > 5 and np.abs(img - other).mean() > 5


def test_failures_cycle_the_kinds():
    images, kinds = failures(2 * len(KINDS), SEED)
    assert len(images) == len(kinds) == 2 * len(KINDS) and kinds[: len(KINDS)] == list(KINDS)
    assert images[1].tobytes() == failure(KINDS[1], SEED, 1).tobytes()
    with pytest.raises(ValueError, match="unknown failure"):
        failure("smudge", SEED, 0)


def test_cli_sheet(tmp_path):
    run = [sys.executable, "-m", "world.failures", "--seed", "1", "--per-kind", "2"]
    out = subprocess.run([*run, "--out", str(tmp_path / "s.png")], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and (tmp_path / "s.png").exists(), out.stderr
    bad = subprocess.run([*run[:-1], "0", "--out", str(tmp_path / "t.png")], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
