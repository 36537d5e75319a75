"""The blind arena without Gradio: choose a pair, draw and judge both pictures, record what was served, count a
vote, reveal what was behind it, and the leaderboard's tables.

A pair sets two families against each other (same variant, same seed), two variants of one family (same seed), or
two seeds of one model, for the visitor's prompt or a lesson's; about KNOWN_ANSWER_SHARE of the pairs are instead
a clean render against a broken one (`feedback.known`), served the same way. Sides are shuffled and nothing about
the sources is shown until the vote; the store keeps what reproduces both pictures and what the judge said of
each (`feedback.store`), so the reveal and the leaderboard are read back from the database alone.
"""

from __future__ import annotations

import hashlib
import io
import random
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch
from PIL import Image

from core import settings
from core.limits import DEFAULT_VARIANT, KNOWN_ANSWER_SHARE
from core.vocab import HandSpec
from demo import lessons, pipeline, present
from feedback import known
from feedback.leaderboard import MIN_VOTES, Rating, leaderboard
from feedback.store import RENDER, Pair, Recorded, Side, Store, StoreUnavailable, Vote, new_pair_id
from judge import Judge
from models.registry import BackendUnavailable, Registry, family_record
from prompt import PromptParser

MATCHUPS: dict[str, float] = {"families": 0.5, "variants": 0.3, "seeds": 0.2}  # how often each kind is served
ARENA_SEEDS = 100_000
SHOWN_SIZE = 256  # pictures are shown enlarged, nearest-neighbour: the pixels shown are the pixels drawn
VARIANT_WORDS = {"full": "full data (20,000 hands)", "scarce": "scarce data (1,000 hands)"}
ANSWER_WORDS = {"left": "the left is better", "right": "the right is better", "tie": "a tie", "both_bad": "both are bad"}
ANOMALY_WORDS = {"extra_finger": "an extra finger", "missing_finger": "a finger missing",
                 "fused_fingers": "two fingers fused"}
LEADERBOARD_COLUMNS = ["Rank", "Model", "Rating", "95 % CI from", "95 % CI to", "Votes", "Wins", "Ties", "Both bad"]


@dataclass(frozen=True)
class Source:
    """A model and a seed: what draws one picture."""

    family: str
    variant: str
    seed: int


@dataclass(frozen=True)
class Matchup:
    kind: str  # "families", "variants" or "seeds"
    a: Source
    b: Source


@dataclass(frozen=True)
class Served:
    """What a visitor gets: the pictures (enlarged) in their shuffled places, the prompt, and the opaque pair id."""

    pair_id: str
    prompt: str
    left: Image.Image
    right: Image.Image


def open_store(folder: Path | None = None) -> Store | StoreUnavailable:
    """The votes store in `folder` (default HANDS_DATA), or why there is none: the arena turns voting off and says
    so, and the rest of the app serves as before."""
    try:
        return Store(folder if folder is not None else settings.data_dir())
    except StoreUnavailable as err:
        return err


def lesson_prompts() -> list[str]:
    """The lessons' prompts, each once: what an empty prompt is replaced with."""
    return sorted({lesson.inputs.prompt for lesson in lessons.LESSONS if lesson.inputs is not None})


def choose_matchup(rng: random.Random, available: dict[str, list[str]]) -> Matchup:
    """A kind of pair by MATCHUPS' weights, among those the shipped variants allow, and its two sources."""
    families = [f for f, variants in available.items() if DEFAULT_VARIANT in variants]
    several = [f for f, variants in available.items() if len(variants) >= 2]
    served = [f for f, variants in available.items() if variants]
    possible = {"families": len(families) >= 2, "variants": bool(several), "seeds": bool(served)}
    kinds = [k for k in MATCHUPS if possible[k]]
    if not kinds:
        raise BackendUnavailable("no generator weights are installed: the arena has nothing to show")
    kind = rng.choices(kinds, [MATCHUPS[k] for k in kinds])[0]
    seed = rng.randrange(ARENA_SEEDS)
    if kind == "families":
        a, b = rng.sample(families, 2)
        return Matchup(kind, Source(a, DEFAULT_VARIANT, seed), Source(b, DEFAULT_VARIANT, seed))
    if kind == "variants":
        family = rng.choice(several)
        v, w = rng.sample(available[family], 2)
        return Matchup(kind, Source(family, v, seed), Source(family, w, seed))
    family = rng.choice(served)
    variant = rng.choice(available[family])
    other = (seed + 1 + rng.randrange(ARENA_SEEDS - 1)) % ARENA_SEEDS  # any seed but `seed`
    return Matchup(kind, Source(family, variant, seed), Source(family, variant, other))


