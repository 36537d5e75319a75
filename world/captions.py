"""Paraphrased captions for a rendered hand, so text conditioning never sees a single template.

Two caption modes (`CAPTION_MODES`): "plain" says what the hand was posed as; "visible" says only
what the picture shows (issue 18, part 3). Raters found 17 of 64 clean renders whose caption the
picture does not show: a finger gun whose thumb hides, an OK with no visible ring. The renderer
knows why: `seen_digits` keeps an extended digit only when it reads as one in the picture,
`ring_seen` the OK's ring, `object_seen` the held object; `visible_fields` turns that into the
spec fields a caption may claim (the diffusion model is conditioned on those fields, not on the
words: a gesture that cannot be seen becomes the gesture that is seen, else "any").
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from core.anatomy import DIGIT_KEYPOINTS, FINGER_RADIUS
from core.vocab import DIGITS, GESTURE_DIGITS

CAPTION_MODES: tuple[str, ...] = ("plain", "visible")
# When a posed digit stops reading as itself, chosen from geometry before looking at rated pictures:
FORESHORTENED = 0.5  # knuckle-to-tip drawn at under half its length: > 60 deg out of the picture, a knob
STANDS_OUT = 1.0  # a tip drawn less than one digit width outside the palm and folded digits does not stick out
MERGED = 0.5  # two extended digits whose drawn centre lines are nearer than half their summed widths read as one
RING_FACING = 0.5  # the OK ring tilted > 60 deg from face-on is drawn as a line, not a ring
OBJECT_MIN_COVER = 0.01  # a held object covering under 1 % of the frame is a sliver, not a banana, phone or cup
RING_KEYPOINTS = (2, 3, 4, 8, 7, 6, 5)  # thumb knuckle to tip, then index tip back to its knuckle: the OK's loop

GESTURE_PHRASES: dict[str, tuple[str, ...]] = {
    "open_palm": ("an open hand with all five fingers spread", "an open palm", "a raised open hand"),
    "fist": ("a clenched fist", "a closed fist", "a hand balled into a fist"),
    "point": ("a hand pointing with the index finger", "a pointing finger", "an index finger pointing"),
    "peace": ("a peace sign", "a V sign with two fingers", "index and middle finger raised in a V"),
    "thumbs_up": ("a thumbs up", "a thumbs-up gesture", "a fist with the thumb raised"),
    "ok": ("an OK sign", "thumb and index finger forming a circle", "the OK gesture"),
    "rock": ("a rock-on sign", "horns with index and little finger", "the rock gesture"),
    "call_me": ("a call-me gesture", "thumb and little finger out like a phone", "a shaka sign"),
    "three": ("three fingers raised", "a hand showing three", "index, middle and ring finger up"),
    "four": ("four fingers raised with the thumb folded", "a hand showing four", "four fingers up"),
    "gun": ("a finger gun", "thumb and index finger like a pistol", "a hand shaped like a gun"),
    "grip": ("a hand gripping", "a hand holding", "a hand grasping"),
    None: ("a hand", "a hand, its gesture hidden", "a hand seen at an angle"),  # visible captions: gesture unseen
}
OBJECT_PHRASES = {"banana": "a banana", "phone": "a phone", "cup": "a cup"}
VIEW_PHRASES = {
    "palm": ("palm facing the viewer", "seen from the palm side"),
    "back": ("back of the hand facing the viewer", "seen from the back"),
    "side": ("seen from the side", "side view"),
}
SKIN_PHRASES = {
    "very_light": "very light skin",
    "light": "light skin",
    "medium": "medium skin",
    "brown": "brown skin",
    "dark": "dark skin",
}


def captions_for(rng: np.random.Generator, fields: dict, n: int = 3) -> list[str]:
    """n different captions that all describe the same hand."""
    out: list[str] = []
    phrases = list(GESTURE_PHRASES[fields["gesture"]])
    order = rng.permutation(len(phrases))
    for k in range(n):
        gesture = phrases[order[k % len(phrases)]]
        if fields["object"] not in ("none", None):
            gesture = f"{gesture} {OBJECT_PHRASES[fields['object']]}"
        hand = f"{fields['handedness']} hand"
        view = VIEW_PHRASES[fields["view"]][k % 2]
        skin = SKIN_PHRASES[fields["skin_tone"]]
        style = k % 3
        if style == 0:
            out.append(f"{gesture}, {hand}, {view}, {skin}")
        elif style == 1:
            out.append(f"a {hand} with {skin}: {gesture}, {view}")
        else:
            out.append(f"{gesture} ({hand}, {skin}, {view})")
    return out


def _drawn(label: dict, projection: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(3D joints, their 2D pixels, pixels per unit of the hand's frame) under the render's projection."""
    joints = np.asarray(label["joints3d"], float)
    pixels = joints @ projection[:, :3].T + projection[:, 3]
    return joints, pixels, float(np.linalg.norm(projection[:, :3], axis=1).mean())


