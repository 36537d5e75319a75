"""Sampling a person and a pose: proportions, gesture angles, anomalies, held-object grips.

Everything random is drawn from the `numpy.random.Generator` passed in, so a seed fixes a hand.
Joint angles stay inside `anatomy.JOINT_LIMITS` unless an anomaly breaks them on purpose.
"""

from __future__ import annotations

import numpy as np

from core.anatomy import (
    BONE_NOMINAL,
    BONE_RANGE,
    FINGERS,
    MCP_DISTANCE,
    MCP_DISTANCE_RANGE,
    MCP_RAY_ANGLE,
    FingerPose,
    Skeleton,
    joint_angle_limits,
)
from core.vocab import DIGITS, GESTURE_DIGITS


def sample_proportions(rng: np.random.Generator) -> Skeleton:
    """One person's hand: every bone within the published ranges, about +-5% around nominal."""
    bones = {}
    for digit, nominal in BONE_NOMINAL.items():
        finger_scale = rng.normal(1.0, 0.04)
        lengths = []
        for length, (lo, hi) in zip(nominal, BONE_RANGE[digit]):
            lengths.append(float(np.clip(length * finger_scale * rng.normal(1.0, 0.03), lo, hi)))
        bones[digit] = tuple(lengths)
    distance = {}
    for finger in FINGERS:
        lo, hi = MCP_DISTANCE_RANGE.get(finger, (1.0, 1.0))
        distance[finger] = float(np.clip(MCP_DISTANCE[finger] + rng.normal(0, 0.015), lo, hi))
    angle = {f: MCP_RAY_ANGLE[f] * rng.uniform(0.9, 1.1) for f in FINGERS}
    return Skeleton(bones=bones, mcp_distance=distance, ray_angle=angle)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


# Side-to-side spread of extended fingers (deg) per gesture: open hands fan out, a V splits.
_SPREAD = {
    "open_palm": {"index": (2, 12), "middle": (-3, 3), "ring": (-9, -1), "little": (-18, -6)},
    "peace": {"index": (3, 12), "middle": (-12, -3)},
    "rock": {"index": (0, 8), "little": (-18, -5)},
    "call_me": {"little": (-25, -10)},
}
_GRIP = {  # finger flexion for wrapping an object of this size (mcp, pip, dip ranges)
    "banana": ((45, 65), (65, 90), (35, 55)),
    "cup": ((25, 45), (40, 65), (20, 40)),
    "phone": ((20, 40), (40, 70), (25, 45)),
}


def extended_finger(rng, finger: str, gesture: str) -> FingerPose:
    spread = _SPREAD.get(gesture, {}).get(finger, (-4, 4))
    return FingerPose(
        abd=_u(rng, *spread), mcp=_u(rng, 0, 15), pip=_u(rng, 0, 10), dip=_u(rng, -5, 8)
    )


def folded_finger(rng) -> FingerPose:
    pip = _u(rng, 88, 100)
    return FingerPose(abd=_u(rng, -3, 3), mcp=_u(rng, 75, 90), pip=pip, dip=pip * _u(rng, 0.55, 0.75))


def extended_thumb(rng) -> FingerPose:
    return FingerPose(abd=_u(rng, 45, 70), opp=_u(rng, 5, 30), mcp=_u(rng, 0, 15), pip=_u(rng, 0, 20))


def folded_thumb(rng, across: bool) -> FingerPose:
    """Across the folded fingers (fist) or tucked into the palm (four)."""
    if across:
        return FingerPose(abd=_u(rng, 0, 15), opp=_u(rng, 40, 60), mcp=_u(rng, 40, 60), pip=_u(rng, 25, 50))
    return FingerPose(abd=_u(rng, -5, 8), opp=_u(rng, 55, 75), mcp=_u(rng, 35, 55), pip=_u(rng, 20, 45))


def sample_pose(rng: np.random.Generator, skeleton: Skeleton, gesture: str, obj: str) -> None:
    """Fill `skeleton.pose` for a gesture (or a grip around `obj`)."""
    extended = GESTURE_DIGITS[gesture]
    pose: dict[str, FingerPose] = {}
    for finger in FINGERS:
        if gesture == "grip":
            mcp, pip, dip = (_u(rng, *r) for r in _GRIP[obj])
            pose[finger] = FingerPose(abd=_u(rng, -3, 3), mcp=mcp, pip=pip, dip=dip)
        elif finger in extended:
            pose[finger] = extended_finger(rng, finger, gesture)
        elif gesture == "ok" and finger == "index":
            pose[finger] = FingerPose(abd=_u(rng, -2, 4), mcp=_u(rng, 30, 45), pip=_u(rng, 40, 60), dip=_u(rng, 20, 35))
        else:
            pose[finger] = folded_finger(rng)
    if gesture == "grip":
        pose["thumb"] = FingerPose(abd=_u(rng, 15, 35), opp=_u(rng, 40, 60), mcp=_u(rng, 10, 30), pip=_u(rng, 10, 30))
    elif "thumb" in extended:
        pose["thumb"] = extended_thumb(rng)
    else:
        pose["thumb"] = folded_thumb(rng, across=gesture != "four")
    skeleton.pose = pose
    if gesture == "ok":
        _touch_thumb_to_index(skeleton)


def _touch_thumb_to_index(skeleton: Skeleton) -> None:
    """Coordinate descent on the thumb's angles until its tip meets the index tip (the 'O')."""
    thumb = skeleton.pose["thumb"]
    thumb.abd, thumb.opp, thumb.mcp, thumb.pip = 30.0, 45.0, 20.0, 20.0
    limits = joint_angle_limits("thumb")

    def gap() -> float:
        j = skeleton.joints()
        return float(np.linalg.norm(j[4] - j[8]))

    best, step = gap(), 16.0
    while step > 0.5:
        improved = False
        for name in ("abd", "opp", "mcp", "pip"):
            for delta in (step, -step):
                old = getattr(thumb, name)
                lo, hi = limits[name]
                setattr(thumb, name, float(np.clip(old + delta, lo, hi)))
                g = gap()
                if g < best - 1e-6:
                    best, improved = g, True
                else:
                    setattr(thumb, name, old)
        if not improved:
            step /= 2


def pose_within_limits(skeleton: Skeleton) -> list[str]:
    """Names of joint angles outside their limits (empty for a healthy hand)."""
    bad = []
    for digit in DIGITS:
        pose = skeleton.pose[digit]
        for name, (lo, hi) in joint_angle_limits(digit).items():
            value = getattr(pose, name)
            if not lo - 1e-6 <= value <= hi + 1e-6:
                bad.append(f"{digit}.{name}={value:.1f} not in [{lo}, {hi}]")
    return bad