def png_sha256(image: Image.Image) -> str:
    """SHA-256 of the picture's PNG bytes as PIL writes them (bench.digests hashes generated pictures so)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def judged(report, spec: HandSpec) -> dict:
    """What the judge said of one picture, as the store keeps it and the reveal shows it."""
    said = present.verdict(report, spec)
    return {"score": round(float(report.hand_score), 1), "verdict": said.kind, "line": said.line,
            "flags": list(report.flags), "fingers": int(report.extended_count)}


@dataclass
class Arena:
    """The arena on the app's objects: its generators, judge, prompt parser and votes store. `rng` chooses the
    pairs, seeds and sides (tests pass a seeded one)."""

    registry: Registry
    judge: Judge
    parser: PromptParser
    store: Store
    rng: random.Random = field(default_factory=random.SystemRandom)
    _board: dict = field(default_factory=dict, repr=False)  # the last tables, under what they were fitted on
    _board_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def serve(self, prompt: object, session: str) -> Served:
        """A new blind pair for `prompt` (empty or None: a lesson's prompt) and `session`, recorded as served.
        About KNOWN_ANSWER_SHARE of them are check pairs, for the same prompt when its hand has fingers to break.
        Raises ValueError for a bad prompt or PairRefused (a ValueError) past the session's pairs a minute, before
        anything is drawn; BackendUnavailable / pipeline errors when a model cannot draw."""
        self.store.check_serve_rate(session)
        given = isinstance(prompt, str) and bool(prompt.strip())
        text = pipeline.validate(prompt if given else self.rng.choice(lesson_prompts())).prompt
        check = self.rng.random() < KNOWN_ANSWER_SHARE
        spec = pipeline.understand(text, self.parser) if given or not check else known.KNOWN_SPEC
        made = known.known_pair(self.rng, spec) if check else None
        if made is not None:
            pair, pictures = self.known_pair(made, text if given else known.KNOWN_PROMPT, session)
        else:
            pair, pictures = self.generated_pair(text, spec, session)
        pair = self.store.serve(pair)
        return Served(pair.pair_id, pair.prompt, *(pipeline.upscale(p, SHOWN_SIZE) for p in pictures))

    def generated_pair(self, prompt: str, spec: HandSpec, session: str) -> tuple[Pair, list[Image.Image]]:
        """Two models (or two seeds of one) draw the prompt, on shuffled sides."""
        matchup = choose_matchup(self.rng, self.registry.available())
        drawn = [self.picture(source, spec) for source in (matchup.a, matchup.b)]
        self.rng.shuffle(drawn)
        settings_used = {"n": 1, "device": settings.device(), "threads": torch.get_num_threads()}  # the VAE's bytes vary with threads
        pair = Pair(new_pair_id(), session, matchup.kind, prompt, spec.to_dict(), settings_used, drawn[0][1], drawn[1][1])
        return pair, [image for image, _ in drawn]

    def picture(self, source: Source, spec: HandSpec) -> tuple[Image.Image, Side]:
        """One picture through the app's one generate-and-score path, each model at its own defaults (a distilled
        variant at its few steps), and what reproduces it."""
        generator = self.registry.load(source.family, source.variant)
        options = family_record(source.family).defaults_for(source.variant)
        scored = pipeline.generate_and_score(generator, self.judge, [pipeline.Batch(spec, 1, source.seed)], options)
        image = scored.images[0]
        used = {key: value for key, value in asdict(options).items() if key != "keep_frames" and value is not None}
        side = Side(source.family, source.variant, source.seed, png_sha256(image),
                    trained_steps=self.registry.trained_steps(source.family, source.variant),
                    judge=judged(scored.set_report.reports[0], spec), options=used)
        return image, side

    def known_pair(self, made: known.KnownPair, prompt: str, session: str) -> tuple[Pair, list[Image.Image]]:
        """A clean render against the same hand broken, on shuffled sides, each judged like any picture."""
        sides = [(made.clean, "clean"), (made.broken, made.anomaly)]
        self.rng.shuffle(sides)
        drawn = [Side(RENDER, variant, made.seed, png_sha256(image), judge=judged(self.judge.score(image, made.spec), made.spec))
                 for image, variant in sides]
        better = "left" if sides[0][1] == "clean" else "right"
        pair = Pair(new_pair_id(), session, "known", prompt, made.spec.to_dict(), made.settings,
                    drawn[0], drawn[1], known_better=better)
        return pair, [image for image, _ in sides]

    def vote(self, pair_id: object, answer: object, flags: object, session: str) -> str:
        """Count the vote (VoteRefused says why not) and return the reveal; a retried vote reveals the same."""
        return reveal(self.store.vote(pair_id, session, answer, flags))

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame, str]:
        """The leaderboard by family and by variant (careless sessions and check pairs left out), and what is behind
        it. Fitted again only when the votes changed (each fit bootstraps: about a second on the 2-core CPU)."""
        everything = self.store.votes(include_careless=True)
        key = tuple((vote.vote_id, vote.careless) for vote, _ in everything)
        with self._board_lock:
            if self._board.get("key") != key:
                counted = [(vote, pair) for vote, pair in everything if not vote.careless and pair.known_better is None]
                self._board = {"key": key, "tables": (leaderboard_frame(leaderboard(counted, "family"), by_family=True),
                                                      leaderboard_frame(leaderboard(counted, "variant"), by_family=False),
                                                      votes_behind(everything))}
            return self._board["tables"]


def side_name(side: Side) -> str:
    """'Diffusion, full data (20,000 hands), seed 412'; a render: 'the renderer: a clean hand'."""
    if side.family == RENDER:
        broken = ANOMALY_WORDS.get(side.variant, side.variant)
        return "the renderer: a clean hand" if side.variant == "clean" else f"the renderer: a hand with {broken}"
    title = present.TITLES.get(side.family, side.family)
    return f"{title}, {VARIANT_WORDS.get(side.variant, side.variant + ' variant')}, seed {side.seed}"


def reveal(recorded: Recorded) -> str:
    """What was behind the pictures, what the judge said of each, and how the vote compares (Markdown)."""
    vote, pair = recorded.vote, recorded.pair
    lines = [f"**You said {ANSWER_WORDS[vote.answer]}.**" + ("" if recorded.new else " (Counted once.)"), ""]
    for place, side in (("Left", pair.left), ("Right", pair.right)):
        said = side.judge
        lines.append(f"- **{place}: {side_name(side)}.** The judge: {said.get('line', '?')} · Hand Score "
                     f"{said.get('score', float('nan')):.0f}/100")
    lines.append("")  # a paragraph after the list, not a continuation of its last item
    if pair.known_better is not None:
        right = vote.answer == pair.known_better
        lines.append("This was a check pair, a clean drawing against a broken one: "
                     + ("thank you for looking closely." if right else f"the clean hand was the {pair.known_better}."))
    else:
        lines.append(judge_agrees(pair, vote))
    if vote.careless:
        lines.append("\nSeveral check pairs were missed in this session, so its votes are kept apart from the leaderboard.")
    return "\n".join(lines)


def judge_agrees(pair: Pair, vote: Vote) -> str:
    """One line: which side the judge scores higher, and whether the vote agrees."""
    left, right = pair.left.judge.get("score", 0.0), pair.right.judge.get("score", 0.0)
    judge_pick = "tie" if abs(left - right) < 5 else ("left" if left > right else "right")
    words = {"left": "the left", "right": "the right", "tie": "neither (less than 5 points apart)"}
    agree = "" if vote.answer == "both_bad" else (" You agree." if vote.answer == judge_pick else " You disagree.")
    return f"The judge scores higher: {words[judge_pick]}.{agree}"


def model_name(item: str, by_family: bool) -> str:
    """'Diffusion' or 'Diffusion · full data (20,000 hands)' from 'diffusion' / 'diffusion/full'."""
    family, _, variant = item.partition("/")
    title = present.TITLES.get(family, family)
    return title if by_family else f"{title} · {VARIANT_WORDS.get(variant, variant)}"


def leaderboard_frame(ratings: list[Rating], by_family: bool) -> pd.DataFrame:
    """The ratings as the page shows them: readable headers, unrated models last with an empty rating."""
    rows = [[k if r.rating is not None else None, model_name(r.item, by_family), r.rating, r.low, r.high, r.votes,
             r.wins, r.ties, r.both_bad] for k, r in enumerate(ratings, 1)]
    return pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)


def votes_behind(everything: list[tuple[Vote, Pair]]) -> str:
    """How many votes the leaderboard stands on, and which are left out (Markdown)."""
    careless = sum(vote.careless for vote, _ in everything)
    checks = sum(pair.known_better is not None and not vote.careless for vote, pair in everything)
    counted = [(vote, pair) for vote, pair in everything if not vote.careless and pair.known_better is None]
    if not counted:
        return "No votes yet: rate a pair above to start the leaderboard."
    ties = sum(vote.answer == "tie" for vote, _ in counted)
    both_bad = sum(vote.answer == "both_bad" for vote, _ in counted)
    same = sum(pair.kind == "seeds" for _, pair in counted)
    return (f"**{len(counted)} vote{'s' * (len(counted) != 1)}** behind these ratings: {ties} ties (half a win each), "
            f"{both_bad} \"both bad\" (counted per model, not rated), {same} of one model against itself (rate nothing). "
            f"Left out: votes on check pairs ({checks}) and from careless sessions ({careless}). Ratings are Bradley–Terry "
            f"on the Elo scale (1000 = the average model) with bootstrap 95 % intervals; a model is rated from "
            f"{MIN_VOTES} votes on.")

