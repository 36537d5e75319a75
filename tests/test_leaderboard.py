"""The leaderboard's Bradley–Terry fit on synthetic votes whose true strengths are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from feedback.leaderboard import ELO_BASE, ELO_SCALE, MIN_VOTES, Comparison, comparisons, fit
from feedback.store import RENDER, Pair, Side, Vote

TRUTH = {"diffusion": 1.0, "gan": 0.0, "vae": -1.0}  # BT log-strengths, centred


def simulated(n: int, seed: int, tie_share: float = 0.0) -> list[Comparison]:
    """n votes between random pairs of TRUTH's models, won with the BT probability; some called ties."""
    rng = np.random.default_rng(seed)
    names = sorted(TRUTH)
    out = []
    for _ in range(n):
        a, b = rng.choice(names, 2, replace=False)
        if rng.random() < tie_share:
            out.append(Comparison(str(a), str(b), "tie"))
            continue
        p_a = 1 / (1 + math.exp(TRUTH[b] - TRUTH[a]))
        out.append(Comparison(str(a), str(b), "a" if rng.random() < p_a else "b"))
    return out


def test_the_stronger_model_ranks_first():
    ratings = fit(simulated(600, seed=1))
    assert [r.item for r in ratings] == ["diffusion", "gan", "vae"]
    assert ratings[0].low > ratings[-1].high  # clearly apart, not by luck of the point estimate
    assert sum(r.votes for r in ratings) == 2 * 600


def test_the_interval_holds_the_truth():
    """Over 20 simulated arenas, the 95 % intervals hold the true rating about 95 % of the time (at least 85 % of
    the 60 intervals: a too narrow or misplaced interval fails), and are narrow enough to say something."""
    held, widths = 0, []
    for seed in range(20):
        for r in fit(simulated(1000, seed=100 + seed), bootstrap=200, seed=seed):
            held += r.low <= ELO_BASE + ELO_SCALE * TRUTH[r.item] <= r.high
            widths.append(r.high - r.low)
    assert held >= 51, f"{held} of 60 intervals hold the truth"
    assert max(widths) < 100


def test_ties_pull_together_and_both_bad_is_counted_not_fitted():
    comps = [Comparison("diffusion", "gan", "a")] * 30 + [Comparison("diffusion", "gan", "b")] * 10
    apart = {r.item: r.rating for r in fit(comps, bootstrap=20)}
    tied = {r.item: r.rating for r in fit(comps + [Comparison("diffusion", "gan", "tie")] * 40, bootstrap=20)}
    assert apart["diffusion"] - apart["gan"] > tied["diffusion"] - tied["gan"] > 0
    with_bad = {r.item: r for r in fit(comps + [Comparison("gan", "vae", "both_bad")] * 5, bootstrap=20)}
    assert with_bad["diffusion"].rating == apart["diffusion"] and with_bad["gan"].both_bad == 5
    assert with_bad["vae"].rating is None and with_bad["vae"].votes == 0  # only "both bad" votes: listed, unrated


def test_only_model_against_model_votes_count():
    def pair(left: Side, right: Side, known: str | None = None) -> Pair:
        return Pair("p", "s", "families", "a fist", {}, {}, left, right, known_better=known)

    full, scarce = Side("diffusion", "full", 1, ""), Side("diffusion", "scarce", 1, "")
    gan, render = Side("gan", "full", 1, ""), Side(RENDER, "clean", 1, "")
    vote = Vote("v", "p", "s", "left", (), 900, 0.0)
    votes = [(vote, pair(full, gan)), (vote, pair(full, scarce)), (vote, pair(full, full)),
             (vote, pair(render, Side(RENDER, "extra_finger", 1, ""), known="left"))]
    assert comparisons(votes, "family") == [Comparison("diffusion", "gan", "a")]
    assert comparisons(votes, "variant") == [Comparison("diffusion/full", "gan/full", "a"),
                                              Comparison("diffusion/full", "diffusion/scarce", "a")]
    with pytest.raises(ValueError):
        comparisons(votes, "seed")


def test_a_model_with_too_few_votes_is_listed_not_rated():
    comps = simulated(300, seed=3) + [Comparison("diffusion", "newcomer", "tie")] * (MIN_VOTES - 1)
    ratings = {r.item: r for r in fit(comps, bootstrap=20)}
    assert ratings["newcomer"].rating is None and ratings["newcomer"].low is None
    assert ratings["newcomer"].votes == MIN_VOTES - 1 and ratings["newcomer"].ties == MIN_VOTES - 1
    assert ratings["gan"].rating is not None
    more = {r.item: r for r in fit(comps + [Comparison("diffusion", "newcomer", "tie")], bootstrap=20)}
    assert more["newcomer"].rating is not None
