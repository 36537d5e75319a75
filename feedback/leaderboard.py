"""The arena's leaderboard: Bradley–Terry ratings of the families and of their variants, from the votes.

The fit is choix's I-LSR on the matrix of wins (`choix.ilsr_pairwise_dense`), not an optimiser written here.
- A decisive vote is a win for the side picked. A tie is half a win for each side (it says the two are equal, which
  pulls their ratings together, as it should).
- "Both bad" says nothing about which is better: it is left out of the fit and counted, per model, beside it.
- Known-answer pairs (a render against a broken render) rate no model and careless sessions' votes are kept apart:
  neither is counted unless asked for (`Store.votes`).
- A pair of one model against itself (two seeds) rates nothing either; at the family level, two variants of one
  family do not count.
A model with fewer than MIN_VOTES fitted votes is listed with its counts but not rated: with one or two votes the
bootstrap cannot show how little is known (a single tie, resampled, is always a tie). Its votes still count in the
fit of the others. Ratings are shown on the Elo scale (1000 + 400·log10 of the BT strength, centred on the models' mean), with a
percentile bootstrap 95 % interval over votes resampled with replacement (`BOOTSTRAP` fits, seeded, so the same
votes give the same table).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import choix
import numpy as np

from feedback.store import Pair, Vote

LEVELS = ("family", "variant")
BOOTSTRAP = 300  # resamples per fit: about 1 s for both tables on the 2-core CPU under load
PRIOR = 0.1  # I-LSR's alpha: a small pseudo-count between every two models, so one that never lost stays finite
ELO_BASE, ELO_SCALE = 1000.0, 400.0 / math.log(10.0)  # BT log-strength 1 = 174 Elo points
SEED = 0
MIN_VOTES = 5  # fitted votes (decisive or tied) a model needs before its rating is shown


@dataclass(frozen=True)
class Comparison:
    """One vote as the fit reads it: two models and the outcome ("a", "b", "tie" or "both_bad")."""

    a: str
    b: str
    outcome: str


@dataclass(frozen=True)
class Rating:
    """One model's line on the leaderboard (rating and interval None when no vote compared it with another)."""

    item: str
    rating: float | None
    low: float | None
    high: float | None
    votes: int  # votes in the fit (decisive and ties)
    wins: int
    ties: int
    both_bad: int  # votes that called both pictures bad: counted, not fitted


OUTCOMES = {"left": "a", "right": "b", "tie": "tie", "both_bad": "both_bad"}


def comparisons(votes: Iterable[tuple[Vote, Pair]], level: str) -> list[Comparison]:
    """The votes as comparisons between models at `level` ("family" or "variant"); known-answer pairs and a model
    set against itself are dropped."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    name = (lambda side: side.family) if level == "family" else (lambda side: side.item)
    out = []
    for vote, pair in votes:
        a, b = name(pair.left), name(pair.right)
        if pair.known_better is None and a != b:
            out.append(Comparison(a, b, OUTCOMES[vote.answer]))
    return out


A_SCORES = {"a": 1.0, "b": 0.0, "tie": 0.5}  # what a comparison gives its first model; the second gets the rest


def win_matrix(comps: list[Comparison], items: list[str], weights: np.ndarray | None = None) -> np.ndarray:
    """wins[i, j]: how often items[i] beat items[j], a tie half a win each; `weights`: how often each comparison
    counts (a bootstrap resample). "Both bad" comparisons must be left out before."""
    return _wins(len(items), *_encoded(comps, items), weights)


def _encoded(comps: list[Comparison], items: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The comparisons as arrays: first model's index, second's, and the first's share of the win."""
    index = {item: k for k, item in enumerate(items)}
    return (np.array([index[c.a] for c in comps], dtype=int), np.array([index[c.b] for c in comps], dtype=int),
            np.array([A_SCORES[c.outcome] for c in comps]))


def _wins(n: int, a: np.ndarray, b: np.ndarray, score: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    weights = np.ones(len(a)) if weights is None else np.asarray(weights, float)
    wins = np.zeros((n, n))
    np.add.at(wins, (a, b), weights * score)
    np.add.at(wins, (b, a), weights * (1.0 - score))
    return wins


def strengths(wins: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Bradley–Terry log-strengths fitted by choix (centred on their mean); `start`: where its iterations begin
    (a bootstrap fit starts from the point estimate: the same answer, sooner)."""
    params = choix.ilsr_pairwise_dense(wins, alpha=PRIOR, initial_params=start)
    return params - params.mean()


def fit(comps: list[Comparison], bootstrap: int = BOOTSTRAP, seed: int = SEED) -> list[Rating]:
    """Every model in `comps`, best first: BT rating, bootstrap 95 % interval, and the votes behind it."""
    items = sorted({c.a for c in comps} | {c.b for c in comps})
    fitted = [c for c in comps if c.outcome != "both_bad"]
    rated = sorted({c.a for c in fitted} | {c.b for c in fitted})
    theta, low, high = {}, {}, {}
    if len(rated) >= 2:
        encoded, n = _encoded(fitted, rated), len(fitted)
        point = strengths(_wins(len(rated), *encoded, None))
        rng = np.random.default_rng(seed)  # each resample: how often each vote is drawn, n draws with replacement
        draws = np.array([strengths(_wins(len(rated), *encoded, rng.multinomial(n, np.full(n, 1 / n))), point)
                          for _ in range(bootstrap)])
        lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
        theta, low, high = (dict(zip(rated, ELO_BASE + ELO_SCALE * values)) for values in (point, lo, hi))
    ratings = []
    for item in items:
        votes = sum(c.outcome != "both_bad" and item in (c.a, c.b) for c in comps)
        shown = votes >= MIN_VOTES
        ratings.append(Rating(item, *(_round(d.get(item)) if shown else None for d in (theta, low, high)), votes=votes,
                              wins=sum((c.outcome == "a" and c.a == item) or (c.outcome == "b" and c.b == item) for c in comps),
                              ties=sum(c.outcome == "tie" and item in (c.a, c.b) for c in comps),
                              both_bad=sum(c.outcome == "both_bad" and item in (c.a, c.b) for c in comps)))
    return sorted(ratings, key=lambda r: (r.rating is None, -(r.rating or 0.0), r.item))


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def leaderboard(votes: Iterable[tuple[Vote, Pair]], level: str, bootstrap: int = BOOTSTRAP) -> list[Rating]:
    """The leaderboard at `level` from (vote, pair) records (`Store.votes(include_careless=False)`)."""
    return fit(comparisons(votes, level), bootstrap)
