"""Anatomy from MediaPipe's 3D world landmarks: finger-length ratios, bone ratios, joint angles.

All limits come from `core.anatomy` (the notes' tables); nothing is copied here. Angles and
lengths are measured in 3D because a 2D projection distorts both. The landmark model is an
independent judge, but on small drawn hands its points are only roughly right (PCK@0.3P ~0.6
on 64 px renders), so every limit gets a measurement tolerance, calibrated on clean renders so
that healthy hands rarely cross it (`judge.calibration.Tolerance`, always passed in).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.anatomy import BONE_RANGE, DIGIT_KEYPOINTS, FINGERS, JOINT_LIMITS, RATIO_FLAGS, digit_length
from judge.calibration import Tolerance


@dataclass
class Violation:
    """One measurement past its limit (beyond the tolerance)."""

    kind: str  # "finger_ratio", "bone_length" or "joint_angle"
    where: str  # e.g. "little/middle", "index PIP"
    value: float
    limit: tuple[float, float]
    excess: float  # how far past the tolerated limit, in units of the tolerance
    points: tuple[int, ...]  # landmark indices to draw in red

    def describe(self) -> str:
        unit = "deg" if self.kind == "joint_angle" else ""
        return f"{self.where} {self.value:.2f}{unit} outside [{self.limit[0]:g}, {self.limit[1]:g}]"


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v) + 1e-9)


def _signed(u: np.ndarray, v: np.ndarray, axis: np.ndarray) -> tuple[float, float]:
    """Bend from u to v about `axis` (deg, flexion) and out of that plane (deg, sideways)."""
    up = u - np.dot(u, axis) * axis
    vp = v - np.dot(v, axis) * axis
    flex = np.degrees(np.arctan2(np.dot(np.cross(up, vp), axis), np.dot(up, vp)))
    side = np.degrees(np.arcsin(np.clip(np.dot(v, axis), -1, 1)) - np.arcsin(np.clip(np.dot(u, axis), -1, 1)))
    return float(flex), float(side)


def joint_angles(world: np.ndarray, handedness: str | None = None) -> dict[str, tuple[float, float, tuple[int, int, int]]]:
    """Flexion and sideways bend (deg) at each joint: name -> (flex, sideways, landmark ids).

    Each finger flexes about one axis fixed to its knuckle (across the finger, in the palm
    plane). wrist->index knuckle x wrist->little knuckle points out of the palm of a right hand
    and out of the back of a left one, so `handedness` (MediaPipe's, or "right" for the
    renderer's hand-local joints) fixes the sign; without it the sign that makes the long
    fingers' total flexion positive is taken (hands curl far more than they bend back, but one
    finger bent far back on an open hand fools that). The thumb flexes across the palm.
    """
    w = np.asarray(world, float)
    normal = _unit(np.cross(w[5] - w[0], w[17] - w[0]))
    out: dict[str, tuple[float, float, tuple[int, int, int]]] = {}

    def fingers(n: np.ndarray) -> dict[str, tuple[float, float, tuple[int, int, int]]]:
        res = {}
        for digit in FINGERS:
            kp = DIGIT_KEYPOINTS[digit]
            ray = w[kp[0]] - w[0]
            axis = _unit(np.cross(_unit(ray - np.dot(ray, n) * n), n))
            chain = (0,) + kp
            for k, joint in enumerate(("mcp", "pip", "dip")):
                a, b, c = chain[k : k + 3]
                res[f"{digit} {joint}"] = (*_signed(_unit(w[b] - w[a]), _unit(w[c] - w[b]), axis), (a, b, c))
        return res

    if handedness == "left":
        normal = -normal
    out = fingers(normal)
    if handedness is None and sum(f for f, _, _ in out.values()) < 0:
        normal = -normal
        out = fingers(normal)
    radial = _unit(w[5] - w[17])
    kp = DIGIT_KEYPOINTS["thumb"]
    forward = _unit(w[kp[1]] - w[kp[0]])
    across = -0.55 * radial + 0.85 * normal
    flex_dir = _unit(across - np.dot(across, forward) * forward)
    axis = _unit(np.cross(forward, flex_dir))
    for k, joint in enumerate(("mcp", "ip")):
        a, b, c = kp[k : k + 3]
        out[f"thumb {joint}"] = (*_signed(_unit(w[b] - w[a]), _unit(w[c] - w[b]), axis), (a, b, c))
    return out


def _limit(name: str) -> tuple[tuple[float, float], tuple[float, float] | None]:
    """(flexion limits, sideways limits or None) for a joint name like 'ring dip'."""
    digit, joint = name.split()
    if digit == "thumb":
        return JOINT_LIMITS[f"thumb_{joint}_flex"], None
    if joint == "mcp":
        return JOINT_LIMITS["mcp_flex"], JOINT_LIMITS[f"mcp_abd_{digit}"]
    if joint == "pip":
        return JOINT_LIMITS["pip_flex"], JOINT_LIMITS["pip_lateral"]
    return JOINT_LIMITS[f"dip_flex_{digit}"], JOINT_LIMITS["pip_lateral"]


def check(world: np.ndarray, tolerance: Tolerance, handedness: str | None = None) -> list[Violation]:
    """Every ratio, bone and joint of a 21x3 world-landmark hand that is past its limit by more than
    `tolerance` (see `joint_angles` for `handedness`)."""
    ratio_tol, bone_tol, angle_tol = tolerance.ratio, tolerance.bone, tolerance.angle
    out: list[Violation] = []
    world = np.asarray(world, float)
    palm = float(np.linalg.norm(world[9] - world[0]))
    if palm < 1e-6:
        return out
    middle = digit_length(world, "middle")
    for digit, flag in RATIO_FLAGS.items():
        ratio = digit_length(world, digit) / max(middle, 1e-9)
        lim = flag * (1 + ratio_tol)
        if ratio > lim:
            kp = DIGIT_KEYPOINTS[digit]
            out.append(Violation("finger_ratio", f"{digit}/middle", ratio, (0.0, flag), (ratio - lim) / max(flag * ratio_tol, 1e-6), kp))
    for digit, ranges in BONE_RANGE.items():
        kp = DIGIT_KEYPOINTS[digit]
        for k, (lo, hi) in enumerate(ranges):
            length = float(np.linalg.norm(world[kp[k + 1]] - world[kp[k]])) / palm
            if length > hi + bone_tol or length < lo - bone_tol:
                excess = (max(length - hi, lo - length) - bone_tol) / max(bone_tol, 1e-6)
                out.append(Violation("bone_length", f"{digit} bone {k + 1}", length, (lo, hi), excess, (kp[k], kp[k + 1])))
    for name, (flex, lateral, pts) in joint_angles(world, handedness).items():
        flex_lim, side_lim = _limit(name)
        if name.split()[0] in FINGERS and name.endswith("mcp"):
            side_lim = None  # MCP side-to-side is measured against the palm axis: too loose here
        for value, lim, what in ((flex, flex_lim, "flexion"), (lateral, side_lim, "sideways")):
            if lim is None:
                continue
            lo, hi = lim
            if value > hi + angle_tol or value < lo - angle_tol:
                excess = (max(value - hi, lo - value) - angle_tol) / max(angle_tol, 1e-6)
                out.append(Violation("joint_angle", f"{name} {what}", value, (lo, hi), excess, pts))
    return out
