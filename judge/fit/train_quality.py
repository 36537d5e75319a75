"""Fit the quality model (`judge.quality`) to people's eyes, and measure it on sources it never saw.

Training rows: every rated picture (`judge/fit/raters/`: the raters' mean quality, hand or not, the
finger counts they gave, whether those who saw a hand saw something wrong, whether it shows what the prompt
asks), once against its prompt and once without one (`rater_table`'s `blind`), and `NEG_COUNT` synthetic
generator failures (`world.failures`, seed 99000, which no rater picture uses), labelled as their kind
says, and `RENDER_CLEAN` clean + `RENDER_PER_KIND` x 5
malformed renders (seed 99200; `render_table`), labelled with the raters' mean quality of such renders among
the fit's own rated pictures (`relabel`), and malformed or not as they were drawn. The share of the score the
malformed head's P may take is then chosen on renders of a seed of their own (`choose_share`). Features:
`judge.quality.features` of the judge's own evidence (`Judge.gather`, then the witnesses' report), cached
under the cache folder by the sha256 of the witness weights they came from.

Five sklearn HistGradientBoosting heads (quality, hand, fingers, malformed, matches; `PARAMS`) are fitted, exported to flat
arrays and written to `judge/weights/quality.safetensors` + `quality.json` (feature names, the hand
threshold, whose finger count to report, the witness digests). The hand threshold is the P(hand) that
lets through `TARGET_FOUND` of the generated pictures raters call "not a hand", out of fold (grouped
5-fold over sources).

Whose finger count the judge reports is chosen held out too (`count_choice`): the trees', the silhouette's
tips, the finger counter's (`judge.fit.train_counter`, run first: its held-out predictions are read from the
cache), both averaged, or a fingers head that reads the counter's held-out probabilities as features.

The held-out report (`results/judge_raters.json`) is leave one source out: for each of the 23 sources
(generator settings, clean renders, each render malformation) every head and the threshold are fitted
again without it, and it is predicted. The bars are the issue's, on generated pictures; the old judge
(the witnesses' rules alone) stands next to it, and the shipped model is tried on fresh failures of a
seed of their own (99100).

    python -m judge.fit.train_quality            # ~15 min on one core: the weights and the report
    python -m judge.fit.train_quality --witnesses DIR --weights DIR --out DIR/judge_raters.json
                                                 # candidate witnesses: their own quality model beside them
    python -m judge.fit.train_quality --quick    # a smoke test (a quarter of the pictures, 3 folds, small
                                                 # trees); writes under the cache folder, not the weights
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.settings import REPO_ROOT, cache_dir
from judge import quality
from judge.fit import raters
from judge.fit.raters import RatedPicture, Verdict
from judge.judge import DEFAULT_WEIGHTS, Judge
from judge.report import hand_score
from world.failures import FAILURES, KINDS, failures
from world.render import render_sample

NEG_SEED, NEG_COUNT = 99000, 420  # synthetic failures in every fit: 60 of each kind
HELD_SEED, HELD_PER_KIND = 99100, 30  # fresh failures (and clean renders) the shipped model is tried on
RENDER_SEED, RENDER_CLEAN, RENDER_PER_KIND = 99200, 600, 120  # rendered twins in every fit (`render_table`)
SHARE_SEED, SHARE_CLEAN, SHARE_PER_KIND = 99300, 400, 80  # renders the malformed share is chosen on (`choose_share`)
RENDER_BAR = 0.95  # the issue's bar on renders' malformations (reported on validation seed 9303)
# The share is chosen to reach the bar plus a margin: an AUROC near 0.95 on a few hundred renders moves by about
# 0.01 from one seed to the next, and a share that just reached 0.95 here (0.951 on 200 + 200 renders) gave 0.946
# on the validation seed.
TARGET_RENDER_AUROC = RENDER_BAR + 0.01
SHARES = tuple(round(0.05 * k, 2) for k in range(21))
TARGET_FOUND = 0.08  # out-of-fold share of generated non-hands let through; held out it came to ~6 %
PARAMS = {"max_iter": 200, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 20,
          "l2_regularization": 1.0, "random_state": 0}
QUICK_PARAMS = {**PARAMS, "max_iter": 30}
PROCESSES = 2  # folds fitted at once, one thread each
BARS = {"spearman_quality": (0.75, ">="), "hand_auroc": (0.95, ">="), "found_on_not_hand": (0.10, "<="),
        "finger_exact": (0.80, ">="), "source_kendall": (0.8, ">=")}


@dataclass
class Extras:
    """The rows every fit adds to the rated pictures: synthetic failures, rendered twins, the twins labelled
    from the fit's own rated pictures (`relabel`), and the fit's own rated pictures judged without their prompt
    (`blind`, a row per rated picture)."""

    failures: Table
    renders: Table
    malformed: np.ndarray
    pictures: list  # every rated picture; a fit passes the ones it may see
    blind: Table

    def table(self, seen: list) -> Table:
        ids = {p.id for p in seen}
        blind = self.blind.take(np.array([i for i, p in enumerate(self.pictures) if p.id in ids], int))
        return self.failures + relabel(self.renders, self.malformed, seen) + blind


@dataclass
class Table:
    """Feature rows and their labels; hand is NaN where people would split, count -1 where there is none,
    malformed (1 or 0) NaN where nobody saw a hand to judge, matches (1 or 0: shows what the prompt asks) NaN
    where nobody said."""

    x: np.ndarray
    quality: np.ndarray
    hand: np.ndarray
    count: np.ndarray
    malformed: np.ndarray
    matches: np.ndarray
    old: list[Verdict]  # what the witnesses' rules alone said (the old judge)

    def take(self, idx: np.ndarray) -> Table:
        return Table(self.x[idx], self.quality[idx], self.hand[idx], self.count[idx], self.malformed[idx],
                     self.matches[idx], [self.old[i] for i in idx])

    def __add__(self, other: Table) -> Table:
        cat = np.concatenate
        return Table(np.vstack([self.x, other.x]), cat([self.quality, other.quality]), cat([self.hand, other.hand]),
                     cat([self.count, other.count]), cat([self.malformed, other.malformed]),
                     cat([self.matches, other.matches]), self.old + other.old)


def _specs(prompts: list[str | None]) -> list:
    from prompt import PromptParser

    parser, specs = PromptParser(), {}
    return [None if p is None else specs.setdefault(p, parser.parse(p)) for p in prompts]


def extract(judge: Judge, images: list[np.ndarray], prompts: list[str | None],
            name: str) -> tuple[np.ndarray, list[Verdict]]:
    """Feature rows and the old judge's verdicts of `images`, each against its prompt (None: none); cached by the witness
    weights' digests, the feature names, the rules that write the report's features, and the pictures and prompts
    themselves (a changed rule changes the flags the trees read, so the rows are computed again)."""
    h = hashlib.sha256(json.dumps([quality.witness_digests(judge.weights_dir), quality.feature_names(), prompts,
                                   _rules_digest()]).encode())
    for im in images:
        h.update(np.ascontiguousarray(im).tobytes())
    path = cache_dir() / "quality" / f"{name}-{h.hexdigest()[:16]}.npz"
    if path.exists():
        c = np.load(path)
        return c["x"], [Verdict(float(s), bool(f), None if n < 0 else int(n)) for s, f, n in c["old"]]
    rows, old = [], []
    for image, spec in zip(images, _specs(prompts), strict=True):
        ev = judge.gather(image)
        witness = judge.witness_report(ev, spec)
        rows.append(quality.features(ev, witness, judge.networks.count_head.get_or_none()))
        old.append(Verdict(witness.hand_score, witness.hand_found, witness.extended_count if witness.hand_found else None))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=np.stack(rows), old=np.array([[v.score, v.hand_found, -1 if v.extended_count is None else
                                                     v.extended_count] for v in old], float))
    return np.stack(rows), old


def _rules_digest() -> str:
    """sha256 of the source of the rules and measures the witnesses' report is written by."""
    from judge import measures, rules

    return hashlib.sha256("".join(Path(m.__file__).read_text() for m in (rules, measures)).encode()).hexdigest()


