"""Refit the judge's quality model with the arena's votes (issue 17, part 3): a Bradley–Terry layer over the trees.

    python -m bench.refit_judge              # draws the voted pictures again (bench may import the generators), then
                                             # `refit` here: results/judge_votes.json, and the layer when it helps

Why a layer and not more rows. A vote says which of two pictures one person preferred, not where either sits on the
raters' 1-5 scale, so it cannot become a row of the quality regression without inventing a number. Reward models
learnt from comparisons use the Bradley–Terry likelihood; here it sits on the rater-fitted trees:
    P(w preferred to l) = sigmoid(KAPPA (s_w - s_l)),   s = q + b . z
with q the trees' quality (an offset, not refitted), z the features standardised on the voted pictures (NaN -> 0,
the mean) and b the layer, fitted by maximum likelihood with an L2 penalty (PENALTY), so with few or idle votes b
stays near 0 and the raters' fit stands. KAPPA fixes the scale the votes are read on: a picture one quality point
better is preferred with probability sigmoid(KAPPA) = 0.88. It is fixed, not fitted, because the trees' own slope is
unknown wherever they carry little of what the voters see (fitted, it falls towards 0 and b / slope blows up).
The refitted quality is q + b . z, clipped to 1-5.

Kept only when it helps on people it never saw: the votes are split by session (GroupKFold over sessions), and the
layer's held-out pair accuracy must beat the trees' own; and it must not cost the raters: the Spearman of the Hand
Score against the raters' quality, on the rater set's generated pictures, may fall by at most MAX_RATER_LOSS. (The
trees were fitted on those pictures, so that Spearman is not a held-out figure; what it measures is how far the
layer, fitted on votes alone, moves the raters' order.) Needs MIN_VOTES decisive votes from MIN_SESSIONS sessions.
Ties and "both bad" say nothing about which picture is better, known-answer pairs test the voter, and careless
sessions' votes are kept apart by the store: none of them is fitted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from judge import quality

KAPPA = 2.0  # the votes' scale: one quality point better is preferred 88 % of the time
PENALTY = 10.0  # L2 strength on the layer's weights (per standardised feature, in log-likelihood units)
FOLDS = 5
MIN_VOTES, MIN_SESSIONS = 50, 5
MAX_RATER_LOSS = 0.01


@dataclass(frozen=True)
class Comparisons:
    """Decisive votes as feature rows: the preferred picture's, the other's, and the session that voted."""

    winner: np.ndarray  # (n, features)
    loser: np.ndarray
    session: np.ndarray  # (n,) the voter's anonymous session id

    def __len__(self) -> int:
        return len(self.session)

    def take(self, idx: np.ndarray) -> Comparisons:
        return Comparisons(self.winner[idx], self.loser[idx], self.session[idx])


def fit_layer(model: quality.QualityModel, c: Comparisons) -> quality.VoteLayer:
    """The layer fitted on `c`: the penalised Bradley–Terry likelihood of the votes, the trees' quality as an offset
    (module docstring), minimised by scipy's L-BFGS with its exact gradient."""
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    both = np.vstack([c.winner, c.loser])
    with np.errstate(all="ignore"):
        mean, scale = np.nan_to_num(np.nanmean(both, 0)), np.nanstd(both, 0)
    scale = np.where(np.isfinite(scale) & (scale > 1e-9), scale, 1.0)
    layer = quality.VoteLayer(mean, scale, np.zeros(both.shape[1]))
    z = layer.standardised(c.winner) - layer.standardised(c.loser)
    offset = KAPPA * (base_quality(model, c.winner) - base_quality(model, c.loser))

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        margin = offset + KAPPA * z @ w
        grad = -KAPPA * z.T @ expit(-margin) + PENALTY * w
        return float(-log_expit(margin).sum() + 0.5 * PENALTY * w @ w), grad

    w = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B").x
    return quality.VoteLayer(mean, scale, w)


def base_quality(model: quality.QualityModel, x: np.ndarray) -> np.ndarray:
    """The trees' quality alone (a model that already carries a layer is refitted from its trees)."""
    return model.predict(x, with_layer=False)["quality"]


def agreement(model: quality.QualityModel, c: Comparisons, layer: quality.VoteLayer | None) -> np.ndarray:
    """Per vote: 1 when the preferred picture gets the higher quality, 0 when the lower, 0.5 on a tie."""
    q_w, q_l = base_quality(model, c.winner), base_quality(model, c.loser)
    if layer is not None:
        q_w, q_l = np.clip(q_w + layer.shift(c.winner), 1, 5), np.clip(q_l + layer.shift(c.loser), 1, 5)
    return (q_w > q_l) + 0.5 * (q_w == q_l)


