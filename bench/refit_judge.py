"""Refit the judge's quality model with the arena's votes: the raters' trees plus a Bradley–Terry layer (judge.fit.votes).

    python -m bench.refit_judge               # results/judge_votes.json; the layer into judge/weights when it helps
    python -m bench.refit_judge --dry-run     # measure and say, write nothing

The votes are read from `$HANDS_DATA`'s store (careless sessions and known-answer pairs left out, as the leaderboard
does) and both pictures of every decisive vote are drawn again from what the store kept, checked byte for byte
(`models.feedback_pairs.voted_pictures`); that needs the generators, which the judge may not import, so the drawing
is done here and the judge's fit receives pictures and prompts only. The layer is kept only when it beats the trees
on sessions it never saw and keeps the raters' order (`judge.fit.votes`): with few votes nothing changes, and the
command says why in its last line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from core.settings import REPO_ROOT, data_dir
from feedback.store import Store, StoreUnavailable
from judge import Judge
from judge.fit import votes
from models.feedback_pairs import voted_pictures
from models.registry import Registry

OUT = REPO_ROOT / "results" / "judge_votes.json"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dry-run", action="store_true", help="measure and report; leave the judge's weights as they are")
    p.add_argument("--weights", type=Path, default=None, help="the judge's weights folder (default judge/weights)")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    try:
        voted, skipped = voted_pictures(Store(data_dir()), Registry())
    except StoreUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    judge = Judge.load(args.weights)
    report = votes.refit(judge, [np.asarray(v.winner.convert("RGB")) for v in voted],
                         [np.asarray(v.loser.convert("RGB")) for v in voted], [v.prompt for v in voted],
                         [v.session for v in voted], write=not args.dry_run)
    report = {"command": "python -m bench.refit_judge" + (" --dry-run" if args.dry_run else ""), "skipped": skipped,
              **report}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "why"}))
    print(("refitted: " if report["refitted"] else "not refitted: ") + report["why"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
