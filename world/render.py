"""The procedural hand renderer: a posed 3D skeleton dressed in capsules, lit and z-buffered.

`render_sample(seed, index, size, spec, anomaly)` is the one entry point; it returns the image,
the hand mask and the ground truth. Same (seed, index, size, spec, anomaly) -> same bytes.

CLI: python -m world.render --count N --seed S --size PX --out DIR [--anomaly KIND]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from core.anatomy import DIGIT_KEYPOINTS, FINGER_RADIUS, FINGERS, PALM_HALF_THICKNESS, Skeleton
from core.vocab import ANOMALIES, DIGITS, GESTURE_DIGITS, GESTURES, OBJECTS, SKIN_TONES, VIEWS, HandSpec
from world.captions import captions_for
from world.pose import sample_pose, sample_proportions
from world.raster import ZBuffer

# Monk Skin Tone scale hex values, grouped in pairs into SKIN_TONES.
MONK = ["f6ede4", "f3e7db", "f7ead0", "eadaba", "d7bd96", "a07e56", "825c43", "604134", "3a312a", "292420"]
SKIN_RGB = {tone: [np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)]) / 255.0 for h in MONK[2 * k : 2 * k + 2]]
            for k, tone in enumerate(SKIN_TONES)}

SKIN, NAIL, BANANA, BANANA_TIP, PHONE, SCREEN, CUP, CUP_RIM = range(8)
HAND_MATERIALS = (SKIN, NAIL)
RENDER_VERSION = 2  # bump when a change alters pixels: cached training sets are keyed by it
SUPERSAMPLE = {32: 4, 64: 3}  # anti-aliasing factor per output size (default 2)


@dataclass
class HandRender:
    image: np.ndarray  # HxWx3 uint8
    mask: np.ndarray  # HxW bool, hand pixels
    label: dict = field(default_factory=dict)
    # What a caption or a scene needs beyond the label (world.captions, world.scenes); never in the label:
    projection: np.ndarray | None = None  # 2x4 affine, the hand's local frame (joints3d) -> output pixels
    object_cover: np.ndarray | None = None  # HxW float, share of each pixel the held object covers
    hand_cover: np.ndarray | None = None  # HxW float, share of each pixel the hand covers (mask = over 0.5)


def _rot(axis: str, deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


# Local (x radial, y distal, z palmar) -> camera (x right, y down, z away): palm faces the camera.
PALM_TO_CAMERA = np.array([[1.0, 0, 0], [0, -1, 0], [0, 0, -1]])
VIEW_YAW = {"palm": 0.0, "back": 180.0, "side": 90.0}


@dataclass
class Scene:
    """Everything drawn, in the hand's local frame (units of P)."""

    joints: np.ndarray  # 21 x 3
    fingers: list[tuple[np.ndarray, float]]  # (4 x 3 chain, base radius) per drawn digit
    objects: list[tuple[str, dict]]
    missing: list[str] = field(default_factory=list)


def choose_fields(rng: np.random.Generator, spec: HandSpec | None, anomaly: str | None) -> dict:
    """Fill what the spec left open, uniformly; objects force a grip."""
    spec = spec or HandSpec()
    obj = spec.object
    gesture = spec.gesture
    if anomaly is not None:
        obj, gesture = "none", gesture or str(rng.choice(_ANOMALY_GESTURES[anomaly]))
    if obj is None:
        if gesture is None:
            pick = int(rng.integers(len(GESTURES) - 1 + len(OBJECTS) - 1))
            gesture, obj = (GESTURES[pick], "none") if pick < len(GESTURES) - 1 else ("grip", OBJECTS[pick - len(GESTURES) + 2])
        elif gesture == "grip":
            obj = str(rng.choice(OBJECTS[1:]))
        else:
            obj = "none"
    if obj != "none":
        gesture = "grip"
    view = spec.view or str(rng.choice(VIEWS if anomaly is None else ("palm", "back")))
    return {
        "gesture": gesture,
        "object": obj,
        "view": view,
        "handedness": spec.handedness or str(rng.choice(["right", "left"])),
        "skin_tone": spec.skin_tone or str(rng.choice(SKIN_TONES)),
    }


