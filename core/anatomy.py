"""Anatomy of a plausible hand, in one place, and forward kinematics of the 21-joint skeleton.

Numbers come from ../shared/notes/hand-anatomy.md (Buchholz 1992 phalanx ratios; bone-length
and joint-limit ranges published with Hand-BMC). Lengths are in units of P, the wrist->middle-MCP
distance. The renderer, the scorer and the tests read these tables; nobody else copies them.

Hand-local frame (right hand): x radial (thumb side), y distal (towards the fingers),
z palmar (out of the palm). Flexion bends a finger towards +z.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FINGERS: tuple[str, ...] = ("index", "middle", "ring", "little")

# MediaPipe keypoint order: 0 wrist, thumb 1-4 (CMC, MCP, IP, tip), then MCP/PIP/DIP/tip.
KEYPOINT_NAMES: tuple[str, ...] = ("wrist",) + tuple(
    f"{digit}_{joint}"
    for digit, joints in [("thumb", ("cmc", "mcp", "ip", "tip"))]
    + [(f, ("mcp", "pip", "dip", "tip")) for f in FINGERS]
    for joint in joints
)
DIGIT_KEYPOINTS: dict[str, tuple[int, int, int, int]] = {
    "thumb": (1, 2, 3, 4),
    "index": (5, 6, 7, 8),
    "middle": (9, 10, 11, 12),
    "ring": (13, 14, 15, 16),
    "little": (17, 18, 19, 20),
}
BONES: tuple[tuple[int, int], ...] = ((0, 1), (0, 5), (0, 9), (0, 13), (0, 17)) + tuple(
    (kp[i], kp[i + 1]) for kp in DIGIT_KEYPOINTS.values() for i in range(3)
)

# Bone lengths (/P): nominal values chosen inside the published ranges so that knuckle-to-tip
# lengths relative to the middle finger match Buchholz (index .91, ring .96, little .75).
BONE_NOMINAL: dict[str, tuple[float, float, float]] = {
    "thumb": (0.45, 0.38, 0.33),  # CMC->MCP, MCP->IP, IP->tip
    "index": (0.50, 0.31, 0.26),  # MCP->PIP, PIP->DIP, DIP->tip
    "middle": (0.55, 0.36, 0.27),
    "ring": (0.52, 0.33, 0.28),
    "little": (0.40, 0.25, 0.24),
}
BONE_RANGE: dict[str, tuple[tuple[float, float], ...]] = {
    "thumb": ((0.34, 0.53), (0.32, 0.46), (0.25, 0.46)),
    "index": ((0.30, 0.57), (0.26, 0.37), (0.21, 0.38)),
    "middle": ((0.28, 0.68), (0.26, 0.42), (0.25, 0.41)),
    "ring": ((0.28, 0.65), (0.23, 0.37), (0.25, 0.46)),
    "little": ((0.29, 0.44), (0.15, 0.31), (0.16, 0.33)),
}
# Wrist->MCP distance (/P) and angle of that ray from the middle finger's (deg, + = radial).
MCP_DISTANCE = {"index": 1.02, "middle": 1.0, "ring": 0.96, "little": 0.90}
MCP_DISTANCE_RANGE = {"index": (0.98, 1.08), "ring": (0.92, 1.02), "little": (0.85, 1.05)}
MCP_RAY_ANGLE = {"index": 15.0, "middle": 0.0, "ring": -13.0, "little": -29.0}
THUMB_CMC = np.array([0.20, 0.20, 0.04])  # thumb carpometacarpal joint (/P), local frame

# Finger-length ratios to the middle finger (knuckle to tip) that the scorer flags.
RATIO_FLAGS = {"little": 0.90, "index": 1.10, "ring": 1.10, "thumb": 0.85}

# Joint limits in degrees (flexion positive). MCP side-to-side for middle/ring is not in the
# notes; +-20 is a conservative choice.
JOINT_LIMITS: dict[str, tuple[float, float]] = {
    "mcp_flex": (0.0, 90.0),
    "pip_flex": (0.0, 100.0),
    "dip_flex_index": (-10.0, 90.0),
    "dip_flex_middle": (-10.0, 90.0),
    "dip_flex_ring": (-20.0, 90.0),
    "dip_flex_little": (-30.0, 90.0),
    "mcp_abd_index": (-15.0, 42.0),
    "mcp_abd_middle": (-20.0, 20.0),
    "mcp_abd_ring": (-20.0, 20.0),
    "mcp_abd_little": (-40.0, 30.0),
    "thumb_mcp_flex": (-10.0, 80.0),
    "thumb_ip_flex": (-15.0, 80.0),
    "thumb_cmc_abd": (-10.0, 75.0),
    "thumb_cmc_opp": (0.0, 80.0),
    "pip_lateral": (0.0, 0.0),  # interphalangeal joints do not bend sideways
}

# Finger radii (/P) at the base; tips are 80% of that. Palm half-thickness.
FINGER_RADIUS = {"thumb": 0.12, "index": 0.102, "middle": 0.106, "ring": 0.099, "little": 0.088}
PALM_HALF_THICKNESS = 0.13


@dataclass
class FingerPose:
    """Angles (degrees) of one finger. For the thumb: abd/opp are CMC angles, mcp/pip = MCP/IP."""

    abd: float = 0.0
    mcp: float = 0.0
    pip: float = 0.0
    dip: float = 0.0
    lateral: float = 0.0  # sideways bend at the PIP: only malformed hands have it
    opp: float = 0.0


@dataclass
class Skeleton:
    """Per-person proportions plus a pose; `joints()` gives 21 points in the local frame."""

    bones: dict[str, tuple[float, float, float]]
    mcp_distance: dict[str, float]
    ray_angle: dict[str, float]
    pose: dict[str, FingerPose] = field(default_factory=dict)

    def joints(self) -> np.ndarray:
        pts = np.zeros((21, 3))
        pts[1:5] = thumb_chain(self.bones["thumb"], self.pose["thumb"])
        for finger in FINGERS:
            kp = DIGIT_KEYPOINTS[finger]
            pts[list(kp)] = finger_chain(
                self.bones[finger],
                self.mcp_distance[finger],
                self.ray_angle[finger],
                self.pose[finger],
            )
        return pts


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def finger_chain(
    bones: tuple[float, float, float], distance: float, ray_deg: float, pose: FingerPose
) -> np.ndarray:
    """MCP, PIP, DIP, tip of a long finger. A finger flexes in one plane (after abduction)."""
    ray = np.radians(ray_deg)
    mcp = distance * np.array([np.sin(ray), np.cos(ray), 0.0])
    heading = np.radians(0.5 * ray_deg + pose.abd)  # fingers are more parallel than their rays
    forward = np.array([np.sin(heading), np.cos(heading), 0.0])
    palmar = np.array([0.0, 0.0, 1.0])
    side = np.cross(forward, palmar)
    pts = [mcp]
    bend = 0.0
    for length, flex in zip(bones, (pose.mcp, pose.pip, pose.dip)):
        bend += np.radians(flex)
        direction = np.cos(bend) * forward + np.sin(bend) * palmar
        if len(pts) >= 2 and pose.lateral:
            lat = np.radians(pose.lateral)
            direction = np.cos(lat) * direction + np.sin(lat) * side
        pts.append(pts[-1] + length * _unit(direction))
    return np.array(pts)


def thumb_chain(bones: tuple[float, float, float], pose: FingerPose) -> np.ndarray:
    """CMC, MCP, IP, tip. The thumb flexes across the palm, towards the little finger."""
    abd, opp = np.radians(pose.abd), np.radians(pose.opp)
    in_plane = np.array([np.sin(abd), np.cos(abd), 0.0])
    forward = np.cos(opp) * in_plane + np.sin(opp) * np.array([0.0, 0.0, 1.0])
    across = np.array([-0.55, 0.0, 0.85])  # ulnar and palmar
    flex_dir = _unit(across - np.dot(across, forward) * forward)
    cmc = THUMB_CMC.copy()
    pts = [cmc, cmc + bones[0] * forward]
    bend = 0.0
    for length, flex in zip(bones[1:], (pose.mcp, pose.pip)):
        bend += np.radians(flex)
        pts.append(pts[-1] + length * (np.cos(bend) * forward + np.sin(bend) * flex_dir))
    return np.array(pts)


def joint_angle_limits(digit: str) -> dict[str, tuple[float, float]]:
    """Limits of each FingerPose field for a digit (what the tests and the sampler respect)."""
    if digit == "thumb":
        return {
            "abd": JOINT_LIMITS["thumb_cmc_abd"],
            "opp": JOINT_LIMITS["thumb_cmc_opp"],
            "mcp": JOINT_LIMITS["thumb_mcp_flex"],
            "pip": JOINT_LIMITS["thumb_ip_flex"],
            "dip": (0.0, 0.0),
            "lateral": JOINT_LIMITS["pip_lateral"],
        }
    return {
        "abd": JOINT_LIMITS[f"mcp_abd_{digit}"],
        "opp": (0.0, 0.0),
        "mcp": JOINT_LIMITS["mcp_flex"],
        "pip": JOINT_LIMITS["pip_flex"],
        "dip": JOINT_LIMITS[f"dip_flex_{digit}"],
        "lateral": JOINT_LIMITS["pip_lateral"],
    }


def digit_length(joints: np.ndarray, digit: str) -> float:
    """Knuckle-to-tip length along the bones (thumb: MCP->tip)."""
    kp = DIGIT_KEYPOINTS[digit]
    chain = kp[1:] if digit == "thumb" else kp
    pts = joints[list(chain)]
    return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
