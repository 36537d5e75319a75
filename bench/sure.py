"""Where the app's ✓ starts: the Hand Score above which people agree a picture is a good hand.

    python -m bench.sure            # writes results/sure_threshold.json (about 5 minutes, one thread)

The app marks a picture ✓ only when the judge finds a hand, flags nothing, counts the prompt's fingers
and scores at least `demo.present.SURE_SCORE`. That last number is chosen here, on predictions the
quality model made without seeing the picture's source (leave one source out, as the judge's own
held-out report): for each candidate threshold, how many pictures pass and what the raters said of
them. A ✓ that people would call broken (quality 2 or less of 5) is the error that matters.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from core.settings import REPO_ROOT
from judge.fit import raters
from judge.fit import train_quality as fit
from judge.judge import DEFAULT_WEIGHTS, Judge
from judge.report import hand_score

THRESHOLDS = (45.0, 50.0, 55.0, 57.5, 60.0, 62.5, 65.0, 70.0)


def held_out_quality(judge: Judge, pictures: list[raters.RatedPicture]) -> tuple[np.ndarray, np.ndarray]:
    """Each rated picture's predicted quality and P(malformed) from heads fitted without its source, by the
    judge's own recipe (`judge.fit.train_quality.held_out`: the rated pictures, the synthetic failures and the
    rendered twins); their share of the Hand Score is the shipped model's."""
    table, extras = fit.training_rows(judge, pictures)
    pred = fit.held_out(table, pictures, extras, fit.PARAMS)
    return pred["quality"], pred["p_malformed"]


def threshold_table(score: np.ndarray, rated: np.ndarray, generated: np.ndarray) -> list[dict]:
    """Per threshold, on generated pictures: the share that pass, and of those the share people rate a good
    hand (≥ 3.5), at least acceptable (≥ 3) and broken or no hand (≤ 2)."""
    rows = []
    for threshold in THRESHOLDS:
        passed = (score >= threshold) & generated
        n = int(passed.sum())
        rows.append({"threshold": threshold, "passed": n, "share_of_generated": round(n / int(generated.sum()), 3),
                     "people_good": _share(rated >= 3.5, passed), "people_acceptable": _share(rated >= 3, passed),
                     "people_broken": _share(rated <= 2, passed)})
    return rows


def _share(verdict: np.ndarray, passed: np.ndarray) -> float | None:
    return round(float(verdict[passed].mean()), 3) if passed.any() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The Hand Score above which the app says ✓, checked on the raters.")
    parser.add_argument("--out", default=str(REPO_ROOT / "results" / "sure_threshold.json"))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    pictures = raters.load()
    judge = Judge.load(DEFAULT_WEIGHTS)
    predicted, p_malformed = held_out_quality(judge, pictures)
    share = judge.networks.quality.get().malformed_share
    rows = threshold_table(hand_score(predicted, p_malformed, share), np.array([p.quality for p in pictures]),
                           np.array([p.generated for p in pictures]))
    result = {"command": "python -m bench.sure", "protocol": "Hand Score = 25 x (quality - 1) x (1 - share x P(malformed)) "
              "with the quality and P(malformed) predicted leave one source out (python -m judge.fit.train_quality's "
              "recipe) and the shipped malformed share; generated pictures",
              "malformed_share": share,
              "thresholds": rows}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    for row in rows:
        print(json.dumps(row), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
