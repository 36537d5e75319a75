"""Training sets of rendered hands, built once in parallel and cached on disk as numpy arrays.

The cache key is (count, seed, size), so every family trains on byte-identical data. Two options of
issue 18 make other sets, each under a key of its own (the default set's folder and bytes are unchanged):
`captions="visible"` conditions every hand on what its picture shows (`world.captions.visible_fields`:
a hidden gesture becomes the one seen, or "any"), `scene="small-hand"` puts the same hands small in a
larger frame (`world.scenes`; labels keep the hand's `tile_box` and `hand_box`).
"""

from __future__ import annotations

import fcntl
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from core.settings import cache_dir
from core.vocab import HandSpec, condition_indices
from world.captions import CAPTION_MODES, captions_for, visible_fields
from world.render import RENDER_VERSION
from world.scenes import SCENES, render_scene

LABEL_KEYS = ("gesture", "handedness", "object", "skin_tone", "view", "extended", "extended_count", "keypoints", "captions")
SCENE_KEYS = ("tile_box", "hand_box")  # where the hand is, in scenes other than the hand-filling frame
CAPTION_STREAM = 19  # visible captions' phrasing draws from its own stream (seed, index, CAPTION_STREAM)


def _render_chunk(args: tuple[int, int, int, int, str, str]) -> tuple[np.ndarray, list[dict]]:
    seed, start, stop, size, captions, scene = args
    images, labels = [], []
    for i in range(start, stop):
        r = render_scene(seed, i, size, scene)
        images.append(r.image)
        label = {k: r.label[k] for k in LABEL_KEYS + (SCENE_KEYS if scene != "hand" else ())}
        if captions == "visible":  # the spec the hand is trained on, and words that say no more than it
            label["caption_spec"] = visible_fields(r.label, r.projection, r.object_cover)
            label["captions"] = captions_for(np.random.default_rng([seed, i, CAPTION_STREAM]), label["caption_spec"])
        labels.append(label)
    return np.stack(images), labels


def folder_name(count: int, seed: int = 0, size: int = 64, captions: str = "plain", scene: str = "hand") -> str:
    """The cache folder of a set: the default set's name has no option in it (it predates them)."""
    if captions not in CAPTION_MODES or scene not in SCENES:
        raise ValueError(f"captions must be one of {CAPTION_MODES} and scene one of {SCENES}")
    options = ("" if captions == "plain" else f"-cap-{captions}") + ("" if scene == "hand" else f"-scene-{scene}")
    return f"hands-v{RENDER_VERSION}-n{count}-s{seed}-px{size}{options}"


def build(count: int, seed: int = 0, size: int = 64, root: Path | None = None, workers: int | None = None,
          captions: str = "plain", scene: str = "hand") -> Path:
    """Render `count` clean hands (or reuse the cache); returns the dataset folder."""
    folder = (root or cache_dir()) / folder_name(count, seed, size, captions, scene)
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "w") as lock:  # two trainers starting at once build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "done").exists():
            _build_into(folder, count, seed, size, workers, captions, scene)
    return folder


def _build_into(folder: Path, count: int, seed: int, size: int, workers: int | None, captions: str, scene: str) -> None:
    chunk = 250
    jobs = [(seed, s, min(s + chunk, count), size, captions, scene) for s in range(0, count, chunk)]
    workers = workers or max(1, min(len(jobs), os.cpu_count() or 1))
    images = np.zeros((count, size, size, 3), np.uint8)
    labels: list[dict] = []
    with ProcessPoolExecutor(workers) as pool:
        for (_, start, stop, *_), (imgs, labs) in zip(jobs, pool.map(_render_chunk, jobs)):
            images[start:stop] = imgs
            labels.extend(labs)
    conds = np.array([condition_indices(spec_of(label.get("caption_spec", label))) for label in labels], np.int64)
    np.save(folder / "images.npy", images)
    np.save(folder / "conditions.npy", conds)
    with open(folder / "labels.jsonl", "w") as f:
        for label in labels:
            f.write(json.dumps(label) + "\n")
    (folder / "done").write_text("ok\n")


def spec_of(label: dict) -> HandSpec:
    """The spec a label's fields say: a rendered hand's full spec (no field left open); a visible
    caption's `caption_spec` may leave fields open (None: the picture cannot tell)."""
    return HandSpec(**{k: label[k] for k in ("gesture", "handedness", "object", "skin_tone", "view")})


def load(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images N x S x S x 3 uint8, conditions N x 5 int64), memory-mapped."""
    return np.load(folder / "images.npy", mmap_mode="r"), np.load(folder / "conditions.npy")


def main() -> None:
    import argparse
    import time

    parser = argparse.ArgumentParser(description="Build (or find) a cached training set.")
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--captions", choices=CAPTION_MODES, default="plain")
    parser.add_argument("--scene", choices=SCENES, default="hand")
    args = parser.parse_args()
    t0 = time.perf_counter()
    folder = build(args.count, args.seed, args.size, captions=args.captions, scene=args.scene)
    dt = time.perf_counter() - t0
    print(json.dumps({"folder": str(folder), "count": args.count, "seconds": round(dt, 1), "images_per_s": round(args.count / dt, 1)}))


if __name__ == "__main__":
    main()
