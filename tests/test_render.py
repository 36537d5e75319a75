"""The hand world's renderer: determinism, anatomy, labels and malformations."""

import json
import subprocess
import sys

import numpy as np
import pytest

from core.anatomy import BONE_RANGE, DIGIT_KEYPOINTS, RATIO_FLAGS, digit_length
from core.vocab import ANOMALIES, GESTURE_DIGITS, GESTURES, OBJECTS, HandSpec
from world.pose import pose_within_limits, sample_pose, sample_proportions
from world.render import render_sample

CLEAN = [render_sample(7, i, 64) for i in range(120)]


def test_same_seed_same_bytes():
    for i in range(5):
        a, b = render_sample(3, i, 64), render_sample(3, i, 64)
        assert a.image.tobytes() == b.image.tobytes()
        assert a.label == b.label
    assert render_sample(3, 0, 64).image.tobytes() != render_sample(4, 0, 64).image.tobytes()


@pytest.mark.parametrize("size", [32, 64, 128])
def test_sizes(size):
    r = render_sample(1, 0, size)
    assert r.image.shape == (size, size, 3) and r.image.dtype == np.uint8
    assert r.mask.shape == (size, size) and r.mask.sum() > 0.02 * size * size


@pytest.mark.parametrize("gesture", [g for g in GESTURES if g != "grip"])
def test_sampled_joints_within_limits(gesture):
    rng = np.random.default_rng(0)
    for _ in range(30):
        skeleton = sample_proportions(rng)
        sample_pose(rng, skeleton, gesture, "none")
        assert pose_within_limits(skeleton) == []


def _bend_angles(joints: np.ndarray, digit: str) -> list[float]:
    """Angles (deg) between consecutive bones of a digit, measured on the 3D joints."""
    kp = DIGIT_KEYPOINTS[digit]
    chain = joints[[0, *kp]] if digit != "thumb" else joints[list(kp)]
    bones = np.diff(chain, axis=0)
    bones /= np.linalg.norm(bones, axis=1, keepdims=True)
    return [float(np.degrees(np.arccos(np.clip(bones[i] @ bones[i + 1], -1, 1)))) for i in range(len(bones) - 1)]


def test_rendered_joint_angles_and_bone_ratios_are_anatomical():
    for r in CLEAN:
        joints = np.array(r.label["joints3d"])
        palm = np.linalg.norm(joints[9] - joints[0])
        for digit, ranges in BONE_RANGE.items():
            kp = DIGIT_KEYPOINTS[digit]
            for (lo, hi), (a, b) in zip(ranges, zip(kp, kp[1:])):
                ratio = np.linalg.norm(joints[b] - joints[a]) / palm
                assert lo - 1e-3 <= ratio <= hi + 1e-3, (digit, ratio)
            # PIP bends <= 100 deg, DIP <= 90 deg (measured; 3D, so the angle is a magnitude)
            angles = _bend_angles(joints, digit)
            assert max(angles[-2:]) <= 100.5, (digit, angles)
        middle = digit_length(joints, "middle")
        assert digit_length(joints, "little") / middle < RATIO_FLAGS["little"]
        assert digit_length(joints, "thumb") / middle < RATIO_FLAGS["thumb"]


def test_keypoints_inside_image_and_labels_consistent():
    for r in CLEAN:
        kps = np.array(r.label["keypoints"])
        assert kps.shape == (21, 3)
        assert (kps[:, :2] >= 0).all() and (kps[:, :2] < 64).all()
        assert r.label["extended"] == list(GESTURE_DIGITS[r.label["gesture"]])
        assert r.label["extended_count"] == len(r.label["extended"])
        assert set(r.label["visible_extended"]) <= set(r.label["extended"])
        assert (r.label["gesture"] == "grip") == (r.label["object"] != "none")
        assert len(set(r.label["captions"])) >= 2


