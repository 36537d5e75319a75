"""The judgement: a picture's evidence (and the prompt's spec) -> a scored `HandReport`.

`evaluate` reads as the steps it takes; each step is a short function that takes the calibration
explicitly and adds penalties and flags to one `Findings`. Every penalty names what it is for, so
a low score explains itself; the score is 100 minus the points of all penalties.

With a `QualityVerdict` (the quality model fitted to people's eyes, `judge.quality`) the same steps
run, but the verdict decides three things: whether there is a hand (its P(hand) over the fitted
threshold), the finger count (when the fit found its count closer to people's than the silhouette's),
and the score, 25 x (quality - 1). The witnesses' penalties then say where those points went: each
keeps its reason, the points are scaled to the score's deficit, and what the witnesses cannot name
is one more line in the raters' words ("looks": "a hand-like shape, clearly broken").
"""

from __future__ import annotations

import numpy as np

from core.vocab import HandSpec
from judge.calibration import Calibration
from judge.measures import finger_measures, hand_likeness, name_tips, side_view, widest_finger
from judge.report import Evidence, HandReport, Penalty, QualityVerdict
from judge.witnesses.silhouette import FAINT_TIP, TIP_THRESHOLD, Silhouette

# Points taken off per finding at full severity.
POINTS = {
    "finger_count": 30.0,  # per finger more or fewer than the prompt asked for
    "extra_finger": 40.0,  # more than five fingers, prompt or not
    "fused_fingers": 30.0,
    "long_finger": 30.0,
    "joint_past_limit": 25.0,
    "bone_ratio": 10.0,
    "blurry": 15.0,
    "hand_likeness": 20.0,  # at the no-hand limit; nothing above clean renders' 5th percentile
}
# What each silhouette measure (judge.measures.finger_measures) is evidence of, and how to say it.
MEASURES: dict[str, tuple[str, str]] = {
    "width_rel": ("fused_fingers", "a finger {v:.2f}x as wide as the hand's others: two fingers grown together?"),
    "width_palm": ("fused_fingers", "a finger {v:.2f} palm radii wide: two fingers grown together?"),
    "end_rel": ("long_finger", "an outer finger {v:.2f}x as long as its neighbour (little/ring is ~0.78)"),
    "aspect": ("long_finger", "a finger {v:.1f}x as long as it is wide"),
    "aspect_spec": ("long_finger", "a finger {v:.2f}x the length/width the anatomy table gives the asked-for digits"),
    "length_p": ("long_finger", "a finger {v:.2f}x as long as the anatomy table allows for the asked-for digits"),
    "short_p": ("joint_past_limit", "a finger {v:.1f}x shorter than the table's shortest asked-for digit: bent back?"),
    "bend": ("joint_past_limit", "a finger turns {v:.0f} deg along its length: a joint bent past its limit?"),
}
# The detector's classes -> the flag each one raises (the silhouette's measures raise the same ones).
DETECTOR_FLAGS = {"extra_finger": "extra_finger", "missing_finger": "missing_finger", "fused_fingers": "fused_fingers",
                  "long_finger": "long_finger", "bent_joint": "joint_past_limit"}
# The landmark witness's kinds of violation -> the finding each one is.
LANDMARK_FINDINGS = {"finger_ratio": "long_finger", "bone_length": "bone_ratio", "joint_angle": "joint_past_limit"}
# Flags that say the hand is malformed (SetReport.malformation_rate); looks_broken: people would call it clearly
# broken (the quality model) though no witness can say how.
MALFORMATIONS = ("extra_finger", "missing_finger", "fused_fingers", "long_finger", "joint_past_limit", "bone_ratio",
                 "looks_broken")
# The raters' quality scale, in their words (judge/fit/raters/README.md), and where a found hand is flagged broken.
QUALITY_WORDS = ((1.5, "not a hand"), (2.5, "a hand-like shape, clearly broken"),
                 (3.5, "a hand with noticeable problems or the wrong gesture"), (4.5, "a good hand with small issues"),
                 (9.9, "a clean, correct hand"))
BROKEN_BELOW = 2.5  # quality under which a found hand with no other malformation flag is flagged looks_broken:
# nearer the raters' 2 ("hand-like but clearly broken") than their 3 ("a hand with noticeable problems")


