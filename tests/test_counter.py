"""The finger counter (judge.witnesses.counter): how it is trained, how the judge reads its count, and the
shipped net on renders it never saw."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from judge import Judge, quality
from judge.judge import DEFAULT_WEIGHTS
from judge.witnesses import counter
from world.render import render_sample

SEED = 4445  # not a training, calibration, validation, quality-fit or counter seed


def test_count_probabilities_read_each_source():
    trees = np.array([[0.1, 0.6, 0.3, 0, 0, 0, 0]])
    net = np.array([[0.1, 0.3, 0.6, 0, 0, 0, 0]])
    assert np.array_equal(quality.count_probabilities("model", trees, net), trees)
    assert np.array_equal(quality.count_probabilities("counter", trees, net), net)
    mixed = quality.count_probabilities("blend", trees, net)
    assert mixed.sum() == pytest.approx(1.0) and mixed[0, 1] == pytest.approx(mixed[0, 2])
    assert mixed[0, 3:].max() < 1e-3  # a count one of them rules out stays out
    with pytest.raises(ValueError, match="finger counter"):
        quality.count_probabilities("counter", trees, None)


def test_augmentations_keep_the_picture_a_picture():
    import torch

    from judge.fit.train_counter import degrade, jitter

    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 3, 64, 64)
    for out in (degrade(x.clone(), g), jitter(x.clone(), g)):
        assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    assert not torch.equal(degrade(x.clone(), g), x)


def test_rater_targets_are_the_counts_people_gave():
    from judge.fit import raters
    from judge.fit.train_counter import rater_set

    rows, images, targets = rater_set(raters.load()[:120])
    assert len(rows) == len(images) == len(targets) > 0
    assert np.allclose(targets.sum(1), 1.0)
    for p, t in zip(rows, targets):
        assert set(np.flatnonzero(t)) == set(p.counts)


CANDIDATE = Path(__file__).resolve().parents[1] / "judge" / "fit" / "candidates" / "counter"


@pytest.fixture(scope="module")
def net():
    """The shipped counter, or the candidate kept beside the fit when the judge does not ship one."""
    path = next((d / counter.WEIGHTS_FILE for d in (DEFAULT_WEIGHTS, CANDIDATE) if (d / counter.WEIGHTS_FILE).exists()),
                None)
    if path is None:
        pytest.skip("no finger counter, shipped or candidate")
    return counter.load_net(path)


def test_the_counter_counts_unseen_renders(net):
    """Renders of a seed it never saw: the counter should get most of them; it was fitted to count as people
    do on generator pictures, so it is held to 70 %, not to the renders' perfection."""
    renders = [render_sample(SEED, i, 64) for i in range(60)]
    p = counter.probabilities(net, [r.image for r in renders])
    truth = np.array([min(r.label["extended_count"], 6) for r in renders])
    assert p.shape == (60, counter.CLASSES) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert np.mean(p.argmax(1) == truth) >= 0.7


def test_a_mirrored_hand_has_as_many_fingers(net):
    image = render_sample(SEED, 1, 64).image
    a, b = counter.probabilities(net, [image, image[:, ::-1].copy()])
    assert np.allclose(a, b, atol=1e-5)


def test_the_shipped_fit_chose_its_count_with_the_shipped_counter():
    meta = json.loads((DEFAULT_WEIGHTS / quality.META).read_text())
    if meta["count_from"] in ("counter", "blend", "stack"):
        assert meta["counter_sha256"] == quality.counter_digest(DEFAULT_WEIGHTS), \
            "counter retrained after the count was chosen: run python -m judge.fit.train_quality"


def test_without_the_counter_the_judge_reports_the_trees_count(tmp_path):
    meta = json.loads((DEFAULT_WEIGHTS / quality.META).read_text())
    if meta["count_from"] not in ("counter", "blend", "stack"):
        pytest.skip("the shipped judge does not read the counter")
    shutil.copytree(DEFAULT_WEIGHTS, tmp_path / "w")
    (tmp_path / "w" / counter.WEIGHTS_FILE).unlink()
    image = render_sample(SEED, 2, 64).image
    without, full = Judge.load(tmp_path / "w"), Judge.load()
    a, b = without.score(image), full.score(image)
    assert without.networks.counter.get_or_none() is None
    assert a.hand_score == pytest.approx(b.hand_score)  # the count never moves the score
    assert a.model_count is not None


def test_a_stacked_fingers_head_reads_the_counter_after_the_features():
    """count_from "stack": the shipped fingers head was fitted on the features plus the counter's P(0..6), so
    the model must hand it those columns, and without them (no counter) still answer from the features."""
    pytest.importorskip("sklearn")
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from judge.fit.train_quality import export, predict_stacked

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    truth = rng.integers(0, 6, 300)
    net = np.eye(counter.CLASSES)[truth] * 0.8 + 0.2 / counter.CLASSES  # a counter that knows
    params = {"max_iter": 20, "max_leaf_nodes": 7, "min_samples_leaf": 5, "random_state": 0}
    fingers = HistGradientBoostingClassifier(**params).fit(np.hstack([x, net]), truth)
    reg = HistGradientBoostingRegressor(**params).fit(x, rng.normal(3, 1, 300))
    hand = HistGradientBoostingClassifier(**params).fit(x, rng.integers(0, 2, 300))
    heads = {"quality": quality.Trees(export(reg)), "hand": quality.Trees(export(hand)),
             "fingers": quality.Trees(export(fingers)), "malformed": quality.Trees(export(hand)), "matches": quality.Trees(export(hand))}
    meta = {"hand_threshold": 0.5, "count_from": "stack", "finger_classes": [int(c) for c in fingers.classes_]}
    model = quality.QualityModel(heads, meta)
    p = model.predict(x, counter_p=net)["p_count"]
    assert np.allclose(p[:, :6], predict_stacked(fingers, x, net)[:, :6])
    assert np.mean(p.argmax(1) == truth) > 0.9
    assert np.isfinite(model.predict(x)["p_count"]).all()  # no counter: its columns are missing, still an answer