def _segment_gap(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Distance from point p to the segment a-b (2D)."""
    ab = b - a
    t = float(np.clip(np.dot(p - a, ab) / max(float(np.dot(ab, ab)), 1e-9), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + t * ab)))


def seen_digits(label: dict, projection: np.ndarray) -> list[str]:
    """The posed-extended digits that read as extended digits in the picture.

    One must be visible at its tip (the z-buffer's keypoint visibility), drawn at least
    `FORESHORTENED` of its length (not pointing at the camera), with its tip `STANDS_OUT` widths
    outside the palm and the folded digits (a raised thumb drawn over the curled fingers is not
    raised), and not drawn along another extended digit (side views stack fingers: two stacked
    digits read as one, so neither says which it is).
    """
    joints, pixels, scale = _drawn(label, projection)
    extended = list(GESTURE_DIGITS[label["gesture"]])
    kept = []
    for digit in extended:
        base, tip = DIGIT_KEYPOINTS[digit][1 if digit == "thumb" else 0], DIGIT_KEYPOINTS[digit][3]
        length = float(np.linalg.norm(joints[tip] - joints[base])) * scale
        if not label["keypoints"][tip][2] or np.linalg.norm(pixels[tip] - pixels[base]) < FORESHORTENED * length:
            continue
        if _outside_rest(pixels, digit, extended) < STANDS_OUT * 2 * FINGER_RADIUS[digit] * scale:
            continue
        if not any(_stacked(pixels, digit, other, scale) for other in extended if other != digit):
            kept.append(digit)
    return kept


def _outside_rest(pixels: np.ndarray, digit: str, extended: list[str]) -> float:
    """How far (pixels) `digit`'s tip is drawn outside the convex outline of the palm and the folded digits."""
    rest = [0, 1, 5, 9, 13, 17] + [k for d in DIGITS if d not in extended and d != digit for k in DIGIT_KEYPOINTS[d]]
    rest = [k for k in rest if digit != "thumb" or k not in DIGIT_KEYPOINTS["thumb"][1:]]
    try:
        hull = ConvexHull(pixels[rest])
    except QhullError:  # a degenerate outline (all on a line): nothing to hide behind
        return float("inf")
    return float((hull.equations[:, :2] @ pixels[DIGIT_KEYPOINTS[digit][3]] + hull.equations[:, 2]).max())


def _stacked(pixels: np.ndarray, digit: str, other: str, scale: float) -> bool:
    """Whether `digit`'s last three joints are drawn within the `MERGED` share of the two widths of `other`."""
    mine, theirs = DIGIT_KEYPOINTS[digit][1:], DIGIT_KEYPOINTS[other]
    width = MERGED * (FINGER_RADIUS[digit] + FINGER_RADIUS[other]) * scale
    segments = list(zip(theirs, theirs[1:]))
    return all(min(_segment_gap(pixels[k], pixels[a], pixels[b]) for a, b in segments) < width for k in mine)


def ring_seen(label: dict, projection: np.ndarray) -> bool:
    """Whether the OK's thumb-index loop is drawn as a ring: both tips visible and the loop within 60 deg of face-on."""
    joints, pixels, _ = _drawn(label, projection)
    if not (label["keypoints"][4][2] and label["keypoints"][8][2]):
        return False
    loop3, loop2 = joints[list(RING_KEYPOINTS)], pixels[list(RING_KEYPOINTS)]
    area3 = 0.5 * float(np.linalg.norm(np.cross(loop3 - loop3.mean(0), np.roll(loop3, -1, 0) - loop3.mean(0)).sum(0)))
    x, y = loop2[:, 0], loop2[:, 1]
    area2 = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    return area2 >= RING_FACING * area3 * float(np.linalg.norm(projection[:, :3], axis=1).mean()) ** 2


def object_seen(object_cover: np.ndarray | None) -> bool:
    """Whether the held object covers enough of the frame to be named (`OBJECT_MIN_COVER`)."""
    return object_cover is None or float(np.mean(object_cover)) >= OBJECT_MIN_COVER


def visible_fields(label: dict, projection: np.ndarray, object_cover: np.ndarray | None = None) -> dict:
    """The spec fields a caption of this picture may claim; None where the picture cannot tell.

    A gesture some of whose digits do not read becomes the one gesture made of the digits that do
    (a finger gun whose thumb hides is a pointing hand), else it is dropped; an OK without a visible
    ring is dropped; an object too small to see is dropped (the grip stays). Fists and grips are kept:
    nothing extended can hide. Handedness, skin tone and view are always seen.
    """
    fields = {k: label[k] for k in ("gesture", "handedness", "object", "skin_tone", "view")}
    if fields["object"] != "none" and not object_seen(object_cover):
        fields["object"] = None
    extended = set(GESTURE_DIGITS[fields["gesture"]])
    seen = set(seen_digits(label, projection))
    if seen != extended:
        matches = [g for g, digits in GESTURE_DIGITS.items() if seen and set(digits) == seen and g not in ("grip", "ok")]
        fields["gesture"] = matches[0] if len(matches) == 1 else None
    elif fields["gesture"] == "ok" and not ring_seen(label, projection):
        fields["gesture"] = None
    return fields