_ANOMALY_GESTURES = {
    "extra_finger": ("open_palm", "four", "rock", "call_me", "ok"),
    "missing_finger": ("open_palm", "four", "three", "peace", "ok"),
    "fused_fingers": ("open_palm", "four", "three", "peace", "ok"),
    "long_finger": ("open_palm", "four", "rock", "call_me", "thumbs_up", "gun"),
    "bent_joint": ("open_palm", "four", "three", "peace", "point", "rock"),
}


def apply_anomaly(rng, skeleton: Skeleton, gesture: str, anomaly: str) -> tuple[dict, dict]:
    """Break the hand on purpose. Returns (extra digit bones/pose, description)."""
    ext = [d for d in GESTURE_DIGITS[gesture] if d != "thumb"]
    info: dict = {"kind": anomaly}
    extra: dict = {}
    if anomaly == "long_finger":
        digit = "little" if "little" in ext else "thumb"
        factor = rng.uniform(1.4, 1.65) if digit == "little" else rng.uniform(1.7, 2.0)
        skeleton.bones[digit] = tuple(b * factor for b in skeleton.bones[digit])
        info["digit"] = digit
    elif anomaly == "bent_joint":
        digit = str(rng.choice(ext))
        pose = skeleton.pose[digit]
        how = str(rng.choice(["hyperextended_pip", "lateral_pip", "hyperextended_dip"]))
        if how == "hyperextended_pip":
            pose.pip = rng.uniform(-75, -50)
        elif how == "lateral_pip":
            pose.lateral = rng.choice([-1, 1]) * rng.uniform(40, 65)
        else:
            pose.dip = rng.uniform(-85, -60)
        info.update(digit=digit, how=how)
    elif anomaly == "missing_finger":
        info["digit"] = str(rng.choice(ext))
    elif anomaly == "fused_fingers":
        order = list(FINGERS)
        pairs = [(a, b) for a, b in zip(order, order[1:]) if a in ext and b in ext]
        info["digits"] = list(pairs[int(rng.integers(len(pairs)))])
    elif anomaly == "extra_finger":
        extra = {"bones": tuple(b * 1.05 for b in skeleton.bones["little"]), "pose": skeleton.pose["little"]}
        info["digit"] = "sixth"
    return extra, info


def build_scene(rng, skeleton: Skeleton, fields: dict, anomaly_info: dict | None, extra: dict) -> Scene:
    from core.anatomy import finger_chain

    joints = skeleton.joints()
    fingers = []
    missing = []
    fused = (anomaly_info or {}).get("digits") if (anomaly_info or {}).get("kind") == "fused_fingers" else None
    for digit in DIGITS:
        chain = joints[list(DIGIT_KEYPOINTS[digit])]
        if anomaly_info and anomaly_info["kind"] == "missing_finger" and anomaly_info["digit"] == digit:
            missing.append(digit)
            continue
        if fused and digit in fused:
            if digit == fused[0]:
                other = joints[list(DIGIT_KEYPOINTS[fused[1]])]
                merged = (chain + other) / 2
                width = FINGER_RADIUS[digit] + FINGER_RADIUS[fused[1]]
                fingers.append((merged, 0.8 * width))
                joints[list(DIGIT_KEYPOINTS[digit])] = merged
                joints[list(DIGIT_KEYPOINTS[fused[1]])] = merged
            continue
        fingers.append((chain, FINGER_RADIUS[digit]))
    if extra:
        angle = skeleton.ray_angle["little"] - 14.0
        chain = finger_chain(extra["bones"], skeleton.mcp_distance["little"] * 0.93, angle, extra["pose"])
        fingers.append((chain, FINGER_RADIUS["little"] * 0.95))
    objects = _place_object(rng, joints, fields["object"])
    return Scene(joints=joints, fingers=fingers, objects=objects, missing=missing)


