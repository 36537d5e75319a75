"""Training sets of rendered hands, built once in parallel and cached on disk as numpy arrays.

The cache key is (count, seed, size), so every family trains on byte-identical data.
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
from world.render import RENDER_VERSION, render_sample

LABEL_KEYS = ("gesture", "handedness", "object", "skin_tone", "view", "extended", "extended_count", "keypoints", "captions")


def _render_chunk(args: tuple[int, int, int, int]) -> tuple[np.ndarray, list[dict]]:
    seed, start, stop, size = args
    images, labels = [], []
    for i in range(start, stop):
        r = render_sample(seed, i, size)
        images.append(r.image)
        labels.append({k: r.label[k] for k in LABEL_KEYS})
    return np.stack(images), labels


def build(count: int, seed: int = 0, size: int = 64, root: Path | None = None, workers: int | None = None) -> Path:
    """Render `count` clean hands (or reuse the cache); returns the dataset folder."""
    folder = (root or cache_dir()) / f"hands-v{RENDER_VERSION}-n{count}-s{seed}-px{size}"
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "w") as lock:  # two trainers starting at once build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "done").exists():
            _build_into(folder, count, seed, size, workers)
    return folder


def _build_into(folder: Path, count: int, seed: int, size: int, workers: int | None) -> None:
    chunk = 250
    jobs = [(seed, s, min(s + chunk, count), size) for s in range(0, count, chunk)]
    workers = workers or max(1, min(len(jobs), os.cpu_count() or 1))
    images = np.zeros((count, size, size, 3), np.uint8)
    labels: list[dict] = []
    with ProcessPoolExecutor(workers) as pool:
        for (_, start, stop, _), (imgs, labs) in zip(jobs, pool.map(_render_chunk, jobs)):
            images[start:stop] = imgs
            labels.extend(labs)
    conds = np.array([condition_indices(spec_of(label)) for label in labels], np.int64)
    np.save(folder / "images.npy", images)
    np.save(folder / "conditions.npy", conds)
    with open(folder / "labels.jsonl", "w") as f:
        for label in labels:
            f.write(json.dumps(label) + "\n")
    (folder / "done").write_text("ok\n")


def spec_of(label: dict) -> HandSpec:
    """The full spec a rendered hand satisfies (no field left open)."""
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
    args = parser.parse_args()
    t0 = time.perf_counter()
    folder = build(args.count, args.seed, args.size)
    dt = time.perf_counter() - t0
    print(json.dumps({"folder": str(folder), "count": args.count, "seconds": round(dt, 1), "images_per_s": round(args.count / dt, 1)}))


if __name__ == "__main__":
    main()
