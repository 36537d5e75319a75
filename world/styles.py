"""Domain randomisation for training renders: the same hand in many looks, so the learned witnesses
learn its shape and not the renderer's one way of drawing it.

Why: the witnesses were trained on one style only (shaded capsules on calm backgrounds), and they
counted the fingers of clean cartoon hands right once in 24. A `Style` is one draw of everything
that changes the look but not the hand: dark, bright, flat, gradient or busy backgrounds (the
renderer knows the hand mask, so the background can be swapped behind it), shaded, flat or
two-tone ("toon") skin in any colour, ink outlines and inner lines, colour jitter, blur, noise,
JPEG, and a rotation and scale. The geometric part moves the training targets with the picture:
`warp` applies one affine matrix to the image, to every target mask and to the target points.

Deterministic: a style is drawn from the generator it is given (`sample_style`), and its textures
and noise come from its own `seed`, so (seed, image) -> the same bytes. The held-out cartoon style is
drawn elsewhere, and no training script may use it (tests/test_styles.py).

    style = sample_style(rng)
    image, masks, points = warp(style, image, masks, points)   # masks: C x H x W (first: the hand)
    image = paint(style, image, masks[0])
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np

BACKGROUNDS: tuple[str, ...] = ("keep", "dark", "bright", "flat", "gradient", "busy")
SKINS: tuple[str, ...] = ("shaded", "flat", "toon")
CARTOON_SKINS = ((255, 211, 78), (255, 255, 255), (255, 224, 189), (241, 194, 125), (230, 230, 235))


@dataclass(frozen=True)
class Style:
    """One look. The defaults leave a picture as it is (`PLAIN`)."""

    angle: float = 0.0  # degrees, about the hand's centre
    scale: float = 1.0
    shift: tuple[float, float] = (0.5, 0.5)  # where in the room left free the hand goes (0..1 per axis)
    background: str = "keep"
    skin: str = "shaded"  # one of SKINS, or "line" (a line drawing: `line_drawing`)
    skin_colour: tuple[float, float, float] = (0.0, 0.0, 0.0)  # 0..255
    outline: float = 0.0  # ink width in px (0: none)
    ink_inside: float = 0.0  # how far the outline also reaches into the hand, px (drawn lines sit on the edge)
    inner_lines: bool = False  # ink where the shading breaks inside the hand (fingers over each other)
    ink: tuple[float, float, float] = (20.0, 20.0, 20.0)
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    bias: tuple[float, float, float] = (0.0, 0.0, 0.0)
    saturation: float = 1.0
    swap_channels: bool = False
    blur: float = 0.0  # Gaussian sigma, px
    noise: float = 0.0  # Gaussian sigma, 0..255
    jpeg: int = 0  # quality (0: none)
    seed: int = 0  # textures and noise

    @property
    def geometric(self) -> bool:
        return self.angle != 0.0 or self.scale != 1.0


PLAIN = Style()


def _colour(rng: np.random.Generator, v: tuple[float, float], s: tuple[float, float] = (0.0, 1.0)) -> tuple:
    r, g, b = colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(*s), rng.uniform(*v))
    return (255 * r, 255 * g, 255 * b)


def _skin_colour(rng: np.random.Generator) -> tuple[float, float, float]:
    """A Monk-scale skin tone, a cartoon colour (yellow, white, peach) or any hue."""
    from world.render import MONK

    pick = rng.random()
    if pick < 0.55:
        base = np.array([int(MONK[int(rng.integers(len(MONK)))][i : i + 2], 16) for i in (0, 2, 4)], float)
    elif pick < 0.8:
        base = np.array(CARTOON_SKINS[int(rng.integers(len(CARTOON_SKINS)))], float)
    else:
        return _colour(rng, (0.3, 1.0))
    return tuple(float(c) for c in np.clip(base * rng.uniform(0.9, 1.1, 3), 0, 255))


def sample_style(rng: np.random.Generator, plain: float = 0.15, ink_inside: float = 0.0,
                 line_art: float = 0.0) -> Style:
    """One random look; with probability `plain` only mild colour, blur and noise (the renders as they
    are still make up part of what the witnesses see). With probability `ink_inside`, an outline also
    reaches into the hand: drawings ink the edge itself, which thins fingers that are 3-5 px wide at 64 px;
    an outline only outside the hand taught the net that ink ends the hand, and its mask stopped at the palm
    of outlined fingers. With probability `line_art`, a line drawing (`line_drawing`). Both are drawn from
    the style's own seed, so the other draws (and the looks drawn without them) stay as they were."""
    seed = int(rng.integers(2**31))
    jitter = rng.random() < 0.6
    look = dict(
        gain=tuple(rng.uniform(0.75, 1.25, 3)) if jitter else (1.0, 1.0, 1.0),
        bias=tuple(rng.uniform(-25, 25, 3)) if jitter else (0.0, 0.0, 0.0),
        saturation=float(rng.uniform(0.5, 1.4)) if jitter else 1.0,
        blur=float(rng.uniform(0.4, 1.5)) if rng.random() < 0.3 else 0.0,
        noise=float(rng.uniform(2, 18)) if rng.random() < 0.3 else 0.0,
        seed=seed,
    )
    if rng.random() < plain:
        return Style(**look)
    geometric = rng.random() < 0.6
    wide = rng.random() < 0.3
    angle = float(rng.uniform(-180, 180) if wide else rng.uniform(-35, 35)) if geometric else 0.0
    scale = float(np.exp(rng.uniform(np.log(0.7), np.log(1.15)))) if geometric else 1.0
    background = str(rng.choice(BACKGROUNDS, p=[0.3, 0.14, 0.14, 0.14, 0.08, 0.2]))
    skin = str(rng.choice(SKINS, p=[0.5, 0.3, 0.2]))
    outline = float(rng.uniform(0.8, 2.0)) if rng.random() < 0.35 else 0.0
    inside = np.random.default_rng([seed, 4])
    reach = float(inside.uniform(0.4, 1.2)) if outline > 0 and inside.random() < ink_inside else 0.0
    style = Style(angle=angle, scale=scale, shift=(float(rng.uniform()), float(rng.uniform())), background=background,
                  skin=skin, skin_colour=_skin_colour(rng), outline=outline, ink_inside=reach,
                  inner_lines=outline > 0 and rng.random() < 0.5, ink=_colour(rng, (0.0, 0.25)),
                  swap_channels=jitter and rng.random() < 0.1, jpeg=int(rng.integers(20, 76)) if rng.random() < 0.3 else 0,
                  **look)
    drawn = np.random.default_rng([seed, 5])
    return line_drawing(style, drawn) if drawn.random() < line_art else style


