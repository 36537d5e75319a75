"""Request limits and defaults, defined once.

The UI's sliders, the API's validation (`demo.pipeline.validate`), every generator's own checks and
the CLIs import these, so a bound cannot differ between them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bound:
    """An inclusive range and its default."""

    lo: float
    hi: float
    default: float

    def contains(self, value: float) -> bool:
        return self.lo <= value <= self.hi


PROMPT_MAX_CHARS = 1000  # longer prompts are refused, everywhere, never silently cut
SEED = Bound(0, 2**31 - 1, 0)
IMAGES = Bound(1, 16, 4)  # images per backend per request (the benchmark asks 15)
STEPS = Bound(1, 250, 10)  # diffusion denoising steps; 10 DPM++ steps: see results/benchmark.md
GUIDANCE = Bound(0.0, 15.0, 2.5)  # classifier-free guidance scale
SAMPLERS: tuple[str, ...] = ("dpm++", "ddim", "ddpm")
DEFAULT_SAMPLER = "dpm++"
DEFAULT_VARIANT = "full"

# The arena's votes (feedback/store.py refuses what breaks them; demo/arena.py serves the known-answer share).
VOTE_MIN_INTERVAL_S = 0.5  # one session's votes: never two within half a second
VOTES_PER_MINUTE = 30  # and at most this many in any 60 seconds
KNOWN_ANSWER_SHARE = 0.1  # pairs whose answer is known (a clean render against a broken one), served blind
CARELESS_MIN_FAILS = 2  # a session that failed this many known-answer pairs, and more than half of those it saw,
#                         is careless: its votes are kept, apart, and left out of the leaderboard by default
