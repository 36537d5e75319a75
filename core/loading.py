"""The one load-once mechanism: every network, encoder and generator is built through `Lazy`.

One failure policy for all of them: a value is built on first use, once, under one process-wide
load lock; if building fails, the reason is remembered (a damaged file is not re-read on every
request) and `get` raises `Unavailable` with it, while `get_or_none` returns None for callers that
can do without (the judge without MediaPipe, the prompt parser without its encoder).

Why one lock for all loads: diffusers/accelerate build models under an "empty weights" init that
patches torch globally while it runs, so an encoder loading at the same moment in another thread
came up with meta tensors ("Cannot copy out of meta tensor"; seen once in the test suite).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

_LOAD_LOCK = threading.RLock()  # a lock, not state: every Lazy's build runs under it (see above)


class Unavailable(RuntimeError):
    """A model could not be loaded; the message says which and why."""


class Lazy(Generic[T]):
    """A value built on first use, once, thread-safely; its owner (a Judge, a Registry) holds it."""

    def __init__(self, build: Callable[[], T], what: str, lock: threading.Lock | threading.RLock | None = None) -> None:
        """`lock`: a lock of the owner's for a build that loads no model (a computed reference set), so it
        does not hold every model load up behind it; default, the process-wide load lock."""
        self._build = build
        self.what = what
        self._lock = _LOAD_LOCK if lock is None else lock
        self._value: T | None = None
        self._error: str | None = None
        self._done = False

    def get(self) -> T:
        """The value; raises Unavailable (with the first failure's reason) when it cannot be built."""
        if not self._done:
            with self._lock:
                if not self._done:
                    try:
                        self._value = self._build()
                    except Exception as err:  # missing package or file, damaged weights
                        self._error = f"{self.what} unavailable: {type(err).__name__}: {err}"
                    self._done = True
        if self._error is not None:
            raise Unavailable(self._error)
        return self._value  # type: ignore[return-value]

    def get_or_none(self) -> T | None:
        """The value, or None when it cannot be built (`error` says why)."""
        try:
            return self.get()
        except Unavailable:
            return None

    @property
    def error(self) -> str | None:
        """Why the value cannot be built (builds it first if nobody asked yet), or None."""
        self.get_or_none()
        return self._error

    @property
    def loaded(self) -> bool:
        return self._done and self._error is None

    def reset(self) -> None:
        """Forget the value or the failure (after a file was repaired, or a package installed)."""
        with self._lock:
            self._value, self._error, self._done = None, None, False


def load_lock() -> threading.RLock:
    """The process-wide load lock, for a load that cannot go through Lazy (a training script's)."""
    return _LOAD_LOCK
