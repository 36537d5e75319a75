"""The claims by the raters' eyes: the claims the judge decides, decided again from what people saw in 1,248 of
the project's pictures (judge/fit/raters/), so that no verdict rests on the judge alone.

Per generator setting (a picture's `source`) the raters give a mean quality (1-5), the share of pictures that are
hands, and the share whose extended fingers are the number the prompt asks for, each with a 95% percentile
bootstrap interval (scipy.stats.bootstrap). A claim compares settings, and its verdict comes from the interval of
the difference, as the judge's column does (bench.stats.verdict). The labels keep no generation seed, so pictures
of two settings cannot be paired: such differences resample each setting on its own. Two numbers taken from the
same pictures (a hand, and the right fingers) are paired. A picture rated twice counts once, its ratings averaged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import bootstrap

from bench.prompts import OCCLUDED, OPEN, PROMPTS
from bench.stats import verdict
from judge.fit.raters import RATERS_DIR
from prompt.parser import PromptParser

NOT_RATED = "not rated"
# How each measure reads in a sentence: (name, unit after the numbers, scale, digits).
MEASURES = {"quality": ("quality out of 5", "", 1.0, 1), "hand": ("hands", "%", 100.0, 0),
            "fingers": ("fingers right", "%", 100.0, 0), "wrong": ("something wrong", "%", 100.0, 0)}


@dataclass(frozen=True)
class Picture:
    """One rated picture, its ratings averaged: quality 1-5, and the share of its ratings that saw each thing."""

    source: str
    group: str  # "open" (every extended finger shown), "occluded" (fist, held object) or ""
    quality: float
    hand: float  # saw a hand
    fingers: float  # saw a hand with the number of extended fingers the prompt asks for (nan: the prompt names none)
    wrong: float  # saw no hand, or a malformed one


def pictures(root: Path = RATERS_DIR) -> list[Picture]:
    """Every rated picture. judge.fit.raters.load keeps one rater's finger count and a majority 'hand'; the claims
    average every rating, so they read the ratings themselves."""
    parser = PromptParser()  # the rules alone name the gesture of every prompt in the set; no encoder to load
    specs: dict[str, object] = {}
    groups = _prompt_groups(parser)
    out = []
    for line in (root / "labels.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        spec = specs.setdefault(row["prompt"], parser.parse(row["prompt"]))
        expected, ratings = spec.extended_count, row["ratings"]
        out.append(Picture(
            source=row["source"], group=groups.get(spec.gesture, ""),
            quality=float(np.mean([r["quality"] for r in ratings])),
            hand=float(np.mean([bool(r["hand"]) for r in ratings])),
            fingers=float("nan") if expected is None else float(np.mean([bool(r["hand"]) and r["fingers"] == expected
                                                                         for r in ratings])),
            wrong=float(np.mean([not r["hand"] or bool(r["malformed"]) for r in ratings]))))
    return out


def _prompt_groups(parser: PromptParser) -> dict[str, str]:
    """Gesture -> 'open' / 'occluded', from the benchmark's own split of its prompts (bench.prompts)."""
    return {parser.parse(PROMPTS[key]).gesture: group for group, keys in (("open", OPEN), ("occluded", OCCLUDED))
            for key in keys}


# ---- the numbers ---------------------------------------------------------------------------------------------
# scipy.stats.bootstrap; bench.stats keeps the judge's own resampling as it was, so its figures stay comparable.

def _mean_diff(x, y, axis=-1):
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def mean_ci(values, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): a 95% percentile bootstrap; nan without two values."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return (float("nan"),) * 3
    ci = bootstrap((v,), np.mean, method="percentile", rng=np.random.default_rng(seed)).confidence_interval
    return float(v.mean()), float(ci.low), float(ci.high)


def diff_ci(a, b, paired: bool = False, seed: int = 0) -> tuple[float, float, float]:
    """(mean(a) - mean(b), low, high): a 95% percentile bootstrap; `paired` resamples (a, b) pairs together."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if paired:
        keep = np.isfinite(a) & np.isfinite(b)
        a, b = a[keep], b[keep]
    else:
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return (float("nan"),) * 3
    ci = bootstrap((a, b), _mean_diff, paired=paired, vectorized=True, method="percentile",
                   rng=np.random.default_rng(seed)).confidence_interval
    return float(a.mean() - b.mean()), float(ci.low), float(ci.high)


def per_source(rated: list[Picture]) -> dict[str, dict]:
    """Per setting: how many pictures, and the raters' quality, hands and fingers right, each (mean, low, high)."""
    out = {}
    for source in sorted({p.source for p in rated}):
        mine = [p for p in rated if p.source == source]
        out[source] = {"n": len(mine), **{m: mean_ci([getattr(p, m) for p in mine]) for m in ("quality", "hand", "fingers")}}
    return out


# ---- a claim, tested ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Side:
    """One side of a comparison: a generator setting (`source`), optionally only its open or occluded prompts,
    and which measure of its pictures; `name` is how a class reads it ("full data", "GAN", "10 steps")."""

    name: str
    source: str
    measure: str = "quality"
    group: str = ""

    @property
    def pictures(self) -> tuple[str, str]:
        """Which pictures: two sides with the same are measured on the same pictures, so they pair."""
        return self.source, self.group

    def values(self, rated: list[Picture]) -> list[float]:
        return [getattr(p, self.measure) for p in rated if p.source == self.source and self.group in ("", p.group)]