def rater_table(judge: Judge, pictures: list[RatedPicture], blind: bool = False) -> Table:
    """The rated pictures' rows, each judged against its prompt, or without one (`blind`: what the raters said of
    the hand stands, what they said of the prompt does not; matches is then unknown). Why blind rows: all but one
    rated prompt name a gesture, so without them a picture judged with no gesture asked is one the trees never
    saw, and its score drifts from fit to fit."""
    from PIL import Image

    images = []
    for p in pictures:
        with Image.open(p.path) as im:
            images.append(np.asarray(im.convert("RGB")))
    x, old = extract(judge, images, [None if blind else p.prompt for p in pictures], "raters-blind" if blind else "raters")
    target = [int(min(p.counts)) if len(p.counts) == 1 else int(round(np.mean(p.counts))) if p.counts else -1
              for p in pictures]  # two raters who differ: the count between theirs
    wrong = [np.nan if p.malformed is None else float(p.malformed >= 0.5) for p in pictures]  # two who differ: yes
    matches = [np.nan if p.matches is None else float(p.matches >= 0.5) for p in pictures]  # two who differ: yes
    return Table(x, np.array([p.quality for p in pictures]), np.array([float(p.is_hand) for p in pictures]),
                 np.array(target), np.array(wrong), np.full(len(pictures), np.nan) if blind else np.array(matches), old)


