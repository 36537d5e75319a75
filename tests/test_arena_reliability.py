"""The arena's handlers, the functions its buttons and API endpoints call, on what a careless or hostile client sends
(issue 17, "Reliability"): malformed and replayed votes, too many new pairs, an unwritable data folder. Each is
refused with a gr.Error a person can read (one short line, no traceback) and nothing is counted; with voting off,
comparing still draws and judges.

Votes and the pair limit read only the store, so most tests here run on a real Store with a fake clock and no model.
"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr
import pytest
from test_feedback_store import Clock, a_pair

from core.limits import PAIRS_PER_MINUTE
from demo.arena import Arena
from demo.arena_tab import AnswerButton, ArenaHandlers
from feedback import session as sessions
from feedback.store import Store
from models.registry import FAMILY_NAMES, Registry

SECRET = "a test secret"
BAD_PAIR_IDS = [None, "", "   ", 7, 1.5, True, ["x"], {"id": 1}, "x" * 1000, "no-such-pair", "'; DROP TABLE votes;--"]
BAD_ANSWERS = [None, "", "LEFT", "the left one", 1, ["left"], {"answer": "left"}]
BAD_FLAGS = ["fused", ["six fingers"], [1], {"fused": True}, 3]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def handlers(tmp_path, clock) -> ArenaHandlers:
    """The tab's handlers on a real store; no generator, judge or parser (these tests never draw)."""
    return ArenaHandlers(Arena(None, None, None, Store(tmp_path, clock=clock)), None, SECRET)


def visitor() -> tuple[str, str]:
    """A new visitor's signed token, as the page keeps it, and the session id it carries."""
    token = sessions.new_token(SECRET)
    return token, sessions.session_of(token, SECRET)


def shown(handlers: ArenaHandlers, clock: Clock, session: str) -> str:
    """A pair served to `session`, and time to look at it; its id."""
    pair = handlers.arena.store.serve(a_pair(session))
    clock.advance(2.0)
    return pair.pair_id


def refusal(call: Callable[..., object], *args: object) -> str:
    """The message of the gr.Error `call(*args)` raises; it must read as a sentence for a person."""
    with pytest.raises(gr.Error) as raised:
        call(*args)
    message = raised.value.message
    assert message and "\n" not in message and len(message) < 300, message
    assert not any(word in message for word in ("Traceback", "Exception", "Error", "sqlite")), message
    return message


def test_malformed_votes_are_refused_clearly_and_not_counted(handlers, clock):
    token, session = visitor()
    pair_id = shown(handlers, clock, session)
    for bad in BAD_PAIR_IDS:
        assert "pair" in refusal(handlers.on_vote, bad, "left", [], token), bad
        assert "pair" in refusal(AnswerButton("tie", handlers).on_click, bad, [], token), bad
    for bad in BAD_ANSWERS:
        assert "answer" in refusal(handlers.on_vote, pair_id, bad, [], token), bad
    for bad in BAD_FLAGS:
        assert "Flags" in refusal(handlers.on_vote, pair_id, "left", bad, token), bad
    assert handlers.arena.store.votes() == []
    assert "You said the left is better" in handlers.on_vote(pair_id, "left", None, token)  # still votable


def test_replayed_votes_count_once_or_are_refused(handlers, clock):
    alice, alice_session = visitor()
    bob, _ = visitor()
    pair_id = shown(handlers, clock, alice_session)
    assert "someone else" in refusal(handlers.on_vote, pair_id, "right", [], bob)  # before Alice voted
    first = handlers.on_vote(pair_id, "left", ["fused"], alice)
    clock.advance(5.0)
    again = handlers.on_vote(pair_id, "right", [], alice)  # Alice's submit replayed, even with another answer
    assert "(Counted once.)" in again and again.split("\n", 1)[1] == first.split("\n", 1)[1]
    forged = alice_session + "." + "0" * 32  # Alice's id without her signature: a new session, not Alice
    elsewhere = sessions.new_token("another secret")
    for stranger in (bob, forged, elsewhere, None, "", {"token": alice}):
        assert "someone else" in refusal(handlers.on_vote, pair_id, "right", [], stranger), stranger
    [(vote, _)] = handlers.arena.store.votes()
    assert (vote.pair_id, vote.session, vote.answer, vote.flags) == (pair_id, alice_session, "left", ("fused",))


def test_new_pairs_are_limited_per_session_before_anything_is_drawn(handlers, clock):
    """/arena_pair draws two pictures: past PAIRS_PER_MINUTE a session is refused at once. This arena has no models,
    so a request that got past the limit would fail here with an AttributeError, not a gr.Error."""
    token, session = visitor()
    for _ in range(PAIRS_PER_MINUTE):  # skipped unrated, within a minute
        handlers.arena.store.serve(a_pair(session))
        clock.advance(1.0)
    message = refusal(handlers.on_pair, "a fist", token)
    assert f"{PAIRS_PER_MINUTE} new pairs this minute" in message
    assert "wait a minute" in message


@pytest.mark.skipif(not all(Registry().variants(f) for f in FAMILY_NAMES), reason="shipped weights missing")
def test_unwritable_data_folder_turns_voting_off_and_comparing_still_works(tmp_path, monkeypatch, app_judge):
    """HANDS_DATA under a file (no folder can be made there, even as root): the app starts, the arena says voting is
    off on its tab and on each endpoint, and /compare draws and judges as usual."""
    gradio_client = pytest.importorskip("gradio_client")
    from gradio_client.exceptions import AppError

    from demo.blocks import build_demo

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("HANDS_DATA", str(blocker / "data"))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    demo = build_demo(app_judge)
    assert any(getattr(block, "elem_id", None) == "arena-off" for block in demo.blocks.values())
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    client = gradio_client.Client(url, verbose=False)
    try:
        for args, api_name in [(("a fist",), "/arena_pair"), (("p", "left", []), "/arena_vote")]:
            with pytest.raises(AppError, match="Voting is off here: the votes folder .* cannot be written"):
                client.predict(*args, api_name=api_name)
        assert "Voting is off" in client.predict(api_name="/leaderboard")[2]
        out = client.predict("a fist", 3, 1, 1, 2.5, "dpm++", "full", False, api_name="/compare")
    finally:
        client.close()
        demo.close()
    families = len(FAMILY_NAMES)
    assert all(" of 1 hands right" in sentence for sentence in out[1:1 + families]), out[1:1 + families]
    assert all(page.count("data:image/png;base64,") == 1 for page in out[1 + families:1 + 2 * families])
