"""Links that reproduce a comparison: every Compare input in the URL's query, e.g.
`?prompt=a+fist&seed=3&n=4&steps=10&guidance=2.5&sampler=dpm%2B%2B&data=full`.

The generators are deterministic for a seed, so opening such a link draws the same pictures, byte for byte.
No Gradio here: the Compare tab turns a link into input values on page load, and a run into a link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import astuple, dataclass, fields, replace
from urllib.parse import urlencode

from core.limits import DEFAULT_SAMPLER, DEFAULT_VARIANT, GUIDANCE, IMAGES, SEED, STEPS


@dataclass(frozen=True)
class Inputs:
    """The values of the Compare tab's inputs, in the order /compare takes them."""

    prompt: str
    seed: int = int(SEED.default)
    images_per_backend: int = int(IMAGES.default)
    steps: int = int(STEPS.default)
    guidance: float = float(GUIDANCE.default)
    sampler: str = DEFAULT_SAMPLER
    training_data: str = DEFAULT_VARIANT
    show_overlays: bool = False

    def as_list(self) -> list:
        return list(astuple(self))


# field -> its name in a link (short names for the long ones)
QUERY_NAMES = {"prompt": "prompt", "seed": "seed", "images_per_backend": "n", "steps": "steps", "guidance": "guidance",
               "sampler": "sampler", "training_data": "data", "show_overlays": "overlays"}


def to_query(inputs: Inputs) -> str:
    """'?prompt=...&seed=...': every input, so a link keeps drawing the same pictures if a default changes
    (the overlays only when they are on)."""
    pairs = {QUERY_NAMES[f.name]: getattr(inputs, f.name) for f in fields(Inputs)}
    pairs["overlays"] = "1" if inputs.show_overlays else None
    return "?" + urlencode({k: v for k, v in pairs.items() if v is not None})


def from_query(params: Mapping[str, str]) -> tuple[Inputs | None, list[str]]:
    """The inputs a link holds, and the names of values it held that could not be read (those keep their
    default; the run itself checks every range). (None, []) when the link names no prompt."""
    prompt = params.get("prompt", "")
    if not prompt.strip():
        return None, []
    inputs, unread = Inputs(prompt=prompt), []
    for f in fields(Inputs)[1:]:
        raw = params.get(QUERY_NAMES[f.name])
        if raw is None:
            continue
        try:
            inputs = replace(inputs, **{f.name: _parse(f.name, raw, getattr(inputs, f.name))})
        except (ValueError, OverflowError):
            unread.append(QUERY_NAMES[f.name])
    return inputs, unread


def _parse(name: str, raw: str, default):
    """One query value as its field's type; ValueError when it is not one."""
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        number = float(raw)
        if number != int(number):
            raise ValueError(f"{name} is not a whole number")
        return int(number)
    if isinstance(default, float):
        return float(raw)
    return raw