def _place_object(rng, joints: np.ndarray, obj: str) -> list[tuple[str, dict]]:
    """Put the held object inside the curl of the fingers, across the palm."""
    if obj == "none":
        return []
    curl = joints[[5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]]
    centre = np.array([0.0, curl[:, 1].mean(), curl[:, 2].mean()])
    if obj == "banana":
        t = np.linspace(-1, 1, 7)
        length = rng.uniform(1.7, 2.1)
        bend = rng.uniform(0.25, 0.4)
        pts = np.stack([t * length / 2 - 0.1, centre[1] + bend * (t**2 - 0.5), np.full_like(t, centre[2])], -1)
        return [("banana", {"points": pts, "radius": rng.uniform(0.15, 0.19)})]
    if obj == "cup":
        height, radius = rng.uniform(0.9, 1.2), rng.uniform(0.36, 0.44)
        a = centre + np.array([-height * 0.55, 0, 0.05])
        return [("cup", {"a": a, "b": a + np.array([height, 0, 0]), "radius": radius})]
    half = np.array([rng.uniform(0.34, 0.4), rng.uniform(0.68, 0.8), 0.045])
    centre = np.array([0.0, joints[9, 1] * 0.85, PALM_HALF_THICKNESS + 0.06])
    return [("phone", {"centre": centre, "half": half})]


def _palm_outline(joints: np.ndarray) -> np.ndarray:
    """Palm polygon in the local frame (z=0), ordered around the palm (mirroring comes later)."""
    s = 1.0
    pts = [
        [-0.27 * s, 0.02, 0],
        [0.24 * s, 0.02, 0],
        [joints[1, 0] + 0.05 * s, joints[1, 1] + 0.1, 0],
        [joints[5, 0], joints[5, 1], 0],
        [joints[9, 0], joints[9, 1], 0],
        [joints[13, 0], joints[13, 1], 0],
        [joints[17, 0], joints[17, 1], 0],
        [joints[17, 0] - 0.03 * s, joints[17, 1] * 0.55, 0],
    ]
    return np.array(pts, float)


def render_sample(
    seed: int,
    index: int = 0,
    size: int = 64,
    spec: HandSpec | None = None,
    anomaly: str | None = None,
) -> HandRender:
    """Render one hand; all randomness comes from (seed, index)."""
    if anomaly is not None and anomaly not in ANOMALIES:
        raise ValueError(f"unknown anomaly {anomaly!r}; choose from {ANOMALIES}")
    rng = np.random.default_rng([seed, index])
    # the anomaly draws from its own stream: with a fully fixed spec, the malformed hand is the
    # clean hand of the same (seed, index) with one thing broken
    anomaly_rng = np.random.default_rng([seed, index, 1 + ANOMALIES.index(anomaly)]) if anomaly else None
    fields = choose_fields(anomaly_rng or rng, spec, anomaly)
    skeleton = sample_proportions(rng)
    sample_pose(rng, skeleton, fields["gesture"], fields["object"])
    extra, info = ({}, None) if anomaly is None else apply_anomaly(anomaly_rng, skeleton, fields["gesture"], anomaly)
    scene = build_scene(rng, skeleton, fields, info, extra)
    ss = SUPERSAMPLE.get(size, 2)
    big = size * ss
    rotation, mirror = _camera_rotation(rng, scene, fields)
    to_cam = rotation @ mirror
    cam_joints = scene.joints @ to_cam.T
    scale, offset = _fit_to_frame(rng, cam_joints, scene, to_cam, big)

    def project(p: np.ndarray) -> np.ndarray:
        return (np.asarray(p) @ to_cam.T) * scale + offset

    zbuf = ZBuffer(big)
    _draw_hand(zbuf, scene, project, scale)
    _draw_objects(zbuf, scene, project, scale)
    image = _shade(rng, zbuf, fields, big)
    image = image.reshape(size, ss, size, ss, 3).mean((1, 3))
    hand_cover = np.isin(zbuf.material, HAND_MATERIALS).reshape(size, ss, size, ss).mean((1, 3))
    keypoints = _keypoints(zbuf, project(scene.joints), scene, scale, ss)
    label = _label(fields, keypoints, anomaly, info, scene, skeleton)
    label["captions"] = captions_for(rng, fields)
    object_cover = (zbuf.material >= len(HAND_MATERIALS)).reshape(size, ss, size, ss).mean((1, 3))
    projection = np.concatenate([to_cam[:2] * scale, offset[:2, None]], 1) / ss
    return HandRender(image=np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8), mask=hand_cover > 0.5, label=label,
                      projection=projection, object_cover=object_cover, hand_cover=hand_cover)


