"""The quality model: what people would say of a picture, predicted from what the judge's witnesses saw.

Checked against people's eyes on the generators' own pictures (`judge/fit/raters/`), the judge's
hand-written rules ranked them almost at random (Spearman 0.17), found hands in smears and blobs, and
counted fingers differently from people. Its witnesses see more than the rules make of it, so five
small gradient-boosted tree ensembles read the witnesses' raw evidence and predict what the raters
said: their quality (1-5), P(a person sees a hand), the finger count as people count (0-6, 6 = six or
more; the fingers head may also read the finger counter's probabilities, `count_from` "stack", when that
agreed with people more often held out), P(a person sees something wrong with the hand), also fitted
on renders whose malformation is known, and P(a person says the picture shows what the prompt asks). They are
fitted by `python -m judge.fit.train_quality` (sklearn, dev only) and shipped as flat arrays
(`judge/weights/quality.safetensors` + `quality.json`: feature names, the hand threshold, and the sha256 of the
witness weights the features came from); here they run in numpy, ~1 ms a picture.

The feature vector (`feature_names`) costs no network run: everything comes from `Evidence` (gathered
once by `Judge.gather`) and the witnesses' own report:
- the report: the rules' score, points per finding, flags, presence, sharpness, counts, the prompt's count;
- image statistics of the 64 px picture: colour moments, saturation, edge energy, noise, histograms;
- the witnesses' scalars: silhouette area, confidence, hand-likeness, tips, finger widths and lengths,
  view, knuckle and wrist peaks, the count head's P(0..5), the malformation detector's probabilities;
- count evidence: tip-heat peaks and finger-map components at several thresholds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.vocab import DIGITS
from judge.measures import hand_likeness
from judge.report import Evidence, HandReport, QualityVerdict
from judge.rules import DETECTOR_FLAGS, MALFORMATIONS
from judge.witnesses.silhouette import CountHead, Maps, to_input

FILE, META = "quality.safetensors", "quality.json"  # their names in a weights folder
LAYER = "votes"  # the vote layer's arrays' prefix in FILE, and its key in META
HEADS = ("quality", "hand", "fingers", "malformed", "matches")
MAX_COUNT = 6  # finger classes 0..6, 6 = six or more
# The files the features depend on: a change to any of them means the model must be fitted again.
WITNESS_FILES = ("silhouette.safetensors", "view_head.safetensors", "count_head.safetensors", "defect.safetensors",
                 "scorer_calibration.json")

BREAKDOWN = ("no_hand", "finger_count", *dict.fromkeys(DETECTOR_FLAGS.values()), "bone_ratio", "blurry",
             "hand_likeness")
FLAGS = ("no_hand", "wrong_gesture", "blurry", *(f for f in MALFORMATIONS if f != "looks_broken"))
COUNT_THRESHOLDS = (0.15, 0.25, 0.35, 0.5, 0.65, 0.8)
_NAN = float("nan")


def report_names() -> list[str]:
    return (["hand_score", "hand_found", "presence", "sharpness", "extended_count", "expected_count", "count_diff",
             "gesture_match", "n_flags"] + [f"points_{b}" for b in BREAKDOWN] + [f"flag_{f}" for f in FLAGS])


def report_features(rep: HandReport) -> list[float]:
    """The witnesses' own report (before the quality model): NaN where something was not measured."""
    def opt(v):
        return _NAN if v is None else float(v)

    exp = rep.expected_count
    return ([rep.hand_score, float(rep.hand_found), opt(rep.presence), opt(rep.sharpness), float(rep.extended_count),
             opt(exp), _NAN if exp is None else abs(rep.extended_count - exp), opt(rep.gesture_match), len(rep.flags)]
            + [rep.breakdown[b].points if b in rep.breakdown else 0.0 for b in BREAKDOWN]
            + [float(f in rep.flags) for f in FLAGS])


def image_names() -> list[str]:
    names = [f"{s}_{c}" for s in ("mean", "std") for c in "rgb"]
    names += ["sat_mean", "sat_std", "val_std", "lap_var", "edge_mean", "edge_p90", "speckle", "centre_border",
              "border_std", "fg_bg_dist", "dark_frac", "bright_frac"]
    return names + [f"hist_{c}{i}" for c in "hsv" for i in range(8)]


