"""Known-answer pairs: a clean render against the same hand with one thing broken, served blind among the
generated pairs (`core.limits.KNOWN_ANSWER_SHARE`). A voter who prefers the broken hand is not looking; one who
does so often is marked careless (`feedback.store`).

Only malformations a person sees at 64 px are used (an extra, a missing or fused fingers, seen palm or back on), on
the hand the visitor asked for when it has the fingers to break (an open hand, a peace sign, four, ...): the check
then looks like any pair for that prompt. With every field of the spec fixed, the broken render is the clean render
of the same (seed, index) with that one thing changed (`world.render.render_sample`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image

from core.vocab import HANDEDNESS, SKIN_TONES, HandSpec
from world.render import RENDER_VERSION, render_sample

# The malformations used, and the gestures each shows clearly on (world.render draws them on these).
KNOWN_ANOMALIES: dict[str, tuple[str, ...]] = {
    "extra_finger": ("open_palm", "four", "rock", "call_me", "ok"),
    "missing_finger": ("open_palm", "four", "three", "peace", "ok"),
    "fused_fingers": ("open_palm", "four", "three", "peace", "ok"),
}
KNOWN_PROMPT = "an open hand with five fingers spread"  # when the visitor gave no prompt
KNOWN_SPEC = HandSpec(gesture="open_palm", object="none", text=KNOWN_PROMPT)
SIZE = 64  # the generators' picture size
KNOWN_SEEDS = 1_000_000


@dataclass(frozen=True)
class KnownPair:
    """Both renders, and what reproduces them: render_sample(seed, 0, SIZE, spec[, anomaly])."""

    spec: HandSpec
    seed: int
    anomaly: str
    clean: Image.Image
    broken: Image.Image

    @property
    def settings(self) -> dict:
        return {"size": SIZE, "index": 0, "render_version": RENDER_VERSION}


def known_pair(rng: random.Random, asked: HandSpec = KNOWN_SPEC) -> KnownPair | None:
    """A fresh clean/broken pair of the hand `asked` for (what it leaves open drawn from `rng`), or None when that
    hand has no fingers to break (a fist, a held object)."""
    anomalies = [a for a, gestures in KNOWN_ANOMALIES.items() if asked.gesture in gestures]
    if not anomalies or asked.object not in (None, "none"):
        return None
    view = asked.view if asked.view in ("palm", "back") else rng.choice(("palm", "back"))
    spec = HandSpec(gesture=asked.gesture, object="none", view=view, handedness=asked.handedness or rng.choice(HANDEDNESS),
                    skin_tone=asked.skin_tone or rng.choice(SKIN_TONES), text=asked.text)
    seed, anomaly = rng.randrange(KNOWN_SEEDS), rng.choice(anomalies)
    clean = render_sample(seed, 0, SIZE, spec).image
    broken = render_sample(seed, 0, SIZE, spec, anomaly).image
    return KnownPair(spec, seed, anomaly, Image.fromarray(clean), Image.fromarray(broken))
