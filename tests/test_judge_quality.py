"""The quality model fitted to people's eyes (judge.quality) and how the judge reports it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.vocab import HandSpec
from judge import Judge, quality
from judge.judge import DEFAULT_WEIGHTS
from world.failures import failure
from world.render import render_sample

SEED = 4444  # not a training, calibration, validation or quality-fit seed


@pytest.fixture(scope="module")
def judge():
    j = Judge.load()
    if j.networks.silhouette.get_or_none() is None or j.networks.quality.get_or_none() is None:
        pytest.skip(f"{j.networks.silhouette.error or j.networks.quality.error}")
    return j


def test_shipped_model_was_fitted_on_the_shipped_witnesses():
    """The features are the witnesses' outputs: retrained witnesses (or a new calibration) need a new fit,
    python -m judge.fit.train_quality, before they ship."""
    meta = json.loads((DEFAULT_WEIGHTS / quality.META).read_text())
    assert set(meta["witness_sha256"]) == set(quality.WITNESS_FILES)
    stale = {name for name, digest in quality.witness_digests(DEFAULT_WEIGHTS).items()
             if meta["witness_sha256"][name] != digest}
    assert not stale, f"quality model fitted on other {sorted(stale)}: run python -m judge.fit.train_quality"
    assert meta["feature_names"] == quality.feature_names()
    assert 0 < meta["hand_threshold"] < 1 and meta["count_from"] in ("witness", *quality.COUNT_SOURCES)


def _data(n: int = 300, features: int = 7, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features))
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values take the learned side
    return x, rng


def test_numpy_trees_equal_sklearn():
    pytest.importorskip("sklearn")
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from judge.fit.train_quality import export

    x, rng = _data()
    signal = np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) ** 2
    params = {"max_iter": 25, "max_leaf_nodes": 7, "min_samples_leaf": 5, "random_state": 0}
    reg = HistGradientBoostingRegressor(**params).fit(x, signal + rng.normal(0, 0.1, len(x)))
    two = HistGradientBoostingClassifier(**params).fit(x, (signal > 0.5).astype(int))
    many = HistGradientBoostingClassifier(**params).fit(x, np.digitize(signal, [0, 0.7, 1.5]))
    test, _ = _data(50, seed=1)
    assert np.allclose(quality.Trees(export(reg)).raw(test)[:, 0], reg.predict(test))
    assert np.allclose(1 / (1 + np.exp(-quality.Trees(export(two)).raw(test)[:, 0])), two.predict_proba(test)[:, 1])
    raw = quality.Trees(export(many)).raw(test)
    soft = np.exp(raw - raw.max(1, keepdims=True))
    assert np.allclose(soft / soft.sum(1, keepdims=True), many.predict_proba(test))


def _blob() -> np.ndarray:
    import cv2

    img = np.zeros((64, 64, 3), np.float32) + np.linspace(60, 180, 64)[None, :, None]
    cv2.ellipse(img, (32, 34), (14, 11), 30.0, 0, 360, (160.0, 126.0, 86.0), -1)
    return cv2.GaussianBlur(img, (0, 0), 1.5).astype(np.uint8)


def test_smears_and_blobs_are_no_hand_and_a_clean_render_is(judge):
    threshold = judge.networks.quality.get().threshold
    noise = np.random.default_rng(SEED).integers(0, 256, (64, 64, 3)).astype(np.uint8)
    for image in (_blob(), noise, failure("blur", SEED, 0), failure("shuffle", SEED, 2)):
        report = judge.score(image, HandSpec(gesture="fist"))
        assert report.p_hand < threshold and not report.hand_found and report.flags == ["no_hand"], report.to_dict()
        assert report.hand_score < 25 and "doesn't look like a hand" in report.breakdown["no_hand"].reason
    found = [judge.score(render_sample(SEED, i, 64).image) for i in range(6)]
    assert sum(r.hand_found for r in found) >= 5
    assert np.mean([r.p_hand for r in found]) > 0.8


def test_report_carries_the_model_and_adds_up(judge):
    r = render_sample(SEED, 0, 64, spec=HandSpec(gesture="peace"))
    report = judge.score(r.image, HandSpec(gesture="peace"))
    d = report.to_dict()
    for key in ("quality", "p_hand", "p_malformed", "model_count", "witness_count", "witness_score", "hand_score", "hand_found",
                "extended_count", "flags", "breakdown"):
        assert key in d
    json.dumps(d)
    share = judge.networks.quality.get().malformed_share  # the malformed head's say (judge.report.hand_score)
    assert 25 * (report.quality - 1) * (1 - share) - 1e-9 <= report.hand_score <= 25 * (report.quality - 1) + 1e-9
    assert report.hand_score == pytest.approx(100 - sum(p.points for p in report.breakdown.values()))
    assert all(p.reason for p in report.breakdown.values())
    counted_by = judge.networks.quality.get().meta["count_from"]
    assert report.extended_count == (report.witness_count if counted_by == "witness" else report.model_count)


def test_a_low_score_says_why(judge):
    """A broken hand's low score comes with its reasons, never with nothing taken off; and where people would
    call it broken (quality nearer their 2 than their 3), with a flag."""
    from judge.rules import BROKEN_BELOW

    reports = [judge.score(failure(kind, SEED, i)) for kind in ("melt", "ghost", "half_erased") for i in range(3)]
    low = [r for r in reports if r.hand_score < 50]
    broken = [r for r in low if r.quality < BROKEN_BELOW]
    assert len(low) >= 6 and len(broken) >= 5, [(r.hand_score, r.quality) for r in reports]
    for report in low:
        assert report.breakdown and all(p.reason for p in report.breakdown.values()), report.to_dict()
        assert sum(p.points for p in report.breakdown.values()) == pytest.approx(100 - report.hand_score)
    for report in broken:
        assert report.flags, report.to_dict()


def test_without_the_quality_files_the_witnesses_score_and_say_so(tmp_path):
    for path in (p for p in DEFAULT_WEIGHTS.iterdir() if p.is_file()):
        if path.name not in (quality.FILE, quality.META):
            shutil.copy(path, tmp_path / path.name)
    plain = Judge.load(tmp_path)
    if plain.networks.silhouette.get_or_none() is None:
        pytest.skip(str(plain.networks.silhouette.error))
    report = plain.score(render_sample(SEED, 0, 64).image)
    assert report.quality is None and report.hand_score == report.witness_score
    assert any("quality model unavailable" in note and quality.META in note for note in report.notes)
    assert not any(str(tmp_path) in note or str(DEFAULT_WEIGHTS) in note for note in report.notes), report.notes  # shown in the app


def test_rendered_twins_take_their_labels_only_from_the_fits_own_ratings():
    """A held-out source must never set a training label: without rated clean renders the clean twins have no
    quality (they still teach the malformed head, whose label the renderer gives), and the malformed twins carry
    the mean of the malformed renders the fit may see."""
    from judge.fit.raters import RatedPicture
    from judge.fit.train_quality import Table, relabel

    def rated(source: str, q: float) -> RatedPicture:
        return RatedPicture(id=0, path=None, prompt="", source=source, family="render", quality=q, is_hand=True,
                            fingers=None, ratings=1)

    twins = Table(np.zeros((4, 2)), np.full(4, np.nan), np.ones(4), -np.ones(4, int), np.array([0.0, 0, 1, 1]),
                  np.full(4, np.nan), [None] * 4)
    malformed = np.array([False, False, True, True])
    seen = [rated("render", 3.5), rated("render extra_finger", 2.0), rated("render bent_joint", 3.0)]
    assert relabel(twins, malformed, seen).quality.tolist() == [3.5, 3.5, 2.5, 2.5]
    unseen = relabel(twins, malformed, seen[1:])
    assert np.isnan(unseen.quality[:2]).all() and unseen.quality[2:].tolist() == [2.5, 2.5]
    assert unseen.malformed.tolist() == [0.0, 0.0, 1.0, 1.0]


def test_a_pictures_malformed_label_comes_only_from_raters_who_saw_a_hand():
    from judge.fit.raters import _picture

    def row(*ratings):
        return {"id": 1, "file": "x.png", "prompt": "", "source": "gan/full", "family": "gan",
                "ratings": [{"hand": h, "fingers": None, "malformed": m, "quality": 2} for h, m in ratings]}

    assert _picture(row((True, True), (False, None)), Path(".")).malformed == 1.0
    assert _picture(row((True, False), (True, True)), Path(".")).malformed == 0.5
    assert _picture(row((False, None)), Path(".")).malformed is None


def test_a_pictures_matches_label_is_the_share_of_raters_who_said_it_shows_the_prompt():
    from judge.fit.raters import _picture

    def row(*said):
        return {"id": 1, "file": "x.png", "prompt": "a peace sign", "source": "gan/full", "family": "gan",
                "ratings": [{"hand": True, "fingers": 2, "malformed": False, "quality": 3, "matches_prompt": m}
                            for m in said]}

    assert _picture(row(True, False), Path(".")).matches == 0.5
    assert _picture(row(False), Path(".")).matches == 0.0
    assert _picture(row(None), Path(".")).matches is None


def test_the_matches_head_is_in_the_verdict_and_the_report(judge):
    """The verdict and the report carry the matches head's P, the same as the model's prediction; a smear that is
    no hand is not what any prompt asks for."""
    from world.failures import failures

    shipped = judge.networks.quality.get()
    x = np.zeros(len(quality.feature_names()))
    assert shipped.verdict(x).p_matches == pytest.approx(shipped.predict(x[None])["p_matches"][0])
    images, kinds = failures(30, 99400)
    smears = [judge.score(im, HandSpec(gesture="peace")) for im, k in zip(images, kinds) if k in ("blur", "noise")]
    assert smears and all(r.p_matches is not None and r.p_matches < 0.2 for r in smears), [r.p_matches for r in smears]
    assert "p_matches" in smears[0].to_dict()


def test_a_model_fitted_without_the_malformed_head_is_refused_with_the_command_to_run(tmp_path):
    from safetensors.numpy import load_file, save_file

    arrays = load_file(str(DEFAULT_WEIGHTS / quality.FILE))
    save_file({k: v for k, v in arrays.items() if not k.startswith("malformed.")}, str(tmp_path / quality.FILE))
    (tmp_path / quality.META).write_text((DEFAULT_WEIGHTS / quality.META).read_text())
    with pytest.raises(ValueError, match="no malformed head; run python -m judge.fit.train_quality"):
        quality.QualityModel.load(tmp_path)


def test_the_malformed_head_takes_its_share_of_the_score_and_no_more():
    """A picture people would call malformed scores lower, by at most the fitted share of 25 x (quality - 1);
    the verdict carries the malformed head's P and the shipped share."""
    from judge.report import QualityVerdict

    def verdict(p_malformed: float, share: float) -> QualityVerdict:
        return QualityVerdict(quality=4.0, p_hand=0.99, hand_found=True, count=5, count_p=0.9, use_count=True,
                              p_malformed=p_malformed, malformed_share=share)

    assert verdict(0.9, 0.0).score == 75.0
    assert verdict(0.0, 0.4).score == 75.0
    assert verdict(1.0, 0.4).score == pytest.approx(45.0)
    assert verdict(0.5, 0.4).score == pytest.approx(60.0)
    shipped = quality.QualityModel.load(DEFAULT_WEIGHTS)
    x = np.zeros(len(quality.feature_names()))
    assert shipped.verdict(x).p_malformed == pytest.approx(shipped.predict(x[None])["p_malformed"][0])
    assert shipped.verdict(x).malformed_share == shipped.meta["malformed_share"] > 0