def line_drawing(style: Style, rng: np.random.Generator) -> Style:
    """`style` as a line drawing: the hand not filled in (the background shows through it), only its outline,
    on the edge, and the lines where fingers cross it, in an ink that stands out from the background (light
    on dark, dark on light: `_unfilled`), on a calm background and barely blurred (a 1 px line
    blurred away is no drawing). Why: people draw hands as lines (sketches, chalk, comics), and a net
    that only ever saw filled hands finds no hand in them."""
    calm = style.background if style.background != "busy" else str(rng.choice(["dark", "bright", "flat"]))
    return replace(style, skin="line", background=calm, outline=float(rng.uniform(0.6, 1.4)),
                   ink_inside=float(rng.uniform(0.3, 1.0)), inner_lines=True, swap_channels=False,
                   blur=min(style.blur, 0.7))


def matrix(style: Style, hand: np.ndarray) -> np.ndarray:
    """2 x 3 affine: rotate and scale about the hand's centre, then shift it within the room that keeps
    its bounding box inside the frame (no shift on an axis where it does not fit)."""
    import cv2

    size = hand.shape[0]
    ys, xs = np.nonzero(hand)
    if not len(xs):
        return np.array([[1.0, 0, 0], [0, 1.0, 0]])
    m = cv2.getRotationMatrix2D((float(xs.mean()), float(ys.mean())), style.angle, style.scale)  # pixel indices
    corners = np.array([[xs.min(), ys.min()], [xs.max(), ys.min()], [xs.min(), ys.max()], [xs.max(), ys.max()]], float)
    moved = corners @ m[:, :2].T + m[:, 2]
    lo, hi = moved.min(0), moved.max(0)
    for axis in (0, 1):
        room_lo, room_hi = 1 - lo[axis], size - 2 - hi[axis]  # allowed shifts
        if room_lo <= room_hi:
            m[axis, 2] += room_lo + style.shift[axis] * (room_hi - room_lo)
    return m


