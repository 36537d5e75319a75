"""The votes database: schema migrations, WAL, one count per vote id, the refusals, the rate limit, careless
sessions kept apart, and the JSONL export read back. A fake clock stands in for time: nothing here waits."""

from __future__ import annotations

import json
import sqlite3

import pytest

from core.limits import PAIRS_PER_MINUTE, VOTE_MIN_INTERVAL_S, VOTES_PER_MINUTE
from feedback import export, session
from feedback.store import (
    MIGRATIONS,
    RENDER,
    SCHEMA_VERSION,
    Pair,
    PairRefused,
    Side,
    Store,
    StoreUnavailable,
    VoteRefused,
    new_pair_id,
)

ALICE, BOB = "a" * 16, "b" * 16


class Clock:
    """Seconds that move only when a test says so."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock) -> Store:
    return Store(tmp_path, clock=clock)


def a_pair(session: str, known_better: str | None = None, left: str = "diffusion", right: str = "gan") -> Pair:
    def side(family: str, variant: str = "full") -> Side:
        return Side(family, variant, 7, "0" * 64, judge={"score": 50.0, "line": "? a hand"})

    if known_better is not None:
        clean, broken = side(RENDER, "clean"), side(RENDER, "extra_finger")
        sides = (clean, broken) if known_better == "left" else (broken, clean)
        return Pair(new_pair_id(), session, "known", "an open hand", {"gesture": "open_palm"}, {"size": 64}, *sides,
                    known_better=known_better)
    return Pair(new_pair_id(), session, "families", "a fist", {"gesture": "fist"}, {"steps": 10}, side(left), side(right))


def served(store: Store, clock: Clock, session: str = ALICE, **kwargs) -> Pair:
    """A pair served, and time for the voter to look at it."""
    pair = store.serve(a_pair(session, **kwargs))
    clock.advance(2.0)
    return pair


def test_new_store_is_wal_at_the_latest_schema(store):
    assert store.journal_mode() == "wal"
    assert store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS) >= 2


def test_migrates_a_version_1_database_and_keeps_its_votes(tmp_path, clock):
    path = tmp_path / "feedback.sqlite"
    db = sqlite3.connect(path)  # as the first shipped version left it: migration 1 only
    for statement in MIGRATIONS[0]:
        db.execute(statement)
    db.execute("UPDATE schema_version SET version = 1")
    side = json.dumps({"family": "vae", "variant": "full", "seed": 1, "sha256": "f" * 64})
    db.execute("INSERT INTO pairs VALUES ('p1', ?, 1.0, 'families', 'a fist', '{}', '{}', ?, ?)", (ALICE, side, side))
    db.execute("INSERT INTO votes VALUES ('v1', 'p1', ?, 'left', '[]', 1500, 2.0)", (ALICE,))
    db.commit()
    db.close()
    store = Store(tmp_path, clock=clock)
    assert store.schema_version() == SCHEMA_VERSION
    [(vote, pair)] = store.votes()
    assert (vote.vote_id, vote.answer, vote.response_ms, pair.known_better) == ("v1", "left", 1500, None)
    assert pair.left.family == "vae" and pair.left.judge == {}
    known = served(store, clock, known_better="left")  # the new columns and table work on the migrated file
    store.vote(known.pair_id, ALICE, "right")
    assert Store(tmp_path, clock=clock).schema_version() == SCHEMA_VERSION  # opening again changes nothing


def test_a_retried_vote_counts_once(store, clock):
    pair = served(store, clock)
    first = store.vote(pair.pair_id, ALICE, "left", ["fused"])
    clock.advance(5.0)
    again = store.vote(pair.pair_id, ALICE, "right")  # the same submit retried (say, with a changed click)
    assert first.new and not again.new
    assert again.vote == first.vote and again.vote.answer == "left"
    assert len(store.votes()) == 1


def test_refusals(store, clock):
    with pytest.raises(VoteRefused, match="never shown"):
        store.vote("no-such-pair", ALICE, "left")
    pair = served(store, clock)
    with pytest.raises(VoteRefused, match="someone else"):
        store.vote(pair.pair_id, BOB, "left")
    store.vote(pair.pair_id, ALICE, "left")
    clock.advance(5.0)
    with pytest.raises(VoteRefused, match="someone else"):  # already voted, by another session
        store.vote(pair.pair_id, BOB, "right")
    with pytest.raises(VoteRefused, match="rated already"):  # the same session, but not a retry (another vote id)
        store.vote(pair.pair_id, ALICE, "right", vote_id="another")
    for answer, flags in [("better", None), (None, None), ("left", ["six fingers"]), ("left", "fused")]:
        with pytest.raises(VoteRefused):
            store.vote(served(store, clock).pair_id, ALICE, answer, flags)
    with pytest.raises(VoteRefused, match="pair id"):
        store.vote({"id": 1}, ALICE, "left")
    assert len(store.votes()) == 1


def test_rate_limit_per_session(store, clock):
    first, second = served(store, clock), served(store, clock)
    store.vote(first.pair_id, ALICE, "left")
    clock.advance(VOTE_MIN_INTERVAL_S / 2)
    with pytest.raises(VoteRefused, match="Too fast"):
        store.vote(second.pair_id, ALICE, "left")
    bobs = served(store, clock, session=BOB)
    store.vote(bobs.pair_id, BOB, "left")  # another session is not held up
    clock.advance(VOTE_MIN_INTERVAL_S)
    store.vote(second.pair_id, ALICE, "left")  # refused votes do not count against the limit


def test_at_most_votes_per_minute(store, clock):
    pairs = [store.serve(a_pair(ALICE)) for _ in range(VOTES_PER_MINUTE + 1)]
    for pair in pairs[:VOTES_PER_MINUTE]:
        clock.advance(1.0)
        store.vote(pair.pair_id, ALICE, "tie")
    clock.advance(1.0)
    with pytest.raises(VoteRefused, match="this minute"):
        store.vote(pairs[-1].pair_id, ALICE, "tie")
    clock.advance(60.0)
    store.vote(pairs[-1].pair_id, ALICE, "tie")


def test_at_most_pairs_per_minute(store, clock):
    """Each pair draws two pictures: past PAIRS_PER_MINUTE a session is refused before drawing, and on recording."""
    for _ in range(PAIRS_PER_MINUTE):
        store.check_serve_rate(ALICE)
        store.serve(a_pair(ALICE))
        clock.advance(1.0)
    with pytest.raises(PairRefused, match=f"{PAIRS_PER_MINUTE} new pairs this minute"):
        store.check_serve_rate(ALICE)
    with pytest.raises(PairRefused):  # a request that raced past the first check is refused when it is recorded
        store.serve(a_pair(ALICE))
    store.check_serve_rate(BOB)  # another session is not held up
    clock.advance(20.0)  # the oldest pairs are now more than a minute old
    store.serve(a_pair(ALICE))


def test_voters_who_fail_the_checks_are_kept_apart(store, clock):
    for _ in range(2):  # Alice picks the broken hand twice; Bob once, then gets two right
        store.vote(served(store, clock, known_better="left").pair_id, ALICE, "right")
    bob_answers = ["left", "right", "right"]
    for answer in bob_answers:
        store.vote(served(store, clock, session=BOB, known_better="right").pair_id, BOB, answer)
    store.vote(served(store, clock).pair_id, ALICE, "left")
    recorded = store.vote(served(store, clock, session=BOB).pair_id, BOB, "right")
    assert store.careless_sessions() == {ALICE}
    assert not recorded.vote.careless
    assert len(store.votes()) == 7  # kept
    clean = store.votes(include_careless=False, include_known=False)
    assert [vote.session for vote, _ in clean] == [BOB]


def test_unwritable_folder_is_unavailable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailable):
        Store(blocker / "data")


def test_session_tokens_are_signed():
    token = session.new_token("secret")
    sid = session.session_of(token, "secret")
    assert sid is not None and len(sid) == 16 and sid in token
    assert session.session_of(token, "another secret") is None
    assert session.session_of(sid + "." + "0" * 32, "secret") is None
    assert session.session_of(None, "secret") is None


def test_export_round_trip(store, clock, tmp_path, capsys):
    pair = served(store, clock)
    store.vote(pair.pair_id, ALICE, "both_bad", ["not_a_hand", "extra_finger"])
    store.vote(served(store, clock, session=BOB, known_better="left").pair_id, BOB, "left")
    out = tmp_path / "votes.jsonl"
    assert export.main(["--data", str(tmp_path), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2
    first = rows[0]
    assert first["answer"] == "both_bad" and first["flags"] == ["extra_finger", "not_a_hand"]
    assert first["response_ms"] == 2000 and first["careless"] is False
    assert first["pair"]["pair_id"] == pair.pair_id and first["pair"]["prompt"] == "a fist"
    assert first["pair"]["left"] == {"family": "diffusion", "variant": "full", "seed": 7, "sha256": "0" * 64, "index": 0,
                                     "trained_steps": None, "judge": {"score": 50.0, "line": "? a hand"}, "options": {}}
    assert rows[1]["pair"]["known_better"] == "left"
    assert set(first) == {"vote_id", "pair_id", "session", "answer", "flags", "response_ms", "voted_at", "careless", "pair"}


def test_export_without_a_database_is_one_line(tmp_path, capsys):
    assert export.main(["--data", str(tmp_path / "nothing-here")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no votes database") and err.count("\n") == 1
