"""The app in a real headless Chromium (Debian's, installed by .ci/run; no browser download)."""

from __future__ import annotations

import os
import shutil

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from demo.blocks import build_demo  # noqa: E402
from models.registry import FAMILY_NAMES as FAMILIES  # noqa: E402
from models.registry import Registry  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (.ci/run installs it)"),
    pytest.mark.skipif(not all(Registry().variants(f) for f in FAMILIES), reason="shipped weights missing"),
]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    demo = build_demo()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1600})
        pg.goto(url)
        yield pg
        browser.close()
    demo.close()


def test_prompt_to_three_scored_galleries(page, tmp_path):
    expect = playwright.expect
    page.get_by_label("Prompt").first.fill("a thumbs up")
    page.get_by_role("button", name="Generate").click()
    for family in FAMILIES:
        gallery = page.locator(f"#gallery-{family}")
        expect(gallery.locator("img").first).to_be_visible(timeout=120_000)
        expect(page.locator(f"#stats-{family}")).to_contain_text("Hand Score", timeout=120_000)
    expect(page.locator("#understood")).to_contain_text("thumbs up")
    expect(page.locator("#summary")).to_contain_text("diffusion", timeout=60_000)
    shot = tmp_path / "compare.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_empty_prompt_shows_error_toast(page):
    page.get_by_label("Prompt").first.fill("   ")
    page.get_by_role("button", name="Generate").click()
    toast = page.get_by_test_id("toast-text")
    playwright.expect(toast.first).to_contain_text("empty", timeout=30_000)