def warp(style: Style, image: np.ndarray, masks: np.ndarray, points: np.ndarray,
         m: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, masks, points) moved by the style's rotation and scale (`m`: this matrix instead, e.g. a
    clean twin's, so both twins move alike). masks: C x H x W, the hand first; points: N x >=2 (x, y first,
    pixel units, 0 at the image's left edge). The hand mask and image repeat their edge (an arm cut by
    the frame stays an arm); the other masks are zero outside."""
    import cv2

    if m is None and not style.geometric:
        return image, masks, points
    m = matrix(style, masks[0]) if m is None else m
    size = (image.shape[1], image.shape[0])
    img = cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out = np.empty_like(masks)
    for c, plane in enumerate(masks):
        border = cv2.BORDER_REPLICATE if c == 0 else cv2.BORDER_CONSTANT
        moved = cv2.warpAffine(plane.astype(np.float32), m, size, flags=cv2.INTER_LINEAR, borderMode=border)
        out[c] = (moved > 0.5).astype(masks.dtype)
    pts = np.array(points, np.float32, copy=True)
    if len(pts):  # the matrix works on pixel indices; points have pixel centres at +0.5
        pts[:, :2] = (pts[:, :2] - 0.5) @ m[:, :2].T.astype(np.float32) + m[:, 2].astype(np.float32) + 0.5
    return img, out, pts


def background(style: Style, size: int) -> np.ndarray | None:
    """The style's background (size x size x 3 float, 0..255), None to keep the picture's own."""
    import cv2

    rng = np.random.default_rng([style.seed, 1])
    kind = style.background
    if kind == "keep":
        return None
    if kind == "dark":
        img = np.broadcast_to(np.array(_colour(rng, (0.0, 0.18))), (size, size, 3)).copy()
    elif kind == "bright":
        img = np.broadcast_to(np.array(_colour(rng, (0.88, 1.0), (0.0, 0.15))), (size, size, 3)).copy()
    elif kind == "flat":
        img = np.broadcast_to(np.array(_colour(rng, (0.0, 1.0))), (size, size, 3)).copy()
    elif kind == "gradient":
        t = np.linspace(0, 1, size)[None, :, None] * np.ones((size, 1, 1))
        img = np.array(_colour(rng, (0, 1))) * (1 - t) + np.array(_colour(rng, (0, 1))) * t
        img = np.rot90(img, int(rng.integers(4))).copy()
    else:
        img = _busy(rng, size)
    if kind in ("dark", "bright", "flat") and rng.random() < 0.5:  # a little paper or cloth grain
        img = img + rng.normal(0, rng.uniform(2, 8), img.shape)
    return cv2.GaussianBlur(img.astype(np.float32), (0, 0), 0.5) if kind == "busy" and rng.random() < 0.5 else img


def _busy(rng: np.random.Generator, size: int) -> np.ndarray:
    """Clutter: stripes, checks, a coarse colour texture or scattered shapes and lines."""
    import cv2

    kind = rng.choice(["stripes", "checks", "texture", "shapes"])
    a, b = np.array(_colour(rng, (0, 1))), np.array(_colour(rng, (0, 1)))
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    if kind == "stripes":
        angle, period = rng.uniform(0, np.pi), rng.uniform(4, 16)
        t = (np.sin(2 * np.pi * (xs * np.cos(angle) + ys * np.sin(angle)) / period) > 0)[..., None]
        return np.where(t, a, b)
    if kind == "checks":
        cell = int(rng.integers(4, 14))
        t = (((xs // cell) + (ys // cell)) % 2 > 0)[..., None]
        return np.where(t, a, b)
    if kind == "texture":
        cells = int(rng.integers(4, 16))
        coarse = rng.uniform(0, 255, (cells, cells, 3)).astype(np.float32)
        return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    img = np.broadcast_to(a, (size, size, 3)).copy()
    for _ in range(int(rng.integers(4, 12))):
        colour = _colour(rng, (0, 1))
        p = tuple(int(v) for v in rng.integers(0, size, 2))
        if rng.random() < 0.5:
            q = tuple(int(v) for v in rng.integers(0, size, 2))
            cv2.line(img, p, q, colour, int(rng.integers(1, 4)))
        else:
            axes = tuple(int(v) for v in rng.integers(2, size // 4, 2))
            cv2.ellipse(img, p, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
    return img


def _skin(style: Style, img: np.ndarray, hand: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Flat or two-tone skin in the style's colour (shaded skin stays as rendered)."""
    if style.skin in ("shaded", "line") or not hand.any():  # a line drawing's hand is left unfilled (`_unfilled`)
        return img
    colour = np.array(style.skin_colour, np.float32)
    if style.skin == "flat":
        fill = np.broadcast_to(colour, img.shape)
    else:  # toon: light and shadow, cut at the hand's median brightness
        lum = img.mean(2)
        level = np.where(lum < 0.85 * float(np.median(lum[hand])), 0.72, 1.0)
        fill = colour * level[..., None]
    return img * (1 - alpha[..., None]) + fill * alpha[..., None]


