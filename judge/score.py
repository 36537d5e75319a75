"""The Hand Score: one image (and optionally the prompt's HandSpec) -> a `HandReport`.

Four witnesses, each doing what it is good at:
- the silhouette net (`judge.silhouette`, trained on clean renders only) separates the hand from
  the background and finds extended fingertips: the finger count, widths, lengths and bends
  come from there, because MediaPipe always answers five fingers;
- MediaPipe's landmark model (`judge.landmarks`, trained on real photographs) gives
  hand-likeness and 21 landmarks; `judge.anatomy_check` holds them against the anatomy tables;
- edge acutance at the hand's outline, relative to clean renders, measures blur;
- a learned malformation detector (`judge.defect`, trained on labelled twin renders of its own
  seed) names what the geometry cannot write down: a joint bent back, a finger a bit too long.
Every penalty names what it is for, so a low score explains itself. Thresholds were calibrated
on clean renders (seed 7202; `judge/fit/calibrate.py`), never on generator output.

CLI: python -m judge.score IMG... [--prompt TEXT] [--overlay DIR]   (one JSON line per image)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from core.anatomy import DIGIT_KEYPOINTS, FINGER_RADIUS
from core.vocab import DIGITS, HandSpec
from judge import anatomy_check, defect, landmarks, silhouette

# Calibrated on clean renders (seed 7202) by judge/fit/calibrate.py, which overwrites these
# defaults through judge/weights/scorer_calibration.json.
CAL: dict = {
    "sharpness_ref": 0.35,  # median edge acutance of clean 64 px renders
    "blurry_below": 0.6,  # relative sharpness under which an image is flagged blurry
    "found_confidence": 0.6,  # mean hand probability over the hand pixels
    "found_area": 0.02,  # hand pixels / frame
    "presence_weight": 3.0,  # points for a hand MediaPipe finds not hand-like at all
    # Hand-likeness (see hand_likeness): below "likeness_min" nothing counts as a hand (soft
    # blobs); up to "likeness_low" the score drops. Clean renders' 0.2nd and 5th percentiles.
    "likeness_min": 0.27,
    "likeness_low": 0.5,
    "edge_on_below": 0.30,  # palm half-width / P under which the palm is seen edge-on
    "side_view_above": 0.5,  # view head's P(side view) above which the palm is seen edge-on
    # MediaPipe's anatomy on 64 px drawn hands separated malformed from clean renders at chance
    # (AUROC 0.4-0.6 for finger ratios and joint angles), so its findings count a quarter
    "landmark_weight": 0.25,
    "detector": [0.2, 0.6],  # P(malformed) from the detector: [score starts to drop, flag]
    "detector_points": 45.0,  # points it takes when sure (chosen on seed 7202's malformations)
    # How much the silhouette measures (widths, lengths, bends) count next to the detector: they
    # explain what is wrong, but also take points from healthy hands (chosen with detector_points)
    "geometry_weight": 1.0,
    # Per silhouette measure (see finger_measures): [lo, hi] = clean renders' 90th and 99th
    # percentiles. Above lo the score starts to drop; above hi the flag is raised.
    "limits": {
        "width_rel": [1.4, 1.9],
        "width_palm": [0.55, 0.8],
        "end_rel": [1.1, 1.4],
        "aspect": [8.0, 9.0],
        "aspect_spec": [1.3, 1.6],
        "length_p": [1.3, 1.6],
        "short_p": [2.0, 3.0],
        "bend": [28.0, 40.0],
    },
}
# The same limits for hands the view head sees edge-on: stacked fingers look wide and long there,
# so face-on hands (where malformations show) get limits of their own, from face-on clean renders.
CAL["limits_side"] = dict(CAL["limits"])

# What each silhouette measure is evidence of, and how to say it.
MEASURES: dict[str, tuple[str, str]] = {
    "width_rel": ("fused_fingers", "a finger {v:.2f}x as wide as the hand's others: two fingers grown together?"),
    "width_palm": ("fused_fingers", "a finger {v:.2f} palm radii wide: two fingers grown together?"),
    "end_rel": ("long_finger", "an outer finger {v:.2f}x as long as its neighbour (little/ring is ~0.78)"),
    "aspect": ("long_finger", "a finger {v:.1f}x as long as it is wide"),
    "aspect_spec": ("long_finger", "a finger {v:.2f}x the length/width the anatomy table gives the asked-for digits"),
    "length_p": ("long_finger", "a finger {v:.2f}x as long as the anatomy table allows for the asked-for digits"),
    "short_p": ("joint_past_limit", "a finger {v:.1f}x shorter than the table's shortest asked-for digit: bent back?"),
    "bend": ("joint_past_limit", "a finger turns {v:.0f} deg along its length: a joint bent past its limit?"),
}

CAL_PATH = Path(__file__).resolve().parent / "weights" / "scorer_calibration.json"


def _load_calibration() -> None:
    """Override the defaults above with judge/fit/calibrate.py's output, when present."""
    if CAL_PATH.exists():
        data = json.loads(CAL_PATH.read_text())
        limits = {key: {**CAL[key], **data.get("cal", {}).get(key, {})} for key in ("limits", "limits_side")}
        CAL.update(data.get("cal", {}))
        CAL.update(limits)
        anatomy_check.TOLERANCE.update(data.get("tolerance", {}))


