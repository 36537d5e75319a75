"""Finger-count evidence from the silhouette net's maps at several thresholds: number of
tip-heat peaks and of finger-map components above each threshold (the judge uses one threshold)."""
import numpy as np

THRESH = (0.15, 0.25, 0.35, 0.5, 0.65, 0.8)


def count_features(maps: np.ndarray) -> np.ndarray:
    """N x 3 x 64 x 64 (hand, finger, tips probabilities) -> N x (2*len(THRESH) + 6)."""
    import cv2

    out = []
    for hand, finger, tips in maps.astype(np.float32):
        dil = cv2.dilate(tips, np.ones((5, 5), np.uint8))
        peak = (tips >= dil) & (hand > 0.3)
        v = [int((peak & (tips > t)).sum()) for t in THRESH]
        for t in THRESH:
            n, _, st, _ = cv2.connectedComponentsWithStats((finger > t).astype(np.uint8))
            v.append(int((st[1:, cv2.CC_STAT_AREA] >= 4).sum()))
        ph = np.sort(tips[peak])[::-1]
        v += list(np.pad(ph[:6], (0, 6 - min(6, len(ph)))))
        out.append(v)
    return np.array(out, np.float32)
