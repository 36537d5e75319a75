"""The votes database under stress, with real threads and a real killed process (issue 17, "Reliability"):

- 50 clients at once, 20 votes each, some submitted twice at the same moment (a double click, a retry): exactly
  1,000 votes stored, each acknowledged one once, none lost;
- a voting process killed with SIGKILL mid-write, three times over: the file passes `PRAGMA integrity_check` and holds
  every vote that was acknowledged before the kill.

Each client has its own Store on the same file, as separate app processes would, and its own fake clock, spaced so
the per-session rate limits (tested in test_feedback_store.py) never refuse it: what is tested here is the writing.

Run as a script (`python tests/test_feedback_reliability.py FOLDER`), this file is the voter the kill test kills.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from test_feedback_store import Clock, a_pair

from feedback.store import ANSWERS, DB_NAME, FLAGS, Store

CLIENTS, VOTES_EACH = 50, 20
DOUBLE_SUBMIT_EVERY = 4  # every 4th vote is sent twice at once: the two must count as one
VOTER_THREADS = 4  # the killed process writes from several threads, so the kill lands mid-transaction
ACKS_BEFORE_KILL = 60
KILLS = 3
REPO = Path(__file__).resolve().parent.parent


def integrity(folder: Path) -> str:
    """`PRAGMA integrity_check` on the votes file: 'ok', or what is damaged."""
    db = sqlite3.connect(folder / DB_NAME)
    try:
        return "\n".join(row[0] for row in db.execute("PRAGMA integrity_check"))
    finally:
        db.close()


def stored_votes(folder: Path) -> dict[str, tuple[str, str]]:
    """Every stored vote: its id -> (session, answer), read with plain sqlite3, not through the Store."""
    db = sqlite3.connect(folder / DB_NAME)
    try:
        return {vid: (session, answer) for vid, session, answer in db.execute("SELECT vote_id, session, answer FROM votes")}
    finally:
        db.close()


def one_client(folder: Path, index: int) -> dict[str, tuple[str, str]]:
    """A client with its own session, store handle and clock: serves a pair, waits, votes, 20 times; every 4th vote
    is submitted from two threads at once. Returns the acknowledged votes: id -> (session, answer)."""
    session, rng = f"{index:016x}", random.Random(index)
    clock = Clock(1_000_000.0 + index)
    store = Store(folder, clock=clock)
    acked: dict[str, tuple[str, str]] = {}
    for k in range(VOTES_EACH):
        pair = store.serve(a_pair(session))
        clock.advance(2.5)  # looking at the pictures: more than VOTE_MIN_INTERVAL_S, under VOTES_PER_MINUTE a minute
        answer, flags = rng.choice(ANSWERS), rng.sample(FLAGS, rng.randrange(3))
        copies = 2 if k % DOUBLE_SUBMIT_EVERY == 0 else 1
        with ThreadPoolExecutor(copies) as pool:
            sent = [pool.submit(store.vote, pair.pair_id, session, answer, flags) for _ in range(copies)]
            results = [future.result() for future in sent]
        assert sum(r.new for r in results) == 1, "a vote sent twice at once was counted twice, or not at all"
        assert len({r.vote for r in results}) == 1, "the two copies of one vote were answered differently"
        acked[results[0].vote.vote_id] = (session, answer)
    return acked


def test_50_clients_20_votes_each_lose_none_and_count_none_twice(tmp_path):
    Store(tmp_path)  # the schema, made once, as the app does on start
    with ThreadPoolExecutor(CLIENTS) as pool:
        acked_per_client = list(pool.map(lambda i: one_client(tmp_path, i), range(CLIENTS)))
    acked = {vid: what for client in acked_per_client for vid, what in client.items()}
    assert sum(map(len, acked_per_client)) == len(acked) == CLIENTS * VOTES_EACH
    stored = stored_votes(tmp_path)
    assert len(stored) == CLIENTS * VOTES_EACH
    assert stored == acked  # each acknowledged vote once, with the answer sent; nothing else
    assert integrity(tmp_path) == "ok"


def vote_until_killed(folder: Path) -> None:
    """The kill test's victim: VOTER_THREADS threads serve and vote as fast as they can, each printing a vote's id
    (flushed) only after `Store.vote` returned it: that line is the acknowledgement."""
    said = threading.Lock()

    def voter(index: int) -> None:
        session = f"{os.getpid():08x}{index:08x}"
        clock = Clock(time.time())
        store = Store(folder, clock=clock)
        while True:
            pair = store.serve(a_pair(session))
            clock.advance(2.5)
            vote_id = store.vote(pair.pair_id, session, "left").vote.vote_id
            with said:
                print(vote_id, flush=True)

    threads = [threading.Thread(target=voter, args=(i,), daemon=True) for i in range(VOTER_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def acks_then_kill(folder: Path) -> set[str]:
    """Start a voter, read its acknowledgements until ACKS_BEFORE_KILL, SIGKILL it, and return every id it printed
    (those already in the pipe included: they were acknowledged before it died)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    voter = subprocess.Popen([sys.executable, __file__, str(folder)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, voter.kill)  # a voter that hangs fails the test instead of hanging it
    watchdog.start()
    acked: set[str] = set()
    try:
        for line in voter.stdout:
            acked.add(line.strip())
            if len(acked) >= ACKS_BEFORE_KILL:
                voter.send_signal(signal.SIGKILL)
                break
        rest, errors = voter.communicate()
    finally:
        watchdog.cancel()
    assert voter.returncode == -signal.SIGKILL, f"the voter stopped by itself: {errors[-2000:]}"
    return acked | set(rest.split())


def test_kill_9_mid_vote_keeps_the_file_whole_and_every_acknowledged_vote(tmp_path):
    acked: set[str] = set()
    for _ in range(KILLS):  # each voter starts on the file its killed predecessor left
        acked |= acks_then_kill(tmp_path)
        assert integrity(tmp_path) == "ok"
    assert len(acked) >= KILLS * ACKS_BEFORE_KILL
    stored = stored_votes(tmp_path)
    assert acked <= stored.keys(), f"{len(acked - stored.keys())} acknowledged votes are missing"
    Store(tmp_path).votes()  # and the app opens it and reads it as before


if __name__ == "__main__":
    vote_until_killed(Path(sys.argv[1]))