@dataclass(frozen=True)
class Comparison:
    """`best` beats each of `others` (lower when not `higher`); with a `margin`, it is no worse than each of them
    by more than `margin` (in the measure's own units)."""

    best: Side
    others: tuple[Side, ...]
    higher: bool = True
    margin: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """The raters' verdict on a test, and its numbers in plain words: `label` names the measure ('' when the sides
    measure different things), `said` the means ('full data 1.7 vs scarce 1.0 (±0.2)'), `spread` only how far each
    difference may be off ('fully trained vs step 1,600: ±0.1'), for a claim whose means a series already says."""

    verdict: str
    said: str
    label: str = ""
    spread: str = ""

    @property
    def words(self) -> str:
        return f"{self.label}: {self.said}" if self.label else self.said


def decide(test: Comparison, rated: list[Picture]) -> Outcome:
    """The raters' verdict: every comparison's 95% interval on the claimed side -> holds; any on the other side ->
    does not hold; else inconclusive. A setting with no rated pictures -> not rated."""
    best = test.best.values(rated)
    missing = [s.source for s in (test.best, *test.others) if len(s.values(rated)) < 2]
    if missing:
        return Outcome(NOT_RATED, f"not rated: no rated pictures of {', '.join(sorted(set(missing)))}")
    verdicts, versus, spreads = [], [], []
    for other in test.others:
        d, lo, hi = diff_ci(best, other.values(rated), paired=other.pictures == test.best.pictures)
        shift = test.margin if test.higher else -test.margin
        verdicts.append(verdict(lo + shift, hi + shift, expect_positive=test.higher))
        spread = _spread(other.measure, (hi - lo) / 2)
        versus.append(f"{other.name} {number(other.measure, float(np.nanmean(other.values(rated))))} ({spread})")
        spreads.append(f"{test.best.name} vs {other.name}: {spread}")
    same = all(o.measure == test.best.measure for o in test.others)
    return Outcome(combine(verdicts), f"{test.best.name} {number(test.best.measure, float(np.nanmean(best)))} vs "
                   f"{', '.join(versus)}", MEASURES[test.best.measure][0] if same else "", "; ".join(spreads))


def combine(verdicts: list[str]) -> str:
    """All hold -> holds; any does not hold -> does not hold; else inconclusive."""
    if all(v == "holds" for v in verdicts):
        return "holds"
    return "does not hold" if "does not hold" in verdicts else "inconclusive"


def number(measure: str, value: float) -> str:
    """0.56 hands -> '56%'; 2.94 quality -> '2.9'."""
    _, unit, scale, digits = MEASURES[measure]
    return f"{scale * value:.{digits}f}{unit}"


def _spread(measure: str, half: float) -> str:
    _, unit, scale, digits = MEASURES[measure]
    return f"±{scale * half:.{digits}f}{' points' if unit == '%' else ''}"


def series_words(sides: tuple[Side, ...], rated: list[Picture]) -> str:
    """'2 steps 2.3, 4 steps 2.9, 10 steps 2.9': each rated setting of a series with its mean."""
    return ", ".join(f"{s.name} {number(s.measure, float(np.mean(s.values(rated))))}" for s in sides if s.values(rated))


# ---- the claims table's column --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RaterClaim:
    """How the raters test one claim of the table. `claim` is the judge's claim text (one ending in ':' matches every
    claim that starts so); `also` are further comparisons, each said with its own verdict; `series` lists settings
    with their means; `metric`, set only on a claim the judge does not measure, adds that claim as its own row."""

    claim: str
    test: Comparison
    also: tuple[tuple[str, Comparison], ...] = ()
    series: tuple[Side, ...] = ()
    metric: str = ""

    def matches(self, text: str) -> bool:
        return text == self.claim or (self.claim.endswith(":") and text.startswith(self.claim))


def outcome(claim: RaterClaim, rated: list[Picture]) -> Outcome:
    """The claim's verdict by the raters' eyes (from `test`), and every number it rests on in words."""
    main = decide(claim.test, rated)
    if main.verdict == NOT_RATED:
        return main
    said = f"{series_words(claim.series, rated)} ({main.spread})" if claim.series else main.said
    for lead, test in claim.also:
        extra = decide(test, rated)
        if extra.verdict != NOT_RATED:
            said += f"; {lead}: {extra.said if extra.label == main.label else extra.words}, {extra.verdict}"
    return Outcome(main.verdict, said, main.label)


def attach(rows: list[dict], claims: tuple[RaterClaim, ...], rated: list[Picture] | None = None) -> list[dict]:
    """The judge's rows with the raters' column ('raters': words, 'raters_verdict'), then a row for each claim only
    the raters test (the judge's verdict 'not measured'). Rows from an earlier attach are redone, not doubled."""
    rated = pictures() if rated is None else rated
    out = []
    for row in rows:
        if row.get("rater_only"):
            continue
        claim = next((c for c in claims if c.matches(row.get("claim", ""))), None)
        said = outcome(claim, rated) if claim else Outcome(NOT_RATED, NOT_RATED)
        out.append({**row, "raters": said.words, "raters_verdict": said.verdict})
    for claim in claims:
        if claim.metric:
            said = outcome(claim, rated)
            out.append({"claim": claim.claim, "metric": claim.metric, "values": "", "verdict": "not measured",
                        "raters": said.words, "raters_verdict": said.verdict, "rater_only": True})
    return out


def both_verdicts(row: dict) -> str:
    """The verdict a table shows: the judge's where the raters agree or did not rate; both where they differ."""
    judge, raters = row.get("verdict", ""), row.get("raters_verdict", NOT_RATED)
    return judge if raters in (NOT_RATED, judge) else f"judge: {judge} · raters: {raters}"
