"""Many users at once: concurrent gradio_client clients against /compare, and what a full queue answers.

    python -m bench.load [--clients 50] [--requests 10] [--n 1] [--steps 2] [--queue-bound 4] [--out results/load.json]

Launches `python app.py` on loopback; each client sends its requests one after another, all clients
at once. Then a second app with its queue lowered to --queue-bound (HANDS_QUEUE_SIZE) is held busy
with one slow request and sent bound + --extra requests: the extra ones must be told "busy, try again"
at once, not left to time out. JSON on stdout and in --out; exit 1 if any request failed or the
queue check did not hold.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import threading
import time
from concurrent.futures import as_completed
from pathlib import Path

import numpy as np

from bench.prompts import PROMPTS
from bench.server import CHEAP, compare_args, launched_app
from core.settings import REPO_ROOT, queue_size
from models.registry import FAMILY_NAMES as FAMILIES

SLOW = {**CHEAP, "n": 2, "steps": 25}  # holds the one compute slot (seconds) while the queue fills (~0.1 s)


def log(msg: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def complete(out, n: int) -> str | None:
    """Why a /compare answer is not a full one (every backend drew n hands, each with its verdict), or None."""
    sentences, pages = out[1:1 + len(FAMILIES)], out[1 + len(FAMILIES):1 + 2 * len(FAMILIES)]
    for family, sentence, page in zip(FAMILIES, sentences, pages):
        judged = (page or "").count("<figcaption>")
        if judged != n or f" of {n} hands right" not in (sentence or ""):
            return f"{family}: {judged} of {n} judged images ({(sentence or '')[:120]})"
    return None


def _error(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}".splitlines()[0][:200]


def run_clients(url: str, clients: int, requests: int, settings: dict | None = None, seed0: int = 0) -> dict:
    """`clients` threads, one gradio_client each, `requests` /compare calls each, all started together."""
    from gradio_client import Client

    settings = settings or CHEAP
    prompts = list(PROMPTS.values())
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Event()

    def user(k: int) -> None:
        try:
            client = Client(url, verbose=False)
        except Exception as err:  # a client that cannot connect fails all its requests
            with lock:
                errors.extend([_error(err)] * requests)
            return
        start.wait()
        for r in range(requests):
            t0 = time.perf_counter()
            try:
                out = client.predict(*compare_args(prompts[(k + r) % len(prompts)], seed0 + 1000 * k + r, settings), api_name="/compare")
                problem = complete(out, settings["n"])
            except Exception as err:  # counted, never raised: one user's failure must not stop the others
                problem = _error(err)
            elapsed = time.perf_counter() - t0
            with lock:
                if problem:
                    errors.append(problem)
                else:
                    latencies.append(elapsed)
        client.close()

    threads = [threading.Thread(target=user, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # let the clients connect; requests still start together
    t0 = time.perf_counter()
    start.set()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = np.array(latencies) if latencies else np.array([np.nan])
    return {
        "clients": clients, "requests_per_client": requests, "sent": clients * requests,
        "served": len(latencies), "failed": len(errors), "errors": sorted(set(errors))[:5],
        "latency_s": {"p50": round(float(np.percentile(lat, 50)), 3), "p95": round(float(np.percentile(lat, 95)), 3),
                      "max": round(float(np.max(lat)), 3)},
        "wall_s": round(wall, 1), "requests_per_s": round(len(latencies) / wall, 3) if wall > 0 else None,
    }


def queue_full_check(url: str, bound: int, extra: int = 3) -> dict:
    """Hold the compute slot with a slow request, then send bound + extra: exactly `extra` must hear "busy"."""
    from gradio_client import Client
    from gradio_client.utils import QueueError, Status

    client = Client(url, verbose=False)
    slow = client.submit(*compare_args("a fist", 0, SLOW), api_name="/compare")
    while not slow.done() and slow.status().code not in (Status.PROCESSING, Status.ITERATING):
        time.sleep(0.05)
    sent = time.perf_counter()
    jobs = [client.submit(*compare_args("a peace sign", k), api_name="/compare") for k in range(bound + extra)]
    outcome = {"bound": bound, "sent": bound + extra, "served": 0, "busy": 0, "failed": 0, "busy_messages": [],
               "busy_within_s": 0.0, "errors": []}
    pending = {job.future: job for job in [slow, *jobs]}
    for future in as_completed(pending):
        try:
            pending[future].result()
            outcome["served"] += 1
        except QueueError as err:
            outcome["busy"] += 1
            outcome["busy_messages"] = sorted({*outcome["busy_messages"], str(err)})
            outcome["busy_within_s"] = round(max(outcome["busy_within_s"], time.perf_counter() - sent), 2)
        except Exception as err:  # a gr.Error (AppError) or a lost connection: a failure, not "busy"
            outcome["failed"] += 1
            outcome["errors"].append(_error(err))
    client.close()
    outcome["ok"] = (outcome["busy"] == extra and outcome["served"] == bound + 1 and outcome["failed"] == 0
                     and all("try again" in m.lower() for m in outcome["busy_messages"]))
    return outcome


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--requests", type=int, default=10, help="per client, one after another")
    p.add_argument("--n", type=int, default=CHEAP["n"], help="images per backend per request")
    p.add_argument("--steps", type=int, default=CHEAP["steps"], help="diffusion steps per request")
    p.add_argument("--queue-bound", type=int, default=4, help="HANDS_QUEUE_SIZE for the queue-full check (0: skip it)")
    p.add_argument("--extra", type=int, default=3, help="requests sent past the bound in the queue-full check")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "load.json")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.clients < 1 or args.requests < 1:
        print("error: --clients and --requests must be at least 1", file=sys.stderr)
        return 2
    settings = {**CHEAP, "n": args.n, "steps": args.steps}
    bound = max(queue_size(), args.clients)  # big enough that the load run measures serving, not refusing
    result: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"), "settings": settings, "queue_size": bound}
    try:
        with launched_app({"HANDS_QUEUE_SIZE": str(bound)}) as app:
            log(f"app up in {app.cold_start_s:.1f} s; warm-up request")
            run_clients(app.url, 1, 1, settings)
            result["cold_start_s"] = round(app.cold_start_s, 1)
            result["rss_mb_start"] = round(app.rss_mb(), 1)
            log(f"{args.clients} clients x {args.requests} requests")
            result.update(run_clients(app.url, args.clients, args.requests, settings))
            result["rss_mb_end"] = round(app.rss_mb(), 1)
            result["server_alive"] = app.alive()
        if args.queue_bound > 0:
            with launched_app({"HANDS_QUEUE_SIZE": str(args.queue_bound)}) as app:
                log(f"queue-full check: bound {args.queue_bound}, {args.extra} extra")
                result["queue_full"] = queue_full_check(app.url, args.queue_bound, args.extra)
    except RuntimeError as err:
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    ok = result["failed"] == 0 and result["server_alive"] and result.get("queue_full", {"ok": True})["ok"]
    if not ok:
        print(f"error: {result['failed']} of {result['sent']} requests failed or the queue check did not hold", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
