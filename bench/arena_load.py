"""The arena through the launched app under load, then the app killed mid-vote (issue 17, "Reliability").

    python -m bench.arena_load [--clients 50] [--votes 20] [--kill-clients 10] [--kill-after 100]
                               [--out results/arena_load.json]

1. Load: `python app.py` with HANDS_DATA in a temporary folder; `--clients` gradio_client clients at once, each its
   own session, each asking /arena_pair for a pair and voting on it (/arena_vote), `--votes` times. Every 4th vote
   is sent twice at once (a double click) and must be counted once. Then the database must hold exactly
   clients x votes votes, each acknowledged one (the reveal came back) once with the answer sent, and pass
   `PRAGMA integrity_check`.
2. Kill: a fresh app; `--kill-clients` clients vote until `--kill-after` votes are acknowledged, then the app process
   gets SIGKILL. The database must pass integrity_check and hold every acknowledged vote.

Clients keep VOTE_MIN_INTERVAL_S between their own votes, as a person does, so the rate limit refuses none of them.
JSON on stdout and in --out; exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.server import launched_app
from core.limits import VOTE_MIN_INTERVAL_S
from core.settings import REPO_ROOT, queue_size
from feedback.store import ANSWERS, DB_NAME

DOUBLE_SUBMIT_EVERY = 4
SPACING_S = VOTE_MIN_INTERVAL_S + 0.1  # between one client's votes: a margin over the limit


def log(msg: str) -> None:
    print(f"[arena_load {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Tally:
    """What the clients saw, shared between their threads (under `lock`)."""

    acked: dict[str, str] = field(default_factory=dict)  # pair id -> the answer whose reveal came back
    double_submits: int = 0
    counted_once: int = 0  # double submits whose two reveals said one was "(Counted once.)"
    errors: list[str] = field(default_factory=list)
    pair_s: list[float] = field(default_factory=list)
    vote_s: list[float] = field(default_factory=list)
    in_flight: int = 0  # votes sent and not yet answered
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, err: BaseException) -> None:
        with self.lock:
            self.errors.append(f"{type(err).__name__}: {err}".splitlines()[0][:200])


def stored_votes(folder: Path) -> tuple[dict[str, str], str]:
    """(pair id -> stored answer, `PRAGMA integrity_check`), read with plain sqlite3."""
    db = sqlite3.connect(folder / DB_NAME)
    try:
        votes = dict(db.execute("SELECT pair_id, answer FROM votes").fetchall())
        return votes, "\n".join(row[0] for row in db.execute("PRAGMA integrity_check"))
    finally:
        db.close()


def vote_once(client, tally: Tally, pair_id: str, answer: str, copies: int) -> None:
    """Send one vote (`copies` times at once) and record it as acknowledged once every copy revealed."""
    t0 = time.perf_counter()
    with tally.lock:
        tally.in_flight += 1
    try:
        jobs = [client.submit(pair_id, answer, [], api_name="/arena_vote") for _ in range(copies)]
        reveals = [job.result() for job in jobs]
    finally:
        with tally.lock:
            tally.in_flight -= 1
    with tally.lock:
        tally.vote_s.append(time.perf_counter() - t0)
        tally.acked[pair_id] = answer
        if copies > 1:
            tally.double_submits += 1
            tally.counted_once += sum("(Counted once.)" in r for r in reveals) == copies - 1


def one_client(url: str, index: int, votes: int | None, tally: Tally, stop: threading.Event) -> None:
    """A visitor: pair, look, vote, `votes` times (None: until `stop`); errors are counted, never raised."""
    from gradio_client import Client

    rng = random.Random(index)
    try:
        client = Client(url, verbose=False)
    except Exception as err:  # noqa: BLE001 - a client that cannot connect is one error, the others go on
        tally.error(err)
        return
    last_vote, k = 0.0, 0
    while (votes is None or k < votes) and not stop.is_set():
        try:
            t0 = time.perf_counter()
            _, _, pair_id, _ = client.predict("", api_name="/arena_pair")
            with tally.lock:
                tally.pair_s.append(time.perf_counter() - t0)
            time.sleep(max(0.0, last_vote + SPACING_S - time.monotonic()))
            copies = 2 if k % DOUBLE_SUBMIT_EVERY == 0 else 1
            vote_once(client, tally, pair_id, rng.choice(ANSWERS), copies)
            last_vote = time.monotonic()
        except Exception as err:  # noqa: BLE001 - counted: one visitor's failure must not stop the others
            if not stop.is_set():
                tally.error(err)
            break
        k += 1
    client.close()


def percentiles(seconds: list[float]) -> dict:
    if not seconds:
        return {}
    values = np.array(seconds)
    return {"p50": round(float(np.percentile(values, 50)), 3), "p95": round(float(np.percentile(values, 95)), 3),
            "max": round(float(values.max()), 3)}


def load_run(clients: int, votes: int) -> dict:
    """Phase 1: every client votes `votes` times; every acknowledged vote stored once, nothing else."""
    with tempfile.TemporaryDirectory(prefix="hands-votes-") as data:
        env = {"HANDS_DATA": data, "HANDS_QUEUE_SIZE": str(max(queue_size(), 3 * clients))}
        tally, stop = Tally(), threading.Event()
        with launched_app(env) as app:
            log(f"app up in {app.cold_start_s:.1f} s; {clients} clients x {votes} votes")
            t0 = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(lambda i: one_client(app.url, i, votes, tally, stop), range(clients)))
            wall = time.perf_counter() - t0
            alive = app.alive()
        stored, integrity = stored_votes(Path(data))
    expected = clients * votes
    result = {"clients": clients, "votes_each": votes, "expected": expected, "acknowledged": len(tally.acked),
              "stored": len(stored), "stored_as_acknowledged": sum(stored.get(p) == a for p, a in tally.acked.items()),
              "double_submits": tally.double_submits, "double_submits_counted_once": tally.counted_once,
              "errors": len(tally.errors), "first_errors": sorted(set(tally.errors))[:5], "integrity_check": integrity,
              "server_alive": alive, "wall_s": round(wall, 1), "votes_per_s": round(len(tally.acked) / wall, 2),
              "arena_pair_s": percentiles(tally.pair_s), "arena_vote_s": percentiles(tally.vote_s)}
    result["ok"] = (len(tally.acked) == len(stored) == result["stored_as_acknowledged"] == expected
                    and tally.counted_once == tally.double_submits and not tally.errors and integrity == "ok" and alive)
    return result


def kill_run(clients: int, kill_after: int) -> dict:
    """Phase 2: SIGKILL the app once `kill_after` votes are acknowledged; the file whole, every acknowledged vote in."""
    with tempfile.TemporaryDirectory(prefix="hands-votes-") as data:
        tally, stop = Tally(), threading.Event()
        with launched_app({"HANDS_DATA": data}) as app:
            log(f"app up; {clients} clients vote until {kill_after} are acknowledged, then kill -9")
            threads = [threading.Thread(target=one_client, args=(app.url, i, None, tally, stop), daemon=True)
                       for i in range(clients)]
            for thread in threads:
                thread.start()
            acked, in_flight = kill_mid_vote(app, tally, kill_after)
            stop.set()
            app.process.wait()
            for thread in threads:
                thread.join(timeout=30)
        stored, integrity = stored_votes(Path(data))
    missing = [p for p, answer in acked.items() if stored.get(p) != answer]
    result = {"clients": clients, "kill_after": kill_after, "acknowledged_at_kill": len(acked),
              "votes_in_flight_at_kill": in_flight, "stored": len(stored), "acknowledged_missing": len(missing),
              "integrity_check": integrity, "errors_before_kill": len(tally.errors),
              "first_errors": sorted(set(tally.errors))[:5]}
    result["ok"] = len(acked) >= kill_after and not missing and integrity == "ok" and not tally.errors
    return result


def kill_mid_vote(app, tally: Tally, kill_after: int, patience_s: float = 600) -> tuple[dict[str, str], int]:
    """SIGKILL the app once `kill_after` votes are acknowledged, at a moment a vote is in flight when one comes within
    `patience_s`; returns the votes acknowledged by then (fixed under the tally's lock) and how many were in flight."""
    deadline = time.monotonic() + patience_s
    while app.alive():
        with tally.lock:
            due = len(tally.acked) >= kill_after and (tally.in_flight > 0 or time.monotonic() > deadline)
            if due:
                os.kill(app.process.pid, signal.SIGKILL)
                return dict(tally.acked), tally.in_flight
        time.sleep(0.002)
    raise RuntimeError(f"the app died before it was killed: {app.log_tail(300)}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--votes", type=int, default=20, help="per client, one after another")
    p.add_argument("--kill-clients", type=int, default=10)
    p.add_argument("--kill-after", type=int, default=100, help="acknowledged votes before the app is killed")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "arena_load.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if min(args.clients, args.votes, args.kill_clients, args.kill_after) < 1:
        print("error: --clients, --votes, --kill-clients and --kill-after must be at least 1", file=sys.stderr)
        return 2
    command = "python -m bench.arena_load " + " ".join(argv if argv is not None else sys.argv[1:])
    result: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"), "command": command.strip(),
                    "threads": os.environ.get("HANDS_THREADS", "1")}
    try:
        result["load"] = load_run(args.clients, args.votes)
        log(f"load: {json.dumps(result['load'])}")
        result["kill"] = kill_run(args.kill_clients, args.kill_after)
    except RuntimeError as err:  # the app did not start
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    if not (result["load"]["ok"] and result["kill"]["ok"]):
        print("error: a vote was lost, counted twice or refused, or the database is damaged", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