_load_calibration()

# Points taken off per finding at full severity.
WEIGHTS = {
    "finger_count": 30.0,  # per finger more or fewer than the prompt asked for
    "extra_finger": 40.0,  # more than five fingers, prompt or not
    "fused_fingers": 30.0,
    "long_finger": 30.0,
    "joint_past_limit": 25.0,
    "bone_ratio": 10.0,
    "blurry": 15.0,
    "hand_likeness": 20.0,  # at the no-hand limit; nothing above clean renders' 5th percentile
}
# The detector's classes -> the flag each one raises (the silhouette's measures raise the same ones).
DETECTOR_FLAGS = {"extra_finger": "extra_finger", "missing_finger": "missing_finger", "fused_fingers": "fused_fingers",
                  "long_finger": "long_finger", "bent_joint": "joint_past_limit"}

@dataclass
class Penalty:
    """Points taken off and why."""

    points: float
    reason: str


@dataclass
class HandReport:
    """Everything the scorer found about one image. Coordinates are input-image pixels."""

    hand_found: bool
    hand_score: float  # 0..100
    breakdown: dict[str, Penalty] = field(default_factory=dict)
    extended_count: int = 0
    fingertips: list[tuple[float, float]] = field(default_factory=list)
    landmarks: list[tuple[float, float]] | None = None  # MediaPipe, 21 x (x, y)
    presence: float | None = None  # MediaPipe hand-likeness 0..1
    flags: list[str] = field(default_factory=list)
    sharpness: float | None = None  # 1.0 = as sharp as a clean render
    expected_digits: list[str] | None = None
    expected_count: int | None = None
    found_digits: list[str] | None = None  # silhouette tips named by the nearest landmark tip
    gesture_match: bool | None = None
    notes: list[str] = field(default_factory=list)
    _image: np.ndarray | None = field(default=None, repr=False)
    _silhouette: silhouette.Silhouette | None = field(default=None, repr=False)
    _red_points: list[tuple[int, ...]] = field(default_factory=list, repr=False)
    _red_fingers: list[int] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        return {
            "hand_found": self.hand_found,
            "hand_score": round(self.hand_score, 1),
            "extended_count": self.extended_count,
            "flags": self.flags,
            "breakdown": {k: {"points": round(-p.points, 1), "reason": p.reason} for k, p in self.breakdown.items()},
            "fingertips": [[round(x, 1), round(y, 1)] for x, y in self.fingertips],
            "landmarks": None if self.landmarks is None else [[round(x, 1), round(y, 1)] for x, y in self.landmarks],
            "presence": None if self.presence is None else round(self.presence, 3),
            "sharpness": None if self.sharpness is None else round(self.sharpness, 2),
            "expected_digits": self.expected_digits,
            "expected_count": self.expected_count,
            "found_digits": self.found_digits,
            "gesture_match": self.gesture_match,
            "notes": self.notes,
        }

    def overlay(self, size: int = 256) -> Image.Image:
        """The image upscaled, with landmarks, counted fingertips and flagged parts in red."""
        from judge.overlay import draw

        return draw(self, size)