def _contrast(bg: np.ndarray, img: np.ndarray, hand: np.ndarray, least: float = 40.0) -> np.ndarray:
    """The background, or its negative where it would be within `least` (RGB distance) of the hand's
    mean colour: a hand that cannot be seen teaches nothing."""
    skin = img[hand].mean(0)
    return 255 - bg if float(np.linalg.norm(bg[~hand].mean(0) - skin)) < least else bg


def legible(style: Style, hand: np.ndarray, points: np.ndarray, depth: float = 2.5) -> Style:
    """The style, with flat skin turned two-tone when a target point (a fingertip) lies deeper than `depth` px
    inside the hand: a finger in front of the palm vanishes in one flat colour, and a target there would
    teach the net to see what is not drawn."""
    import cv2

    if style.skin != "flat" or not len(points):
        return style
    inside = cv2.distanceTransform(np.pad(hand.astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    h, w = hand.shape
    xs = np.clip(points[:, 0].astype(int), 0, w - 1)
    ys = np.clip(points[:, 1].astype(int), 0, h - 1)
    return replace(style, skin="toon") if float(inside[ys, xs].max()) > depth else style


def _ink(style: Style, img: np.ndarray, hand: np.ndarray, shading: np.ndarray) -> np.ndarray:
    """An outline around the hand (`outline` px wide, reaching `ink_inside` px into it) and, with
    `inner_lines`, lines where the rendered shading jumps inside it (a finger in front of another)."""
    import cv2

    if style.outline <= 0:
        return img
    h8 = hand.astype(np.uint8)
    ring1 = cv2.dilate(h8, np.ones((3, 3), np.uint8)).astype(bool) & ~hand
    ring2 = cv2.dilate(h8, np.ones((5, 5), np.uint8)).astype(bool) & ~hand & ~ring1
    a = ring1.astype(np.float32) * min(1.0, style.outline) + ring2 * float(np.clip(style.outline - 1, 0, 1))
    inner = cv2.erode(h8, np.ones((3, 3), np.uint8))  # the hand less its outermost pixels
    if style.ink_inside > 0:
        edge1 = hand & ~inner.astype(bool)
        edge2 = inner.astype(bool) & ~cv2.erode(h8, np.ones((5, 5), np.uint8)).astype(bool)
        a = a + edge1 * min(1.0, style.ink_inside) + edge2 * float(np.clip(style.ink_inside - 1, 0, 1))
    if style.inner_lines:
        gx, gy = cv2.Sobel(shading, cv2.CV_32F, 1, 0), cv2.Sobel(shading, cv2.CV_32F, 0, 1)
        grad = np.hypot(gx, gy) * inner
        if grad.max() > 0:
            least = 1.0 if style.skin == "line" else 0.6  # a line drawing draws only the sharpest breaks
            a = np.maximum(a, np.clip(grad / max(float(np.quantile(grad[hand], 0.9)), 1e-3) - least, 0, 1) * 0.9)
    return img * (1 - a[..., None]) + np.array(style.ink, np.float32) * a[..., None]


def _unfilled(style: Style, img: np.ndarray, hand: np.ndarray, alpha: np.ndarray,
              bg: np.ndarray | None) -> tuple[np.ndarray, Style]:
    """A line drawing's hand: the background where the hand was (a kept background, the render's own, is
    painted in from around the hand), and the style's ink turned light on a dark background."""
    import cv2

    if bg is None:
        around = cv2.dilate(hand.astype(np.uint8), np.ones((3, 3), np.uint8))
        under = cv2.inpaint(np.clip(img + 0.5, 0, 255).astype(np.uint8), around, 3, cv2.INPAINT_TELEA).astype(np.float32)
    else:
        under = bg
    img = img * (1 - alpha[..., None]) + under * alpha[..., None]
    dark = float(np.mean(under[hand])) < 110
    return img, replace(style, ink=tuple(255.0 - c for c in style.ink)) if dark else style


def _colour_jitter(style: Style, img: np.ndarray) -> np.ndarray:
    img = img * np.array(style.gain, np.float32) + np.array(style.bias, np.float32)
    grey = img.mean(2, keepdims=True)
    img = grey + style.saturation * (img - grey)
    return img[..., ::-1] if style.swap_channels else img


def paint(style: Style, image: np.ndarray, hand: np.ndarray) -> np.ndarray:
    """The picture in the style's look (HxWx3 uint8 in and out); `hand`: its hand mask (after `warp`)."""
    import cv2

    hand = hand.astype(bool)
    img = image.astype(np.float32)
    shading = img.mean(2)
    alpha = cv2.GaussianBlur(hand.astype(np.float32), (0, 0), 0.5) if hand.any() else hand.astype(np.float32)
    img = _skin(style, img, hand, alpha)
    bg = background(style, img.shape[0])
    if bg is not None:
        bg = _contrast(bg, img, hand) if hand.any() else bg
        img = bg * (1 - alpha[..., None]) + img * alpha[..., None]
    if style.skin == "line" and hand.any() and not hand.all():
        img, style = _unfilled(style, img, hand, alpha, bg)
    img = _ink(style, img, hand, shading)
    img = _colour_jitter(style, img)
    if style.blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), style.blur)
    if style.noise > 0:
        img = img + np.random.default_rng([style.seed, 2]).normal(0, style.noise, img.shape).astype(np.float32)
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    if style.jpeg:
        ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, style.jpeg])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy() if ok else out
    return out