def _camera_rotation(rng, scene: Scene, fields: dict) -> tuple[np.ndarray, np.ndarray]:
    mirror = np.diag([-1.0 if fields["handedness"] == "left" else 1.0, 1.0, 1.0])
    yaw = VIEW_YAW[fields["view"]] * (rng.choice([-1, 1]) if fields["view"] == "side" else 1)
    yaw += rng.uniform(-20, 20)
    pitch = rng.uniform(-20, 20)
    if fields["gesture"] == "point" and rng.random() < 0.3:  # pointing at the viewer
        pitch = rng.uniform(55, 75) * (1 if fields["view"] != "back" else -1)
    base = PALM_TO_CAMERA @ _rot("y", yaw) @ _rot("x", pitch)
    roll = rng.uniform(-25, 25)
    up = _up_vector(scene, fields)
    if up is not None:
        v = (base @ mirror @ up)[:2]
        if np.linalg.norm(v) > 1e-3:
            roll = np.degrees(np.arctan2(-1.0, 0.0) - np.arctan2(v[1], v[0])) + rng.uniform(-20, 20)
    return _rot("z", roll) @ base, mirror


def _up_vector(scene: Scene, fields: dict) -> np.ndarray | None:
    """A local direction that should point up in the image for this gesture, if any."""
    j = scene.joints
    if fields["gesture"] in ("thumbs_up", "gun"):
        return j[4] - j[2]
    if fields["object"] == "cup":
        return np.array([-1.0, 0.0, 0.0]) if j[4, 0] > 0 else np.array([1.0, 0.0, 0.0])
    return None


def _object_points(scene: Scene) -> list[np.ndarray]:
    pts = []
    for kind, p in scene.objects:
        if kind == "banana":
            pts.extend(p["points"])
        elif kind == "cup":
            pts.extend([p["a"], p["b"]])
        else:
            pts.extend([p["centre"] + np.array([sx * p["half"][0], sy * p["half"][1], 0]) for sx in (-1, 1) for sy in (-1, 1)])
    return pts


def _fit_to_frame(rng, cam_joints, scene: Scene, to_cam, big: int) -> tuple[float, np.ndarray]:
    """Scale and place the hand (and its object) so it fills 55-85% of the frame, fully inside."""
    pts = [cam_joints] + [np.array(_object_points(scene)) @ to_cam.T] if scene.objects else [cam_joints]
    pts2 = np.concatenate(pts)[:, :2]
    lo, hi = pts2.min(0) - 0.15, pts2.max(0) + 0.15
    extent = float((hi - lo).max())
    scale = rng.uniform(0.55, 0.85) * big / extent
    slack = big - (hi - lo) * scale
    offset2 = -lo * scale + rng.uniform(0.1, 0.9, 2) * np.maximum(slack, 0)
    return scale, np.array([offset2[0], offset2[1], 10.0 * big])


def _draw_hand(zbuf: ZBuffer, scene: Scene, project, scale: float) -> None:
    r = lambda x: x * scale  # noqa: E731 - lengths in P -> pixels
    j = scene.joints
    # forearm and palm: two flat faces with rounded rims
    zbuf.sphere_capsule(project([0, 0.05, 0]), project([0, -1.6, 0]), r(0.3), r(0.34), SKIN)
    outline = _palm_outline(j)
    h = np.array([0, 0, PALM_HALF_THICKNESS])
    for side in (h, -h):
        zbuf.face(project(outline + side), SKIN)
    for a, b in zip(outline, np.roll(outline, -1, axis=0)):
        zbuf.sphere_capsule(project(a), project(b), r(PALM_HALF_THICKNESS), r(PALM_HALF_THICKNESS), SKIN)
    for chain, radius in scene.fingers:
        if np.allclose(chain[0], j[1]):  # thumb metacarpal: the thick thenar muscle
            zbuf.sphere_capsule(project(chain[0]), project(chain[1]), r(0.15), r(radius), SKIN)
            start = 1
        else:
            start = 0
        radii = np.linspace(radius, radius * 0.8, 4)
        for k in range(start, 3):
            zbuf.sphere_capsule(project(chain[k]), project(chain[k + 1]), r(radii[k]), r(radii[k + 1]), SKIN)
        # nail: a small flat capsule on the back of the last bone, poking out of the skin
        back = _dorsal(chain)
        tip, dip = chain[3], chain[2]
        a = dip + 0.5 * (tip - dip) + back * radius * 0.45
        b = tip - 0.08 * (tip - dip) + back * radius * 0.45
        zbuf.sphere_capsule(project(a), project(b), r(radius * 0.55), r(radius * 0.5), NAIL)


