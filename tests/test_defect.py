"""The learned malformation detector: names each malformation on a twin render and stays quiet on
the clean twin; its trainer runs end to end on a tiny set.

Cases are twins of seed 4242 (not the detector's training seed 7301, nor calibration 7202 or
validation 9303): the same fully fixed spec rendered clean and with one thing broken. They are
regression cases; how often the detector is right is judge/fit/validate.py's job.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.vocab import ANOMALIES, HandSpec
from judge import Judge
from judge.rules import DETECTOR_FLAGS
from judge.witnesses import defect, silhouette
from world.render import render_sample

JUDGE = Judge.load()
CAL = JUDGE.calibration
pytestmark = pytest.mark.skipif(JUDGE.networks.defect.get_or_none() is None or JUDGE.networks.silhouette.get_or_none() is None,
                                reason="detector or silhouette weights missing")

SEED = 4242
CASES = {  # anomaly -> (gesture, index)
    "extra_finger": ("open_palm", 0),
    "missing_finger": ("open_palm", 1),
    "fused_fingers": ("four", 2),
    "long_finger": ("open_palm", 2),
    "bent_joint": ("peace", 3),
}


def probabilities(image: np.ndarray) -> dict[str, float]:
    maps = silhouette.predict(JUDGE.networks.silhouette.get(), image)
    return defect.probabilities(JUDGE.networks.defect.get(), [defect.stack_input(image, maps)])[0]


@pytest.mark.parametrize("anomaly", ANOMALIES)
def test_detector_names_the_malformation_and_passes_its_clean_twin(anomaly):
    gesture, index = CASES[anomaly]
    spec = HandSpec(gesture=gesture, object="none", view="palm", handedness="right", skin_tone="medium")
    clean = render_sample(SEED, index, 64, spec=spec).image
    broken = render_sample(SEED, index, 64, spec=spec, anomaly=anomaly).image
    p_broken, p_clean = probabilities(broken), probabilities(clean)
    assert max(defect.CLASSES[1:], key=p_broken.get) == anomaly, p_broken
    assert 1 - p_broken["clean"] > CAL.detector[1], p_broken
    assert 1 - p_clean["clean"] < CAL.detector[1], p_clean  # under the flag (1 clean hand in 10 is over lo)
    flag = DETECTOR_FLAGS[anomaly]
    assert flag in JUDGE.score(broken, HandSpec(gesture=gesture)).flags
    assert flag not in JUDGE.score(clean, HandSpec(gesture=gesture)).flags


def test_probabilities_are_a_distribution_and_mirror_invariant():
    image = render_sample(SEED, 5, 64).image
    p = probabilities(image)
    assert set(p) == set(defect.CLASSES) and abs(sum(p.values()) - 1) < 1e-5
    q = probabilities(np.ascontiguousarray(image[:, ::-1]))
    assert all(abs(p[k] - q[k]) < 0.05 for k in p)  # test-time flip averaging: nearly the same answer


def test_training_smoke(tmp_path, monkeypatch):
    """A few steps on 30 renders: the trainer renders, caches, trains and writes loadable weights."""
    from safetensors.torch import load_file

    from judge.fit import train_defect as defect_train

    monkeypatch.setenv("HANDS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "defect.safetensors"
    assert defect_train.main(["--pairs", "10", "--generic", "10", "--epochs", "1", "--batch", "8", "--out", str(out)]) == 0
    net = defect.DefectNet()
    net.load_state_dict(load_file(str(out)))
    assert any(p.abs().sum() > 0 for p in net.parameters())
    assert list((tmp_path / "cache").glob("defect-*.npz"))