def _as_rgb(image) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an HxWx3 image, got shape {arr.shape}")
    arr = arr[..., :3]
    if arr.dtype != np.uint8:
        arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def sharpness(rgb64: np.ndarray, hand: np.ndarray) -> float | None:
    """Edge acutance at the hand outline: colour gradient / colour step across the edge.

    A sharp edge changes colour within a pixel, a blurred one over several, whatever the
    colours. Relative to clean renders (1.0); noise raises gradients on both sides, so it is
    measured only on the outline and divided by the step it makes.
    """
    import cv2

    if hand.sum() < 20:
        return None
    img = rgb64.astype(np.float32)
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3) / 8
    grad = np.sqrt((gx**2 + gy**2).sum(2))
    m = hand.astype(np.uint8)
    k = np.ones((3, 3), np.uint8)
    edge = (cv2.dilate(m, k) - cv2.erode(m, k)) > 0
    inner = (cv2.erode(m, k) - cv2.erode(m, k, iterations=3)) > 0
    outer = (cv2.dilate(m, k, iterations=3) - cv2.dilate(m, k)) > 0
    if inner.sum() < 5 or outer.sum() < 5:
        return None
    step = float(np.linalg.norm(img[inner].mean(0) - img[outer].mean(0)))
    if step < 8:
        return None
    return float(np.percentile(grad[edge], 75)) / step / CAL["sharpness_ref"]


def hand_likeness(sil: silhouette.Silhouette) -> float:
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


def _name_tips(sil: silhouette.Silhouette, lm: landmarks.Landmarks | None) -> list[str] | None:
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


def _fan_order(sil: silhouette.Silhouette) -> list[int]:
    """Finger indices sorted by angle around the palm centre (neighbours in the fan)."""
    c = np.asarray(sil.palm_centre)
    bases = np.array([f.base for f in sil.fingers]) - c
    ang = np.arctan2(bases[:, 1], bases[:, 0])
    mean = np.arctan2(np.sin(ang).mean(), np.cos(ang).mean())
    return list(np.argsort((ang - mean + np.pi) % (2 * np.pi)))


def finger_measures(sil: silhouette.Silhouette, expected: list[str] | None = None) -> dict[str, list[tuple[int, float]]]:
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
    fs = sil.fingers
    keys = ("width_rel", "width_palm", "end_rel", "aspect", "aspect_spec", "bend", "length_p", "short_p")
    out: dict[str, list[tuple[int, float]]] = {k: [] for k in keys}
    if expected:
        # length/width the anatomy table gives the longest asked-for digit (width at mid-finger)
        _, nominal = silhouette.nominal_hand()
        table_aspect = max(nominal[d] / (2 * 0.9 * FINGER_RADIUS[d]) for d in expected)
    widths = np.array([f.width for f in fs])
    real = [f.length > 0 and f.length >= 2 * f.width for f in fs]  # traced far enough to be a finger, not a stub
    for i, f in enumerate(fs):
        if len(fs) >= 2:
            out["width_rel"].append((i, f.width / max(float(np.median(np.delete(widths, i))), 1e-3)))
        out["width_palm"].append((i, f.width / max(sil.palm_radius, 1e-3)))
        out["aspect"].append((i, f.length / max(f.width, 1e-3)))
        if expected:
            out["aspect_spec"].append((i, f.length / max(f.width, 1e-3) / table_aspect))
        if f.length >= 3 * f.width:  # shorter traces turn at random
            out["bend"].append((i, f.bend))
    if len(fs) >= 3:
        order = _fan_order(sil)
        for end, nb in ((order[0], order[1]), (order[-1], order[-2])):
            if real[nb]:  # a neighbour traced to almost nothing says nothing
                out["end_rel"].append((end, fs[end].length / fs[nb].length))
    median_width = float(np.median(widths)) if fs else 0.0
    if sil.palm_length and fs and sil.palm_length >= 2.5 * median_width:  # else P is a misfire
        _, nominal = silhouette.nominal_hand()
        digits = expected if expected else ["middle"]
        longest = max(nominal[d] for d in digits)
        for i, f in enumerate(fs):
            out["length_p"].append((i, f.length / sil.palm_length / longest))
        if expected and any(real):
            shortest = min(nominal[d] for d in expected)
            i = min((k for k in range(len(fs)) if real[k]), key=lambda k: fs[k].length)
            out["short_p"].append((i, shortest / (fs[i].length / sil.palm_length)))
    return out


