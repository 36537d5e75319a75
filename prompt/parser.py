"""Free text -> `HandSpec`: the rules first, then (when the parser has one) the sentence encoder.

Each layer fails where the other works: the rules (`prompt.rules`) are precise for slang and idioms,
the encoder (`prompt.encoder`) for paraphrases. A keyword hit wins; a held object with no gesture
named is a grip; otherwise the nearest gesture anchor wins if it beats the runner-up by a margin.
Without an encoder, or when it cannot be loaded, parsing still works, on the rules alone.

A caller that parses many prompts (the demo, the benchmark) holds one `PromptParser` with one
`GestureEncoder`; `parse` is for one prompt, once, and keeps nothing.
"""

from __future__ import annotations

import re

import prompt.rules as rules
from core.limits import PROMPT_MAX_CHARS
from core.loading import Unavailable
from core.vocab import HandSpec
from prompt.encoder import GestureEncoder

EMPTY_MESSAGE = "Prompt is empty: describe a hand, e.g. 'a peace sign'"


def checked(text: str) -> str:
    """The prompt with control characters dropped and whitespace squashed.

    Raises TypeError for a non-string, ValueError (a message for a person) for an empty prompt or
    one longer than `PROMPT_MAX_CHARS`: a long prompt is refused, never silently cut.
    """
    if not isinstance(text, str):
        raise TypeError("prompt must be a string")
    clean = rules.clean_text(text)
    if not clean:
        raise ValueError(EMPTY_MESSAGE)
    if len(text) > PROMPT_MAX_CHARS:
        raise ValueError(f"Prompt is too long: {len(text):,} characters, the limit is {PROMPT_MAX_CHARS:,}; "
                         "shorten it to the hand you want.")
    return clean


class PromptParser:
    """Parses prompts with the rules and, if given one, a sentence encoder (None: rules only)."""

    def __init__(self, encoder: GestureEncoder | None = None) -> None:
        self.encoder = encoder

    def preload(self, background: bool = True) -> None:
        """Load the encoder now (see `GestureEncoder.preload`); nothing to do without one."""
        if self.encoder is not None:
            self.encoder.preload(background)

    def parse(self, text: str) -> HandSpec:
        """Free text -> HandSpec; fields the prompt leaves open are None. Raises ValueError if empty or too long."""
        return self.parse_with_method(text)[0]

    def parse_with_method(self, text: str) -> tuple[HandSpec, str]:
        """Like `parse`, also returning how the gesture was decided.

        "keyword": a rule or emoji (or a held object -> grip); "encoder": nearest anchor phrase;
        "keyword-fallback": no rule fired and the parser has no encoder, or it could not be loaded.
        """
        clean = checked(text)
        low = rules.normalize(clean)
        attrs = rules.read_attributes(low, clean)
        gesture, conf, method, note = self._gesture(low, clean, attrs.object)
        if gesture is None and not attrs.any_named:
            conf = 0.3 if re.search(r"\bhands?\b", low) else 0.1
        spec = HandSpec(gesture=gesture, handedness=attrs.handedness, object=attrs.object, skin_tone=attrs.skin_tone,
                        view=attrs.view, confidence=round(float(conf), 3), text=clean, notes=[*attrs.notes, note])
        return spec, method

    def _gesture(self, low: str, clean: str, obj: str | None) -> tuple[str | None, float, str, str]:
        """(gesture or None, confidence, method, note) from the rules, a held object, or the encoder."""
        hit, rivals = rules.keyword_gesture(low)
        if hit:
            outranked = f" ({rivals} other cue(s) outranked)" if rivals else ""
            return hit.gesture, (0.75 if rivals else 0.9), "keyword", f"gesture '{hit.gesture}' from {hit.why}{outranked}"
        if obj not in (None, "none"):
            return "grip", 0.85, "keyword", "gesture 'grip': an object is held and no gesture was named"
        if self.encoder is None:
            return None, 0.3, "keyword-fallback", "no gesture keyword; encoder disabled (keywords only)"
        if not re.search(r"\w", low):  # e.g. "🍕": nothing for the encoder either
            return None, 0.1, "keyword", "no words and no hand emoji: nothing to understand"
        try:
            gesture, conf, note = self.encoder.nearest(clean)
        except Unavailable as err:
            return None, 0.3, "keyword-fallback", f"no gesture keyword; {str(err)[:240]}; keywords only"
        return gesture, conf, "encoder", note


def parse(text: str, use_encoder: bool = True) -> HandSpec:
    """One prompt, once (a command line's --prompt): a parser made for this call and dropped after it.

    The encoder is loaded (seconds) only when the rules do not decide. To parse many prompts, hold a
    `PromptParser(GestureEncoder())`, which loads it once.
    """
    return PromptParser(GestureEncoder() if use_encoder else None).parse(text)
