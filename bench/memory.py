"""Does the app leak? RSS of the server across many consecutive /compare requests.

    python -m bench.memory [--requests 500] [--bound-mb 150] [--out results/memory.json]

Launches `python app.py` on loopback, warms it up (weights, prompt encoder, scorer references and
allocator pools fill on the first requests, and the app's cache of finished comparisons fills to its
bound, HANDS_RESULT_CACHE images: at least enough requests for that), then sends cheap requests one after
another (1 image per backend, 2 DPM++ steps, every one new), reading the server's RSS every --every
requests. Exit 1 if the RSS grew by more than --bound-mb from after the warm-up to the end, or if any
request failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from bench.load import log, run_clients
from bench.server import CHEAP, launched_app
from core.settings import REPO_ROOT, result_cache_images
from models.registry import FAMILY_NAMES as FAMILIES


def warmup_requests(asked: int) -> int:
    """`asked`, or more if the app's result cache needs more new requests to fill (each holds 3 x n images):
    a bounded cache filling up is not a leak."""
    if asked == 0:
        return 0
    return max(asked, result_cache_images() // (len(FAMILIES) * CHEAP["n"]) + 1)


def verdict(samples: list[dict], bound_mb: float) -> dict:
    """Growth from the first sample to the last, and whether it stays within the bound."""
    start, end = samples[0]["rss_mb"], samples[-1]["rss_mb"]
    peak = max(s["rss_mb"] for s in samples)
    return {"rss_mb_start": start, "rss_mb_end": end, "rss_mb_peak": peak, "growth_mb": round(end - start, 1),
            "bound_mb": bound_mb, "within_bound": end - start <= bound_mb}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--warmup", type=int, default=10, help="requests before the first RSS reading")
    p.add_argument("--every", type=int, default=50, help="read the RSS every this many requests")
    p.add_argument("--bound-mb", type=float, default=150.0, help="allowed RSS growth over the run")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "memory.json")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.requests < 1 or args.every < 1 or args.warmup < 0:
        print("error: --requests and --every must be at least 1, --warmup at least 0", file=sys.stderr)
        return 2
    samples, served, failed, errors = [], 0, 0, set()
    try:
        with launched_app() as app:
            warmup = warmup_requests(args.warmup)
            if warmup:
                log(f"warm-up: {warmup} requests (the result cache holds {result_cache_images()} images)")
                run_clients(app.url, 1, warmup, CHEAP, seed0=10**6)
            samples.append({"requests": 0, "rss_mb": round(app.rss_mb(), 1)})
            while served + failed < args.requests:
                batch = min(args.every, args.requests - served - failed)
                run = run_clients(app.url, 1, batch, CHEAP, seed0=served + failed)
                served, failed = served + run["served"], failed + run["failed"]
                errors.update(run["errors"])
                samples.append({"requests": served + failed, "rss_mb": round(app.rss_mb(), 1)})
                log(f"{served + failed} requests, RSS {samples[-1]['rss_mb']} MB")
            alive = app.alive()
    except RuntimeError as err:
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 1
    result = {"date": dt.datetime.now().isoformat(timespec="seconds"), "settings": CHEAP, "warmup": warmup_requests(args.warmup),
              "result_cache_images": result_cache_images(),
              "requests": args.requests, "served": served, "failed": failed, "errors": sorted(errors)[:5],
              "server_alive": alive, **verdict(samples, args.bound_mb), "samples": samples}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    if not (result["within_bound"] and failed == 0 and alive):
        print(f"error: RSS grew {result['growth_mb']} MB (bound {args.bound_mb}) or {failed} requests failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
