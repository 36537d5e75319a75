"""What the judge hands back: the evidence its witnesses gathered, a `HandReport` per picture and a
`SetReport` per batch. Every field is public; `to_dict` gives the JSON the CLI and the app print."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from judge.witnesses.anatomy_check import Violation
from judge.witnesses.landmarks import Landmarks
from judge.witnesses.silhouette import Silhouette


@dataclass
class Evidence:
    """What the witnesses saw in one image, before any judgement (reusable for several specs)."""

    rgb: np.ndarray
    sil: Silhouette | None
    lm: Landmarks | None
    violations: list[Violation]
    sharpness: float | None  # edge acutance relative to clean renders (1.0 = as sharp)
    notes: list[str]
    defect: dict[str, float] | None = None  # the malformation detector's class probabilities
    small: np.ndarray | None = None  # the 64 px picture the nets saw (silhouette.to_input of rgb)


@dataclass(frozen=True)
class QualityVerdict:
    """What the quality model fitted to people's eyes (`judge.quality`) says of one picture."""

    quality: float  # the raters' scale: 1 not a hand, 2 hand-like but clearly broken, 3 a hand with noticeable
    #                 problems or the wrong gesture, 4 a good hand with small issues, 5 a clean, correct hand
    p_hand: float  # P(a person recognises a hand)
    hand_found: bool  # p_hand above the threshold chosen in the fit (few non-hands found)
    count: int  # extended digits as people count them (6: six or more)
    count_p: float  # the model's probability of that count
    use_count: bool  # the fit found this count closer to people's than the silhouette's (held out)
    p_malformed: float = 0.0  # P(a person who sees a hand sees something wrong): the malformed head's
    malformed_share: float = 0.0  # how much of the score that P may take (`hand_score` below)
    p_matches: float | None = None  # P(a person says it shows what the prompt asks): the matches head's

    @property
    def score(self) -> float:
        """The Hand Score, 0-100 (`hand_score` below)."""
        return float(hand_score(self.quality, self.p_malformed, self.malformed_share))


def hand_score(quality, p_malformed, malformed_share: float):
    """25 x (quality - 1), less `malformed_share` x P(malformed) of it: people's quality with a say for what is
    wrong with the hand. Why: raters rate a render with one finger too many only half a point below a clean one
    (40 pictures), too few for the quality head to learn what the malformation detector sees at a glance. The
    P comes from the malformed head, fitted to the raters' "something is wrong" and to rendered twins whose
    malformation is known: the detector alone disagrees with people on generated hands (AUROC 0.47 against
    their labels), the head does not (about 0.75, held out). The fit sets the share on renders of a seed of its
    own (`judge.fit.train_quality`). Arrays or floats."""
    return 25.0 * (quality - 1.0) * (1.0 - malformed_share * p_malformed)


@dataclass(frozen=True)
class Penalty:
    """Points taken off and why."""

    points: float
    reason: str


@dataclass
class HandReport:
    """Everything the judge found about one image. Coordinates are input-image pixels."""

    hand_found: bool
    hand_score: float  # 0..100: 25 x (quality - 1) with the quality model, else 100 minus the penalties
    breakdown: dict[str, Penalty] = field(default_factory=dict)
    extended_count: int = 0
    fingertips: list[tuple[float, float]] = field(default_factory=list)
    landmarks: list[tuple[float, float]] | None = None  # MediaPipe, 21 x (x, y)
    presence: float | None = None  # MediaPipe hand-likeness 0..1
    flags: list[str] = field(default_factory=list)
    sharpness: float | None = None  # 1.0 = as sharp as a clean render
    expected_digits: list[str] | None = None
    expected_count: int | None = None
    found_digits: list[str] | None = None  # silhouette tips named by the nearest landmark tip
    gesture_match: bool | None = None
    notes: list[str] = field(default_factory=list)
    quality: float | None = None  # the quality model's rater quality, 1-5 (hand_score = 25 x (quality - 1))
    p_hand: float | None = None  # the quality model's P(a person sees a hand); hand_found is it over the threshold
    p_malformed: float | None = None  # its P(a person who sees a hand sees something wrong); takes a share of the score
    p_matches: float | None = None  # its P(a person says the picture shows what the prompt asks); the app's ✓ needs it
    model_count: int | None = None  # the quality model's finger count, were it a hand (6: six or more)
    witness_count: int | None = None  # the silhouette's finger count (extended_count is one of the two)
    witness_score: float | None = None  # 100 minus the witnesses' own penalties, before the quality model
    # What the overlay draws (not in to_dict): the picture, the silhouette, and what was flagged on it.
    image: np.ndarray | None = field(default=None, repr=False)
    silhouette: Silhouette | None = field(default=None, repr=False)
    marked_points: list[tuple[int, ...]] = field(default_factory=list, repr=False)  # landmark ids of flagged bones
    marked_fingers: list[int] = field(default_factory=list, repr=False)  # indices into silhouette.fingers

    def to_dict(self) -> dict:
        return {
            "hand_found": self.hand_found,
            "hand_score": round(self.hand_score, 1),
            "extended_count": self.extended_count,
            "flags": self.flags,
            "breakdown": {k: {"points": round(-p.points, 1), "reason": p.reason} for k, p in self.breakdown.items()},
            "fingertips": [[round(x, 1), round(y, 1)] for x, y in self.fingertips],
            "landmarks": None if self.landmarks is None else [[round(x, 1), round(y, 1)] for x, y in self.landmarks],
            "presence": None if self.presence is None else round(self.presence, 3),
            "sharpness": None if self.sharpness is None else round(self.sharpness, 2),
            "expected_digits": self.expected_digits,
            "expected_count": self.expected_count,
            "found_digits": self.found_digits,
            "gesture_match": self.gesture_match,
            "notes": self.notes,
            "quality": None if self.quality is None else round(self.quality, 2),
            "p_hand": None if self.p_hand is None else round(self.p_hand, 3),
            "p_malformed": None if self.p_malformed is None else round(self.p_malformed, 3),
            "p_matches": None if self.p_matches is None else round(self.p_matches, 3),
            "model_count": self.model_count,
            "witness_count": self.witness_count,
            "witness_score": None if self.witness_score is None else round(self.witness_score, 1),
        }


@dataclass
class SetReport:
    """One backend's batch, summarised. CIs are 95 % bootstrap intervals over images."""

    n: int
    hand_found_rate: float
    mean_score: float
    score_ci: tuple[float, float]
    finger_count_accuracy: float | None  # extended count == the prompt's, over all images
    malformation_rate: float  # images with a malformation flag, over images with a hand
    kid: tuple[float, float] | None  # (mean, std) against clean renders, see judge.metrics
    diversity: float | None
    reference_diversity: float | None  # the same meter on clean renders
    sharpness_mean: float | None
    flag_rates: dict[str, float] = field(default_factory=dict)
    reports: list[HandReport] = field(default_factory=list, repr=False)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "reports"}
        return json.loads(json.dumps(out, default=float))
