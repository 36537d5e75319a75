"""The judge's calibration: frozen, written once, and what is written is what runs."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from judge import Calibration, Judge
from judge.calibration import FILE, Tolerance
from judge.judge import DEFAULT_WEIGHTS
from judge.witnesses import anatomy_check


def test_the_defaults_in_code_are_the_shipped_calibration():
    """No threshold differs between the code's defaults and the file the judge loads."""
    assert Calibration.load(DEFAULT_WEIGHTS / FILE) == Calibration()
    assert Judge.load().calibration == Calibration()


def test_a_folder_without_a_calibration_runs_on_the_defaults(tmp_path):
    changed = dataclasses.replace(Calibration(), other_look_above=0.5)
    changed.save(tmp_path / "with" / FILE)
    assert Calibration.of_folder(tmp_path / "with") == changed
    assert Calibration.of_folder(tmp_path) == Calibration()


def test_save_and_load_round_trip(tmp_path):
    shipped = Calibration.load(DEFAULT_WEIGHTS / FILE)
    changed = dataclasses.replace(shipped, detector=(0.3, 0.7), tolerance=Tolerance(angle=45.0),
                                  limits={**shipped.limits, "bend": (20.0, 30.0)})
    changed.save(tmp_path / FILE)
    again = Calibration.load(tmp_path / FILE)
    assert again == changed and again.provenance == shipped.provenance
    assert json.loads((tmp_path / FILE).read_text()) == again.to_json()
    data = again.to_json()  # the layout calibrate always wrote: provenance, "cal", "tolerance", the rest
    assert list(data)[:5] == ["seed", "count", "quantile", "cal", "tolerance"]
    assert data["cal"]["limits"]["bend"] == [20.0, 30.0] and data["tolerance"]["angle"] == 45.0
    assert Judge.load(tmp_path).calibration == changed


def test_frozen_and_strict():
    cal = Calibration()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cal.blurry_below = 0.1  # type: ignore[misc]
    with pytest.raises(TypeError):
        cal.limits["bend"] = (0.0, 1.0)  # type: ignore[index]
    with pytest.raises(TypeError):
        Calibration.from_json({"cal": {"blurry_bellow": 0.5}})  # a misspelt threshold is an error, not ignored


def test_anatomy_check_answers_by_its_arguments_only():
    """The tolerance is an argument: loading a judge changes nothing in the witness."""
    world = np.zeros((21, 3))
    world[:, 1] = np.linspace(0, 0.2, 21)
    before = anatomy_check.check(world, Tolerance())
    Judge.load()
    assert anatomy_check.check(world, Tolerance()) == before
    assert not hasattr(anatomy_check, "TOLERANCE")
