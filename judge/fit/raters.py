"""People's eyes: 1,248 of the project's pictures rated blind by independent raters, and how far the
judge agrees with them.

The pictures and labels live beside this file (`raters/`, with the README that says how they were
made). A figure about the judge is only worth what it predicts about a person's eye, so this is the
check every judge change must pass. The shipped judge's quality model is fitted to these labels, so
its figures here are in-sample ("fitted_on_these": true); the held-out ones, each source predicted by
a fit that never saw it, are `python -m judge.fit.train_quality`'s (results/judge_raters.json).

    python -m judge.fit.raters            # the shipped judge against the raters: JSON on stdout
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATERS_DIR = Path(__file__).resolve().parent / "raters"
MAX_COUNT = 6  # finger counts compare as 0..6, six or more being one answer


@dataclass(frozen=True)
class RatedPicture:
    """One picture and what its raters saw (averaged where two raters looked)."""

    id: int
    path: Path
    prompt: str
    source: str  # the generator setting, e.g. "diffusion/full steps=10", or "render" / "render <malformation>"
    family: str  # vae | gan | diffusion | render
    quality: float  # 1 not a hand .. 5 a clean, correct hand
    is_hand: bool  # most raters recognised a hand (one of two is enough)
    fingers: int | None  # extended digits seen (first rater who could tell), None when nobody could
    ratings: int
    counts: tuple[int, ...] = ()  # every count given by a rater who saw a hand, six or more as 6
    malformed: float | None = None  # share of the raters who saw a hand that saw something wrong; None: no hand seen
    matches: float | None = None  # share of the raters who said it shows what the prompt asks; None: nobody said

    @property
    def generated(self) -> bool:
        return self.family != "render"


def _picture(row: dict, root: Path) -> RatedPicture:
    ratings = row["ratings"]
    fingers = [r["fingers"] for r in ratings if r["hand"] and r["fingers"] is not None]
    wrong = [bool(r["malformed"]) for r in ratings if r["hand"]]
    matches = [bool(r["matches_prompt"]) for r in ratings if r.get("matches_prompt") is not None]
    return RatedPicture(
        id=row["id"], path=root / row["file"], prompt=row["prompt"], source=row["source"], family=row["family"],
        quality=float(np.mean([r["quality"] for r in ratings])),
        is_hand=float(np.mean([r["hand"] for r in ratings])) >= 0.5,
        fingers=fingers[0] if fingers else None, ratings=len(ratings),
        counts=tuple(sorted({min(int(f), MAX_COUNT) for f in fingers})),
        malformed=float(np.mean(wrong)) if wrong else None,
        matches=float(np.mean(matches)) if matches else None,
    )


def load(root: Path = RATERS_DIR) -> list[RatedPicture]:
    """Every rated picture, in id order."""
    rows = [json.loads(line) for line in (root / "labels.jsonl").read_text().splitlines() if line.strip()]
    return [_picture(row, root) for row in sorted(rows, key=lambda r: r["id"])]


@dataclass(frozen=True)
class Verdict:
    """What a judge said of one picture, in the terms the raters used."""

    score: float  # 0..100, higher is better
    hand_found: bool
    extended_count: int | None
    p_hand: float | None = None  # P(hand) when the judge has one; hand AUROC ranks it (else the score)


def counted_right(picture: RatedPicture, verdict: Verdict) -> bool:
    """The judge's count is one a rater gave (six or more being one answer)."""
    return verdict.extended_count is not None and min(verdict.extended_count, MAX_COUNT) in picture.counts


def agreement(pictures: list[RatedPicture], verdicts: list[Verdict]) -> dict:
    """The issue's bars, measured: on generated pictures, Spearman(score, quality); hand vs not-a-hand
    AUROC of P(hand) (of the score for a judge without one); how often a picture raters call 'not a hand'
    is found a hand; finger count equal to a rater's on pictures they call hands (where they could count);
    and Kendall's tau between the per-source mean score and the per-source mean quality (does the judge
    rank the settings as people do)."""
    from scipy.stats import kendalltau, spearmanr

    from judge.metrics import auroc

    gen = [(p, v) for p, v in zip(pictures, verdicts) if p.generated]
    quality = np.array([p.quality for p, _ in gen])
    score = np.array([v.score for _, v in gen])
    hand = np.array([p.is_hand for p, _ in gen])
    found = np.array([v.hand_found for _, v in gen])
    p_hand = np.array([v.score if v.p_hand is None else v.p_hand for _, v in gen])
    counted = [counted_right(p, v) for p, v in gen if p.is_hand and p.counts]
    by_source = per_source(pictures, verdicts)
    return {
        "n_generated": len(gen),
        "spearman_quality": float(spearmanr(score, quality)[0]),
        "hand_auroc": auroc(p_hand[hand], p_hand[~hand]),
        "found_on_not_hand": float(found[~hand].mean()) if (~hand).any() else None,
        "found_on_hand": float(found[hand].mean()) if hand.any() else None,
        "finger_exact": float(np.mean(counted)) if counted else None,
        "n_counted": len(counted),
        "source_kendall": float(kendalltau([s["judge_score"] for s in by_source.values()],
                                           [s["rater_quality"] for s in by_source.values()])[0]),
        "per_source": by_source,
    }


def per_source(pictures: list[RatedPicture], verdicts: list[Verdict], generated: bool = True) -> dict[str, dict]:
    """Per generator setting (and per render kind unless `generated`): n, the raters' mean quality and hand
    share, the judge's mean score and hand share, and its count right on the hands raters counted."""
    out: dict[str, dict] = {}
    for source in sorted({p.source for p in pictures if p.generated or not generated}):
        rows = [(p, v) for p, v in zip(pictures, verdicts) if p.source == source]
        counted = [counted_right(p, v) for p, v in rows if p.is_hand and p.counts]
        out[source] = {"n": len(rows),
                       "rater_quality": float(np.mean([p.quality for p, _ in rows])),
                       "rater_hand": float(np.mean([p.is_hand for p, _ in rows])),
                       "judge_score": float(np.mean([v.score for _, v in rows])),
                       "judge_hand": float(np.mean([v.hand_found for _, v in rows])),
                       "judge_fingers": float(np.mean(counted)) if counted else None}
    return out


def judge_verdicts(pictures: list[RatedPicture], judge=None) -> list[Verdict]:
    """The judge's verdict on every rated picture, each against its own prompt."""
    from PIL import Image

    from judge import Judge
    from prompt import PromptParser

    judge = judge or Judge.load()
    parser, specs, out = PromptParser(), {}, []
    for picture in pictures:
        spec = specs.setdefault(picture.prompt, parser.parse(picture.prompt))
        with Image.open(picture.path) as image:
            report = judge.score(image.convert("RGB"), spec)
        out.append(Verdict(report.hand_score, report.hand_found, report.extended_count if report.hand_found else None,
                           report.p_hand))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The shipped judge against the raters' eyes (JSON on stdout).")
    parser.add_argument("--raters", type=Path, default=RATERS_DIR, help="folder with labels.jsonl and images/")
    args = parser.parse_args(argv)
    try:
        pictures = load(args.raters)
    except (OSError, ValueError, KeyError) as err:
        print(f"error: cannot read the rater labels in {args.raters}: {err}", file=sys.stderr)
        return 2
    from judge import Judge

    judge = Judge.load()
    fitted = judge.networks.quality.get_or_none() is not None
    result = {"fitted_on_these": fitted, **agreement(pictures, judge_verdicts(pictures, judge))}
    if fitted:
        result["note"] = "in-sample: the quality model was fitted on these pictures; held out: results/judge_raters.json"
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