def side_view(sil: silhouette.Silhouette) -> bool:
    """Is the palm seen edge-on (the view head's call, as for the finger count)?"""
    return sil.side_view is not None and sil.side_view > silhouette.SIDE_VIEW_ABOVE


def limits_for(sil: silhouette.Silhouette) -> dict[str, list[float]]:
    return CAL["limits_side" if side_view(sil) else "limits"]


def _silhouette_findings(sil: silhouette.Silhouette, expected: list[str] | None, add, red_fingers: list[int]) -> None:
    """Fused, long, bent and doubled fingers from the silhouette measures.

    Per measure, the worst finger counts: between the clean renders' 90th percentile (lo) and
    their 99th (hi) the score drops gently (up to 40 % of the weight) without a flag; past
    hi the flag is raised and the penalty is 50-100 % of the weight; both times geometry_weight.
    """
    scale = CAL["geometry_weight"]
    for key, values in finger_measures(sil, expected).items():
        if not values:
            continue
        i, v = max(values, key=lambda t: t[1])
        lo, hi = limits_for(sil)[key]
        name, text = MEASURES[key]
        if v <= lo:
            continue
        if v <= hi:
            add(name, scale * WEIGHTS[name] * 0.4 * (v - lo) / max(hi - lo, 1e-6), text.format(v=v) + " (within the flag limit)",
                flag="")
            continue
        add(name, scale * WEIGHTS[name] * min(1.0, 0.5 + (v - hi) / max(hi - lo, 1e-6)), text.format(v=v))
        red_fingers.append(i)


def _widest_rel(sil: silhouette.Silhouette) -> tuple[int, float]:
    """(index, width over the median of the others) of the widest finger; (-1, 0) with < 2."""
    values = finger_measures(sil)["width_rel"]
    return max(values, key=lambda t: t[1], default=(-1, 0.0))


def _count_findings(sil: silhouette.Silhouette, expected: list[str], add, red_fingers: list[int]) -> None:
    """Found vs asked-for extended fingers, graded by how sure the tip detector was."""
    diff = sil.count - len(expected)
    if not diff:
        return
    thr, faint = silhouette.TIP_THRESHOLD, silhouette.FAINT_TIP
    if sil.count != len(sil.tips):  # the count head's side-view estimate: as sure as the head
        sure = float(np.clip((sil.estimated_p - 0.5) / 0.4, 0, 1))
    elif diff > 0:  # how clear is the weakest counted tip?
        weakest = sorted(sil.tip_heat)[diff - 1] if sil.tip_heat else 1.0
        sure = float(np.clip((weakest - thr) / (0.8 - thr), 0, 1))
    else:  # was there a faint tip just under the threshold?
        sure = float(1 - np.clip((sil.faint_tip - faint) / (thr - faint), 0, 1))
    edge_on = (sil.side_view is not None and sil.side_view > CAL["side_view_above"]) or (
        sil.palm_width is not None and sil.palm_width < CAL["edge_on_below"])
    if diff < 0 and edge_on:
        add("finger_count", WEIGHTS["finger_count"] * 0.25 * min(-diff, 2),
            f"{sil.count} extended fingers where the prompt asks for {len(expected)}, but the palm is seen "
            "edge-on, where fingers hide behind each other: uncertain", flag="")
        return
    what = "extra_finger" if diff == 1 else "missing_finger" if diff == -1 else "wrong_gesture"
    widest, rel = _widest_rel(sil)
    if diff == -1 and rel > limits_for(sil)["width_rel"][0]:
        what = "fused_fingers"  # one tip short and one finger wider than healthy: two grown together
        red_fingers.append(widest)
    add("finger_count", WEIGHTS["finger_count"] * min(abs(diff), 2) * (0.6 + 0.4 * sure),
        f"{sil.count} extended fingers where the prompt asks for {len(expected)} ({', '.join(expected) or 'none'})",
        flag=what)
    add("finger_count", 0.0, "the hand does not make the asked-for gesture", flag="wrong_gesture")