def image_features(rgb64: np.ndarray) -> list[float]:
    """Colour, edge and noise statistics of the 64 px picture: smears, noise and flat blobs show here."""
    import cv2

    img = rgb64.astype(np.float64)
    gray = cv2.cvtColor(rgb64, cv2.COLOR_RGB2GRAY)
    hsv = cv2.cvtColor(rgb64, cv2.COLOR_RGB2HSV).astype(np.float64)
    g = gray.astype(np.float32)
    edge = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    speckle = np.abs(g - cv2.medianBlur(gray, 3).astype(np.float32)).mean()
    border = np.concatenate([img[:4].reshape(-1, 3), img[-4:].reshape(-1, 3), img[:, :4].reshape(-1, 3),
                             img[:, -4:].reshape(-1, 3)])
    centre = img[16:48, 16:48].reshape(-1, 3)
    flat = img.reshape(-1, 3)
    v = [*flat.mean(0), *flat.std(0), hsv[..., 1].mean(), hsv[..., 1].std(), hsv[..., 2].std(),
         float(np.log1p(cv2.Laplacian(g, cv2.CV_32F).var())), float(edge.mean()), float(np.percentile(edge, 90)),
         float(speckle), float(np.linalg.norm(centre.mean(0) - border.mean(0))), float(border.std(0).mean()),
         float(np.linalg.norm(img - np.median(border, 0), axis=2).mean()), float((gray < 40).mean()),
         float((gray > 215).mean())]
    for ch, top in ((0, 180), (1, 256), (2, 256)):
        h, _ = np.histogram(hsv[..., ch], bins=8, range=(0, top))
        v += list(h / h.sum())
    return [float(x) for x in v]


def witness_names() -> list[str]:
    return (["area", "confidence", "likeness", "tips", "count", "fingers", "palm_radius", "faint_tip", "tip_heat_mean",
             "tip_heat_min", "width_max", "width_mean", "length_max", "length_mean", "bend_max", "side_view",
             "palm_width", "hand_mean", "hand_entropy", "finger_mean", "tips_max", "wrist_max", "knuckle_max",
             "knuckles", "sharpness_raw"] + [f"count_p{i}" for i in range(6)] + [f"defect_{c}" for c in
                                                                                   ("clean", *DETECTOR_FLAGS)])


def witness_features(ev: Evidence, count_head: CountHead | None) -> list[float]:
    """The silhouette's, the count head's and the detector's raw evidence, without the rules' thresholds."""
    sil, maps = ev.sil, ev.sil.maps
    fingers = sil.fingers
    p = maps.hand.astype(np.float64).clip(1e-4, 1 - 1e-4)
    knuckles = [float(maps.extra[f"mcp_{d}"].max()) for d in DIGITS]
    probs = count_head.probabilities(maps, len(sil.tips)) if count_head is not None else None

    def stat(f, values):
        return float(f(values)) if values else _NAN

    v = [sil.area, sil.confidence, hand_likeness(sil), len(sil.tips), sil.count, len(fingers), sil.palm_radius,
         sil.faint_tip, stat(np.mean, sil.tip_heat), stat(np.min, sil.tip_heat),
         stat(max, [f.width for f in fingers]), stat(np.mean, [f.width for f in fingers]),
         stat(max, [f.length for f in fingers]), stat(np.mean, [f.length for f in fingers]),
         stat(max, [f.bend for f in fingers]), _NAN if sil.side_view is None else sil.side_view,
         _NAN if sil.palm_width is None else sil.palm_width, float(maps.hand.mean()),
         float(-(p * np.log(p) + (1 - p) * np.log(1 - p)).mean()), float(maps.finger.mean()), float(maps.tips.max()),
         float(maps.extra["wrist"].max()), max(knuckles), sum(k > 0.3 for k in knuckles),
         _NAN if ev.sharpness is None else ev.sharpness]
    v += list(probs) if probs is not None else [_NAN] * 6
    v += [ev.defect[c] for c in ("clean", *DETECTOR_FLAGS)] if ev.defect is not None else [_NAN] * 6
    return [float(x) for x in v]


def count_names() -> list[str]:
    return ([f"peaks_{t}" for t in COUNT_THRESHOLDS] + [f"finger_parts_{t}" for t in COUNT_THRESHOLDS]
            + [f"peak_{i}" for i in range(6)])


def count_features(maps: Maps) -> list[float]:
    """Finger-count evidence at several thresholds (the rules use one): tip-heat peaks inside the hand, and
    finger-map components, above each; and the six strongest peaks."""
    import cv2

    tips = maps.tips.astype(np.float32)
    peak = (tips >= cv2.dilate(tips, np.ones((5, 5), np.uint8))) & (maps.hand > 0.3)
    v = [int((peak & (tips > t)).sum()) for t in COUNT_THRESHOLDS]
    for t in COUNT_THRESHOLDS:
        _, _, stats, _ = cv2.connectedComponentsWithStats((maps.finger > t).astype(np.uint8))
        v.append(int((stats[1:, cv2.CC_STAT_AREA] >= 4).sum()))
    strongest = np.sort(tips[peak])[::-1][:6]
    return [float(x) for x in v] + [float(x) for x in np.pad(strongest, (0, 6 - len(strongest)))]