class Findings:
    """Penalties and flags in the order the steps raise them (the report lists them so), and the
    fingers and bones the overlay marks."""

    def __init__(self) -> None:
        self.breakdown: dict[str, Penalty] = {}
        self.flags: list[str] = []
        self.marked_fingers: list[int] = []
        self.marked_points: list[tuple[int, ...]] = []

    def add(self, name: str, points: float, reason: str, flag: str | None = None) -> None:
        """Take points off under `name`; raise `flag` (default: the name; "" for none)."""
        if points > 0:
            if name in self.breakdown:
                old = self.breakdown[name]
                self.breakdown[name] = Penalty(min(100.0, old.points + points), old.reason + "; " + reason)
            else:
                self.breakdown[name] = Penalty(points, reason)
        flag = name if flag is None else flag
        if flag and flag not in self.flags:
            self.flags.append(flag)

    def settle(self, report: HandReport, verdict: QualityVerdict | None = None) -> HandReport:
        """The report of a found hand, scored: 100 minus every penalty's points, or the verdict's score with
        the penalties scaled to it (`attribute`)."""
        report.hand_found = True
        report.witness_score = float(max(0.0, 100.0 - sum(p.points for p in self.breakdown.values())))
        report.hand_score = report.witness_score
        if verdict is not None:
            report.hand_score = verdict.score
            self.breakdown = attribute(self.breakdown, 100.0 - verdict.score, verdict.quality)
            if verdict.quality < BROKEN_BELOW and not set(self.flags) & set(MALFORMATIONS):
                self.flags.append("looks_broken")
        report.breakdown, report.flags = self.breakdown, self.flags
        report.marked_fingers, report.marked_points = self.marked_fingers, self.marked_points
        return report


def quality_words(quality: float) -> str:
    """The raters' words for a quality on their 1-5 scale."""
    return next(words for top, words in QUALITY_WORDS if quality < top)


def attribute(breakdown: dict[str, Penalty], deficit: float, quality: float) -> dict[str, Penalty]:
    """The witnesses' penalties made to add up to `deficit` (100 - the score): scaled down when they take
    more, kept when they take less, and the rest under "looks", in the raters' words."""
    taken = sum(p.points for p in breakdown.values())
    if taken > deficit:
        return {name: Penalty(p.points * deficit / taken, p.reason) for name, p in breakdown.items()}
    out = dict(breakdown)
    if deficit - taken > 0:
        more = " beyond what the witnesses name" if breakdown else ""
        out["looks"] = Penalty(deficit - taken, f"people would see {quality_words(quality)}{more} "
                                                f"(a model fitted to raters' eyes puts it at {quality:.1f} of 5)")
    return out


def evaluate(ev: Evidence, spec: HandSpec | None, cal: Calibration, verdict: QualityVerdict | None = None) -> HandReport:
    """Judge one picture's evidence, against the prompt's spec if there is one; the quality model's
    `verdict`, when given, decides the hand, the count and the score (see the module docstring)."""
    expected = list(spec.extended) if spec is not None and spec.extended is not None else None
    report = start_report(ev, expected, verdict)
    found, likeness = find_hand(ev, cal)  # 1. is there a hand at all?
    if verdict is not None:
        found = verdict.hand_found
    if not found:
        return no_hand(report, likeness, verdict)
    findings = Findings()
    if ev.sil is not None:
        count_fingers(ev, expected, cal, report, findings, verdict)  # 2. the finger count, against the prompt
        silhouette_geometry(ev.sil, expected, cal, findings)  # 3. fused, long and bent fingers
        sharpness(ev, cal, report, findings)  # 4. blur
    if ev.defect is not None:
        detector(ev.defect, cal, findings)  # 5. the malformation detector
    if likeness is not None:
        likeness_penalty(likeness, cal, findings)  # 6. few hand parts to see
    if ev.lm is not None:
        landmark_anatomy(ev, cal, findings)  # 7. MediaPipe's landmarks against the anatomy tables
    return findings.settle(report, verdict)


def start_report(ev: Evidence, expected: list[str] | None, verdict: QualityVerdict | None = None) -> HandReport:
    """An unscored report: what the prompt expects, the quality model's verdict and MediaPipe's points
    when there are any."""
    report = HandReport(hand_found=False, hand_score=0.0, notes=list(ev.notes), image=ev.rgb, silhouette=ev.sil,
                        expected_digits=expected, expected_count=None if expected is None else len(expected))
    if verdict is not None:
        report.quality, report.p_hand, report.model_count = verdict.quality, verdict.p_hand, verdict.count
        report.p_malformed, report.p_matches = verdict.p_malformed, verdict.p_matches
    if ev.sil is not None:
        report.witness_count = ev.sil.count
    if ev.lm is not None:
        report.presence = ev.lm.presence
        report.landmarks = [tuple(map(float, p)) for p in ev.lm.points]
    return report