def test_extended_fingers_are_visible_in_palm_and_back_views():
    seen = total = 0
    for r in CLEAN:
        if r.label["view"] != "side" and r.label["object"] == "none":
            seen += r.label["visible_extended_count"]
            total += r.label["extended_count"]
    assert total > 50 and seen / total >= 0.85


def test_every_gesture_and_object_appears():
    gestures = {r.label["gesture"] for r in CLEAN}
    objects = {r.label["object"] for r in CLEAN}
    assert gestures == set(GESTURES) and objects == set(OBJECTS)


def test_spec_is_obeyed():
    spec = HandSpec(gesture="peace", handedness="left", skin_tone="dark", view="back")
    for i in range(5):
        label = render_sample(0, i, 64, spec).label
        assert (label["gesture"], label["handedness"], label["skin_tone"], label["view"]) == ("peace", "left", "dark", "back")
    assert render_sample(0, 0, 64, HandSpec(object="banana")).label["gesture"] == "grip"


def test_left_hand_is_a_mirrored_right_hand():
    """Thumb on the other side of the middle finger for the same palm-facing pose."""
    side = {}
    for handed in ("right", "left"):
        xs = []
        for i in range(10):
            kp = np.array(render_sample(5, i, 64, HandSpec(gesture="open_palm", handedness=handed, view="palm")).label["keypoints"])
            xs.append(np.sign(kp[4, 0] - kp[12, 0]) * np.sign(kp[0, 1] - kp[12, 1]))
        side[handed] = np.mean(xs)
    assert side["right"] > 0.5 and side["left"] < -0.5


@pytest.mark.parametrize("kind", ANOMALIES)
def test_malformations_are_what_their_label_says(kind):
    for i in range(15):
        r = render_sample(11, i, 64, anomaly=kind)
        info, joints = r.label["anomaly_info"], np.array(r.label["joints3d"])
        assert r.label["anomaly"] == kind and info["kind"] == kind
        middle = digit_length(joints, "middle")
        if kind == "long_finger":
            digit = info["digit"]
            assert digit_length(joints, digit) / middle > RATIO_FLAGS[digit]
        elif kind == "missing_finger":
            assert all(r.label["keypoints"][k][2] == 0 for k in DIGIT_KEYPOINTS[info["digit"]])
            assert info["digit"] not in r.label["visible_extended"]
        elif kind == "fused_fingers":
            a, b = info["digits"]
            assert np.allclose(joints[list(DIGIT_KEYPOINTS[a])], joints[list(DIGIT_KEYPOINTS[b])])
        elif kind == "bent_joint":
            assert info["how"] in ("hyperextended_pip", "lateral_pip", "hyperextended_dip")
        elif kind == "extra_finger":
            assert "little" in r.label["extended"]


@pytest.mark.parametrize("kind,sign", [("extra_finger", 1), ("missing_finger", -1)])
def test_malformed_twin_differs_from_clean_hand(kind, sign):
    """With a fixed spec, (seed, index) gives the same hand; the anomaly adds or removes skin."""
    spec = HandSpec(gesture="open_palm", handedness="right", object="none", skin_tone="medium", view="palm")
    for i in range(8):
        clean = render_sample(2, i, 128, spec)
        broken = render_sample(2, i, 128, spec, anomaly=kind)
        assert np.sign(int(broken.mask.sum()) - int(clean.mask.sum())) == sign


def test_cli_writes_pngs_labels_and_sheet(tmp_path):
    out = tmp_path / "r"
    run = subprocess.run([sys.executable, "-m", "world.render", "--count", "3", "--seed", "1", "--size", "32", "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(x) for x in (out / "labels.jsonl").read_text().splitlines()]
    assert len(lines) == 3 and (out / "sheet.png").exists() and (out / lines[0]["file"]).exists()
    for key in ("file", "gesture", "handedness", "object", "extended", "extended_count", "keypoints", "captions", "anomaly"):
        assert key in lines[0]
    bad = subprocess.run([sys.executable, "-m", "world.render", "--count", "0", "--out", str(out)], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
