"""The arena's votes in SQLite, through the standard library.

One file, `<HANDS_DATA>/feedback.sqlite`, in WAL mode (readers never wait for the writer; a killed app loses no
committed vote). Each write is one transaction (`BEGIN IMMEDIATE`), so a vote and what it changes (a session's
known-answer record) land together or not at all. The schema carries its version in `schema_version` and is
brought up to date by `MIGRATIONS` when the store opens.

What is kept, and why:
- per served pair: what reproduces both pictures (family, variant, seed, picture index, prompt, the parsed spec,
  each picture's sampling options and the pair's device and threads, the weights' training steps, the SHA-256 of
  each picture's PNG) and what the judge said of each when it was served (score, verdict, flags): the DPO
  fine-tuning reads the pairs back from here;
- per vote: the answer, the "what's wrong" flags, the response time (served to voted, measured here), the
  anonymous session id. Never an IP address, a user agent or anything else about the person.

Integrity, enforced inside the vote's transaction: a vote on a pair never served, or served to another session, is
refused; a retried submit (same vote id) is counted once; a session votes at most once per VOTE_MIN_INTERVAL_S and
VOTES_PER_MINUTE a minute, and is served at most PAIRS_PER_MINUTE new pairs a minute; a session that fails the
known-answer pairs is marked careless (`core.limits`), its votes kept, apart.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from core.limits import CARELESS_MIN_FAILS, PAIRS_PER_MINUTE, VOTE_MIN_INTERVAL_S, VOTES_PER_MINUTE
from core.loading import Unavailable

DB_NAME = "feedback.sqlite"
ANSWERS: tuple[str, ...] = ("left", "right", "tie", "both_bad")
FLAGS: tuple[str, ...] = ("extra_finger", "missing_finger", "fused", "not_a_hand", "wrong_gesture")
KINDS: tuple[str, ...] = ("families", "variants", "seeds", "known")  # what a pair sets against what
RENDER = "render"  # the family name of a known-answer pair's pictures: the renderer, not a model
PAIR_ID_MAX = 64

# Each entry brings the schema up one version; never edit one that has shipped, add the next.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: pairs and votes
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "INSERT INTO schema_version VALUES (0)",
        """CREATE TABLE pairs (pair_id TEXT PRIMARY KEY, session TEXT NOT NULL, served_at REAL NOT NULL,
           kind TEXT NOT NULL, prompt TEXT NOT NULL, spec TEXT NOT NULL, settings TEXT NOT NULL,
           left_side TEXT NOT NULL, right_side TEXT NOT NULL)""",
        """CREATE TABLE votes (vote_id TEXT PRIMARY KEY, pair_id TEXT NOT NULL UNIQUE REFERENCES pairs (pair_id),
           session TEXT NOT NULL, answer TEXT NOT NULL CHECK (answer IN ('left', 'right', 'tie', 'both_bad')),
           flags TEXT NOT NULL DEFAULT '[]', response_ms INTEGER NOT NULL, voted_at REAL NOT NULL)""",
        "CREATE INDEX votes_by_session ON votes (session, voted_at)",
    ),
    (  # 2: known-answer pairs and each session's record on them
        "ALTER TABLE pairs ADD COLUMN known_better TEXT CHECK (known_better IN ('left', 'right'))",
        """CREATE TABLE sessions (session TEXT PRIMARY KEY, known_seen INTEGER NOT NULL DEFAULT 0,
           known_failed INTEGER NOT NULL DEFAULT 0, careless INTEGER NOT NULL DEFAULT 0)""",
    ),
    (  # 3: a session's recent pairs found without a scan (the per-session limit on new pairs reads them)
        "CREATE INDEX pairs_by_session ON pairs (session, served_at)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreUnavailable(Unavailable):
    """The votes database cannot be opened or written (an unwritable folder, a damaged file): voting is off."""


class VoteRefused(ValueError):
    """A vote the store will not count; the message says why, for a person."""


class PairRefused(ValueError):
    """A new pair the store will not serve to this session now (too many this minute); the message says why."""


@dataclass(frozen=True)
class Side:
    """One picture of a pair: what reproduces it, and what the judge said of it when it was served."""

    family: str  # "vae", "gan", "diffusion", or RENDER for a known-answer pair's picture
    variant: str  # "full", "scarce", ...; for a render "clean" or the malformation drawn
    seed: int
    sha256: str  # of the picture's PNG bytes as PIL writes them (as bench.digests hashes generated pictures)
    index: int = 0  # which picture of the generate call (the arena asks for one)
    trained_steps: int | None = None  # the weights' training steps, so a retrained variant is told apart
    judge: dict = field(default_factory=dict)  # {"score", "verdict", "line", "flags"}: the judge as served then
    options: dict = field(default_factory=dict)  # how it was drawn: steps, guidance, sampler (each model's defaults)

    @property
    def item(self) -> str:
        """The leaderboard's name for the model behind the picture: 'family/variant'."""
        return f"{self.family}/{self.variant}"


