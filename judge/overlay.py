"""The overlay: what the judge saw, drawn over the image so a score can be checked by eye.

Green: hand outline and MediaPipe's skeleton. Yellow rings: counted fingertips. Red: the fingers
and bones that were flagged. The score and flags run along the top. Drawn from a HandReport's
public fields only.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from core.anatomy import BONES
from judge.report import HandReport

RED, GREEN, YELLOW, WHITE = (235, 40, 40), (60, 220, 90), (255, 220, 40), (255, 255, 255)


def draw(report: HandReport, size: int = 256) -> Image.Image:
    """Upscale the report's image to `size` px (long side) and draw the findings on it."""
    rgb = report.image
    h, w = rgb.shape[:2]
    k = size / max(h, w)
    img = Image.fromarray(rgb).resize((max(1, round(w * k)), max(1, round(h * k))), Image.BILINEAR)
    img = Image.fromarray((np.asarray(img) * 0.8).astype(np.uint8))  # dim so the marks stand out
    d = ImageDraw.Draw(img)
    sil = report.silhouette
    if sil is not None and report.hand_found:
        import cv2

        contours, _ = cv2.findContours(sil.hand.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        for c in contours:
            pts = sil.to_input(c.reshape(-1, 2) + 0.5) * k
            d.line([tuple(p) for p in pts] + [tuple(pts[0])], fill=GREEN, width=1)
    if report.landmarks is not None and report.hand_found:
        pts = np.asarray(report.landmarks) * k
        red = {tuple(sorted(p[i : i + 2])) for p in report.marked_points for i in range(len(p) - 1)}
        for a, b in BONES:
            plain = GREEN if (report.presence or 0) >= 0.5 else (150, 150, 150)
            colour = RED if tuple(sorted((a, b))) in red else plain
            d.line([tuple(pts[a]), tuple(pts[b])], fill=colour, width=3 if colour == RED else 1)
        for x, y in pts:
            d.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=WHITE)
    if sil is not None and report.hand_found:
        for i in set(report.marked_fingers):
            path = sil.to_input(sil.fingers[i].path) * k
            d.line([tuple(q) for q in path], fill=RED, width=4)
        for n, (x, y) in enumerate(np.asarray(report.fingertips).reshape(-1, 2) * k, 1):
            d.ellipse([x - 5, y - 5, x + 5, y + 5], outline=YELLOW, width=2)
            d.text((x + 6, y - 6), str(n), fill=YELLOW)
    title = f"{report.hand_score:.0f}/100  " + (", ".join(report.flags) if report.flags else "no flags")
    d.rectangle([0, 0, img.width, 12], fill=(0, 0, 0))
    d.text((3, 0), title, fill=RED if report.flags else WHITE)
    return img
