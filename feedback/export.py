"""Every vote as one JSON object per line, with what reproduces both pictures, for anyone to analyse.

    python -m feedback.export [--out votes.jsonl] [--data DIR] [--without-careless]

The database is HANDS_DATA's (`core.settings.data_dir`) unless --data names another folder. Careless sessions'
votes are written too, marked `"careless": true`, unless --without-careless; known-answer pairs have
`"pair": {"kind": "known", "known_better": ...}`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from core import settings
from feedback.store import DB_NAME, Store, StoreUnavailable


def records(store: Store, include_careless: bool = True) -> Iterator[dict]:
    """One dict per vote, oldest first: the vote's fields and its pair's under "pair"."""
    for vote, pair in store.votes(include_careless=include_careless):
        record = asdict(vote)
        record["flags"] = list(vote.flags)
        record["pair"] = asdict(pair)
        yield record


def write(store: Store, out, include_careless: bool = True) -> int:
    """Write the votes as JSONL to the open text file `out`; returns how many."""
    count = 0
    for record in records(store, include_careless):
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m feedback.export", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="the JSONL file to write (default: standard output)")
    parser.add_argument("--data", type=Path, help="the folder holding feedback.sqlite (default: HANDS_DATA)")
    parser.add_argument("--without-careless", action="store_true", help="leave careless sessions' votes out")
    args = parser.parse_args(argv)
    folder = args.data or settings.data_dir()
    if not (folder / DB_NAME).is_file():
        print(f"error: no votes database in {folder} (set HANDS_DATA or --data to the folder holding {DB_NAME})",
              file=sys.stderr)
        return 2
    try:
        store = Store(folder)
        if args.out is None:
            count = write(store, sys.stdout, not args.without_careless)
        else:
            with args.out.open("w", encoding="utf-8") as out:
                count = write(store, out, not args.without_careless)
    except (OSError, StoreUnavailable) as err:
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 2
    print(f"{count} votes written to {args.out or 'standard output'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