def _detector_findings(probs: dict[str, float], add) -> None:
    """Penalise what the malformation detector sees: points grow from the clean renders' 90th
    percentile of P(malformed) to 1; the flag needs the 99th (calibration seed 7202)."""
    p_bad = 1.0 - probs["clean"]
    lo, hi = CAL["detector"]
    if p_bad <= lo:
        return
    kind = max(DETECTOR_FLAGS, key=lambda k: probs[k])
    what = kind.replace("_", " ")
    add(DETECTOR_FLAGS[kind], CAL["detector_points"] * (p_bad - lo) / (1 - lo),
        f"the malformation detector sees a hand with a {what} (P = {probs[kind]:.2f}; malformed P = {p_bad:.2f})",
        flag=DETECTOR_FLAGS[kind] if p_bad > hi else "")


@dataclass
class Evidence:
    """What the witnesses saw in one image, before any judgement (reusable for several specs)."""

    rgb: np.ndarray
    sil: silhouette.Silhouette | None
    lm: landmarks.Landmarks | None
    violations: list[anatomy_check.Violation]
    sharpness: float | None
    notes: list[str]
    defect: dict[str, float] | None = None  # the malformation detector's class probabilities


def gather(image, use_landmarks: bool = True, maps: silhouette.Maps | None = None,
           defect_p: dict[str, float] | None = None) -> Evidence:
    """Run the silhouette net, the malformation detector and MediaPipe once (the expensive part
    of scoring). `maps`, `defect_p`: this image's net outputs when `score_set` batched them."""
    rgb = _as_rgb(image)
    small = silhouette.to_input(rgb)
    notes: list[str] = []
    sil = silhouette.analyse(rgb, maps)
    if sil is None:
        notes.append(f"{silhouette.net_error()}: no finger count")
    elif defect_p is None:
        found = defect.probabilities([defect.stack_input(small, sil.maps)])
        defect_p = found[0] if found else None
    lm = landmarks.detect(rgb) if use_landmarks else None
    if lm is None and use_landmarks:
        notes.append(f"mediapipe unavailable ({landmarks.unavailable_reason()}): silhouette-only score")
    violations = anatomy_check.check(lm.world, handedness=lm.handedness) if lm is not None and lm.world is not None else []
    sharp = sharpness(small, sil.hand) if sil is not None else None
    return Evidence(rgb, sil, lm, violations, sharp, notes, defect_p)


