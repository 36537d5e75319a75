"""Settings from the environment, read in one place (hysts-style Spaces convention)."""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# What the benchmark writes and the app reads (the app shows it; it never measures it itself).
DISTILL_EVAL = REPO_ROOT / "results" / "distill.json"  # python -m bench.distill: the 2-step student vs its teacher
FEEDBACK_EVAL = REPO_ROOT / "results" / "feedback_eval.json"  # python -m bench.feedback --record: diffusion/feedback vs full
FEEDBACK_CONFIRM = REPO_ROOT / "results" / "feedback_confirm.json"  # python -m bench.feedback --confirm --record: drawn once
FEEDBACK_LOOP = REPO_ROOT / "results" / "feedback_loop.png"  # python -m bench.feedback_loop: votes -> reward -> fine-tune


def read_results(path: Path) -> dict | None:
    """A results file another command wrote, as a JSON object; None when it is missing, unreadable or not an object
    (the reader says it has not been measured, rather than fail)."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def feedback_results(evaluation: Path = FEEDBACK_EVAL, confirmation: Path = FEEDBACK_CONFIRM) -> dict | None:
    """bench.feedback's evaluation of the feedback variant, with its confirmation set (`--confirm`: seeds no choice
    has seen) under "confirmation" when that was measured on the same weights by the same judge; None without one."""
    found, confirmed = read_results(evaluation), read_results(confirmation)
    if found is None:
        return None
    same = confirmed is not None and all(confirmed.get(k) is not None and confirmed.get(k) == found.get(k)
                                         for k in ("weights", "judge"))
    return {**found, "confirmation": confirmed} if same else found


def feedback_basis(evaluation: dict) -> tuple[dict, str]:
    """The evaluation a feedback verdict rests on, and its name: the confirmation set when there is one (seeds no choice
    saw; the held-out set compared every run, so its best is flattered there), else the held-out set."""
    confirmation = evaluation.get("confirmation")
    return (confirmation, "confirmation") if confirmation else (evaluation, "held-out")


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



def result_cache_images() -> int:
    """Images the app's cache of finished comparisons may hold (HANDS_RESULT_CACHE, default 384; 0 turns it off).

    A comparison of n images per backend holds 3n images, about 0.25 MB each with their reports (the judge's
    silhouette maps): the default keeps 32 comparisons at the default n = 4, about 100 MB at most.
    """
    value = os.environ.get("HANDS_RESULT_CACHE")
    return max(0, int(value)) if value else 384


def data_dir() -> Path:
    """Where the app keeps what people give it (the arena's votes database): HANDS_DATA, else Spaces' persistent
    /data when that folder exists and is writable (it does on a Space with persistent storage), else ./data."""
    forced = os.environ.get("HANDS_DATA")
    if forced:
        return Path(forced).expanduser()
    spaces = Path("/data")
    if spaces.is_dir() and os.access(spaces, os.W_OK):
        return spaces
    return REPO_ROOT / "data"


LOCAL_SESSION_SECRET = "hands-local-only-not-secret"  # the default: fine on a laptop, set your own on a public Space


def session_secret() -> str:
    """The key that signs the arena's anonymous session ids (HANDS_SESSION_SECRET). Whoever knows it can forge a
    session id, so a public deployment sets its own; the default is for local use and says so."""
    return os.environ.get("HANDS_SESSION_SECRET") or LOCAL_SESSION_SECRET


def timing_log() -> bool:
    """HANDS_TIMING=1: one line per /compare on stderr with the seconds spent computing (bench/wait.py reads it)."""
    return os.environ.get("HANDS_TIMING", "") not in ("", "0")