def test_the_malformed_head_sees_the_renderers_malformations(judge):
    """Fitted to the raters and to rendered twins whose malformation is known, the head must still tell a
    malformed render from a clean one (seed of its own, never fitted on)."""
    from core.vocab import ANOMALIES
    from judge.metrics import auroc

    clean = [render_sample(SEED, i, 64) for i in range(20)]
    bad = [render_sample(SEED + 1, i, 64, anomaly=ANOMALIES[i % len(ANOMALIES)]) for i in range(20)]
    p_clean = [judge.score(r.image).p_malformed for r in clean]
    p_bad = [judge.score(r.image).p_malformed for r in bad]
    # a render the look net sends to the other looks is judged by the rules alone (no P(malformed)): 1 in 300
    # validation renders, so at most one of these 40
    assert sum(p is None for p in p_clean + p_bad) <= 1
    assert auroc([p for p in p_bad if p is not None], [p for p in p_clean if p is not None]) >= 0.8


def test_malformed_renders_score_below_clean_ones(judge):
    """The issue's bar on the renderer's own malformations (0.95 on validation seed 9303, python -m
    judge.fit.validate), small and on a seed of its own: without the malformed share of the score the
    people-fitted judge ranked them at 0.61."""
    from judge.fit.validate import score_renders, separation

    rows = score_renders(judge, clean=40, per_kind=8, seed=SEED)
    out = separation(rows, per_kind=8, seed=SEED)
    assert out["seed"] == SEED and out["n_clean"] == 40
    assert out["auroc_spec"] >= 0.85, out["auroc_spec_per_kind"]


def test_a_fit_sees_the_blind_rows_of_its_own_rated_pictures_only():
    """Each rated picture is also a row judged without its prompt; a fold that holds a source out must not see
    that source's blind rows either."""
    from judge.fit.raters import RatedPicture
    from judge.fit.train_quality import Extras, Table

    def rated(i: int, source: str) -> RatedPicture:
        return RatedPicture(id=i, path=None, prompt="", source=source, family="gan", quality=2.0, is_hand=True,
                            fingers=None, ratings=1)

    def table(n: int, x0: float) -> Table:
        return Table(np.full((n, 2), x0) + np.arange(n)[:, None], np.full(n, 2.0), np.ones(n), -np.ones(n, int),
                     np.full(n, np.nan), np.full(n, np.nan), [None] * n)

    pictures = [rated(0, "gan/full"), rated(1, "vae/full"), rated(2, "gan/full")]
    extras = Extras(table(1, -100.0), table(0, 0.0), np.zeros(0, bool), pictures, table(3, 10.0))
    seen = extras.table([p for p in pictures if p.source != "gan/full"])
    assert seen.x[:, 0].tolist() == [-100.0, 11.0]  # the failure, then vae/full's blind row alone
    assert len(extras.table(pictures).x) == 4