def judge(ev: Evidence, spec: HandSpec | None = None) -> HandReport:
    """Turn evidence into a scored report, against the prompt's spec if there is one."""
    sil, lm = ev.sil, ev.lm
    expected = list(spec.extended) if spec is not None and spec.extended is not None else None
    report = HandReport(hand_found=False, hand_score=0.0, notes=list(ev.notes), _image=ev.rgb, _silhouette=sil,
                        expected_digits=expected, expected_count=None if expected is None else len(expected))
    if lm is not None:
        report.presence = lm.presence
        report.landmarks = [tuple(map(float, p)) for p in lm.points]
    likeness = None
    if sil is not None:
        found = sil.area >= CAL["found_area"] and sil.confidence >= CAL["found_confidence"]
        if found:
            likeness = hand_likeness(sil)
            found = likeness >= CAL["likeness_min"]
    else:
        found = lm is not None and lm.presence >= 0.5
    if not found:
        why = "nothing hand-shaped separates from the background" if likeness is None else \
            f"a shape, but no wrist, knuckle or fingertip in it (hand-likeness {likeness:.2f})"
        report.flags = ["no_hand"]
        report.breakdown = {"no_hand": Penalty(100.0, f"no hand found: {why}")}
        report.gesture_match = False if expected is not None else None
        return report
    report.hand_found = True
    breakdown: dict[str, Penalty] = {}
    flags: list[str] = []

    def add(name: str, points: float, reason: str, flag: str | None = None) -> None:
        """Take points off under `name`; raise `flag` (default: the name; "" for none)."""
        if points > 0:
            if name in breakdown:
                breakdown[name].points = min(100.0, breakdown[name].points + points)
                breakdown[name].reason += "; " + reason
            else:
                breakdown[name] = Penalty(points, reason)
        flag = name if flag is None else flag
        if flag and flag not in flags:
            flags.append(flag)

    if sil is not None:
        report.extended_count = sil.count
        report.fingertips = [tuple(map(float, p)) for p in sil.to_input(sil.tips)]
        report.found_digits = _name_tips(sil, lm)
        if sil.count > 5:
            add("extra_finger", WEIGHTS["extra_finger"], f"{sil.count} extended fingers: a hand has at most five")
        if expected is not None:
            report.gesture_match = sil.count == len(expected)
            _count_findings(sil, expected, add, report._red_fingers)
            if not report.gesture_match and "wrong_gesture" not in flags:
                report.gesture_match = None  # fewer fingers than asked, explained by the view
        _silhouette_findings(sil, expected, add, report._red_fingers)
        report.sharpness = ev.sharpness
        if ev.sharpness is not None and ev.sharpness < CAL["blurry_below"]:
            sev = (CAL["blurry_below"] - ev.sharpness) / CAL["blurry_below"]
            add("blurry", WEIGHTS["blurry"] * min(1.0, 0.3 + 2 * sev), f"edges {ev.sharpness:.2f}x as sharp as a clean render")
    if ev.defect is not None:
        _detector_findings(ev.defect, add)
    if likeness is not None:
        lo, hi = CAL["likeness_min"], CAL["likeness_low"]
        if likeness < hi:
            add("hand_likeness", WEIGHTS["hand_likeness"] * (hi - likeness) / (hi - lo),
                f"few hand parts to see (hand-likeness {likeness:.2f}; clean renders > {hi:.2f}): a blob?", flag="")
    if lm is not None:
        points = CAL["presence_weight"] * max(0.0, 1 - 2 * lm.presence)  # only when under 0.5
        if points >= 0.5:
            add("hand_likeness", points, f"MediaPipe hand presence {lm.presence:.2f} (1 = photo-like hand)", flag="")
        if lm.presence >= 0.5:
            kinds = {"finger_ratio": "long_finger", "bone_length": "bone_ratio", "joint_angle": "joint_past_limit"}
            for v in ev.violations:
                name = kinds[v.kind]
                points = WEIGHTS[name] * CAL["landmark_weight"] * min(1.0, 0.3 + 0.3 * v.excess) * lm.presence
                sure = v.excess >= 1.0 and lm.presence >= 0.8  # far past the tolerance, on a clear hand
                add(name, points, "landmarks: " + v.describe(), flag=None if sure else "")
                if sure:
                    report._red_points.append(v.points)
    report.breakdown = breakdown
    report.flags = flags
    report.hand_score = float(max(0.0, 100.0 - sum(p.points for p in breakdown.values())))
    return report


def score(image, spec: HandSpec | None = None, use_landmarks: bool = True) -> HandReport:
    """Score one image (PIL or HxWx3 uint8) against an optional prompt spec."""
    return judge(gather(image, use_landmarks), spec)


MALFORMATIONS = ("extra_finger", "missing_finger", "fused_fingers", "long_finger", "joint_past_limit", "bone_ratio")


@dataclass
class SetReport:
    """One backend's batch, summarised. CIs are 95 % bootstrap intervals over images."""

    n: int
    hand_found_rate: float
    mean_score: float
    score_ci: tuple[float, float]
    finger_count_accuracy: float | None  # extended count == the prompt's, over all images
    malformation_rate: float  # images with a malformation flag, over images with a hand
    kid: tuple[float, float] | None  # (mean, std) against clean renders, see judge.features
    diversity: float | None
    reference_diversity: float | None  # the same meter on clean renders
    sharpness_mean: float | None
    flag_rates: dict[str, float] = field(default_factory=dict)
    reports: list[HandReport] = field(default_factory=list, repr=False)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "reports"}
        return json.loads(json.dumps(out, default=float))