def failure_table(judge: Judge, images: list[np.ndarray], kinds: list[str], prompt_pool: list[str], seed: int,
                  name: str) -> Table:
    """Synthetic failures with their kinds' labels, each against a prompt drawn from the raters' prompts."""
    rng = np.random.default_rng(seed)
    prompts = [prompt_pool[i] for i in rng.integers(len(prompt_pool), size=len(images))]
    x, old = extract(judge, images, prompts, name)
    hand = np.array([np.nan if FAILURES[k].hand is None else float(FAILURES[k].hand) for k in kinds])
    matches = np.where(hand == 0, 0.0, np.nan)  # what is no hand never shows the asked-for hand
    return Table(x, np.array([FAILURES[k].quality for k in kinds]), hand, -np.ones(len(kinds), int),
                 np.full(len(kinds), np.nan), matches, old)


def clean_and_malformed(judge: Judge, seed: int, count: int, per_kind: int,
                        name: str) -> tuple[np.ndarray, list[Verdict], np.ndarray]:
    """Features and old verdicts of `count` clean renders (seed) and `per_kind` malformed ones of every kind of
    `ANOMALIES` (seed + 1), each against its own caption, and whether each is malformed."""
    from core.vocab import ANOMALIES

    renders = [render_sample(seed, i, 64) for i in range(count)]
    renders += [render_sample(seed + 1, i, 64, anomaly=ANOMALIES[i % len(ANOMALIES)])
                for i in range(per_kind * len(ANOMALIES))]
    x, old = extract(judge, [r.image for r in renders], [r.label["captions"][0] for r in renders], name)
    return x, old, np.arange(len(renders)) >= count


def render_table(judge: Judge, count: int, per_kind: int, seed: int = RENDER_SEED) -> tuple[Table, np.ndarray]:
    """Clean and malformed renders (`clean_and_malformed`) as training rows, and whether each is malformed.
    Their quality is set per fit by `relabel` from what raters gave such renders.

    Why: the rater set holds 40 malformed renders, too few for the trees to learn what the malformation
    detector knows (its AUROC on renders is 0.98); without these rows the Hand Score of a render with an
    extra finger is barely below a clean one's. Hand: yes; count: none (the raters' counts teach that);
    malformed: the truth, so the malformed head learns what the detector sees on renders."""
    x, old, malformed = clean_and_malformed(judge, seed, count, per_kind, "renders")
    n = len(x)
    return Table(x, np.full(n, np.nan), np.ones(n), -np.ones(n, int), malformed.astype(float), np.full(n, np.nan),
                 old), malformed


def relabel(renders: Table, malformed: np.ndarray, pictures: list[RatedPicture]) -> Table:
    """The rendered twins with the raters' mean quality of the clean renders, and of the malformed ones pooled
    over every kind, among `pictures` (the fit's own: a held-out source never sets a label; twins of a kind of
    render the fit has no rating of keep no quality, and still teach the other heads, whose labels the renderer
    gives). Pooled because eight pictures per kind cannot tell the kinds apart."""
    def mean(rows: list[RatedPicture]) -> float:
        return float(np.mean([p.quality for p in rows])) if rows else float("nan")

    clean = mean([p for p in pictures if p.source == "render"])
    broken = mean([p for p in pictures if p.source.startswith("render ")])
    return Table(renders.x, np.where(malformed, broken, clean), renders.hand, renders.count, renders.malformed,
                 renders.matches, renders.old)


