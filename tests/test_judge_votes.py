"""The judge's quality model refitted with the arena's votes (judge.fit.votes, bench.refit_judge): a Bradley–Terry layer
that learns what the votes prefer beyond the raters' trees, kept only when it helps on sessions it never saw."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from bench import refit_judge
from judge import Judge, quality
from judge.fit import votes
from judge.judge import DEFAULT_WEIGHTS

N_FEATURES = len(quality.feature_names())
HIDDEN = quality.feature_names().index("sat_mean")  # what the synthetic voters care about


@pytest.fixture
def model() -> quality.QualityModel:
    return quality.QualityModel.load(DEFAULT_WEIGHTS)


def synthetic_votes(n: int, informative: bool, seed: int = 0) -> votes.Comparisons:
    """n votes from 20 sessions on random feature rows; informative voters prefer the higher HIDDEN feature (a
    Bradley–Terry draw), the others flip a coin."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, N_FEATURES)), rng.normal(size=(n, N_FEATURES))
    p_a = 1 / (1 + np.exp(-4 * (a[:, HIDDEN] - b[:, HIDDEN]))) if informative else np.full(n, 0.5)
    a_wins = rng.random(n) < p_a
    winner, loser = np.where(a_wins[:, None], a, b), np.where(a_wins[:, None], b, a)
    return votes.Comparisons(winner, loser, np.array([f"s{i % 20}" for i in range(n)]))


def test_the_layer_learns_what_voters_prefer_and_is_measured_on_other_sessions(model):
    informative = votes.held_out(model, synthetic_votes(400, True))
    assert informative["trees_and_votes"] > informative["trees"] + 0.15, informative
    layer = votes.fit_layer(model, synthetic_votes(400, True))
    assert int(np.abs(layer.weight).argmax()) == HIDDEN
    coin = votes.held_out(model, synthetic_votes(400, False))
    assert coin["trees_and_votes"] < 0.6, coin


def test_a_layer_round_trips_through_the_weights_and_adds_to_the_trees(model, tmp_path):
    for name in (quality.FILE, quality.META):
        shutil.copy(DEFAULT_WEIGHTS / name, tmp_path / name)
    layer = votes.fit_layer(model, synthetic_votes(400, True))
    votes.write_layer(layer, {"votes": 400}, tmp_path)
    loaded = quality.QualityModel.load(tmp_path)
    assert json.loads((tmp_path / quality.META).read_text())[quality.LAYER] == {"votes": 400}
    x = synthetic_votes(50, True, seed=1).winner
    expected = np.clip(model.predict(x)["quality"] + layer.shift(x), 1, 5)
    assert np.allclose(loaded.predict(x)["quality"], expected)
    assert np.allclose(loaded.predict(x, with_layer=False)["quality"], model.predict(x)["quality"])
    assert not np.allclose(loaded.predict(x)["quality"], model.predict(x)["quality"])


@pytest.mark.parametrize("informative", [True, False])
def test_refit_writes_the_layer_only_when_it_helps(tmp_path, monkeypatch, informative):
    for name in ("quality.safetensors", "quality.json"):
        shutil.copy(DEFAULT_WEIGHTS / name, tmp_path / name)
    comparisons = synthetic_votes(300, informative)
    rows = {"votes-winners": comparisons.winner, "votes-losers": comparisons.loser}
    monkeypatch.setattr("judge.fit.train_quality.extract", lambda judge, images, prompts, name: (rows[name], []))
    monkeypatch.setattr(votes, "rater_spearman", lambda model, layer, judge: 0.8)
    judge = Judge.load(tmp_path)
    report = votes.refit(judge, [None] * 300, [None] * 300, ["a fist"] * 300, list(comparisons.session), write=True)
    assert report["refitted"] is informative, report
    assert (quality.QualityModel.load(tmp_path).votes is not None) is informative


def test_too_few_votes_change_nothing_and_say_why(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HANDS_DATA", str(tmp_path / "data"))
    before = (DEFAULT_WEIGHTS / quality.FILE).read_bytes()
    assert refit_judge.main(["--out", str(tmp_path / "votes.json")]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"not refitted: 0 decisive votes from 0 sessions: the layer needs {votes.MIN_VOTES} from {votes.MIN_SESSIONS}"
    assert json.loads((tmp_path / "votes.json").read_text())["refitted"] is False
    assert (DEFAULT_WEIGHTS / quality.FILE).read_bytes() == before
