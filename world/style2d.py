"""A second hand style, held out from every witness: flat 2D cartoon hands, drawn from the same pose model.

Why: the judge's learned witnesses were fitted on one renderer's pictures (shaded capsules), so a
number measured on those renders says nothing about a picture drawn any other way. This module
draws hands the way clip art does (flat fill, a dark outline, a palm and finger capsules) from
`world.pose`'s proportions and gestures, with ground truth, so the judge can be measured on a style
it never saw. No training script may import it (tests/test_styles.py checks that).

Malformed variants break the drawing on purpose, as a person would recognise it at a glance: an
extra finger beside the little finger, a missing finger (a gap in the row), two neighbouring
fingers fused into one wide one. `extended_count` is what a person counts in the picture.

    draw_hand(seed, index)  ->  Cartoon(image 64x64x3 uint8, label)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.anatomy import DIGIT_KEYPOINTS, FINGER_RADIUS, FINGERS, finger_chain
from core.vocab import DIGITS, GESTURE_DIGITS
from world.pose import sample_pose, sample_proportions
from world.render import MONK, PALM_TO_CAMERA, VIEW_YAW, _rot

MALFORMATIONS: tuple[str, ...] = ("extra_finger", "missing_finger", "fused_fingers")
GESTURES_2D: tuple[str, ...] = tuple(g for g in GESTURE_DIGITS if g != "grip")  # nothing held: clip art of a hand
# gestures each malformation is drawn on: enough extended fingers that the change is plain to see
MALFORMED_GESTURES = {
    "extra_finger": ("open_palm", "four", "rock"),
    "missing_finger": ("open_palm", "four", "three"),
    "fused_fingers": ("open_palm", "four", "three", "peace"),
}
FAN = {"index": 5.0, "ring": -5.0, "little": -10.0}  # degrees added to extended fingers' spread
SUPERSAMPLE = 4  # drawn at 4x, then averaged down: smooth outlines at 64 px
CARTOON_FILLS = ("ffd34e", "ffe0bd", "f1c27d", "e0ac69", "c68642", "8d5524", "ffffff", "fcd9c0")
INKS = ("111111", "2b1d14", "3a2a20", "1c2340")
PAPERS = ("ffffff", "fbf8f0", "eef4fb", "f4f0ff", "eefbea", "fff4e6", "e8e8e8")
LOOKS: tuple[str, ...] = ("cartoon", "chalk", "pencil", "watercolour", "shadow")
BOARDS = ("1f3b2d", "2a2a2a", "17202a", "2e3b33", "111111")  # chalkboards: green, grey, slate, black
CHALKS = ("f2f2f2", "fff6b0", "ffd6e8", "cfe8ff")
GRAPHITES = ("4a4a4a", "5c5c5c", "3a3d42", "6b6560")  # pencil leads, soft to hard
WASHES = ("f1c27d", "e0ac69", "c68642", "ffcf9e", "e8a87c", "d9a066")  # watercolour skin washes
SHADOW_INKS = ("111111", "1c2340", "2b1d14", "0f2a1f")  # a shadow hand's ink: black, blue-black, brown-black, green-black


@dataclass
class Cartoon:
    image: np.ndarray  # HxWx3 uint8
    label: dict = field(default_factory=dict)


@dataclass
class _Part:
    """One drawn shape at the supersampled size: capsules (a, b, radius) or a polygon, its depth, and
    the point where it joins its parent (no ink line is drawn there)."""

    depth: float
    capsules: list[tuple[np.ndarray, np.ndarray, float]] = field(default_factory=list)
    polygon: np.ndarray | None = None
    joint: np.ndarray | None = None
    joint_radius: float = 0.0


def _hex(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (0, 2, 4)], float)


def _mask(part: _Part, grid: np.ndarray, big: int) -> np.ndarray:
    """The part's pixels (big x big bool)."""
    import cv2

    out = np.zeros((big, big), np.uint8)
    if part.polygon is not None:
        cv2.fillPoly(out, [np.round(part.polygon * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    inside = out.astype(bool)
    for a, b, r in part.capsules:
        ab = b - a
        t = np.clip(((grid - a) @ ab) / max(float(ab @ ab), 1e-9), 0, 1)
        inside |= (np.linalg.norm(grid - (a + t[..., None] * ab), axis=-1) <= r)
    return inside


def _skeleton_2d(rng: np.random.Generator, gesture: str, malformation: str | None) -> tuple[dict, list[str], dict]:
    """Local-frame chains per drawn digit (4 x 3 each; the thumb from its CMC), the palm's MCP row and
    what the malformation did."""
    skeleton = sample_proportions(rng)
    sample_pose(rng, skeleton, gesture, "none")
    fan = rng.uniform(0.5, 1.2)  # people draw the fingers they show a little spread
    for digit, extra in FAN.items():
        if digit in GESTURE_DIGITS[gesture]:
            skeleton.pose[digit].abd += fan * extra
    joints = skeleton.joints()
    chains = {d: joints[list(DIGIT_KEYPOINTS[d])] for d in DIGITS}
    radius = {d: FINGER_RADIUS[d] * 1.05 for d in DIGITS}
    extended = [d for d in GESTURE_DIGITS[gesture]]
    info: dict = {"kind": malformation}
    long_ext = [d for d in FINGERS if d in extended]
    if malformation == "extra_finger":
        bones = tuple(b * 1.05 for b in skeleton.bones["little"])
        pose = skeleton.pose["little"] if "little" in extended else skeleton.pose[long_ext[-1]]
        chains["sixth"] = finger_chain(bones, skeleton.mcp_distance["little"] * 0.93, skeleton.ray_angle["little"] - 16.0,
                                       pose)
        radius["sixth"] = radius["little"] * 0.95
        extended.append("sixth")
    elif malformation == "missing_finger":
        inner = [d for d in long_ext if d != long_ext[0] and d != long_ext[-1]] or long_ext
        gone = str(rng.choice(inner))
        del chains[gone]
        extended.remove(gone)
        info["digit"] = gone
    elif malformation == "fused_fingers":
        pairs = [(a, b) for a, b in zip(FINGERS, FINGERS[1:]) if a in extended and b in extended]
        a, b = pairs[int(rng.integers(len(pairs)))]
        chains[a] = (chains[a] + chains.pop(b)) / 2
        radius[a] = 0.85 * (radius[a] + radius[b])
        extended.remove(b)
        info["digits"] = [a, b]
    return {d: (c, radius[d]) for d, c in chains.items()}, extended, info


def _palm_polygon(chains: dict) -> np.ndarray:
    """Wrist, thumb base, the outer knuckles and the webs between neighbouring fingers (local frame, z = 0)."""
    row = sorted((c[0] for d, (c, _) in chains.items() if d != "thumb"), key=lambda p: -p[0])  # radial -> ulnar
    radial, ulnar = row[0], row[-1]
    webs = [(p + q) / 2 + np.array([0.0, 0.06, 0.0]) for p, q in zip(row, row[1:])]
    pts = [np.array([-0.27, 0.0, 0]), np.array([0.25, 0.0, 0]), np.array([0.33, 0.32, 0]),
           radial + np.array([0.08, -0.06, 0]), *webs, ulnar + np.array([-0.08, -0.06, 0]),
           np.array([ulnar[0] - 0.05, ulnar[1] * 0.5, 0])]
    return np.array([p * np.array([1, 1, 0]) for p in pts])


def _camera(rng: np.random.Generator, view: str, handedness: str, gesture: str, chains: dict) -> np.ndarray:
    """Local frame -> camera (x right, y down, z away), palm or back towards the viewer, roughly upright."""
    mirror = np.diag([-1.0 if handedness == "left" else 1.0, 1.0, 1.0])
    base = PALM_TO_CAMERA @ _rot("y", VIEW_YAW[view] + rng.uniform(-15, 15)) @ _rot("x", rng.uniform(-12, 12))
    roll = rng.uniform(-35, 35)
    if gesture in ("thumbs_up", "gun"):  # the thumb points up, as people draw it
        thumb = chains["thumb"][0][3] - chains["thumb"][0][1]
        v = (base @ mirror @ thumb)[:2]
        roll = np.degrees(np.arctan2(-1.0, 0.0) - np.arctan2(v[1], v[0])) + rng.uniform(-15, 15)
    return _rot("z", roll) @ base @ mirror


def _parts(chains: dict, to_cam: np.ndarray, scale: float, offset: np.ndarray, width: float) -> list[_Part]:
    """The body (forearm stub, palm, thumb metacarpal) and one part per finger bone, in camera pixels."""

    def project(p):
        q = np.asarray(p, float) @ to_cam.T
        return q[..., :2] * scale + offset, q[..., 2]

    poly, poly_z = project(_palm_polygon(chains))
    (wa, wb), _ = project(np.array([[0, 0.05, 0], [0, -0.9, 0]]))
    thumb, thumb_r = chains["thumb"]
    (t0, t1), _ = project(thumb[:2])
    body = _Part(depth=float(poly_z.mean()), polygon=poly,
                 capsules=[(wa, wb, 0.29 * scale), (t0, t1, 0.15 * scale)])
    parts = [body]
    for digit, (chain, radius) in chains.items():
        pts, z = project(chain)
        radii = np.linspace(radius, radius * 0.85, 4) * scale
        for k in range(1 if digit == "thumb" else 0, 3):
            depth = float(z[k : k + 2].mean()) - (0.02 if k else 0.04) * scale  # level with the palm: drawn over it
            parts.append(_Part(depth=depth, capsules=[(pts[k], pts[k + 1], float(radii[k + 1]))],
                               joint=pts[k], joint_radius=(float(radii[k]) + width) * (1.5 if k == 0 else 1.0) + 1))
    return parts


def _paint(parts: list[_Part], big: int, fill: np.ndarray, ink: np.ndarray, paper: np.ndarray, width: float) -> np.ndarray:
    """Painter's algorithm, far to near: every part is filled and inked where it lies over something
    already drawn (not where it joins its parent), and the whole hand gets one outer outline."""
    import cv2

    ys, xs = np.mgrid[0:big, 0:big] + 0.5
    grid = np.stack([xs, ys], -1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * int(width) + 1,) * 2)
    masks = [(_mask(p, grid, big), p) for p in sorted(parts, key=lambda p: -p.depth)]
    union = np.logical_or.reduce([m for m, _ in masks])
    img = np.broadcast_to(paper, (big, big, 3)).copy()
    img[cv2.dilate(union.astype(np.uint8), kernel).astype(bool)] = ink
    drawn = np.zeros((big, big), bool)
    for m, p in masks:
        ring = cv2.dilate(m.astype(np.uint8), kernel).astype(bool) & ~m & drawn
        if p.joint is not None:
            ring &= np.linalg.norm(grid - p.joint, axis=-1) > p.joint_radius
        img[ring] = ink
        img[m] = fill
        drawn |= m
    return img


def _chalk(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(fill, ink, paper, width factor) of a chalk drawing: light lines on a dark board, the hand not filled in."""
    board = _hex(str(rng.choice(BOARDS)))
    return board, _hex(str(rng.choice(CHALKS))), board, 1.0


def _chalk_texture(rng: np.random.Generator, img: np.ndarray, board: np.ndarray) -> np.ndarray:
    """Chalk is grainy: each stroke pixel keeps 55-100 % of its lightness, and the board carries smudges."""
    import cv2

    grain = rng.uniform(0.55, 1.0, img.shape[:2])[..., None]
    out = board + (img - board) * grain
    smudge = cv2.GaussianBlur(rng.normal(0, 1, img.shape[:2]).astype(np.float32), (0, 0), img.shape[0] / 24)
    return out + 6.0 * smudge[..., None] / max(float(np.abs(smudge).max()), 1e-6)


def _pencil(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(fill, ink, paper, width factor) of a pencil sketch: thin graphite lines on paper, the hand not filled in."""
    paper = _hex(str(rng.choice(PAPERS)))
    return paper, _hex(str(rng.choice(GRAPHITES))), paper, float(rng.uniform(0.6, 0.9))


def _sketchy(rng: np.random.Generator, img: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """A pencil goes over its lines twice, a little apart, and graphite is light and grainy: the strokes are the
    darker of the drawing and a copy shifted by up to a pixel, each keeping 50-100 % of its darkness, on paper
    with a faint tooth."""
    import cv2

    shift = rng.uniform(-1.0, 1.0, 2) * SUPERSAMPLE
    moved = cv2.warpAffine(img, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), img.shape[1::-1],
                           borderMode=cv2.BORDER_REPLICATE)
    strokes = np.minimum(img, paper + (moved - paper) * 0.7)
    grain = rng.uniform(0.5, 1.0, img.shape[:2])[..., None]
    tooth = rng.normal(0, 2.5, img.shape[:2])[..., None]
    return paper + (strokes - paper) * grain + tooth


def _watercolour(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(fill, ink, paper, width factor) of a watercolour: a skin-coloured wash with no ink line, only the pigment
    that pools darker where a stroke ends (the same hue, 60-80 % as light), on white paper."""
    wash = _hex(str(rng.choice(WASHES)))
    return wash, wash * rng.uniform(0.6, 0.8), _hex(str(rng.choice(PAPERS[:2]))), float(rng.uniform(0.7, 1.0))


def _wash(rng: np.random.Generator, img: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """Watercolour is soft and uneven: the pigment bleeds (a blur of 0.6-1.1 px at 64 px), lies thicker in some
    places than others (a slow mottle of +-20 %) and the paper has a grain."""
    import cv2

    big = img.shape[0]
    soft = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.6, 1.1) * SUPERSAMPLE)
    mottle = cv2.GaussianBlur(rng.normal(0, 1, img.shape[:2]).astype(np.float32), (0, 0), big / 12)
    mottle = 1 + 0.2 * mottle / max(float(np.abs(mottle).max()), 1e-6)
    grain = rng.normal(0, 3.0, img.shape[:2])[..., None]
    return paper + (soft - paper) * mottle[..., None] + grain


def _shadow(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(fill, ink, paper, width factor) of a shadow hand: the whole hand one solid ink shape on paper, so only its
    outline tells the fingers (overlapping ones merge, as in a shadow-puppet or a silhouette sign)."""
    ink = _hex(str(rng.choice(SHADOW_INKS)))
    return ink, ink, _hex(str(rng.choice(PAPERS))), 1.0


def _ink_bleed(rng: np.random.Generator, img: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """Ink on paper bleeds a little (a blur of 0.2-0.5 px at 64 px), and the paper has a faint grain."""
    import cv2

    soft = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.2, 0.5) * SUPERSAMPLE)
    return soft + rng.normal(0, 2.0, img.shape[:2])[..., None]


DRAWN_LOOKS = {"chalk": (_chalk, _chalk_texture), "pencil": (_pencil, _sketchy),
               "watercolour": (_watercolour, _wash), "shadow": (_shadow, _ink_bleed)}  # (materials, texture) per look


def draw_hand(seed: int, index: int = 0, size: int = 64, gesture: str | None = None,
              malformation: str | None = None, look: str = "cartoon") -> Cartoon:
    """One cartoon hand; everything random comes from (seed, index, malformation). `look`: "cartoon" (flat
    fill and a dark outline), "chalk" (light lines on a dark board, not filled in: a third style, held out
    from every fit and from every choice made on the cartoons) or "pencil" (thin sketchy graphite lines on
    paper, not filled in: a fourth, held out from every fit and from the choice made on chalk and line
    drawings), "watercolour" (a soft skin-coloured wash without ink lines: a fifth, drawn after the look net and
    its threshold were chosen) or "shadow" (the hand one solid ink shape on paper: a sixth, drawn after the second
    look net was chosen); the same hand for the same arguments."""
    if malformation is not None and malformation not in MALFORMATIONS:
        raise ValueError(f"unknown malformation {malformation!r}; choose from {MALFORMATIONS}")
    if look not in LOOKS:
        raise ValueError(f"unknown look {look!r}; choose from {LOOKS}")
    key = [seed, index, 0 if malformation is None else 1 + MALFORMATIONS.index(malformation)]
    rng = np.random.default_rng(key)
    options = GESTURES_2D if malformation is None else MALFORMED_GESTURES[malformation]
    gesture = gesture or str(rng.choice(options))
    view, handedness = str(rng.choice(["palm", "back"])), str(rng.choice(["right", "left"]))
    chains, extended, info = _skeleton_2d(rng, gesture, malformation)
    to_cam = _camera(rng, view, handedness, gesture, chains)
    big = size * SUPERSAMPLE
    pts = np.concatenate([c for c, _ in chains.values()] + [np.array([[0, -0.6, 0], [0.3, 0.3, 0], [-0.3, 0.3, 0]])])
    xy = (pts @ to_cam.T)[:, :2]
    lo, hi = xy.min(0) - 0.2, xy.max(0) + 0.2
    scale = rng.uniform(0.6, 0.85) * big / float((hi - lo).max())
    offset = -lo * scale + rng.uniform(0.15, 0.85, 2) * np.maximum(big - (hi - lo) * scale, 0)
    fills = MONK[:8] + list(CARTOON_FILLS)  # the two darkest tones would hide the ink
    fill = _hex(str(rng.choice(fills)))
    ink, paper = _hex(str(rng.choice(INKS))), _hex(str(rng.choice(PAPERS)))
    width = rng.uniform(1.0, 1.6) * SUPERSAMPLE
    drawn = DRAWN_LOOKS.get(look)
    if drawn is not None:  # a stream of its own (8 + the look's place): the cartoon's draws stay as they were
        stream = np.random.default_rng([*key, 8 + LOOKS.index(look)])
        fill, ink, paper, thin = drawn[0](stream)
        width *= thin
    img = _paint(_parts(chains, to_cam, scale, offset, width), big, fill, ink, paper, width)
    if drawn is not None:
        img = drawn[1](stream, img.astype(np.float32), paper)
    image = img.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, 3).mean((1, 3))
    label = {"style": "2d" if look == "cartoon" else look, "gesture": gesture, "view": view, "handedness": handedness,
             "extended": [d for d in extended], "extended_count": len(extended),
             "asked_count": len(GESTURE_DIGITS[gesture]), "malformation": malformation, "malformation_info": info}
    return Cartoon(image=np.clip(image + 0.5, 0, 255).astype(np.uint8), label=label)