def _bootstrap_ci(values: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    if len(values) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (n_boot, len(values)))].mean(1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def score_set(images, specs=None, reference: np.ndarray | None = None, kid_metrics: bool = True,
              use_landmarks: bool = True) -> SetReport:
    """Score a batch; `specs` is one HandSpec for all, a list (one per image) or None.

    `reference`: clean-render features for KID/diversity (default: 500 clean renders).
    """
    rgbs = [_as_rgb(im) for im in images]
    if specs is None or isinstance(specs, HandSpec):
        specs = [specs] * len(rgbs)
    # one PartNet forward for the whole set; its pooled features are also the KID space
    small = [silhouette.to_input(rgb) for rgb in rgbs]
    maps = silhouette.predict_batch(small) if rgbs else None
    probs = defect.probabilities([defect.stack_input(x, m) for x, m in zip(small, maps)]) if maps else None
    reports = [judge(gather(rgb, use_landmarks, maps[k] if maps else None, probs[k] if probs else None), sp)
               for k, (rgb, sp) in enumerate(zip(rgbs, specs))]
    n = len(reports)
    scores = np.array([r.hand_score for r in reports], float)
    found = [r for r in reports if r.hand_found]
    judged = [r for r in reports if r.expected_count is not None]
    flags = sorted({f for r in reports for f in r.flags})
    sharp = [r.sharpness for r in found if r.sharpness is not None]
    notes = sorted({note for r in reports for note in r.notes})
    kid_value = div = ref_div = None
    if kid_metrics and n >= 2:
        from judge import features

        try:
            ref = features.reference_features() if reference is None else reference
            feats = np.stack([m.features for m in maps]) if maps else features.extract(rgbs)
            kid_value = features.kid(feats, ref)
            div, ref_div = features.diversity(feats, ref), features.reference_diversity(ref)
        except RuntimeError as err:
            notes.append(f"no KID/diversity: {err}")
    return SetReport(
        n=n,
        hand_found_rate=len(found) / max(n, 1),
        mean_score=float(scores.mean()) if n else float("nan"),
        score_ci=_bootstrap_ci(scores),
        finger_count_accuracy=(sum(bool(r.gesture_match) for r in judged) / len(judged)) if judged else None,
        malformation_rate=sum(any(f in MALFORMATIONS for f in r.flags) for r in found) / max(len(found), 1),
        kid=kid_value,
        diversity=div,
        reference_diversity=ref_div,
        sharpness_mean=float(np.mean(sharp)) if sharp else None,
        flag_rates={f: sum(f in r.flags for r in reports) / n for f in flags},
        reports=reports,
        notes=notes,
    )


def _spec(prompt: str | None) -> HandSpec | None:
    if prompt is None:
        return None
    from prompt import parse

    return parse(prompt)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score hands in images: one JSON object per image on stdout.")
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--prompt", default=None, help="what the image was asked to show (sets the expected fingers)")
    parser.add_argument("--overlay", type=Path, default=None, help="write <name>.overlay.png here")
    parser.add_argument("--no-landmarks", action="store_true", help="skip MediaPipe (silhouette-only score)")
    args = parser.parse_args(argv)
    try:
        spec = _spec(args.prompt)
    except ValueError as err:
        print(f"error: bad --prompt: {err}", file=sys.stderr)
        return 2
    images = []
    for path in args.images:
        try:
            with Image.open(path) as im:
                images.append((path, np.asarray(im.convert("RGB"))))
        except (OSError, ValueError) as err:
            print(f"error: cannot read {path}: {type(err).__name__}: {err}", file=sys.stderr)
            return 2
    if args.overlay is not None:
        args.overlay.mkdir(parents=True, exist_ok=True)
    import torch

    from core.settings import threads

    torch.set_num_threads(threads() or 1)  # one image at a time: more threads only contend
    for path, rgb in images:
        report = score(rgb, spec, use_landmarks=not args.no_landmarks)
        out = {"file": str(path), **report.to_dict()}
        if args.overlay is not None:
            target = args.overlay / f"{path.stem}.overlay.png"
            report.overlay().save(target)
            out["overlay"] = str(target)
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
