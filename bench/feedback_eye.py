"""Tally a blind look at an A/B sheet against its key: which model drew the better hand, by eye.

    python -m bench.feedback_eye ANSWERS.json --key results/feedback_confirm_ab_key.json

bench.feedback writes each A/B sheet with its key in a separate file, so a person can judge the sheet first. Their
answers are a JSON object from cell ("1-1" ... "14-4") to {"better": "left" | "right" | "same", "why": "..."} (or just
the word). This reads the key only now, counts the cells where the candidate's picture was the better hand, where
full's was, and where neither, and gives the two-sided sign test on the cells that were not alike (scipy's binomtest):
a check of the gain that does not go through the judge. Bad input is one line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scipy.stats import binomtest

ANSWERS = ("left", "right", "same")


def tally(answers: dict, key: dict) -> dict:
    """Counts of cells where the candidate / full drew the better hand / neither, and the sign test's p."""
    cells = key["cells"]
    counts = {"candidate": 0, "full": 0, "same": 0}
    for cell, answer in answers.items():
        better = answer.get("better") if isinstance(answer, dict) else answer
        if better not in ANSWERS:
            raise ValueError(f"cell {cell}: the answer must be one of {', '.join(ANSWERS)}, got {better!r}")
        if cell not in cells:
            raise ValueError(f"cell {cell} is not on the sheet (cells run from 1-1 to {list(cells)[-1]})")
        counts["same" if better == "same" else cells[cell][better]] += 1
    if missing := [cell for cell in cells if cell not in answers]:
        raise ValueError(f"{len(missing)} cells unanswered, the first {missing[0]}: answer every cell, 'same' when unsure")
    decided = counts["candidate"] + counts["full"]
    p = binomtest(counts["candidate"], decided, 0.5).pvalue if decided else 1.0
    return {"model": key.get("candidate"), "cells": len(cells), "candidate_better": counts["candidate"],
            "full_better": counts["full"], "alike": counts["same"], "sign_test_p": round(float(p), 4)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("answers", type=Path, help="the blind answers, cell -> left | right | same")
    p.add_argument("--key", type=Path, required=True, help="the sheet's key (bench.feedback writes *_key.json beside it)")
    args = p.parse_args(argv)
    try:
        result = tally(json.loads(args.answers.read_text()), json.loads(args.key.read_text()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
