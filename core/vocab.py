"""The words of the hand world, in one place: gestures, digits, objects, views, skin tones.

Everything that crosses a boundary (renderer labels, prompt specs, model conditioning, scorer
expectations) uses these names, so a typo is a KeyError here rather than a silent mismatch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

DIGITS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "little")

# Which digits are extended in each gesture (the renderer poses them so, the scorer expects them).
GESTURE_DIGITS: dict[str, tuple[str, ...]] = {
    "open_palm": ("thumb", "index", "middle", "ring", "little"),
    "fist": (),
    "point": ("index",),
    "peace": ("index", "middle"),
    "thumbs_up": ("thumb",),
    "ok": ("middle", "ring", "little"),
    "rock": ("index", "little"),
    "call_me": ("thumb", "little"),
    "three": ("index", "middle", "ring"),
    "four": ("index", "middle", "ring", "little"),
    "gun": ("thumb", "index"),
    "grip": (),  # wrapped around a held object
}
GESTURES: tuple[str, ...] = tuple(GESTURE_DIGITS)

OBJECTS: tuple[str, ...] = ("none", "banana", "phone", "cup")
HANDEDNESS: tuple[str, ...] = ("right", "left")
VIEWS: tuple[str, ...] = ("palm", "back", "side")
# Grouped Monk Skin Tone scale (10 tones -> 5 names); the renderer holds the colours.
SKIN_TONES: tuple[str, ...] = ("very_light", "light", "medium", "brown", "dark")
ANOMALIES: tuple[str, ...] = (
    "extra_finger",
    "missing_finger",
    "fused_fingers",
    "long_finger",
    "bent_joint",
)

# Fields a prompt may leave open; conditioning gives each an extra "any" slot.
SPEC_FIELDS: dict[str, tuple[str, ...]] = {
    "gesture": GESTURES,
    "handedness": HANDEDNESS,
    "object": OBJECTS,
    "skin_tone": SKIN_TONES,
    "view": VIEWS,
}


@dataclass
class HandSpec:
    """What a prompt asks for. A field set to None was left open by the prompt."""

    gesture: str | None = None
    handedness: str | None = None
    object: str | None = None
    skin_tone: str | None = None
    view: str | None = None
    confidence: float = 1.0
    text: str = ""
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, allowed in SPEC_FIELDS.items():
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise ValueError(f"{name}={value!r} is not one of {allowed}")

    @property
    def open_fields(self) -> list[str]:
        return [name for name in SPEC_FIELDS if getattr(self, name) is None]

    @property
    def extended(self) -> tuple[str, ...] | None:
        """Digits the prompt expects extended, or None if the gesture was left open."""
        if self.gesture is None:
            return None
        return GESTURE_DIGITS[self.gesture]

    @property
    def extended_count(self) -> int | None:
        digits = self.extended
        return None if digits is None else len(digits)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["extended"] = list(self.extended) if self.extended is not None else None
        d["extended_count"] = self.extended_count
        d["open_fields"] = self.open_fields
        return d


def condition_indices(spec: HandSpec) -> list[int]:
    """Encode a spec as one index per field; index len(values) means "any" (left open).

    All three generator families take exactly this, so they answer the same question.
    """
    out = []
    for name, allowed in SPEC_FIELDS.items():
        value = getattr(spec, name)
        out.append(len(allowed) if value is None else allowed.index(value))
    return out


def condition_sizes() -> list[int]:
    """Vocabulary size per field, including the "any" slot."""
    return [len(allowed) + 1 for allowed in SPEC_FIELDS.values()]
