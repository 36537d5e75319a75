"""The fixed prompt set of the benchmark: every gesture and every held object, phrased as people would.

Defined here, below every room, because two rooms read it: the benchmark measures on it (`bench.prompts` hands it
on) and the app's "Fix it with feedback" view offers it, so a class picks the very prompts the gain was measured on."""

from __future__ import annotations

PROMPTS: dict[str, str] = {
    "open_palm": "an open hand with five fingers spread",
    "fist": "a clenched fist",
    "point": "a hand pointing with the index finger",
    "peace": "a peace sign",
    "thumbs_up": "a thumbs up",
    "ok": "the OK sign",
    "rock": "rock on, devil horns",
    "call_me": "hang loose, call me",
    "three": "three fingers up",
    "four": "four fingers up, thumb tucked in",
    "gun": "a finger gun",
    "banana": "a person holding a banana",
    "phone": "a hand holding a phone",
    "cup": "a hand holding a cup",
}
# Prompts whose hands hide fingers (occlusion) vs. those that show every extended finger.
OCCLUDED = ("fist", "banana", "phone", "cup")
OPEN = ("open_palm", "four", "three", "peace")