def _dorsal(chain: np.ndarray) -> np.ndarray:
    """Unit vector towards the back of the hand at the finger's last bone (away from the palm)."""
    bone = chain[3] - chain[2]
    bone = bone / (np.linalg.norm(bone) + 1e-9)
    palmar = np.array([0.0, 0.0, 1.0])
    v = palmar - np.dot(palmar, bone) * bone
    n = np.linalg.norm(v)
    return -v / n if n > 1e-6 else -palmar


def _draw_objects(zbuf: ZBuffer, scene: Scene, project, scale: float) -> None:
    for kind, p in scene.objects:
        if kind == "banana":
            pts = project(p["points"])
            k = len(pts) - 1
            for i in range(k):
                taper = np.sin(np.pi * np.array([i, i + 1]) / k) * 0.55 + 0.45
                mat = BANANA_TIP if i in (0, k - 1) else BANANA
                zbuf.sphere_capsule(pts[i], pts[i + 1], p["radius"] * scale * taper[0], p["radius"] * scale * taper[1], mat)
        elif kind == "cup":
            zbuf.cylinder(project(p["a"]), project(p["b"]), p["radius"] * scale, CUP, CUP_RIM)
        else:
            to_cam = project(np.eye(3)) - project(np.zeros(3))
            axes = to_cam / np.linalg.norm(to_cam, axis=1, keepdims=True)
            zbuf.box(project(p["centre"]), axes, p["half"] * scale, (PHONE, SCREEN))


def _background(rng, big: int) -> np.ndarray:
    """Plain, gradient or a soft texture: varied but never busier than the hand."""
    base = _random_colour(rng)
    kind = rng.choice(["plain", "gradient", "texture"], p=[0.4, 0.35, 0.25])
    img = np.broadcast_to(base, (big, big, 3)).copy()
    if kind == "gradient":
        other = _random_colour(rng)
        angle = rng.uniform(0, 2 * np.pi)
        ys, xs = np.mgrid[0:big, 0:big] / big
        t = np.clip(0.5 + (xs - 0.5) * np.cos(angle) + (ys - 0.5) * np.sin(angle), 0, 1)
        img = base * (1 - t[..., None]) + other * t[..., None]
    elif kind == "texture":
        cells = int(rng.integers(3, 9))
        noise = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
        field_ = np.asarray(Image.fromarray(noise, mode="F").resize((big, big), Image.BICUBIC))
        img = img + rng.uniform(0.06, 0.14) * field_[..., None]
    return np.clip(img, 0, 1)


def _random_colour(rng) -> np.ndarray:
    import colorsys

    h, s, v = rng.uniform(0, 1), rng.uniform(0.0, 0.55), rng.uniform(0.2, 0.95)
    return np.array(colorsys.hsv_to_rgb(h, s, v))


