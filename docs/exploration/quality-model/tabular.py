"""Cheap predictors on cached features, evaluated leave-one-source-out.

Three heads, each fitted on the 22 other sources and predicting the held-out one:
- quality: regression on the mean rater quality (1..5),
- hand: P(a rater sees a hand), classifier on majority vote (a 1-1 split counts as hand),
- fingers: class 0..6 on pictures raters saw as a hand and counted.

`python tabular.py` prints the metrics for every feature set x model family.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np

from data import RaterSet, load, loso_splits, metrics

MODELS = ("linear", "hgb")


def make(kind: str, task: str, seed: int = 0):
    """A fresh sklearn estimator: `kind` in MODELS, `task` in quality|hand|fingers."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "linear":
        est = Ridge(alpha=10.0) if task == "quality" else LogisticRegression(C=0.1, max_iter=2000)
        return make_pipeline(StandardScaler(), est)
    common = dict(max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20, l2_regularization=1.0,
                  random_state=seed)
    if task == "quality":
        return HistGradientBoostingRegressor(**common)
    return HistGradientBoostingClassifier(**common)


def loso_predict(rs: RaterSet, X: np.ndarray, kind: str, splits=None) -> dict[str, np.ndarray]:
    """Held-out predictions for every picture: q (quality), p_hand, fingers (argmax), p_fingers."""
    n = len(X)
    q, ph, pf = np.zeros(n), np.zeros(n), np.zeros((n, 7))
    yh = (rs.hand >= 0.5).astype(int)
    has_f = rs.finger_target >= 0
    for _, tr, te in (splits if splits is not None else loso_splits(rs.groups)):
        m = make(kind, "quality").fit(X[tr], rs.quality[tr])
        q[te] = m.predict(X[te])
        m = make(kind, "hand").fit(X[tr], yh[tr])
        ph[te] = m.predict_proba(X[te])[:, 1]
        trf = tr[has_f[tr]]
        m = make(kind, "fingers").fit(X[trf], rs.finger_target[trf])
        pf[np.ix_(te, m.classes_)] = m.predict_proba(X[te])
    return {"q": q, "p_hand": ph, "fingers": pf.argmax(1), "p_fingers": pf}


def evaluate(rs: RaterSet, pred: dict, threshold: float = 0.5, on=None) -> dict:
    return metrics(rs, pred["q"], pred["p_hand"], pred["p_hand"] > threshold, pred["fingers"], on)


def feature_sets(cache: str = "runs/quality/cache.npz") -> dict[str, np.ndarray]:
    c = np.load(cache)
    rep, img, wit, exp = c["report"], c["image"], c["witness"], c["expected"]
    prompt = np.stack([exp, exp < 0] + [exp == k for k in range(6)], 1).astype(np.float32)
    scal = wit[:, 116:]
    return {
        "R report": rep,
        "I image stats": np.hstack([img, prompt]),
        "R+I": np.hstack([rep, img]),
        "Ws witness scalars": np.hstack([scal, prompt]),
        "W witness all (enc+scalars)": np.hstack([wit, prompt]),
        "R+Ws": np.hstack([rep, scal]),
        "R+I+Ws": np.hstack([rep, img, scal]),
        "R+I+W": np.hstack([rep, img, wit]),
    }


def main(out_dir: str = "runs/quality") -> None:
    from data import fmt_metrics

    rs = load(images=False)
    for name, X in feature_sets(f"{out_dir}/cache.npz").items():
        for kind in MODELS:
            pred = loso_predict(rs, X, kind)
            np.savez(f"{out_dir}/pred_{name.split()[0]}_{kind}.npz", **pred)
            print(f"{name:30s} {kind:6s} {fmt_metrics(evaluate(rs, pred))}", flush=True)


if __name__ == "__main__":
    main()
