"""CLI: `python -m prompt "TEXT" [--no-encoder]` prints spec.to_dict() plus "method" as JSON."""

from __future__ import annotations

import argparse
import json
import sys

from prompt.encoder import GestureEncoder
from prompt.parser import PromptParser


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m prompt", description="Parse a hand prompt to JSON.")
    ap.add_argument("text")
    ap.add_argument("--no-encoder", action="store_true", help="keywords only (fast, no model load)")
    args = ap.parse_args(argv)
    parser = PromptParser(None if args.no_encoder else GestureEncoder())
    try:
        spec, method = parser.parse_with_method(args.text)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({**spec.to_dict(), "method": method}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