def feature_names() -> list[str]:
    return report_names() + image_names() + witness_names() + count_names()


def features(ev: Evidence, witness: HandReport, count_head: CountHead | None) -> np.ndarray:
    """One picture's feature vector (`feature_names`), float64: needs the silhouette (`ev.sil`)."""
    small = ev.small if ev.small is not None else to_input(ev.rgb)
    return np.array(report_features(witness) + image_features(small) + witness_features(ev, count_head)
                    + count_features(ev.sil.maps), np.float64)


@dataclass(frozen=True)
class Trees:
    """A gradient-boosted ensemble as flat arrays (`judge.fit.train_quality.export` writes them): per node its
    feature, threshold, children (a leaf points to itself), leaf value and where a missing value goes; per
    tree its root and the output it adds to."""

    arrays: dict[str, np.ndarray]

    def raw(self, x: np.ndarray) -> np.ndarray:
        """N x features -> N x outputs, before the link (sigmoid, softmax): every tree one level at a time."""
        a = self.arrays
        x = np.atleast_2d(np.asarray(x, np.float64))
        rows = np.arange(len(x))[:, None]
        node = np.repeat(a["roots"][None], len(x), 0)
        for _ in range(int(a["depth"][0])):
            v = x[rows, a["feature"][node]]
            left = np.where(np.isnan(v), a["missing_left"][node] > 0, v <= a["threshold"][node])
            node = np.where(left, a["left"][node], a["right"][node])
        leaves = a["value"][node]
        outputs = len(a["baseline"])
        return a["baseline"] + np.stack([leaves[:, a["tree_output"] == k].sum(1) for k in range(outputs)], 1)


@dataclass(frozen=True)
class VoteLayer:
    """What the arena's votes add to the trees' quality (`judge.fit.votes`, a Bradley–Terry fit): the features
    standardised, times weights; absent until enough votes have helped on sessions they never saw."""

    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray  # b / a, per standardised feature

    def standardised(self, x: np.ndarray) -> np.ndarray:
        """N x features, centred and scaled as the votes were; a feature not measured (NaN) reads as the mean."""
        return np.nan_to_num((np.atleast_2d(x) - self.mean) / self.scale, nan=0.0, posinf=0.0, neginf=0.0)

    def shift(self, x: np.ndarray) -> np.ndarray:
        """N x features -> what the layer adds to the quality."""
        return self.standardised(x) @ self.weight

    def arrays(self) -> dict[str, np.ndarray]:
        return {f"{LAYER}.{k}": getattr(self, k) for k in ("mean", "scale", "weight")}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> VoteLayer | None:
        keys = [f"{LAYER}.{k}" for k in ("mean", "scale", "weight")]
        return cls(*(arrays[k] for k in keys)) if all(k in arrays for k in keys) else None


