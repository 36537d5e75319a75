"""Paraphrased captions for a rendered hand, so text conditioning never sees a single template."""

from __future__ import annotations

import numpy as np

GESTURE_PHRASES: dict[str, tuple[str, ...]] = {
    "open_palm": ("an open hand with all five fingers spread", "an open palm", "a raised open hand"),
    "fist": ("a clenched fist", "a closed fist", "a hand balled into a fist"),
    "point": ("a hand pointing with the index finger", "a pointing finger", "an index finger pointing"),
    "peace": ("a peace sign", "a V sign with two fingers", "index and middle finger raised in a V"),
    "thumbs_up": ("a thumbs up", "a thumbs-up gesture", "a fist with the thumb raised"),
    "ok": ("an OK sign", "thumb and index finger forming a circle", "the OK gesture"),
    "rock": ("a rock-on sign", "horns with index and little finger", "the rock gesture"),
    "call_me": ("a call-me gesture", "thumb and little finger out like a phone", "a shaka sign"),
    "three": ("three fingers raised", "a hand showing three", "index, middle and ring finger up"),
    "four": ("four fingers raised with the thumb folded", "a hand showing four", "four fingers up"),
    "gun": ("a finger gun", "thumb and index finger like a pistol", "a hand shaped like a gun"),
    "grip": ("a hand gripping", "a hand holding", "a hand grasping"),
}
OBJECT_PHRASES = {"banana": "a banana", "phone": "a phone", "cup": "a cup"}
VIEW_PHRASES = {
    "palm": ("palm facing the viewer", "seen from the palm side"),
    "back": ("back of the hand facing the viewer", "seen from the back"),
    "side": ("seen from the side", "side view"),
}
SKIN_PHRASES = {
    "very_light": "very light skin",
    "light": "light skin",
    "medium": "medium skin",
    "brown": "brown skin",
    "dark": "dark skin",
}


def captions_for(rng: np.random.Generator, fields: dict, n: int = 3) -> list[str]:
    """n different captions that all describe the same hand."""
    out: list[str] = []
    phrases = list(GESTURE_PHRASES[fields["gesture"]])
    order = rng.permutation(len(phrases))
    for k in range(n):
        gesture = phrases[order[k % len(phrases)]]
        if fields["object"] != "none":
            gesture = f"{gesture} {OBJECT_PHRASES[fields['object']]}"
        hand = f"{fields['handedness']} hand"
        view = VIEW_PHRASES[fields["view"]][k % 2]
        skin = SKIN_PHRASES[fields["skin_tone"]]
        style = k % 3
        if style == 0:
            out.append(f"{gesture}, {hand}, {view}, {skin}")
        elif style == 1:
            out.append(f"a {hand} with {skin}: {gesture}, {view}")
        else:
            out.append(f"{gesture} ({hand}, {skin}, {view})")
    return out