def find_hand(ev: Evidence, cal: Calibration) -> tuple[bool, float | None]:
    """(found, hand-likeness): enough confident hand pixels, and a wrist, knuckle or tip among them.
    Without the silhouette net, MediaPipe's presence decides. Likeness is None when not measured."""
    sil, likeness = ev.sil, None
    if sil is None:
        return ev.lm is not None and ev.lm.presence >= 0.5, None
    found = sil.area >= cal.found_area and sil.confidence >= cal.found_confidence
    if found:
        likeness = hand_likeness(sil)
        found = likeness >= cal.likeness_min
    return found, likeness


def no_hand(report: HandReport, likeness: float | None, verdict: QualityVerdict | None = None) -> HandReport:
    """Flag no_hand and say why; score 0, or the verdict's score (a hand-like shape scores above a smear)."""
    why = "nothing hand-shaped separates from the background" if likeness is None else \
        f"a shape, but no wrist, knuckle or fingertip in it (hand-likeness {likeness:.2f})"
    report.flags = ["no_hand"]
    report.gesture_match = False if report.expected_digits is not None else None
    report.witness_score = 0.0
    if verdict is None:
        report.breakdown = {"no_hand": Penalty(100.0, f"no hand found: {why}")}
        return report
    report.hand_score = verdict.score
    report.breakdown = {"no_hand": Penalty(100.0 - verdict.score, (
        f"doesn't look like a hand: people would recognise one {verdict.p_hand:.0%} of the time"))}
    return report


def count_fingers(ev: Evidence, expected: list[str] | None, cal: Calibration, report: HandReport,
                  findings: Findings, verdict: QualityVerdict | None = None) -> None:
    """More than five fingers is wrong whatever was asked for; other counts are held against the prompt.
    The count is the silhouette's, or the quality model's where its fit counted closer to people.
    Fewer fingers than asked is the wrong gesture even on a palm seen edge-on: people judge the fingers they
    can see. On the generated pictures where this judge used to excuse it ("fingers may hide"), the raters said
    the picture shows what was asked 10 % of the time, as rarely as on the other hands with fewer fingers than
    asked (13 %; `python -m bench.sure`, fewer_than_asked)."""
    sil = ev.sil
    by_model = verdict is not None and verdict.use_count
    count = verdict.count if by_model else sil.count
    report.extended_count = count
    report.fingertips = [tuple(map(float, p)) for p in sil.to_input(sil.tips)]
    report.found_digits = name_tips(sil, ev.lm)
    if count > 5:
        more = "six or more" if by_model else str(count)
        findings.add("extra_finger", POINTS["extra_finger"], f"{more} extended fingers: a hand has at most five")
    if expected is None:
        return
    report.gesture_match = count == len(expected)
    if count != len(expected):
        sure = float(np.clip((verdict.count_p - 0.4) / 0.5, 0, 1)) if by_model else \
            _count_certainty(sil, count - len(expected))
        count_against_prompt(sil, count, expected, sure, cal, findings)


def _count_certainty(sil: Silhouette, diff: int) -> float:
    """0..1: how sure the count is, from the count head or from how clear the tips were."""
    thr, faint = TIP_THRESHOLD, FAINT_TIP
    if sil.count != len(sil.tips):  # the count head's side-view estimate: as sure as the head
        return float(np.clip((sil.estimated_p - 0.5) / 0.4, 0, 1))
    if diff > 0:  # how clear is the weakest counted tip?
        weakest = sorted(sil.tip_heat)[diff - 1] if sil.tip_heat else 1.0
        return float(np.clip((weakest - thr) / (0.8 - thr), 0, 1))
    return float(1 - np.clip((sil.faint_tip - faint) / (thr - faint), 0, 1))  # a faint tip just under the threshold?


def count_against_prompt(sil: Silhouette, count: int, expected: list[str], sure: float, cal: Calibration,
                         findings: Findings) -> None:
    """Found vs asked-for extended fingers, graded by how `sure` (0..1) the count is."""
    diff = count - len(expected)
    what = "extra_finger" if diff == 1 else "missing_finger" if diff == -1 else "wrong_gesture"
    widest, rel = widest_finger(sil)
    if diff == -1 and rel > cal.limits_for(side_view(sil, cal.side_view_above))["width_rel"][0]:
        what = "fused_fingers"  # one tip short and one finger wider than healthy: two grown together
        findings.marked_fingers.append(widest)
    findings.add("finger_count", POINTS["finger_count"] * min(abs(diff), 2) * (0.6 + 0.4 * sure),
                 f"{count} extended fingers where the prompt asks for {len(expected)} "
                 f"({', '.join(expected) or 'none'})", flag=what)
    findings.add("finger_count", 0.0, "the hand does not make the asked-for gesture", flag="wrong_gesture")


