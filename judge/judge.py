"""The Judge: one object that owns the judge's networks and its calibration, and scores pictures.

Four witnesses (`judge.witnesses`), each doing what it is good at (and a fifth, the finger counter, read only
when the quality model's fit chose a count that needs it; the judge ships without one):
- the silhouette net (trained on clean renders only) separates the hand from the background and
  finds extended fingertips: the finger count, widths, lengths and bends come from there, because
  MediaPipe always answers five fingers;
- MediaPipe's landmark model (trained on real photographs) gives hand-likeness and 21 landmarks,
  held against the anatomy tables by `anatomy_check`;
- edge acutance at the hand's outline, relative to clean renders, measures blur;
- a learned malformation detector (trained on labelled twin renders of its own seed) names what
  the geometry cannot write down: a joint bent back, a finger a bit too long;
- (optional) a finger counter, a small CNN on the pixels fine-tuned on the raters' counts
  (`judge/fit/candidates/counter` says why it is not shipped).
`gather` runs them once per picture (the expensive part); `evaluate` turns that evidence into a
scored report by the rules (`judge.rules`). Thresholds come from a frozen `Calibration`, calibrated
on clean renders (seed 7202; `judge/fit/calibrate.py`), never on generator output. A quality model
fitted to people's eyes (`judge.quality`, on the rater set) then reads the witnesses' evidence and
decides whether people would see a hand, how they would count its fingers and the Hand Score
(25 x their predicted quality - 1); the witnesses' findings stay to say what is wrong.

    judge = Judge.load()                 # networks load on first use, each once
    report = judge.score(image, spec)    # a HandReport; judge.score_set(images, specs) -> SetReport
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np

from core.loading import Lazy
from core.vocab import HandSpec
from judge import metrics, quality, rules
from judge.calibration import Calibration
from judge.image import as_rgb
from judge.report import Evidence, HandReport, SetReport
from judge.witnesses import counter, defect, landmarks, look, silhouette
from judge.witnesses.anatomy_check import check
from judge.witnesses.sharpness import acutance

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights"
REFERENCE_COUNT, REFERENCE_SEED = 500, 7303  # clean renders for KID: neither a training nor the calibration seed


@dataclass(frozen=True)
class Networks:
    """The judge's networks, each built on first use (`core.loading.Lazy`: once, one failure policy), and
    the lock around their use: the landmark interpreter and the nets are shared by every thread that scores
    (app events, the benchmark) and are not safe to run from several at once."""

    silhouette: Lazy
    view_head: Lazy
    count_head: Lazy
    defect: Lazy
    counter: Lazy
    landmarks: Lazy
    quality: Lazy
    look_net: Lazy
    lock: threading.RLock = field(default_factory=threading.RLock, compare=False, repr=False)

    @classmethod
    def from_dir(cls, weights_dir: Path) -> Networks:
        """The networks whose weights are in `weights_dir` (the MediaPipe model comes with its package)."""
        return cls(
            silhouette=Lazy(partial(silhouette.load_net, weights_dir / silhouette.WEIGHTS_FILE), "silhouette weights"),
            view_head=Lazy(partial(silhouette.ViewHead.load, weights_dir / silhouette.VIEW_HEAD_FILE), "view head"),
            count_head=Lazy(partial(silhouette.CountHead.load, weights_dir / silhouette.COUNT_HEAD_FILE), "count head"),
            defect=Lazy(partial(defect.load_net, weights_dir / defect.WEIGHTS_FILE), "malformation detector"),
            counter=Lazy(partial(counter.load_net, weights_dir / counter.WEIGHTS_FILE), "finger counter"),
            landmarks=Lazy(landmarks.LandmarkModel, "MediaPipe hand model"),
            quality=Lazy(partial(quality.QualityModel.load, weights_dir), "quality model"),
            look_net=Lazy(partial(look.load_net, weights_dir / look.LOOK_NET_FILE), "look net"),
        )


class Judge:
    """Scores pictures of hands. Thread-safe: every use of the networks holds `networks.lock`.

    A Lazy build never takes that lock (builds run under the process-wide load lock, and a scoring
    thread holding the judge's lock may wait for a load), so the reference set is rendered and
    encoded without it: the silhouette net in eval mode keeps no state between calls.
    """

    def __init__(self, calibration: Calibration, networks: Networks) -> None:
        self.calibration = calibration
        self.networks = networks
        self._references: dict[tuple[int, int], Lazy[np.ndarray]] = {}
        self._diversity: dict[bytes, Lazy[float]] = {}
        self.weights_dir: Path | None = None  # set by `load`; a judge built from parts cannot be pickled
        self.other_looks: Judge | None = None  # set by `load` when the folder has witnesses for other looks

    @classmethod
    def load(cls, weights_dir: Path | None = None) -> Judge:
        """A judge with the weights and calibration in `weights_dir` (default: judge/weights). The
        calibration is read now, over the defaults; the networks load when first needed."""
        weights_dir = DEFAULT_WEIGHTS if weights_dir is None else Path(weights_dir)
        judge = cls(Calibration.of_folder(weights_dir), Networks.from_dir(weights_dir))
        judge.weights_dir = weights_dir
        if (weights_dir / look.OTHER_LOOKS_DIR).is_dir():
            judge.other_looks = cls.load(weights_dir / look.OTHER_LOOKS_DIR)
        return judge

    def __reduce__(self):
        """Pickled (ZeroGPU passes a call's arguments to its GPU worker that way) as a fresh judge on the same weights."""
        if self.weights_dir is None:
            raise TypeError("a Judge built from parts cannot be pickled; use Judge.load(weights_dir)")
        return Judge.load, (self.weights_dir,)

    def score(self, image, spec: HandSpec | None = None, use_landmarks: bool = True) -> HandReport:
        """Score one image (PIL or HxWx3 uint8) against an optional prompt spec."""
        return self.evaluate(self.gather(image, use_landmarks), spec)

    def evaluate(self, evidence: Evidence, spec: HandSpec | None = None) -> HandReport:
        """Turn evidence into a scored report, against the prompt's spec if there is one: the witnesses'
        report by the rules (`judge.rules`), read by the quality model, then the rules again with its verdict
        (hand or not, count, score). Without the quality model, the witnesses' report, saying so. A picture drawn
        in a look unlike the renders and the generators' pictures goes to the witnesses trained on many looks
        (`judge.witnesses.look`), whose rules judge it alone: the quality model never saw such pictures."""
        if self.in_other_look(evidence):
            return self._other_look_report(evidence, spec)
        witness = self.witness_report(evidence, spec)
        model = self.networks.quality.get_or_none()
        if model is None or evidence.sil is None:
            why = self.networks.quality.error if model is None else "no silhouette"
            witness.notes.append(f"{why}: the witnesses' own score")
            return witness
        x = quality.features(evidence, witness, self.networks.count_head.get_or_none())
        verdict = model.verdict(x, partial(self._counter_probabilities, evidence))
        return rules.evaluate(evidence, spec, self.calibration, verdict)

    def in_other_look(self, evidence: Evidence) -> bool:
        """Is this picture drawn in a look the judge has other witnesses for (the look net's P above the
        calibration's `other_look_above`)? False without those witnesses or the look net."""
        net = self.networks.look_net.get_or_none() if self.other_looks is not None else None
        if net is None:
            return False
        small = evidence.small if evidence.small is not None else silhouette.to_input(evidence.rgb)
        with self.networks.lock:
            p = look.probabilities(net, [small])[0]
        return bool(p > self.calibration.other_look_above)

    def _other_look_report(self, evidence: Evidence, spec: HandSpec | None) -> HandReport:
        """The other looks' witnesses' report by the rules (MediaPipe's landmarks are reused: they do not
        depend on the witnesses)."""
        other = self.other_looks
        ev = other.gather(evidence.rgb, use_landmarks=False)
        ev = replace(ev, lm=evidence.lm, violations=evidence.violations, notes=evidence.notes + ev.notes)
        report = other.witness_report(ev, spec)
        report.notes.append("drawn in a look unlike the generators' pictures: judged by witnesses trained on many "
                            "looks, by their rules alone (the model fitted to people never saw such pictures)")
        return report

    def witness_report(self, evidence: Evidence, spec: HandSpec | None = None) -> HandReport:
        """The witnesses' report by the rules alone (what the quality model reads)."""
        return rules.evaluate(evidence, spec, self.calibration)

    def gather(self, image, use_landmarks: bool = True, maps: silhouette.Maps | None = None) -> Evidence:
        """Run the silhouette net, the malformation detector and MediaPipe once (the expensive part
        of scoring). `maps`: this image's silhouette maps when `score_set` batched them (the detector always
        runs on one picture: its P(malformed) moves the score, which must not depend on the batch)."""
        with self.networks.lock:
            rgb = as_rgb(image)
            small = silhouette.to_input(rgb)
            notes: list[str] = []
            defect_p = None
            sil = self._silhouette(rgb, small, maps)
            if sil is None:
                notes.append(f"{self.networks.silhouette.error}: no finger count")
            else:
                found = self._defect_probabilities([small], [sil.maps])
                defect_p = found[0] if found else None
            lm, why = self._landmarks(rgb) if use_landmarks else (None, None)
            if lm is None and use_landmarks:
                notes.append(f"mediapipe unavailable ({why}): silhouette-only score")
        violations = check(lm.world, self.calibration.tolerance, lm.handedness) if lm is not None and lm.world is not None \
            else []
        raw = acutance(small, sil.hand) if sil is not None else None
        sharp = None if raw is None else raw / self.calibration.sharpness_ref
        return Evidence(rgb, sil, lm, violations, sharp, notes, defect_p, small)

    def score_set(self, images, specs=None, reference: np.ndarray | None = None, kid_metrics: bool = True,
                  use_landmarks: bool = True) -> SetReport:
        """Score a batch; `specs` is one HandSpec for all, a list (one per image) or None.

        One silhouette-net forward for the whole set (its pooled features are also the KID space);
        every report equals what `score` says of that image alone. `reference`: clean-render
        features for KID/diversity (default: `reference_features()`).
        """
        with self.networks.lock:
            rgbs = [as_rgb(im) for im in images]
            if specs is None or isinstance(specs, HandSpec):
                specs = [specs] * len(rgbs)
            small = [silhouette.to_input(rgb) for rgb in rgbs]
            net = self.networks.silhouette.get_or_none()
            maps = silhouette.predict_batch(net, small) if rgbs and net is not None else None
            # the detector runs in `gather`, one picture at a time as `score` runs it: its P(malformed) takes a share
            # of the score, and a batched convolution differs from a single one in the last bits
            reports = [self.evaluate(self.gather(rgb, use_landmarks, maps[k] if maps else None), spec)
                       for k, (rgb, spec) in enumerate(zip(rgbs, specs))]
            if not (kid_metrics and len(reports) >= 2):
                return metrics.summarise(reports)
            return metrics.summarise(reports, *self._set_metrics(rgbs, maps, reference))

    def _set_metrics(self, rgbs: list[np.ndarray], maps: list[silhouette.Maps] | None, reference: np.ndarray | None):
        """(KID, diversity, reference diversity, notes) of a set; what could not be measured stays None."""
        kid_value = div = ref_div = None
        try:
            ref = self.reference_features() if reference is None else reference
            feats = np.stack([m.features for m in maps]) if maps else self.features(rgbs)
            kid_value = metrics.kid(feats, ref)
            div, ref_div = metrics.diversity(feats, ref), self.reference_diversity(ref)
        except RuntimeError as err:  # no silhouette net: no feature space
            return kid_value, div, ref_div, [f"no KID/diversity: {err}"]
        return kid_value, div, ref_div, []

    def features(self, images) -> np.ndarray:
        """N images -> N x 116 silhouette-net features (the KID space); raises Unavailable without the net."""
        with self.networks.lock:
            return metrics.extract(self.networks.silhouette.get(), images)

    def reference_features(self, count: int = REFERENCE_COUNT, seed: int = REFERENCE_SEED) -> np.ndarray:
        """Features of `count` clean renders (seed 7303: neither training nor calibration), computed once
        per judge (the app's warm-up thread and a first request never both do it)."""
        build = partial(self._reference_build, count, seed)
        lazy = self._references.setdefault((count, seed), Lazy(build, f"reference set ({count} renders, seed {seed})",
                                                                lock=threading.Lock()))  # computed, not loaded: no load lock
        return lazy.get()

    def _reference_build(self, count: int, seed: int) -> np.ndarray:
        from world.render import render_sample

        images = [render_sample(seed, i, silhouette.SIZE).image for i in range(count)]
        return metrics.extract(self.networks.silhouette.get(), images)  # no judge lock: see the class docstring

    def reference_diversity(self, ref: np.ndarray) -> float:
        """`metrics.diversity(ref, ref)`, once per reference set (500 x 500 distances on every
        `score_set` call otherwise); the judge remembers the last few sets."""
        key = hashlib.blake2b(np.ascontiguousarray(ref).tobytes(), digest_size=16).digest() + str(ref.shape).encode()
        if key not in self._diversity and len(self._diversity) > 8:
            self._diversity.clear()
        lazy = self._diversity.setdefault(key, Lazy(partial(metrics.diversity, ref, ref), "reference diversity"))
        return lazy.get()

    def detect_landmarks(self, image) -> landmarks.Landmarks | None:
        """MediaPipe's 21 landmarks of the hand in `image` (PIL or HxWx3 uint8, else ValueError); None when
        the model is unavailable (`networks.landmarks.error` says why) or failed on this image."""
        rgb = as_rgb(image, strict=True)
        with self.networks.lock:
            return self._landmarks(rgb)[0]

    def _landmarks(self, rgb: np.ndarray) -> tuple[landmarks.Landmarks | None, str | None]:
        """(landmarks, None), or (None, why not)."""
        model = self.networks.landmarks.get_or_none()
        if model is None:
            return None, self.networks.landmarks.error
        try:
            return landmarks.detect(model, rgb), None
        except Exception as err:  # a broken runtime must not take the app down
            return None, f"MediaPipe hand model failed: {type(err).__name__}: {err}"

    def _silhouette(self, rgb: np.ndarray, small: np.ndarray, maps: silhouette.Maps | None) -> silhouette.Silhouette | None:
        """The silhouette of `rgb` (from `maps` when given); None without the net."""
        if maps is None:
            net = self.networks.silhouette.get_or_none()
            if net is None:
                return None
            maps = silhouette.predict(net, small)
        return silhouette.analyse(rgb, maps, self.networks.view_head.get_or_none(),
                                  self.networks.count_head.get_or_none(), self.calibration.side_view_above)

    def _counter_probabilities(self, evidence: Evidence) -> np.ndarray | None:
        """The finger counter's P(0..6) of this picture; None without its weights (the trees' count then)."""
        net = self.networks.counter.get_or_none()
        if net is None:
            return None
        small = evidence.small if evidence.small is not None else silhouette.to_input(evidence.rgb)
        with self.networks.lock:
            return counter.probabilities(net, [small])[0]

    def _defect_probabilities(self, small: list[np.ndarray], maps: list[silhouette.Maps]) -> list[dict[str, float]] | None:
        """The detector's class probabilities per image; None without its weights."""
        net = self.networks.defect.get_or_none()
        if net is None:
            return None
        return defect.probabilities(net, [defect.stack_input(x, m) for x, m in zip(small, maps)])
