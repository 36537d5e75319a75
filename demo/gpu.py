"""ZeroGPU on Hugging Face Spaces, a no-op everywhere else.

On a ZeroGPU Space a GPU is attached only while a function wrapped in `spaces.GPU` runs; the
`spaces` package is installed there. Here (CPU, laptops, CI) it usually is not, and even where it
is, `spaces.GPU` does nothing outside ZeroGPU — so the app code is the same on every machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


def on_gpu(duration: int = 60) -> Callable[[F], F]:
    """Decorator: ask ZeroGPU for a GPU for at most `duration` seconds per call, when there is one."""
    try:
        import spaces
    except ImportError:
        return lambda fn: fn
    return spaces.GPU(duration=duration)