@dataclass(frozen=True)
class Pair:
    """Two pictures served together to one session, for one prompt."""

    pair_id: str
    session: str
    kind: str  # one of KINDS
    prompt: str
    spec: dict  # what the prompt was understood as (core.vocab.HandSpec fields)
    settings: dict  # how the pictures were made: steps, guidance, sampler, n, size
    left: Side
    right: Side
    known_better: str | None = None  # a known-answer pair's clean side
    served_at: float = 0.0


@dataclass(frozen=True)
class Vote:
    """One counted answer, and whether its session is careless now."""

    vote_id: str
    pair_id: str
    session: str
    answer: str
    flags: tuple[str, ...]
    response_ms: int
    voted_at: float
    careless: bool = False


@dataclass(frozen=True)
class Recorded:
    """What `Store.vote` did: the vote as stored (the first one, for a retry), its pair, whether it is new."""

    vote: Vote
    pair: Pair
    new: bool


def new_pair_id() -> str:
    """An opaque, unguessable pair id (it says nothing about the pictures)."""
    return secrets.token_urlsafe(16)


def vote_id_for(pair_id: str, session: str) -> str:
    """The id of a session's vote on a pair: a retried submit carries the same one, so it is counted once."""
    return hashlib.sha256(f"{pair_id}\n{session}".encode()).hexdigest()[:32]


def _side(text: str) -> Side:
    return Side(**json.loads(text))


def _pair(row: sqlite3.Row) -> Pair:
    return Pair(row["pair_id"], row["session"], row["kind"], row["prompt"], json.loads(row["spec"]),
                json.loads(row["settings"]), _side(row["left_side"]), _side(row["right_side"]), row["known_better"],
                row["served_at"])


def _vote(row: sqlite3.Row, careless: bool = False) -> Vote:
    return Vote(row["vote_id"], row["pair_id"], row["session"], row["answer"], tuple(json.loads(row["flags"])),
                row["response_ms"], row["voted_at"], careless)


def checked_answer(answer: object) -> str:
    if not isinstance(answer, str) or answer not in ANSWERS:
        raise VoteRefused(f"The answer must be one of {', '.join(ANSWERS)}.")
    return answer


def checked_flags(flags: object) -> tuple[str, ...]:
    """The flags as a sorted tuple without repeats; None means none."""
    flags = [] if flags is None else flags
    if not isinstance(flags, (list, tuple)) or not all(isinstance(f, str) and f in FLAGS for f in flags):
        raise VoteRefused(f"Flags must be a list of: {', '.join(FLAGS)}.")
    return tuple(sorted(set(flags)))


def checked_pair_id(pair_id: object) -> str:
    if not isinstance(pair_id, str) or not pair_id.strip() or len(pair_id) > PAIR_ID_MAX:
        raise VoteRefused("The pair id is missing or malformed: ask for a new pair first.")
    return pair_id.strip()


