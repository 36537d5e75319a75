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
# Diffusion denoising steps; default 4 DPM++ steps: as good as 10 by the raters' eyes (judge/fit/raters, the same five
# raters and prompts: quality 2.93 of 5 [2.74, 3.11] on 48 pictures at 4 steps, 2.94 [2.81, 3.08] on 120 at 10, difference
# -0.01 [-0.24, +0.22]; a hand 100 % vs 99 %; at 2 steps 2.26 against 2.79, -0.53 [-0.81, -0.26]; bootstrap 95 %), and
# the wait a class has, 2.5x less diffusion (README, Speed). The Steps slider still goes to 250: more steps, slower.
STEPS = Bound(1, 250, 4)
GUIDANCE = Bound(0.0, 15.0, 2.5)  # classifier-free guidance scale
SAMPLERS: tuple[str, ...] = ("dpm++", "ddim", "ddpm")
DEFAULT_SAMPLER = "dpm++"
DEFAULT_VARIANT = "full"

# The arena's votes (feedback/store.py refuses what breaks them; demo/arena.py serves the known-answer share).
VOTE_MIN_INTERVAL_S = 0.5  # one session's votes: never two within half a second
VOTES_PER_MINUTE = 30  # and at most this many in any 60 seconds
# New pairs one session is served in any 60 seconds: each draws and judges two pictures, so a client hammering
# /arena_pair is refused before anything is drawn. Above VOTES_PER_MINUTE, as a visitor may skip a pair unrated.
PAIRS_PER_MINUTE = 40
KNOWN_ANSWER_SHARE = 0.1  # pairs whose answer is known (a clean render against a broken one), served blind
CARELESS_MIN_FAILS = 2  # a session that failed this many known-answer pairs, and more than half of those it saw,
#                         is careless: its votes are kept, apart, and left out of the leaderboard by default

# "Fix it with feedback" opens on the first of bench.feedback's held-out seeds (EVAL_SEED, fixed before any training):
# no vote, rater picture or training pair was drawn from seeds this high, so what it shows was never learnt from.
FEEDBACK_VIEW_SEED = 900_000