def held_out(model: quality.QualityModel, c: Comparisons) -> dict[str, float]:
    """Pair accuracy of the trees and of trees + layer on sessions the layer never saw (GroupKFold by session)."""
    from sklearn.model_selection import GroupKFold

    trees, layered = np.zeros(len(c)), np.zeros(len(c))
    for train, test in GroupKFold(n_splits=min(FOLDS, len(set(c.session)))).split(c.winner, groups=c.session):
        trees[test] = agreement(model, c.take(test), None)
        layered[test] = agreement(model, c.take(test), fit_layer(model, c.take(train)))
    return {"trees": round(float(trees.mean()), 4), "trees_and_votes": round(float(layered.mean()), 4)}


def rater_spearman(model: quality.QualityModel, layer: quality.VoteLayer | None, judge) -> float:
    """Spearman of the Hand Score (with `layer` in the quality's place) against the raters' quality, on the rater set's
    generated pictures (`judge.fit.raters`): how far the layer moves the order people gave."""
    from scipy.stats import spearmanr

    from judge.fit import raters
    from judge.fit.train_quality import rater_table
    from judge.report import hand_score

    pictures = [p for p in raters.load() if p.generated]
    table = rater_table(judge, pictures)
    q = base_quality(model, table.x)
    if layer is not None:
        q = np.clip(q + layer.shift(table.x), 1, 5)
    score = hand_score(q, model.predict(table.x, with_layer=False)["p_malformed"], model.malformed_share)
    return float(spearmanr(score, table.quality).statistic)


def write_layer(layer: quality.VoteLayer, info: dict, weights_dir: Path) -> None:
    """Add (or replace) the layer in the quality model's files; the trees stay as they are."""
    from safetensors.numpy import load_file, save_file

    arrays = {k: v for k, v in load_file(str(weights_dir / quality.FILE)).items() if not k.startswith(quality.LAYER + ".")}
    save_file({**arrays, **layer.arrays()}, str(weights_dir / quality.FILE))
    meta = json.loads((weights_dir / quality.META).read_text())
    (weights_dir / quality.META).write_text(json.dumps({**meta, quality.LAYER: info}, indent=1) + "\n")


def refit(judge, winners: list[np.ndarray], losers: list[np.ndarray], prompts: list[str], sessions: list[str],
          write: bool) -> dict:
    """The votes' layer measured on sessions it never saw, and written into the judge's weights only when it beats the
    trees there and keeps the raters' order (module docstring). Returns what was measured and decided."""
    from judge.fit.train_quality import extract

    model = quality.QualityModel.load(judge.weights_dir)
    report = {"votes": len(sessions), "sessions": len(set(sessions)), "min_votes": MIN_VOTES,
              "min_sessions": MIN_SESSIONS, "refitted": False}
    if len(sessions) < MIN_VOTES or len(set(sessions)) < MIN_SESSIONS:
        return {**report, "why": f"{len(sessions)} decisive votes from {len(set(sessions))} sessions: the layer needs "
                                 f"{MIN_VOTES} from {MIN_SESSIONS}"}
    x_w, _ = extract(judge, winners, prompts, "votes-winners")
    x_l, _ = extract(judge, losers, prompts, "votes-losers")
    votes = Comparisons(x_w, x_l, np.asarray(sessions))
    report["held_out_pair_accuracy"] = held_out(model, votes)
    layer = fit_layer(model, votes)
    report["rater_spearman"] = {"trees": round(rater_spearman(model, None, judge), 4),
                                "trees_and_votes": round(rater_spearman(model, layer, judge), 4)}
    acc, rho = report["held_out_pair_accuracy"], report["rater_spearman"]
    if acc["trees_and_votes"] <= acc["trees"]:
        report["why"] = "on sessions it never saw the layer agrees with the votes no better than the trees alone"
    elif rho["trees_and_votes"] < rho["trees"] - MAX_RATER_LOSS:
        report["why"] = f"the layer moves the raters' order by more than {MAX_RATER_LOSS} of Spearman"
    else:
        report.update(refitted=True, why="the layer beats the trees on held-out sessions and keeps the raters' order")
        if write:
            write_layer(layer, {k: v for k, v in report.items() if k != "why"}, judge.weights_dir)
    return report