class Store:
    """The votes database in `folder` (made if missing); each call opens its own connection, so one Store serves
    every thread of the app, and several processes may share the file. `clock`: seconds since the epoch (tests
    pass their own to check the rate limits without waiting)."""

    def __init__(self, folder: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(folder) / DB_NAME
        self.clock = clock
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connection() as db:
                db.execute("PRAGMA journal_mode=WAL")
            self.migrate()
        except OSError as err:
            raise StoreUnavailable(f"the votes folder {self.path.parent.name}/ cannot be written ({err.strerror})") from None

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for one call; any database error becomes StoreUnavailable (voting off, comparing on)."""
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as err:
            raise StoreUnavailable(f"the votes database cannot be opened ({err})") from None
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=FULL")  # an acknowledged vote survives a crash of the machine too
            yield db
        except sqlite3.Error as err:
            raise StoreUnavailable(f"the votes database failed ({type(err).__name__}: {err})") from None
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE: no two writers read, then both write)."""
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def migrate(self) -> int:
        """Bring the schema up to SCHEMA_VERSION, one migration per transaction; returns the version."""
        for version, statements in enumerate(MIGRATIONS, 1):
            with self._transaction() as db:
                if _version(db) >= version:
                    continue
                for statement in statements:
                    db.execute(statement)
                db.execute("UPDATE schema_version SET version = ?", (version,))
        return self.schema_version()

    def schema_version(self) -> int:
        with self._connection() as db:
            return _version(db)

    def journal_mode(self) -> str:
        with self._connection() as db:
            return db.execute("PRAGMA journal_mode").fetchone()[0]

    def check_serve_rate(self, session: str) -> None:
        """Raise PairRefused when `session` has had PAIRS_PER_MINUTE pairs in the last minute. The arena asks before
        drawing anything, so a client hammering /arena_pair costs one query per request, not two pictures."""
        with self._connection() as db:
            _check_pair_rate(db, session, self.clock())

    def serve(self, pair: Pair) -> Pair:
        """Record a pair as served to its session (now); only a served pair can be voted on. The pair limit is
        checked again inside the transaction, so requests racing past `check_serve_rate` together cannot exceed it."""
        served = replace(pair, served_at=self.clock())
        with self._transaction() as db:
            _check_pair_rate(db, served.session, served.served_at)
            db.execute("INSERT INTO pairs (pair_id, session, served_at, kind, prompt, spec, settings, left_side, "
                       "right_side, known_better) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (served.pair_id, served.session, served.served_at, served.kind, served.prompt,
                        json.dumps(served.spec), json.dumps(served.settings), json.dumps(asdict(served.left)),
                        json.dumps(asdict(served.right)), served.known_better))
        return served

    def pair(self, pair_id: str) -> Pair | None:
        with self._connection() as db:
            row = db.execute("SELECT * FROM pairs WHERE pair_id = ?", (pair_id,)).fetchone()
        return None if row is None else _pair(row)

    def vote(self, pair_id: object, session: str, answer: object, flags: object = None,
             vote_id: str | None = None) -> Recorded:
        """Count one vote, in one transaction, or raise VoteRefused saying why (see the module's integrity rules).
        `vote_id` defaults to `vote_id_for(pair_id, session)`: a retry of the same submit is the same vote."""
        pair_id, answer, flags = checked_pair_id(pair_id), checked_answer(answer), checked_flags(flags)
        vote_id = vote_id or vote_id_for(pair_id, session)
        with self._transaction() as db:
            row = db.execute("SELECT * FROM pairs WHERE pair_id = ?", (pair_id,)).fetchone()
            if row is None:
                raise VoteRefused("This pair was never shown here: ask for a new pair.")
            pair = _pair(row)
            if pair.session != session:
                raise VoteRefused("This pair was shown to someone else: ask for a new pair.")
            earlier = db.execute("SELECT * FROM votes WHERE pair_id = ?", (pair_id,)).fetchone()
            if earlier is not None:
                if earlier["vote_id"] != vote_id:
                    raise VoteRefused("This pair has been rated already: ask for a new pair.")
                return Recorded(_vote(earlier, _careless(db, session)), pair, new=False)
            now = self.clock()
            _check_rate(db, session, now)
            db.execute("INSERT INTO votes (vote_id, pair_id, session, answer, flags, response_ms, voted_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (vote_id, pair_id, session, answer, json.dumps(list(flags)),
                        max(0, round((now - pair.served_at) * 1000)), now))
            if pair.known_better is not None:
                _record_check(db, session, passed=answer == pair.known_better)
            stored = db.execute("SELECT * FROM votes WHERE vote_id = ?", (vote_id,)).fetchone()
            return Recorded(_vote(stored, _careless(db, session)), pair, new=True)

    def votes(self, include_careless: bool = True, include_known: bool = True) -> list[tuple[Vote, Pair]]:
        """Every counted vote with its pair, oldest first; careless sessions' and known-answer pairs' on request."""
        query = ("SELECT v.*, p.served_at, p.kind, p.prompt, p.spec, p.settings, p.left_side, p.right_side, "
                 "p.known_better, COALESCE(s.careless, 0) AS is_careless FROM votes v JOIN pairs p USING (pair_id) "
                 "LEFT JOIN sessions s ON s.session = v.session ORDER BY v.voted_at")
        with self._connection() as db:
            rows = db.execute(query).fetchall()
        out = [(_vote(row, bool(row["is_careless"])), _pair(row)) for row in rows]
        return [(vote, pair) for vote, pair in out
                if (include_careless or not vote.careless) and (include_known or pair.known_better is None)]

    def careless_sessions(self) -> set[str]:
        with self._connection() as db:
            return {row[0] for row in db.execute("SELECT session FROM sessions WHERE careless = 1")}