def silhouette_geometry(sil: Silhouette, expected: list[str] | None, cal: Calibration, findings: Findings) -> None:
    """Fused, long, bent and doubled fingers from the silhouette measures.

    Per measure, the worst finger counts: between the clean renders' 90th percentile (lo) and
    their 99th (hi) the score drops gently (up to 40 % of the points) without a flag; past hi the
    flag is raised and the penalty is 50-100 % of the points; both times geometry_weight.
    """
    scale = cal.geometry_weight
    limits = cal.limits_for(side_view(sil, cal.side_view_above))
    for key, values in finger_measures(sil, expected).items():
        if not values:
            continue
        i, v = max(values, key=lambda t: t[1])
        lo, hi = limits[key]
        name, text = MEASURES[key]
        if v <= lo:
            continue
        if v <= hi:
            findings.add(name, scale * POINTS[name] * 0.4 * (v - lo) / max(hi - lo, 1e-6),
                         text.format(v=v) + " (within the flag limit)", flag="")
            continue
        findings.add(name, scale * POINTS[name] * min(1.0, 0.5 + (v - hi) / max(hi - lo, 1e-6)), text.format(v=v))
        findings.marked_fingers.append(i)


def sharpness(ev: Evidence, cal: Calibration, report: HandReport, findings: Findings) -> None:
    """Blurry below the calibrated share of a clean render's edge sharpness."""
    report.sharpness = ev.sharpness
    if ev.sharpness is not None and ev.sharpness < cal.blurry_below:
        sev = (cal.blurry_below - ev.sharpness) / cal.blurry_below
        findings.add("blurry", POINTS["blurry"] * min(1.0, 0.3 + 2 * sev),
                     f"edges {ev.sharpness:.2f}x as sharp as a clean render")


def detector(probs: dict[str, float], cal: Calibration, findings: Findings) -> None:
    """Penalise what the malformation detector sees: points grow from the clean renders' 90th
    percentile of P(malformed) to 1; the flag needs the 99th (calibration seed 7202)."""
    p_bad = 1.0 - probs["clean"]
    lo, hi = cal.detector
    if p_bad <= lo:
        return
    kind = max(DETECTOR_FLAGS, key=lambda k: probs[k])
    what = kind.replace("_", " ")
    findings.add(DETECTOR_FLAGS[kind], cal.detector_points * (p_bad - lo) / (1 - lo),
                 f"the malformation detector sees a hand with a {what} (P = {probs[kind]:.2f}; malformed P = {p_bad:.2f})",
                 flag=DETECTOR_FLAGS[kind] if p_bad > hi else "")


def likeness_penalty(likeness: float, cal: Calibration, findings: Findings) -> None:
    """Points off below clean renders' 5th percentile of hand-likeness (no flag: it is a found hand)."""
    lo, hi = cal.likeness_min, cal.likeness_low
    if likeness < hi:
        findings.add("hand_likeness", POINTS["hand_likeness"] * (hi - likeness) / (hi - lo),
                     f"few hand parts to see (hand-likeness {likeness:.2f}; clean renders > {hi:.2f}): a blob?", flag="")


def landmark_anatomy(ev: Evidence, cal: Calibration, findings: Findings) -> None:
    """MediaPipe's presence, and (on a hand-like picture) its landmarks' anatomy violations, weighted
    by landmark_weight; only a violation far past its tolerance on a clear hand raises a flag."""
    lm = ev.lm
    points = cal.presence_weight * max(0.0, 1 - 2 * lm.presence)  # only when under 0.5
    if points >= 0.5:
        findings.add("hand_likeness", points, f"MediaPipe hand presence {lm.presence:.2f} (1 = photo-like hand)", flag="")
    if lm.presence < 0.5:
        return
    for v in ev.violations:
        name = LANDMARK_FINDINGS[v.kind]
        points = POINTS[name] * cal.landmark_weight * min(1.0, 0.3 + 0.3 * v.excess) * lm.presence
        sure = v.excess >= 1.0 and lm.presence >= 0.8  # far past the tolerance, on a clear hand
        findings.add(name, points, "landmarks: " + v.describe(), flag=None if sure else "")
        if sure:
            findings.marked_points.append(v.points)