@dataclass(frozen=True)
class QualityModel:
    """The five heads and what the fit chose: the hand threshold, whose finger count to report and the
    malformed head's share of the score."""

    heads: dict[str, Trees]
    meta: dict
    votes: VoteLayer | None = None  # the arena's votes, once they have been fitted (`judge.fit.votes`)

    @classmethod
    def load(cls, weights_dir: Path) -> QualityModel:
        """The model in `weights_dir` (raises when its files are missing or do not match this code's features)."""
        from safetensors.numpy import load_file

        if missing := [name for name in (META, FILE) if not (weights_dir / name).exists()]:  # named, never a machine path
            raise FileNotFoundError(f"{' and '.join(missing)} not in the judge's weights folder")
        meta = json.loads((weights_dir / META).read_text())
        if meta["feature_names"] != feature_names():
            raise ValueError(f"{META} was fitted on other features; run python -m judge.fit.train_quality")
        arrays = load_file(str(weights_dir / FILE))
        if missing := [h for h in HEADS if f"{h}.roots" not in arrays]:
            raise ValueError(f"{FILE} has no {', '.join(missing)} head; run python -m judge.fit.train_quality")
        heads = {h: Trees({k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(h + ".")}) for h in HEADS}
        return cls(heads, meta, VoteLayer.from_arrays(arrays))

    @property
    def threshold(self) -> float:
        return float(self.meta["hand_threshold"])

    def predict(self, x: np.ndarray, with_layer: bool = True, counter_p: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """N x features -> quality (1-5; with the votes' layer when there is one), p_hand, p_count (N x 7, 0..6),
        p_malformed (a person who sees a hand would see something wrong with it), p_matches (a person would say it
        shows what the prompt asks).
        A fingers head fitted on the counter's probabilities (`count_from` "stack") reads `counter_p` (N x 7)
        after the features; without it, those columns are missing and its trees take their learnt side."""
        quality = np.clip(self.heads["quality"].raw(x)[:, 0], 1.0, 5.0)
        if with_layer and self.votes is not None:
            quality = np.clip(quality + self.votes.shift(x), 1.0, 5.0)
        p_hand = 1 / (1 + np.exp(-self.heads["hand"].raw(x)[:, 0]))
        p_malformed = 1 / (1 + np.exp(-self.heads["malformed"].raw(x)[:, 0]))
        p_matches = 1 / (1 + np.exp(-self.heads["matches"].raw(x)[:, 0]))
        return {"quality": quality, "p_hand": p_hand, "p_count": self.count_head(x, counter_p),
                "p_malformed": p_malformed, "p_matches": p_matches}

    def count_head(self, x: np.ndarray, counter_p: np.ndarray | None = None) -> np.ndarray:
        """N x features -> P(count) N x 7 from the fingers head (a stacked one reads `counter_p` after them)."""
        x = np.atleast_2d(x)
        if self.meta["count_from"] == "stack":
            extra = np.full((len(x), MAX_COUNT + 1), np.nan) if counter_p is None else np.atleast_2d(counter_p)
            x = np.hstack([x, extra])
        raw = self.heads["fingers"].raw(x)
        e = np.exp(raw - raw.max(1, keepdims=True))
        p_count = np.zeros((len(raw), MAX_COUNT + 1))
        p_count[:, self.meta["finger_classes"]] = e / e.sum(1, keepdims=True)
        return p_count

    @property
    def malformed_share(self) -> float:
        """How much of the score the malformed head's P may take (`judge.report.hand_score`)."""
        return float(self.meta.get("malformed_share", 0.0))

    @property
    def needs_counter(self) -> bool:
        """The fit chose a count that reads the finger counter (`judge.witnesses.counter`)."""
        return self.meta["count_from"] in ("counter", "blend", "stack")

    def verdict(self, x: np.ndarray, counter: Callable[[], np.ndarray | None] | None = None) -> QualityVerdict:
        """One picture's verdict. `counter` gives the finger counter's P(0..6) when the fit chose to read it; it is
        asked only when people would see a hand (a count is reported only then, and the net costs ~6 ms)."""
        p = self.predict(x[None])
        counter_p = counter() if counter is not None and self.needs_counter and p["p_hand"][0] > self.threshold \
            else None
        if counter_p is not None:
            p["p_count"] = self.count_head(x[None], counter_p[None])
        source = self.meta["count_from"]
        if self.needs_counter and counter_p is None:
            source = "model"  # the counter could not run: the fingers head alone (a stacked one without its columns)
        p_count = count_probabilities(source, p["p_count"], None if counter_p is None else counter_p[None])[0]
        count = int(p_count.argmax())
        return QualityVerdict(quality=float(p["quality"][0]), p_hand=float(p["p_hand"][0]),
                              hand_found=bool(p["p_hand"][0] > self.threshold), count=count,
                              count_p=float(p_count[count]), use_count=source != "witness",
                              p_malformed=float(p["p_malformed"][0]), malformed_share=self.malformed_share,
                              p_matches=float(p["p_matches"][0]))


COUNT_SOURCES = ("model", "counter", "blend", "stack")  # whose P(count) the judge may report, beside the silhouette's tips


def count_probabilities(source: str, trees: np.ndarray, counter: np.ndarray | None) -> np.ndarray:
    """N x 7 P(count) as `source` says: the trees' (`model`), the finger counter's, or their geometric mean
    (`blend`: each has to agree for a count to win). The fit and the judge both read the count through here.
    `witness` (the silhouette's tips) keeps the trees' probabilities, which the rules then do not use."""
    if source in ("model", "witness", "stack"):  # stack: the trees read the counter already (`QualityModel.predict`)
        return trees
    if counter is None:
        raise ValueError(f"a {source} count needs the finger counter's probabilities")
    if source == "counter":
        return counter
    mixed = np.sqrt(np.clip(trees, 1e-6, 1) * np.clip(counter, 1e-6, 1))
    return mixed / mixed.sum(1, keepdims=True)


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def counter_digest(weights_dir: Path) -> str | None:
    """sha256 of the finger counter the fit chose a count with (`count_choice`), None without one."""
    from judge.witnesses.counter import WEIGHTS_FILE

    return sha256(weights_dir / WEIGHTS_FILE) if (weights_dir / WEIGHTS_FILE).exists() else None


def witness_digests(weights_dir: Path) -> dict[str, str]:
    """sha256 of every file the features depend on (`WITNESS_FILES`) in `weights_dir`."""
    return {name: sha256(weights_dir / name) for name in WITNESS_FILES if (weights_dir / name).exists()}