def _shade(rng, zbuf: ZBuffer, fields: dict, big: int) -> np.ndarray:
    tones = SKIN_RGB[fields["skin_tone"]]
    t = rng.uniform(0, 1)
    skin = tones[0] * (1 - t) + tones[1] * t
    palette = {
        SKIN: skin,
        NAIL: np.clip(skin * 1.12 + np.array([0.06, 0.02, 0.02]), 0, 1),
        BANANA: np.array([0.95, 0.82, 0.2]) * rng.uniform(0.9, 1.05),
        BANANA_TIP: np.array([0.45, 0.35, 0.12]),
        PHONE: _random_colour(rng) * 0.5,
        SCREEN: np.array([0.08, 0.1, 0.16]),
        CUP: _random_colour(rng),
        CUP_RIM: np.array([0.25, 0.18, 0.12]),
    }
    light = np.array([rng.uniform(-0.7, 0.3), rng.uniform(-0.8, -0.2), -1.0])
    light /= np.linalg.norm(light)
    img = _background(rng, big)
    drawn = zbuf.material >= 0
    n = zbuf.normal[drawn]
    diffuse = np.clip(n @ light, 0, 1)
    half = light + np.array([0, 0, -1.0])
    half /= np.linalg.norm(half)
    spec = np.clip(n @ half, 0, 1) ** 24
    rim = 0.8 + 0.2 * np.clip(-n[:, 2], 0, 1)
    base = np.stack([palette[m] for m in range(len(palette))])[zbuf.material[drawn]]
    img[drawn] = base * (0.42 + 0.62 * diffuse)[:, None] * rim[:, None] + 0.12 * spec[:, None]
    return np.clip(img, 0, 1)


def _keypoints(zbuf: ZBuffer, pix: np.ndarray, scene: Scene, scale: float, ss: int) -> list[list[float]]:
    """21 x [x, y, visible] in output pixels; visible = nothing nearer than the joint's skin."""
    out = []
    missing = {kp for d in scene.missing for kp in DIGIT_KEYPOINTS[d]}
    tol = 0.16 * scale
    for i, (x, y, z) in enumerate(pix):
        xi, yi = int(x), int(y)
        inside = 0 <= xi < zbuf.size and 0 <= yi < zbuf.size
        visible = inside and i not in missing and zbuf.depth[yi, xi] >= z - tol
        out.append([round(float(x) / ss, 2), round(float(y) / ss, 2), int(visible)])
    return out


def _label(fields, keypoints, anomaly, info, scene: Scene, skeleton: Skeleton) -> dict:
    extended = list(GESTURE_DIGITS[fields["gesture"]])
    visible = [d for d in extended if d not in scene.missing and keypoints[DIGIT_KEYPOINTS[d][3]][2]]
    return {
        **fields,
        "extended": extended,
        "extended_count": len(extended),
        "visible_extended": visible,
        "visible_extended_count": len(visible),
        "keypoints": keypoints,
        "anomaly": anomaly,
        "anomaly_info": info,
        "joints3d": np.round(scene.joints, 4).tolist(),
    }


def contact_sheet(images: list[np.ndarray], columns: int = 8, scale: int = 2) -> Image.Image:
    h, w = images[0].shape[:2]
    rows = (len(images) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * w * scale, rows * h * scale), "white")
    for i, img in enumerate(images):
        tile = Image.fromarray(img).resize((w * scale, h * scale), Image.NEAREST)
        sheet.paste(tile, ((i % columns) * w * scale, (i // columns) * h * scale))
    return sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render procedural hands with ground truth.")
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--anomaly", choices=ANOMALIES, default=None)
    parser.add_argument("--prompt", default=None, help="render hands for this prompt (parsed by prompt)")
    parser.add_argument("--sheet-only", action="store_true", help="write only DIR/sheet.png (for the README)")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 1_000_000 or not 16 <= args.size <= 512:
        print("error: --count must be 1..1e6 and --size 16..512", file=sys.stderr)
        return 2
    spec = None
    if args.prompt is not None:
        from prompt import parse

        try:
            spec = parse(args.prompt)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    thumbs = []
    with open(args.out / "labels.jsonl", "w") as f:
        for i in range(args.count):
            r = render_sample(args.seed, i, args.size, spec, args.anomaly)
            name = f"{i:06d}.png"
            if not args.sheet_only:
                Image.fromarray(r.image).save(args.out / name)
            label = {"file": name, **{k: v for k, v in r.label.items() if k != "joints3d"}}
            f.write(json.dumps(label) + "\n")
            if i < 64:
                thumbs.append(r.image)
    contact_sheet(thumbs).save(args.out / "sheet.png")
    print(json.dumps({"out": str(args.out), "count": args.count, "size": args.size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