def for_render(style: Style, holds_object: bool) -> Style:
    """`style` as a render can take it: one that holds an object keeps its background (the hand mask does not
    cover the object)."""
    return replace(style, background="keep") if holds_object else style


def restyle(style: Style, image: np.ndarray, hand: np.ndarray) -> np.ndarray:
    """A whole picture in the style's look (`warp`, then `paint`), given only its hand mask."""
    image, masks, _ = warp(style, image, hand[None].astype(np.uint8), np.zeros((0, 2)))
    return paint(style, image, masks[0])


def randomise(rng: np.random.Generator, image: np.ndarray, masks: np.ndarray, points: np.ndarray,
              tips: np.ndarray | None = None, keep_background: bool = False,
              plain: float = 0.15, ink_inside: float = 0.0,
              line_art: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One random style applied to a picture and its targets: (image, masks, points). `tips`: which points
    are fingertips (see `legible`); `keep_background` for pictures with a held object, which the hand mask
    does not cover (a new background would erase it); `plain`, `ink_inside`, `line_art`: see
    `sample_style`."""
    style = for_render(sample_style(rng, plain, ink_inside, line_art), keep_background)
    image, masks, points = warp(style, image, masks, points)
    if tips is not None:
        style = legible(style, masks[0], points[tips])
    return paint(style, image, masks[0]), masks, points
