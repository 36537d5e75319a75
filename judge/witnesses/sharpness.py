"""Blur: edge acutance at the hand's outline (the VAE's failure is a soft picture)."""

from __future__ import annotations

import numpy as np


def acutance(rgb64: np.ndarray, hand: np.ndarray) -> float | None:
    """Colour gradient at the hand outline over the colour step across it (raw, not relative).

    A sharp edge changes colour within a pixel, a blurred one over several, whatever the colours.
    Noise raises gradients on both sides, so it is measured only on the outline and divided by the
    step it makes. None when the hand or its step is too small to measure. The judge reports it
    relative to clean renders (`Calibration.sharpness_ref`: 1.0 = as sharp as a clean render).
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
    return float(np.percentile(grad[edge], 75)) / step
