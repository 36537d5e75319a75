"""The MediaPipe landmark judge: finds drawn hands, rejects noise, survives a missing model."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from judge import Judge
from judge.witnesses import landmarks

JUDGE = Judge.load()
MODEL = JUDGE.networks.landmarks  # the judge's landmark model, built on first use

# A right hand, palm towards the viewer, fingers up (so the thumb is on the image's right), in
# MediaPipe keypoint order; unit: roughly the hand's length, y down.
RIGHT_PALM = np.array([
    (0, 0.45), (0.12, 0.38), (0.22, 0.25), (0.30, 0.13), (0.36, 0.03),
    (0.10, 0.0), (0.12, -0.17), (0.13, -0.27), (0.14, -0.36),
    (0.0, -0.02), (0, -0.21), (0, -0.32), (0, -0.42),
    (-0.09, 0.0), (-0.11, -0.18), (-0.12, -0.29), (-0.13, -0.38),
    (-0.17, 0.04), (-0.21, -0.09), (-0.23, -0.17), (-0.25, -0.25),
])  # fmt: skip
BONES = [(1, 2), (2, 3), (3, 4)] + [(f + i, f + i + 1) for f in (5, 9, 13, 17) for i in range(3)]


def draw_hand(size: int, mirror: bool = False, creases: bool = False, ss: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A flat skin-coloured palm polygon and finger capsules on a plain background.

    Returns the RGB image and its 21 ground-truth keypoints in pixels. `mirror` gives a left
    palm; `creases` draws palm lines, the cue that tells a palm from the back of a hand.
    """
    k = RIGHT_PALM * [-1 if mirror else 1, 1]
    big = size * ss
    k = (k - (k.min(0) + k.max(0)) / 2) / np.ptp(k, 0).max() * 0.8 * big + big / 2
    img = np.full((big, big, 3), (235, 235, 240), np.uint8)
    skin, dark = (224, 172, 140), (134, 103, 84)
    width = int(0.07 * big)
    palm = cv2.convexHull(k[[0, 1, 2, 5, 9, 13, 17]].astype(np.int32))
    pt = lambda i: tuple(int(v) for v in k[i])  # noqa: E731
    cv2.polylines(img, [palm], True, dark, 2 * ss, cv2.LINE_AA)
    for colour, extra in ((dark, 2 * ss), (skin, 0)):  # outlined fingers, then a filled palm
        for a, b in BONES:
            cv2.line(img, pt(a), pt(b), colour, width + extra, cv2.LINE_AA)
        cv2.fillConvexPoly(img, palm, skin, cv2.LINE_AA)
    if creases:
        for a, b in ((5, 17), (1, 13), (2, 9)):
            p, q = k[a] * 0.6 + k[b] * 0.4 + (0, 0.06 * big), k[b] * 0.8 + k[a] * 0.2 + (0, 0.05 * big)
            cv2.line(img, tuple(p.astype(int)), tuple(q.astype(int)), (170, 110, 90), max(1, big // 128), cv2.LINE_AA)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA), (k / ss).astype(np.float32)


def pck(points: np.ndarray, truth: np.ndarray, alpha: float = 0.1) -> float:
    """Fraction of keypoints within alpha x (longest side of the true hand's bbox)."""
    return float((np.linalg.norm(points - truth, axis=1) < alpha * np.ptp(truth, 0).max()).mean())


@pytest.fixture(autouse=True)
def fresh_model():
    MODEL.reset()
    yield
    MODEL.reset()


needs_model = pytest.mark.skipif(MODEL.get_or_none() is None, reason=str(MODEL.error))


@needs_model
@pytest.mark.parametrize("size", [64, 128])
def test_finds_a_drawn_hand(size: int) -> None:
    img, truth = draw_hand(size)
    lm = JUDGE.detect_landmarks(img)
    assert lm is not None and lm.method == "whole_image"
    assert lm.presence > 0.8
    assert lm.points.shape == (21, 2) and lm.points.dtype == np.float32
    assert pck(lm.points, truth) >= 0.9, lm.points - truth
    assert lm.world is not None and lm.world.shape == (21, 3)
    assert np.abs(lm.world).max() < 0.2  # metres, around the hand's centre
    assert lm.handedness in ("left", "right") and 0.5 <= lm.handedness_score <= 1.0


@needs_model
def test_handedness_is_as_seen_not_mirrored() -> None:
    right, _ = draw_hand(128, creases=True)
    left, _ = draw_hand(128, mirror=True, creases=True)
    assert JUDGE.detect_landmarks(right).handedness == "right"
    assert JUDGE.detect_landmarks(left).handedness == "left"


@needs_model
def test_noise_and_blank_are_not_hands() -> None:
    rng = np.random.default_rng(0)
    for img in [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), np.full((64, 64, 3), 235, np.uint8)]:
        assert JUDGE.detect_landmarks(img).presence < 0.1


@needs_model
def test_pil_and_non_square_input_map_back_to_image_pixels() -> None:
    img, truth = draw_hand(64)
    wide = np.full((64, 112, 3), 235, np.uint8)
    wide[:, 30:94] = img
    lm = JUDGE.detect_landmarks(Image.fromarray(wide).convert("RGBA"))
    assert pck(lm.points, truth + [30, 0]) >= 0.9


@needs_model
def test_small_off_centre_hand_gets_a_second_pass() -> None:
    img, truth = draw_hand(64)
    canvas = np.full((128, 128, 3), 235, np.uint8)
    canvas[8:72, 50:114] = img
    lm = JUDGE.detect_landmarks(canvas)
    assert lm.method == "crop" and pck(lm.points, truth + [50, 8]) >= 0.9


@needs_model
def test_concurrent_calls_agree() -> None:
    img, _ = draw_hand(64)
    expected = JUDGE.detect_landmarks(img).points
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(JUDGE.detect_landmarks(img).points)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(np.allclose(r, expected, atol=1e-4) for r in results)


@needs_model
def test_open_palm_renders() -> None:
    render = pytest.importorskip("world.render")
    from core.vocab import HandSpec

    scores, presence = [], []
    for i in range(8):
        r = render.render_sample(seed=5, index=i, size=64, spec=HandSpec(gesture="open_palm", view="palm"))
        lm = JUDGE.detect_landmarks(r.image)
        scores.append(pck(lm.points, np.array(r.label["keypoints"], np.float32)[:, :2]))
        presence.append(lm.presence)
    assert np.mean(scores) >= 0.8 and np.mean(presence) >= 0.7, (scores, presence)


def test_rejects_bad_arrays() -> None:
    with pytest.raises(ValueError):
        JUDGE.detect_landmarks(np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError):
        JUDGE.detect_landmarks(np.zeros((64, 64, 3), np.float32))


def _corrupt_task(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.task"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(landmarks.MODEL_MEMBER, b"not a flatbuffer" * 64)
    return path


@pytest.mark.parametrize(
    "make_path, why",
    [
        (lambda tmp: tmp / "missing.task", "FileNotFoundError"),
        (lambda tmp: (tmp / "junk.task").write_bytes(b"junk") and tmp / "junk.task", "BadZipFile"),
        (_corrupt_task, "ValueError"),
    ],
)
def test_missing_or_corrupt_model_reports_and_returns_none(monkeypatch, tmp_path, make_path, why) -> None:
    monkeypatch.setattr(landmarks, "_locate_bundle", lambda: make_path(tmp_path))
    img, _ = draw_hand(64)
    assert JUDGE.detect_landmarks(img) is None
    assert MODEL.get_or_none() is None
    reason = MODEL.error
    assert reason is not None and "unavailable" in reason and why in reason
