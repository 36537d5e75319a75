"""The fixed prompt set of the benchmark, as the bench scripts import it; defined once in `core.prompts`, where the
app can read it too (the app may not import the benchmark)."""

from __future__ import annotations

from core.prompts import OCCLUDED, OPEN, PROMPTS

__all__ = ["OCCLUDED", "OPEN", "PROMPTS"]