def _version(db: sqlite3.Connection) -> int:
    """The schema's version; 0 for an empty file."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'").fetchone() is None:
        return 0
    return int(db.execute("SELECT version FROM schema_version").fetchone()[0])


def _check_rate(db: sqlite3.Connection, session: str, now: float) -> None:
    """Refuse a vote that comes too soon after the session's last one, or past its votes per minute."""
    last, recent = db.execute("SELECT MAX(voted_at), SUM(voted_at > ?) FROM votes WHERE session = ?",
                              (now - 60.0, session)).fetchone()
    if last is not None and now - last < VOTE_MIN_INTERVAL_S:
        raise VoteRefused(f"Too fast: one vote per {VOTE_MIN_INTERVAL_S:g} s. Look at both pictures, then vote.")
    if (recent or 0) >= VOTES_PER_MINUTE:
        raise VoteRefused(f"That is {VOTES_PER_MINUTE} votes this minute, the most we count: take a short break.")


def _check_pair_rate(db: sqlite3.Connection, session: str, now: float) -> None:
    """Refuse a new pair to a session that was served PAIRS_PER_MINUTE in the last 60 seconds."""
    recent = db.execute("SELECT COUNT(*) FROM pairs WHERE session = ? AND served_at > ?",
                        (session, now - 60.0)).fetchone()[0]
    if recent >= PAIRS_PER_MINUTE:
        raise PairRefused(f"That is {PAIRS_PER_MINUTE} new pairs this minute, the most one visitor gets: rate the "
                          "pair shown, or wait a minute.")


def _record_check(db: sqlite3.Connection, session: str, passed: bool) -> None:
    """Add a known-answer pair to the session's record; careless once it failed CARELESS_MIN_FAILS and more than
    half of those it saw (the flag follows the record: a session that goes on to pass them loses it)."""
    db.execute("INSERT INTO sessions (session) VALUES (?) ON CONFLICT (session) DO NOTHING", (session,))
    db.execute("UPDATE sessions SET known_seen = known_seen + 1, known_failed = known_failed + ? WHERE session = ?",
               (int(not passed), session))
    db.execute("UPDATE sessions SET careless = (known_failed >= ? AND 2 * known_failed > known_seen) WHERE session = ?",
               (CARELESS_MIN_FAILS, session))


def _careless(db: sqlite3.Connection, session: str) -> bool:
    row = db.execute("SELECT careless FROM sessions WHERE session = ?", (session,)).fetchone()
    return bool(row and row[0])