def fit_heads(t: Table, params: dict) -> dict:
    """The five sklearn heads on `t`, each on the rows that carry its label (quality where it is known, hand
    where people would not split, fingers where counted, malformed where a hand was judged: the raters' and
    the rendered twins'; matches where a rater said, and the synthetic non-hands)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    def classifier(labels: np.ndarray, rows: np.ndarray):
        return HistGradientBoostingClassifier(**params).fit(t.x[rows], labels[rows].astype(int))

    rated, known, counted = ~np.isnan(t.quality), ~np.isnan(t.hand), t.count >= 0
    return {"quality": HistGradientBoostingRegressor(**params).fit(t.x[rated], t.quality[rated]),
            "hand": classifier(t.hand, known), "fingers": classifier(t.count, counted),
            "malformed": classifier(t.malformed, ~np.isnan(t.malformed)),
            "matches": classifier(t.matches, ~np.isnan(t.matches))}


def predict_heads(heads: dict, x: np.ndarray) -> dict[str, np.ndarray]:
    p_count = np.zeros((len(x), quality.MAX_COUNT + 1))
    p_count[:, heads["fingers"].classes_] = heads["fingers"].predict_proba(x)
    return {"quality": np.clip(heads["quality"].predict(x), 1, 5), "p_hand": heads["hand"].predict_proba(x)[:, 1],
            "count": p_count.argmax(1), "p_count": p_count, "p_malformed": heads["malformed"].predict_proba(x)[:, 1],
            "p_matches": heads["matches"].predict_proba(x)[:, 1]}


def hand_threshold(t: Table, pictures: list[RatedPicture], extras: Extras, params: dict, folds: int = 5) -> float:
    """The P(hand) that finds a hand on TARGET_FOUND of the generated non-hands among `pictures` (the rows of
    `t`), out of fold: whole sources held out together, every fit with the extras of its own pictures only (a
    picture's blind row must not teach the fit that predicts it)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    groups = np.array([p.source for p in pictures])
    generated = np.array([p.generated for p in pictures])
    p = np.zeros(len(t.x))
    for train, test in GroupKFold(n_splits=min(folds, len(set(groups)))).split(t.x, groups=groups):
        fit = t.take(train) + extras.table([pictures[i] for i in train])
        known = ~np.isnan(fit.hand)
        head = HistGradientBoostingClassifier(**params).fit(fit.x[known], fit.hand[known].astype(int))
        p[test] = head.predict_proba(t.x[test])[:, 1]
    return float(np.quantile(p[generated & (t.hand < 0.5)], 1 - TARGET_FOUND))


def fit_stacked(t: Table, counter_p: np.ndarray, params: dict):
    """The fingers head reading the finger counter's P(0..6) beside the features (`stacked`), on the counted
    rows. `counter_p` must be out of fold for every row (the counter's held-out predictions), so the trees
    learn how far to trust it where it never saw the picture's source."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    counted = t.count >= 0
    return HistGradientBoostingClassifier(**params).fit(stacked(t.x, counter_p)[counted], t.count[counted])


def stacked(x: np.ndarray, counter_p: np.ndarray) -> np.ndarray:
    return np.hstack([x, counter_p])


def predict_stacked(head, x: np.ndarray, counter_p: np.ndarray) -> np.ndarray:
    p_count = np.zeros((len(x), quality.MAX_COUNT + 1))
    p_count[:, head.classes_] = head.predict_proba(stacked(x, counter_p))
    return p_count


def _fold(t: Table, groups: np.ndarray, generated: np.ndarray, extras: Extras, params: dict, source: str,
          counter_p: np.ndarray | None):
    """One held-out source: heads and threshold fitted without it, its pictures predicted (one thread)."""
    from threadpoolctl import threadpool_limits

    test, train = np.flatnonzero(groups == source), np.flatnonzero(groups != source)
    extra = extras.table([p for p in extras.pictures if p.source != source])
    with threadpool_limits(1):  # OpenMP spinning on a shared CPU: one thread per process is far faster
        heads = fit_heads(t.take(train) + extra, params)
        pred = predict_heads(heads, t.x[test])
        blind = predict_heads(heads, extras.blind.x[test])  # the same pictures judged without their prompt
        pred["quality_blind"], pred["p_hand_blind"] = blind["quality"], blind["p_hand"]
        if counter_p is not None:
            head = fit_stacked(t.take(train), counter_p[train], params)
            pred["p_count_stacked"] = predict_stacked(head, t.x[test], counter_p[test])
        threshold = hand_threshold(t.take(train), [extras.pictures[i] for i in train], extras, params)
    return source, test, pred, threshold


def held_out(t: Table, pictures: list[RatedPicture], extras: Extras, params: dict,
             sources: list[str] | None = None, counter_p: np.ndarray | None = None) -> dict:
    """Leave one source out: per source, heads and threshold fitted on the others (+ the extras), then
    its pictures predicted, `PROCESSES` sources at a time. `sources`: only these are held out (the quick
    run); the rest keep no prediction."""
    from joblib import Parallel, delayed

    groups = np.array([p.source for p in pictures])
    generated = np.array([p.generated for p in pictures])
    n = len(pictures)
    out = {"quality": np.full(n, np.nan), "p_hand": np.full(n, np.nan), "count": -np.ones(n, int),
           "p_malformed": np.full(n, np.nan), "p_matches": np.full(n, np.nan),
           "quality_blind": np.full(n, np.nan), "p_hand_blind": np.full(n, np.nan),
           "p_count": np.full((n, quality.MAX_COUNT + 1), np.nan), "found": np.zeros(n, bool), "threshold": {}}
    if counter_p is not None:
        out["p_count_stacked"] = np.full((n, quality.MAX_COUNT + 1), np.nan)
    jobs = (delayed(_fold)(t, groups, generated, extras, params, s, counter_p) for s in sources or sorted(set(groups)))
    for source, test, pred, threshold in Parallel(n_jobs=PROCESSES, return_as="generator")(jobs):
        for key, values in pred.items():  # every key a fold predicts has its array in `out`
            out[key][test] = values
        out["found"][test] = pred["p_hand"] > threshold
        out["threshold"][source] = round(threshold, 4)
        print(f"  held out {source}: threshold {threshold:.3f}", file=sys.stderr, flush=True)
    return out


def export(estimator) -> dict[str, np.ndarray]:
    """A fitted HistGradientBoosting model as the flat arrays `judge.quality.Trees` reads (every tree's nodes
    numbered globally; a leaf's children are itself, so every sample can take `depth` steps)."""
    cols: dict[str, list] = {k: [] for k in ("feature", "threshold", "left", "right", "value", "missing_left")}
    roots, outputs, offset, depth = [], [], 0, 0
    for iteration in estimator._predictors:
        for k, predictor in enumerate(iteration):
            nodes = predictor.nodes
            ids = np.arange(len(nodes)) + offset
            leaf = nodes["is_leaf"].astype(bool)
            cols["feature"].append(np.where(leaf, 0, nodes["feature_idx"]).astype(np.int32))
            cols["threshold"].append(nodes["num_threshold"].astype(np.float64))
            cols["left"].append(np.where(leaf, ids, nodes["left"] + offset).astype(np.int32))
            cols["right"].append(np.where(leaf, ids, nodes["right"] + offset).astype(np.int32))
            cols["value"].append(np.where(leaf, nodes["value"], 0.0).astype(np.float64))
            cols["missing_left"].append(nodes["missing_go_to_left"].astype(np.uint8))
            roots.append(offset)
            outputs.append(k)
            offset += len(nodes)
            depth = max(depth, int(nodes["depth"].max()))
    arrays = {k: np.concatenate(v) for k, v in cols.items()}
    return {**arrays, "roots": np.array(roots, np.int32), "tree_output": np.array(outputs, np.int32),
            "baseline": np.asarray(estimator._baseline_prediction, np.float64).ravel(),
            "depth": np.array([depth], np.int32)}


def write_model(heads: dict, meta: dict, weights_dir: Path) -> None:
    from safetensors.numpy import save_file

    weights_dir.mkdir(parents=True, exist_ok=True)
    arrays = {f"{name}.{k}": v for name in quality.HEADS for k, v in export(heads[name]).items()}
    save_file(arrays, str(weights_dir / quality.FILE))
    (weights_dir / quality.META).write_text(json.dumps(meta, indent=1) + "\n")


def _verdicts(pred: dict, count: np.ndarray, share: float) -> list[Verdict]:
    score = hand_score(pred["quality"], pred["p_malformed"], share)
    return [Verdict(float(v), bool(f), int(c) if f else None, float(p))
            for v, f, c, p in zip(score, pred["found"], count, pred["p_hand"])]


def choose_share(judge: Judge, heads: dict, count: int = SHARE_CLEAN, per_kind: int = SHARE_PER_KIND) -> dict:
    """The smallest share of the score the malformed head's P may take (`judge.report.hand_score`) at which
    the fitted model separates malformed renders from clean ones at `TARGET_RENDER_AUROC`, on renders of seeds
    of their own (SHARE_SEED: neither the twins', nor validation's 9303, nor any rater picture's); the best one
    when none reaches it. Every share's AUROC is kept, so the price is in the report."""
    from core.vocab import ANOMALIES
    from judge.metrics import auroc

    x, _, _ = clean_and_malformed(judge, SHARE_SEED, count, per_kind, "share-renders")
    pred = predict_heads(heads, x)
    by_share = {}
    for share in SHARES:
        score = hand_score(pred["quality"], pred["p_malformed"], share)
        by_share[share] = round(auroc(list(-score[count:]), list(-score[:count])), 4)
    reached = [v for v in SHARES if by_share[v] >= TARGET_RENDER_AUROC]
    chosen = reached[0] if reached else max(SHARES, key=by_share.get)
    return {"share": chosen, "seed": SHARE_SEED, "clean": count, "malformed": per_kind * len(ANOMALIES),
            "target_auroc": TARGET_RENDER_AUROC, "auroc_by_share": {str(k): v for k, v in by_share.items()}}


def count_choice(t: Table, pictures: list[RatedPicture], pred: dict, counter_p: np.ndarray | None) -> dict:
    """Held out, on generated pictures raters call hands and counted: whose count is one a rater gave most
    often? The trees' (`model`), the silhouette's tips (`witness`), the finger counter's (`counter`, its own
    held-out fit by `judge.fit.train_counter`), the trees' and the counter's together (`blend`), or trees that
    read the counter's probabilities as features (`stack`). The judge
    reports the best; each one's figure stays in the report. Returns the choice and every held-out count."""
    witness = t.x[:, quality.feature_names().index("count")].astype(int)
    rows = [i for i, p in enumerate(pictures) if p.generated and p.is_hand and p.counts and pred["count"][i] >= 0]
    counts = {"witness": witness}
    for source in quality.COUNT_SOURCES if counter_p is not None else ("model",):
        trees = pred["p_count_stacked"] if source == "stack" else pred["p_count"]
        counts[source] = quality.count_probabilities(source, np.nan_to_num(trees), np.nan_to_num(counter_p)).argmax(1)
    right = {s: round(float(np.mean([min(c[i], 6) in pictures[i].counts for i in rows])), 4) for s, c in counts.items()}
    best = max(right, key=right.get)
    return {**right, "n": len(rows), "reported": best, "counts": counts[best]}


def counter_heldout(pictures: list[RatedPicture], witnesses: Path) -> np.ndarray | None:
    """The finger counter's held-out P(0..6) per rated picture (`judge.fit.train_counter`; NaN where it made
    none: pictures nobody counted), or None when `witnesses` has no counter. Raises when the held-out file
    is missing: the choice of count must rest on it."""
    from judge.fit import train_counter
    from judge.witnesses import counter

    if not (witnesses / counter.WEIGHTS_FILE).exists():
        return None
    path = train_counter.heldout_path(train_counter.Recipe())
    if not path.exists():
        raise FileNotFoundError("the finger counter's held-out predictions are missing: run python -m "
                                "judge.fit.train_counter first")
    probs = json.loads(path.read_text())
    nan = [float("nan")] * counter.CLASSES
    return np.array([probs.get(str(p.id), nan) for p in pictures], np.float64)


def malformed_check(t: Table, pictures: list[RatedPicture], pred: dict) -> dict:
    """Held out, on generated pictures where raters saw a hand: how well the malformed head and the malformation
    detector alone rank what raters called malformed (most of those who saw a hand) above what they did not."""
    from judge.metrics import auroc

    rows = np.array([p.generated for p in pictures]) & ~np.isnan(t.malformed) & ~np.isnan(pred["p_malformed"])
    wrong = t.malformed[rows] == 1
    if wrong.all() or not wrong.any():
        return {"n": int(rows.sum()), "auroc_head": None, "auroc_detector_alone": None}
    detector = 1.0 - np.nan_to_num(t.x[rows, quality.feature_names().index("defect_clean")], nan=1.0)
    head = pred["p_malformed"][rows]
    return {"n": int(rows.sum()), "called_malformed": round(float(wrong.mean()), 4),
            "auroc_head": round(auroc(head[wrong], head[~wrong]), 4),
            "auroc_detector_alone": round(auroc(detector[wrong], detector[~wrong]), 4)}


def matches_check(t: Table, pictures: list[RatedPicture], pred: dict) -> dict:
    """Held out, on generated pictures: how well the matches head ranks what raters said shows the prompt's ask
    (most of them) above what they said does not."""
    from judge.metrics import auroc

    rows = np.array([p.generated for p in pictures]) & ~np.isnan(t.matches) & ~np.isnan(pred["p_matches"])
    yes, head = t.matches[rows] == 1, pred["p_matches"][rows]
    return {"n": int(rows.sum()), "said_matches": round(float(yes.mean()), 4),
            "auroc_head": round(auroc(head[yes], head[~yes]), 4)}


def blind_check(pictures: list[RatedPicture], pred: dict) -> dict:
    """Held out, on generated pictures judged without their prompt: Spearman of the predicted quality with the
    raters' (who saw the prompt), and hand AUROC; the same with the prompt beside them."""
    from scipy.stats import spearmanr

    from judge.metrics import auroc

    rows = np.array([p.generated for p in pictures]) & ~np.isnan(pred["quality_blind"])
    rated = np.array([p.quality for p in pictures])[rows]
    hand = np.array([p.is_hand for p in pictures])[rows]
    out = {"n": int(rows.sum())}
    for name, q, p_hand in (("without_prompt", pred["quality_blind"], pred["p_hand_blind"]),
                            ("with_prompt", pred["quality"], pred["p_hand"])):
        out[name] = {"spearman_quality": round(float(spearmanr(q[rows], rated).correlation), 4),
                     "hand_auroc": round(auroc(p_hand[rows][hand], p_hand[rows][~hand]), 4)}
    return out


def bars(new: dict, old: dict) -> dict:
    out = {}
    for key, (target, way) in BARS.items():
        value = new[key]
        met = value >= target if way == ">=" else value <= target
        out[key] = {"target": f"{way} {target}", "held_out": round(value, 4), "old_judge": round(old[key], 4),
                    "met": bool(met)}
    return out


def synthetic_check(judge: Judge, model: quality.QualityModel, prompt_pool: list[str], per_kind: int) -> dict:
    """The shipped model on fresh failures (seed HELD_SEED, never fitted on; each against a raters' prompt) and
    on clean renders of that seed (against their own caption), next to the old judge: per kind, the mean Hand
    Score, how often a hand is found, and on the renders how often the count is the render's."""
    images, kinds = failures(len(KINDS) * per_kind, HELD_SEED)
    renders = [render_sample(HELD_SEED, i, 64) for i in range(per_kind)]
    images, kinds = images + [r.image for r in renders], kinds + ["clean render"] * per_kind
    rng = np.random.default_rng(HELD_SEED)
    prompts = [prompt_pool[i] for i in rng.integers(len(prompt_pool), size=len(images) - per_kind)]
    x, old = extract(judge, images, prompts + [r.label["captions"][0] for r in renders], "held-out")
    p = model.predict(x)
    found, score = p["p_hand"] > model.threshold, hand_score(p["quality"], p["p_malformed"], model.malformed_share)
    out = {}
    for kind in (*KINDS, "clean render"):
        idx = [i for i, k in enumerate(kinds) if k == kind]
        out[kind] = {"n": len(idx), "score": round(float(score[idx].mean()), 1),
                     "hand_found": round(float(found[idx].mean()), 3), "p_hand": round(float(p["p_hand"][idx].mean()), 3),
                     "old_score": round(float(np.mean([old[i].score for i in idx])), 1),
                     "old_hand_found": round(float(np.mean([old[i].hand_found for i in idx])), 3)}
    truth = np.array([r.label["extended_count"] for r in renders])
    clean = np.arange(len(images) - per_kind, len(images))
    out["clean render"]["count_exact_model"] = round(float(np.mean(p["p_count"][clean].argmax(1) == truth)), 3)
    out["clean render"]["count_exact_old"] = round(float(np.mean([old[i].extended_count == c
                                                                  for i, c in zip(clean, truth)])), 3)
    return out


def prompt_pool(pictures: list[RatedPicture]) -> list[str]:
    """The raters' prompts of generated pictures: the synthetic failures are each scored against one."""
    return sorted({p.prompt for p in pictures if p.generated})


def training_rows(judge: Judge, pictures: list[RatedPicture], quick: bool = False) -> tuple[Table, Extras]:
    """The rated pictures' rows and the extras every fit adds (synthetic failures, rendered twins): what the
    held-out report and the shipped fit read, and `bench.sure` too. `quick`: a sixth of the extras."""
    images, kinds = failures(NEG_COUNT // (6 if quick else 1), NEG_SEED)
    negatives = failure_table(judge, images, kinds, prompt_pool(pictures), NEG_SEED, "negatives")
    renders, malformed = render_table(judge, *((RENDER_CLEAN // 6, RENDER_PER_KIND // 6) if quick else
                                               (RENDER_CLEAN, RENDER_PER_KIND)))
    return rater_table(judge, pictures), Extras(negatives, renders, malformed, pictures,
                                                rater_table(judge, pictures, blind=True))


def run(quick: bool, weights_dir: Path, out: Path, witnesses: Path = DEFAULT_WEIGHTS) -> dict:
    """Long because it is the whole recipe in order: features, held-out report, final fit, synthetic check."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    t0 = time.time()
    judge = Judge.load(witnesses)
    pictures = raters.load()
    if quick:
        pictures = pictures[::4]
    params = QUICK_PARAMS if quick else PARAMS
    pool = prompt_pool(pictures)
    table, extras = training_rows(judge, pictures, quick)
    negatives, malformed = extras.failures, extras.malformed
    sources = sorted({p.source for p in pictures})
    held_sources = sources[::8] if quick else None
    counter_p = counter_heldout(pictures, witnesses)
    pred = held_out(table, pictures, extras, params, held_sources, counter_p)
    with threadpool_limits(1):
        heads = fit_heads(table + extras.table(pictures), params)
        threshold = hand_threshold(table, pictures, extras, params)
        share = choose_share(judge, heads, *((SHARE_CLEAN // 4, SHARE_PER_KIND // 4) if quick else ()))
        choice = count_choice(table, pictures, pred, counter_p)
        verdicts = _verdicts(pred, choice.pop("counts"), share["share"])
        if choice["reported"] == "stack":  # the shipped fingers head reads the counter too
            heads["fingers"] = fit_stacked(table, counter_p, params)
        keep = [i for i, p in enumerate(pictures) if p.source in (held_sources or sources)]
        sub = [pictures[i] for i in keep]
        new = raters.agreement(sub, [verdicts[i] for i in keep])
        old = raters.agreement(sub, [table.old[i] for i in keep])
    meta = {"feature_names": quality.feature_names(), "hand_threshold": round(threshold, 4),
            "malformed_share": share["share"],
            "finger_classes": [int(c) for c in heads["fingers"].classes_], "count_from": choice["reported"],
            "witness_sha256": quality.witness_digests(witnesses),
            "counter_sha256": quality.counter_digest(witnesses),
            "fit": {"command": "python -m judge.fit.train_quality" + (" --quick" if quick else ""),
                    "raters": len(pictures), "negatives": len(negatives.x), "negative_seed": NEG_SEED,
                    "rendered_twins": int(len(malformed)), "render_seed": RENDER_SEED,
                    "witnesses": _relative(witnesses), "params": params, "malformed_share": share,
                    "sklearn": __import__("sklearn").__version__}}
    write_model(heads, meta, weights_dir)
    model = quality.QualityModel.load(weights_dir)
    report = {"command": meta["fit"]["command"],
              "protocol": "leave one source out over the rater set (23 sources); every head and the hand threshold "
                          "fitted again without the held-out source, plus the synthetic failures, the rendered "
                          "twins (labelled from the fold's own ratings) and the fold's rated pictures judged without "
                          "their prompt; the malformed head's share of the score chosen on "
                          "renders only (seed 99300); bars on generated pictures; finger count right when it is one a "
                          "rater gave (six or more as one answer)",
              "bars": bars(new, old), "held_out": _strip(new), "old_judge": _strip(old), "finger_count": choice,
              "malformed": malformed_check(table, pictures, pred), "matches": matches_check(table, pictures, pred),
              "no_prompt": blind_check(pictures, pred),
              "hand_threshold": {"shipped": meta["hand_threshold"], "per_fold": pred["threshold"]},
              "per_source": _sources(sub, [verdicts[i] for i in keep], [table.old[i] for i in keep]),
              "synthetic_failures": synthetic_check(judge, model, pool, 5 if quick else HELD_PER_KIND),
              "fit": meta["fit"], "seconds": round(time.time() - t0, 1)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    return report


def _relative(folder: Path) -> str:
    """A folder as the report names it: relative to the repository when inside it (no machine paths)."""
    try:
        return str(folder.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return folder.name


def _strip(agreement: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in agreement.items() if k != "per_source"}


def _sources(pictures: list[RatedPicture], new: list[Verdict], old: list[Verdict]) -> dict:
    rows = raters.per_source(pictures, new, generated=False)
    for source, row in raters.per_source(pictures, old, generated=False).items():
        rows[source].update({f"old_{k}": row[k] for k in ("judge_score", "judge_hand", "judge_fingers")})
    return {s: {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
            for s, r in sorted(rows.items(), key=lambda kv: -kv[1]["rater_quality"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fit the quality model to the raters; held-out report.")
    parser.add_argument("--quick", action="store_true", help="smoke test: a quarter of the pictures, small trees")
    parser.add_argument("--weights", type=Path, default=None, help="default judge/weights (--quick: the cache folder)")
    parser.add_argument("--out", type=Path, default=None, help="default results/judge_raters.json")
    parser.add_argument("--witnesses", type=Path, default=DEFAULT_WEIGHTS,
                        help="the weights folder whose witnesses give the features (default judge/weights)")
    args = parser.parse_args(argv)
    scratch = cache_dir() / "quality-quick"
    weights = args.weights or (scratch if args.quick else DEFAULT_WEIGHTS)
    out = args.out or (scratch / "judge_raters.json" if args.quick else REPO_ROOT / "results" / "judge_raters.json")
    try:
        report = run(args.quick, weights, out, args.witnesses)
    except (OSError, ValueError) as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    print(json.dumps({"bars": report["bars"], "finger_count": report["finger_count"], "malformed": report["malformed"],
                      "matches": report["matches"], "no_prompt": report["no_prompt"],
                      "out": str(out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
