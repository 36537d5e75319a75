"""Every threshold the judge runs on, in one frozen object that round-trips through its JSON file.

The defaults below are the values that run with the shipped `judge/weights/scorer_calibration.json`
(calibrated on clean renders of seed 7202 by `python -m judge.fit.calibrate`; a few were chosen by
hand and say so). `Calibration.load` reads that file over the defaults; nothing rewrites a
calibration once it is built: a variant is a new object (`dataclasses.replace`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

FILE = "scorer_calibration.json"  # its name in a weights folder
_FIRST = ("seed", "count", "quantile")  # provenance written before the thresholds, as calibrate always wrote it


@dataclass(frozen=True)
class Tolerance:
    """Room past each anatomy limit before the landmark witness reports it, for landmark noise: finger
    ratios (fraction of the limit), bones (fraction of the palm length P), joint angles (degrees).
    Chosen on clean renders so that at most 5 % of healthy hands cross each kind (seed 7202)."""

    ratio: float = 0.5
    bone: float = 0.25
    angle: float = 90.0


def _frozen_limits(limits: Mapping[str, Any]) -> Mapping[str, tuple[float, float]]:
    return MappingProxyType({key: (float(lo), float(hi)) for key, (lo, hi) in limits.items()})


# Per silhouette measure (see judge.measures.finger_measures): (lo, hi) = clean renders' 90th and 99th
# percentiles of each hand's worst finger. Above lo the score starts to drop; above hi the flag is raised.
FACE_ON_LIMITS = {
    "width_rel": (1.25, 1.445), "width_palm": (0.474, 0.571), "end_rel": (1.025, 1.19), "aspect": (7.44, 8.399),
    "aspect_spec": (1.244, 1.614), "bend": (17.831, 24.808), "length_p": (1.167, 1.673), "short_p": (1.063, 1.297),
}
# The same for hands the view head sees edge-on: stacked fingers look wide and long there, so face-on hands
# (where malformations show) get limits of their own, from face-on clean renders.
EDGE_ON_LIMITS = {
    "width_rel": (1.308, 1.961), "width_palm": (0.943, 1.425), "end_rel": (0.245, 1.569), "aspect": (7.161, 10.011),
    "aspect_spec": (1.213, 1.718), "bend": (25.072, 59.796), "length_p": (1.367, 2.277), "short_p": (1.041, 1.371),
}


@dataclass(frozen=True)
class Calibration:
    """The judge's thresholds and weights. Frozen: a different calibration is a different object."""

    sharpness_ref: float = 0.5589  # median edge acutance of clean 64 px renders (sharpness 1.0)
    blurry_below: float = 0.687  # relative sharpness under which an image is flagged blurry
    found_confidence: float = 0.6  # mean hand probability over the hand pixels
    found_area: float = 0.02  # hand pixels / frame
    # Hand-likeness (the silhouette net's strongest wrist/knuckle/tip peak): below likeness_min nothing
    # counts as a hand (soft blobs); up to likeness_low the score drops. Clean renders' 0.2nd and 5th percentiles.
    likeness_min: float = 0.277
    likeness_low: float = 0.527
    presence_weight: float = 3.0  # points for a hand MediaPipe finds not hand-like at all (by hand)
    # The palm is seen edge-on when the view head's P(side view) is above this (seed 7202): the count head then
    # replaces the tip count, and the edge-on limits apply.
    side_view_above: float = 0.3
    # A picture goes to the witnesses trained on many looks when the look net's P(another look) is above this
    # (`judge.fit.train_look`; chosen so that the generators' pictures stay: of the benchmark's 1,680 pictures of the
    # shipped variants none go (`python -m bench.look_check`; none at 0.8, 2 at 0.7), of the raters' 1,248 one (id
    # 1043, a diffusion picture raters call no hand, which the other looks' witnesses call no hand too), of the
    # validation renders 1 in 300. The drawn development looks gain little below it: cartoons 99 %, chalk 100 % and
    # pencil 93 % go at 0.9. The first look head needed 0.9 too: at 0.8 it sent a distilled diffusion smear there,
    # which the rules alone scored 99, not 8)
    other_look_above: float = 0.9
    # MediaPipe's anatomy on 64 px drawn hands separated malformed from clean renders at chance (AUROC
    # 0.4-0.6 for finger ratios and joint angles), so its findings count a quarter (by hand)
    landmark_weight: float = 0.25
    detector: tuple[float, float] = (0.2955, 0.626)  # P(malformed) from the detector: (score starts to drop, flag)
    detector_points: float = 120.0  # points it takes when sure (chosen on seed 7202's malformations)
    # How much the silhouette measures (widths, lengths, bends) count next to the detector: they explain what
    # is wrong, but also take points from healthy hands (chosen with detector_points)
    geometry_weight: float = 0.5
    limits: Mapping[str, tuple[float, float]] = field(default_factory=lambda: FACE_ON_LIMITS)
    limits_side: Mapping[str, tuple[float, float]] = field(default_factory=lambda: EDGE_ON_LIMITS)
    tolerance: Tolerance = Tolerance()
    # Where the numbers came from (seed, count, quantile, checks on the way); written back unchanged.
    provenance: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        lo, hi = self.detector
        object.__setattr__(self, "detector", (float(lo), float(hi)))
        object.__setattr__(self, "limits", _frozen_limits(self.limits))
        object.__setattr__(self, "limits_side", _frozen_limits(self.limits_side))
        if not isinstance(self.tolerance, Tolerance):
            object.__setattr__(self, "tolerance", Tolerance(**self.tolerance))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))

    def limits_for(self, side_view: bool) -> Mapping[str, tuple[float, float]]:
        """The silhouette limits for a hand seen edge-on (`side_view`) or face-on."""
        return self.limits_side if side_view else self.limits

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calibration:
        """The defaults, overridden by what the file gives (limits key by key). An unknown key raises."""
        base = cls()
        values = dict(data.get("cal", {}))
        limits = {key: {**base.limits_for(key == "limits_side"), **values.pop(key, {})}
                  for key in ("limits", "limits_side")}
        tolerance = replace(base.tolerance, **data.get("tolerance", {}))
        provenance = {k: v for k, v in data.items() if k not in ("cal", "tolerance")}
        return replace(base, **values, **limits, tolerance=tolerance, provenance=provenance)

    def to_json(self) -> dict[str, Any]:
        """The file's layout: provenance, "cal" (every threshold), "tolerance", the rest of the provenance."""
        cal: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("limits", "limits_side"):
                cal[f.name] = {key: list(pair) for key, pair in value.items()}
            elif f.name not in ("tolerance", "provenance"):
                cal[f.name] = list(value) if isinstance(value, tuple) else value
        head = {k: self.provenance[k] for k in _FIRST if k in self.provenance}
        tail = {k: v for k, v in self.provenance.items() if k not in _FIRST}
        tol = {f.name: getattr(self.tolerance, f.name) for f in fields(self.tolerance)}
        return {**head, "cal": cal, "tolerance": tol, **tail}

    @classmethod
    def load(cls, path: Path) -> Calibration:
        return cls.from_json(json.loads(Path(path).read_text()))

    @classmethod
    def of_folder(cls, weights_dir: Path) -> Calibration:
        """What a judge loaded from `weights_dir` runs on: its file over the defaults, or the defaults."""
        path = Path(weights_dir) / FILE
        return cls.load(path) if path.exists() else cls()

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
