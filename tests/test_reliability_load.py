"""A small load run and the queue bound, through gradio_client against the launched app (the CI-sized
version of `python -m bench.load` / `python -m bench.memory`, which launch it as a separate process)."""

from __future__ import annotations

import pytest

gradio_client = pytest.importorskip("gradio_client")

from bench.load import queue_full_check, run_clients  # noqa: E402
from bench.memory import verdict  # noqa: E402
from demo.blocks import build_demo  # noqa: E402
from models.registry import FAMILY_NAMES as FAMILIES  # noqa: E402
from models.registry import Registry  # noqa: E402

pytestmark = pytest.mark.skipif(not all(Registry().variants(f) for f in FAMILIES), reason="shipped weights missing")

BOUND = 8  # HANDS_QUEUE_SIZE here: 8 clients never need more than 7 places (one request is always running)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    import os

    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))  # read while serving files: keep it set
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HANDS_QUEUE_SIZE", str(BOUND))  # read once, by build_demo
        demo = build_demo()
    _, local_url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield local_url
    demo.close()


def test_concurrent_clients_are_all_served(url):
    result = run_clients(url, clients=8, requests=2)
    assert result["failed"] == 0, result["errors"]
    assert result["served"] == 16


def test_a_full_queue_says_busy_at_once(url):
    """BOUND waiting requests fit (so the bound is HANDS_QUEUE_SIZE, not the default 64); 2 more hear "try again"."""
    result = queue_full_check(url, bound=BOUND, extra=2)
    assert result["failed"] == 0, result["errors"]
    assert result["busy"] == 2 and result["served"] == BOUND + 1, result
    assert result["busy_messages"] and all("try again" in m.lower() for m in result["busy_messages"])
    assert result["ok"]


def test_memory_verdict_fails_past_the_bound():
    samples = [{"requests": 0, "rss_mb": 1000.0}, {"requests": 50, "rss_mb": 1300.0}, {"requests": 100, "rss_mb": 1120.0}]
    assert verdict(samples, 150)["within_bound"] and verdict(samples, 150)["growth_mb"] == 120.0
    assert not verdict(samples, 100)["within_bound"]
    assert verdict(samples, 100)["rss_mb_peak"] == 1300.0
