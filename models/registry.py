"""Finds shipped generator variants under models/weights/<family>/<variant>/ and loads them.

The only place that turns a family name into code (`models.<family>.load`), so the UI, the
scorer and the benchmark depend on the `Generator` protocol alone.
"""

from __future__ import annotations

import importlib
import json
import threading
from pathlib import Path

from core import settings
from models.base import FAMILIES, Generator

WEIGHTS_ROOT = Path(__file__).resolve().parent / "weights"  # the shipped weights
_cache: dict[tuple[str, str, str], Generator] = {}
_lock = threading.Lock()


class BackendUnavailable(RuntimeError):
    """A family/variant cannot be served (missing or damaged weights); others still can."""


def weights_root() -> Path:
    """The folder served from: the shipped weights unless HANDS_WEIGHTS says otherwise (read per call)."""
    return settings.weights_root()


def variants(family: str, root: Path | None = None) -> list[str]:
    """Shipped variants of a family, 'full' first."""
    folder = (root or weights_root()) / family
    if not folder.is_dir():
        return []
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("**/*.safetensors")))
    return sorted(names, key=lambda n: (n != "full", n))


def available(root: Path | None = None) -> dict[str, list[str]]:
    return {family: variants(family, root) for family in FAMILIES}


def load(family: str, variant: str = "full", root: Path | None = None) -> Generator:
    """Load (once, thread-safely) and cache a generator; BackendUnavailable says why it can't."""
    if family not in FAMILIES:
        raise BackendUnavailable(f"unknown backend {family!r}; choose from {', '.join(FAMILIES)}")
    path = (root or weights_root()) / family / variant
    key = (family, variant, str(path))
    with _lock:
        if key in _cache:
            return _cache[key]
        if not path.is_dir():
            raise BackendUnavailable(f"{family}/{variant}: no weights in {path.parent.parent.name}/{family}/{variant}")
        try:
            with settings.MODEL_LOAD_LOCK:  # never alongside another model load (see core.settings)
                generator = importlib.import_module(f"models.{family}").load(path)
        except Exception as err:  # a damaged file must take down only this backend
            raise BackendUnavailable(f"{family}/{variant}: weights could not be loaded ({type(err).__name__}: {err})") from err
        _cache[key] = generator
        return generator


def trained_steps(family: str, variant: str = "full", root: Path | None = None) -> int | None:
    """Optimisation steps a shipped variant was trained for (its training.json), None if unknown."""
    try:
        return int(json.loads(((root or weights_root()) / family / variant / "training.json").read_text())["steps"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clear_cache() -> None:
    with _lock:
        _cache.clear()
