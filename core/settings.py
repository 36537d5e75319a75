"""Settings from the environment, read in one place (hysts-style Spaces convention)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Where rendered training sets are cached (not committed). HANDS_CACHE overrides."""
    return Path(os.environ.get("HANDS_CACHE", REPO_ROOT / ".cache")).expanduser()


def device() -> str:
    """Torch device for generation: HANDS_DEVICE, else cuda when present, else cpu."""
    forced = os.environ.get("HANDS_DEVICE")
    if forced:
        return forced
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def threads() -> int | None:
    """Torch intra-op threads (HANDS_THREADS); None leaves torch's default."""
    value = os.environ.get("HANDS_THREADS")
    return int(value) if value else None


def weights_root() -> Path:
    """Where generator weights live: HANDS_WEIGHTS (tests point it at damaged copies), else models/weights."""
    return Path(os.environ.get("HANDS_WEIGHTS", REPO_ROOT / "models" / "weights")).expanduser()


def queue_size() -> int:
    """Requests the app's queue holds before answering 'busy, try again' (HANDS_QUEUE_SIZE, default 64)."""
    value = os.environ.get("HANDS_QUEUE_SIZE")
    return max(1, int(value)) if value else 64

