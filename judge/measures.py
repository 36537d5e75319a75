"""Measurements on a silhouette, before any judgement: hand-likeness, which digit each tip is, and
scale-free finger measures (widths, lengths, bends) that the rules and the calibration compare."""

from __future__ import annotations

import numpy as np

from core.anatomy import DIGIT_KEYPOINTS, FINGER_RADIUS
from core.vocab import DIGITS
from judge.witnesses.landmarks import Landmarks
from judge.witnesses.silhouette import Silhouette, nominal_hand

KEYS = ("width_rel", "width_palm", "end_rel", "aspect", "aspect_spec", "bend", "length_p", "short_p")


def hand_likeness(sil: Silhouette) -> float:
    """How much of a hand's structure the silhouette net sees: its strongest wrist, knuckle or
    fingertip peak.

    Area and mask confidence alone let soft blobs through (an undertrained generator's
    skin-coloured blob is confidently "hand pixels"), and so does MediaPipe, which gives plain
    skin-coloured ellipses presence 0.8-0.9; a clean render, even a fist, shows a wrist or
    knuckles the net was trained to find.
    """
    extra = sil.maps.extra
    return max(float(extra["wrist"].max()), max(float(extra[f"mcp_{d}"].max()) for d in DIGITS),
               0.8 * float(sil.maps.tips.max()))


def side_view(sil: Silhouette, above: float) -> bool:
    """Is the palm seen edge-on: the view head's P(side view) over `above` (Calibration.side_view_above)?"""
    return sil.side_view is not None and sil.side_view > above


def name_tips(sil: Silhouette, lm: Landmarks | None) -> list[str] | None:
    """Name each silhouette tip by the nearest MediaPipe fingertip (one tip per digit)."""
    if lm is None or not sil.tips:
        return None
    from scipy.optimize import linear_sum_assignment

    tips = sil.to_input(sil.tips)
    mp_tips = lm.points[[DIGIT_KEYPOINTS[d][3] for d in DIGITS]]
    cost = np.linalg.norm(tips[:, None] - mp_tips[None], axis=2)
    rows, cols = linear_sum_assignment(cost)
    named = sorted({DIGITS[c] for c in cols}, key=DIGITS.index)
    return named if len(rows) == len(tips) else named + ["unknown"] * (len(tips) - len(rows))


def _fan_order(sil: Silhouette) -> list[int]:
    """Finger indices sorted by angle around the palm centre (neighbours in the fan)."""
    c = np.asarray(sil.palm_centre)
    bases = np.array([f.base for f in sil.fingers]) - c
    ang = np.arctan2(bases[:, 1], bases[:, 0])
    mean = np.arctan2(np.sin(ang).mean(), np.cos(ang).mean())
    return list(np.argsort((ang - mean + np.pi) % (2 * np.pi)))


def finger_measures(sil: Silhouette, expected: list[str] | None = None) -> dict[str, list[tuple[int, float]]]:
    """Scale-free measurements per finger: (finger index, value) lists, for flags and calibration.

    width_rel: width / median width of the hand's other fingers (two fused fingers are ~1.6x);
    width_palm: width / palm radius (also works for a hand with a single finger);
    end_rel: length of a finger at either end of the fan / its neighbour's (little/ring ~0.78);
    aspect: length / width (a finger far longer than thick);
    aspect_spec: (prompt only) aspect over the table's length/width of the longest asked-for digit
        (a thumbs-up thumb is ~3x as long as wide, a middle finger ~6x);
    bend: degrees the traced finger turns;
    length_p: traced length / P, over the anatomy table's length of the longest digit the prompt
        extends (the middle finger's without a prompt);
    short_p: (prompt only) the shortest finger's length / P over the shortest extended digit's
        table length: a finger bent back towards or away from the viewer looks short.
    """
    out: dict[str, list[tuple[int, float]]] = {k: [] for k in KEYS}
    _shape_measures(sil, expected, out)
    if len(sil.fingers) >= 3:
        _end_measures(sil, out)
    _length_measures(sil, expected, out)
    return out


def _real(sil: Silhouette) -> list[bool]:
    """Fingers traced far enough to be a finger, not a stub."""
    return [f.length > 0 and f.length >= 2 * f.width for f in sil.fingers]


def _shape_measures(sil: Silhouette, expected: list[str] | None, out: dict[str, list[tuple[int, float]]]) -> None:
    """width_rel, width_palm, aspect, aspect_spec and bend of every finger."""
    fs = sil.fingers
    if expected:
        # length/width the anatomy table gives the longest asked-for digit (width at mid-finger)
        _, nominal = nominal_hand()
        table_aspect = max(nominal[d] / (2 * 0.9 * FINGER_RADIUS[d]) for d in expected)
    widths = np.array([f.width for f in fs])
    for i, f in enumerate(fs):
        if len(fs) >= 2:
            out["width_rel"].append((i, f.width / max(float(np.median(np.delete(widths, i))), 1e-3)))
        out["width_palm"].append((i, f.width / max(sil.palm_radius, 1e-3)))
        out["aspect"].append((i, f.length / max(f.width, 1e-3)))
        if expected:
            out["aspect_spec"].append((i, f.length / max(f.width, 1e-3) / table_aspect))
        if f.length >= 3 * f.width:  # shorter traces turn at random
            out["bend"].append((i, f.bend))


def _end_measures(sil: Silhouette, out: dict[str, list[tuple[int, float]]]) -> None:
    """end_rel: each end of the fan against its neighbour."""
    fs, real = sil.fingers, _real(sil)
    order = _fan_order(sil)
    for end, nb in ((order[0], order[1]), (order[-1], order[-2])):
        if real[nb]:  # a neighbour traced to almost nothing says nothing
            out["end_rel"].append((end, fs[end].length / fs[nb].length))


def _length_measures(sil: Silhouette, expected: list[str] | None, out: dict[str, list[tuple[int, float]]]) -> None:
    """length_p and short_p: lengths in units of the palm length P, against the anatomy table."""
    fs, real = sil.fingers, _real(sil)
    median_width = float(np.median([f.width for f in fs])) if fs else 0.0
    if not (sil.palm_length and fs and sil.palm_length >= 2.5 * median_width):  # else P is a misfire
        return
    _, nominal = nominal_hand()
    digits = expected if expected else ["middle"]
    longest = max(nominal[d] for d in digits)
    for i, f in enumerate(fs):
        out["length_p"].append((i, f.length / sil.palm_length / longest))
    if expected and any(real):
        shortest = min(nominal[d] for d in expected)
        i = min((k for k in range(len(fs)) if real[k]), key=lambda k: fs[k].length)
        out["short_p"].append((i, shortest / (fs[i].length / sil.palm_length)))


def widest_finger(sil: Silhouette) -> tuple[int, float]:
    """(index, width over the median of the others) of the widest finger; (-1, 0) with < 2."""
    values = finger_measures(sil)["width_rel"]
    return max(values, key=lambda t: t[1], default=(-1, 0.0))
