"""Prompt rules: keywords, slang, emoji, negation, digit states, held objects, skin tones, views.

Pure functions over the text, no model. Rules are precise for slang and idioms that sentence
embeddings do not understand ("V for victory", "shaka"); the encoder (`prompt.encoder`) catches the
paraphrases no rule anticipates. The parser (`prompt.parser`) asks the rules first.

The rules read `normalize(clean_text(prompt))`: lower case, quotes blanked, emoji selectors dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from core.vocab import DIGITS, GESTURE_DIGITS

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


@dataclass(frozen=True)
class Hit:
    gesture: str
    start: int
    rank: float  # lower wins
    why: str


def clean_text(text: str) -> str:
    """Drop control characters (keep emoji joiners/selectors), squash whitespace."""
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return re.sub(r"\s+", " ", kept).strip()


def _negated(low: str, start: int) -> bool:
    """True if a negation word precedes position `start` within the same clause (<= 4 words)."""
    clause = re.split(r"[,.;:!?()]", low[:start])[-1]
    return bool(NEGATION.search(" ".join(clause.split()[-4:])))


def keyword_hits(low: str) -> list[Hit]:
    hits, rules = [], TIER1 + TIER2
    if RPS.search(low):
        low, rules = RPS.sub(" ", low), RPS_RULES + rules
    for rank, (gesture, alternatives) in enumerate(rules, start=-len(rules) + len(TIER1 + TIER2)):
        for m in re.finditer("|".join(alternatives), low):
            if not _negated(low, m.start()):
                hits.append(Hit(gesture, m.start(), rank, f"keyword '{m.group(0).strip()}'"))
                break
    for m in NUMBER_RULE.finditer(low):  # "counting 1 2 3" -> the last number
        n = re.split(r"[ ,]+", m.group("seq"))[-1] if m.group("seq") else m.group("n")
        hits.append(Hit(_NUM_GESTURE[_N.get(n, n)], m.start(), 6.5, f"number phrase '{m.group(0)}'"))
    for emoji, gesture in EMOJI_GESTURES.items():
        if (i := low.find(emoji)) >= 0:
            hits.append(Hit(gesture, i, len(TIER1) - 1, f"emoji {emoji}"))
    if digit_hit := digit_states(low):
        hits.append(digit_hit)
    if not hits and (m := BARE_NUMBER.search(low)):
        hits.append(Hit(_NUM_GESTURE[_N.get(m["n"], m["n"])], m.start(), 99, f"bare number '{m['n']}'"))
    return hits


def digit_states(low: str) -> Hit | None:
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
            return Hit(gesture, start, rank, f"digits up: {', '.join(ordered)}")
    return None


def pick(low: str, hits: list[Hit]) -> tuple[Hit | None, int]:
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


def find_object(low: str) -> tuple[str | None, str | None]:
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


def find_tone(low: str, raw: str) -> tuple[str | None, str | None]:
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


def normalize(clean: str) -> str:
    """The text the rules read: lower case, straight apostrophes, no emoji selectors or skin-tone
    modifiers ("4️⃣" -> "4"), quotes (not apostrophes) blanked, whitespace squashed."""
    low = clean.lower().replace("’", "'").replace("\ufe0f", "").replace("\u20e3", "")
    for tone_mod in EMOJI_TONES:
        low = low.replace(tone_mod, "")
    low = re.sub(r"[\"“”]|(?<![a-z])'|'(?![a-z])", " ", low)
    return re.sub(r"\s+", " ", low).strip()


def find_handedness(low: str) -> tuple[str | None, str | None]:
    clauses = [c.strip() for c in re.split(r"[,;.!?()]", low)]
    if m := HANDEDNESS_RULE.search(low) or next(
        (m for c in clauses if (m := re.fullmatch(r"(?:the |with the )?(left|right)(?: one)?", c))), None
    ):  # "a punching hand, left"
        word = next(g for g in m.groups() if g)
        hand = "left" if word in ("left", "lefty", "southpaw") else "right"
        return hand, f"handedness '{hand}' from '{m.group(0)}'"
    return None, None


def find_view(low: str) -> tuple[str | None, str | None]:
    return _find_first(VIEW_RULES, low)


def keyword_gesture(low: str) -> tuple[Hit | None, int]:
    """The gesture the rules name, if any, and how many other specific cues it outranked."""
    return pick(low, keyword_hits(low))


@dataclass(frozen=True)
class Attributes:
    """Everything a prompt says besides the gesture, with notes saying where each value came from."""

    handedness: str | None
    object: str | None
    skin_tone: str | None
    view: str | None
    notes: tuple[str, ...]

    @property
    def any_named(self) -> bool:
        return any((self.handedness, self.object, self.skin_tone, self.view))


def read_attributes(low: str, clean: str) -> Attributes:
    """Handedness, held object, skin tone and view of a prompt (`low` = normalize(clean))."""
    hand, hand_why = find_handedness(low)
    obj, obj_why = find_object(low)
    tone, tone_why = find_tone(low, clean)
    view, view_why = find_view(low)
    notes = [n for n in (hand_why, obj_why, tone_why) if n]
    if THUMBS_DOWN.search(low):
        notes.append("'thumbs down' is not in the vocabulary; it is read as thumbs_up (same extended digit)")
    if view:
        notes.append(f"view '{view}' from {view_why}")
    return Attributes(hand, obj, tone, view, tuple(notes))
