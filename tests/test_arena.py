"""The arena through gradio_client against the launched demo, its votes in a temporary HANDS_DATA: a pair, a vote,
the reveal, the leaderboard moving; a retried vote counted once; bad and foreign votes refused with a message."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")

from demo.arena import SHOWN_SIZE, png_sha256  # noqa: E402
from feedback.store import Store  # noqa: E402
from models.registry import FAMILY_NAMES as FAMILIES  # noqa: E402
from models.registry import Registry  # noqa: E402

pytestmark = pytest.mark.skipif(not all(Registry().variants(f) for f in FAMILIES), reason="shipped weights missing")


@pytest.fixture(scope="module")
def arena(tmp_path_factory, app_judge):
    """(url, client, the store behind the app): the demo launched on loopback with HANDS_DATA in a temporary folder."""
    from demo.blocks import build_demo

    data = tmp_path_factory.mktemp("hands-data")
    saved = {key: os.environ.get(key) for key in ("HANDS_DATA", "GRADIO_TEMP_DIR")}
    os.environ["HANDS_DATA"] = str(data)
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    demo = build_demo(app_judge)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    client = gradio_client.Client(url, verbose=False)
    yield url, client, Store(data)
    client.close()
    demo.close()
    for key, value in saved.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def shown_digest(path: str) -> str:
    """The served picture shrunk back to the 64 px that were drawn (it is enlarged nearest-neighbour), hashed."""
    big = np.asarray(Image.open(path).convert("RGB"))
    step = SHOWN_SIZE // 64
    return png_sha256(Image.fromarray(big[::step, ::step]))


def test_pair_vote_reveal_leaderboard(arena):
    from gradio_client.exceptions import AppError

    url, client, store = arena
    families, variants, behind = client.predict(api_name="/leaderboard")
    assert families["data"] == [] and "No votes yet" in behind
    assert "_" not in "".join(families["headers"])
    for _ in range(10):  # about one pair in ten is a check pair, which rates no model: vote on it and go on
        left, right, pair_id, prompt = client.predict("a peace sign", api_name="/arena_pair")
        pair = store.pair(pair_id)
        assert pair is not None and pair.session  # recorded as served, to this client's session
        assert [shown_digest(left), shown_digest(right)] == [pair.left.sha256, pair.right.sha256]
        reveal = client.predict(pair_id, "left", ["fused"], api_name="/arena_vote")
        if pair.known_better is None:
            break
    assert "a peace sign" in prompt
    assert "Left:" in reveal and "Right:" in reveal and reveal.count("The judge:") == 2
    assert pair.left.judge["line"] in reveal and pair.right.judge["line"] in reveal
    assert client.predict(pair_id, "left", [], api_name="/arena_vote").endswith(reveal.split("\n", 1)[1])  # a retry
    families, variants, behind = client.predict(api_name="/leaderboard")
    assert "1 vote**" in behind
    rated = {row[1] for row in variants["data"]}
    assert len(rated) == (0 if pair.kind == "seeds" else 2)  # one model against itself rates nothing
    assert [vote.answer for vote, p in store.votes() if p.pair_id == pair_id] == ["left"]
    with pytest.raises(AppError, match="never shown"):
        client.predict("made-up-pair", "left", [], api_name="/arena_vote")
    with pytest.raises(AppError, match="answer"):
        client.predict(pair_id, "the left one", [], api_name="/arena_vote")
    other = gradio_client.Client(url, verbose=False)  # another visitor: its own session
    with pytest.raises(AppError, match="someone else"):
        other.predict(pair_id, "right", [], api_name="/arena_vote")
    other.close()


def test_api_names_and_parameters(arena):
    _, client, _ = arena
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert [p["parameter_name"] for p in api["/arena_pair"]["parameters"]] == ["prompt"]
    assert [p["parameter_name"] for p in api["/arena_vote"]["parameters"]] == ["pair_id", "answer", "flags"]
    assert api["/leaderboard"]["parameters"] == []


def test_a_too_long_prompt_is_refused(arena):
    from gradio_client.exceptions import AppError

    _, client, _ = arena
    with pytest.raises(AppError, match="prompt"):
        client.predict("x" * 10_000, api_name="/arena_pair")


def test_voting_off_says_why(tmp_path):
    """No store (an unwritable HANDS_DATA): pair and vote answer with the reason, the leaderboard says it too."""
    import gradio as gr

    from demo.arena import open_store
    from demo.arena_tab import ArenaHandlers

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    off = open_store(blocker / "data")
    assert not isinstance(off, Store)
    handlers = ArenaHandlers(None, str(off), "secret")
    for call in (lambda: handlers.on_pair("a fist", None), lambda: handlers.on_vote("p", "left", [], None)):
        with pytest.raises(gr.Error, match="Voting is off"):
            call()
    assert "Voting is off" in handlers.on_leaderboard()[2]


@pytest.mark.browser
def test_in_a_browser_a_vote_shows_the_reveal_and_the_session_survives_a_reload(arena):
    """Real headless Chromium: the tab opens on a pair, a vote shows the reveal; after a reload the browser's
    remembered session (gr.BrowserState) is the one the next pair is served to."""
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.skip("Debian chromium is not installed")
    url, _, store = arena
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--headless=new", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("pageerror", lambda err: errors.append(str(err)))
        sessions = []
        for answer in ("⬅ Left is better", "Tie"):
            page.goto(url)
            page.get_by_role("tab", name="Rate hands").click()
            page.locator("#arena-picture-left img").first.wait_for(state="visible", timeout=240_000)
            page.get_by_role("button", name=answer, exact=True).click()
            sync_api.expect(page.locator("#arena-reveal")).to_contain_text("The judge:", timeout=60_000)
            sessions.append(store.votes()[-1][0].session)
        browser.close()
    assert errors == []
    assert sessions[0] == sessions[1]
