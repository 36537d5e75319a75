"""The app in a real headless Chromium (Debian's, installed by .ci/run; no browser download), at a projector's
1024x768. Every test fails on any page error or console error the page logs."""

from __future__ import annotations

import os
import re
import shutil

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from demo import lessons  # noqa: E402
from demo.blocks import build_demo  # noqa: E402
from models.registry import FAMILY_NAMES as FAMILIES  # noqa: E402
from models.registry import Registry  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
RUN_S = 240_000  # ms: a comparison on a busy 2-core CPU
VERDICT = re.compile(r"^[✓✗?] \S.*")
# Gradio's status trackers (spinner, "Error" badge) that show over an element: a hidden one is there at opacity 0
SHOWN_TRACKERS = """(root) => [...(root || document).querySelectorAll('[data-testid=status-tracker]')]
  .filter(w => getComputedStyle(w).opacity !== '0' && w.getBoundingClientRect().height > 0).length"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (.ci/run installs it)"),
    pytest.mark.skipif(not all(Registry().variants(f) for f in FAMILIES), reason="shipped weights missing"),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    demo = build_demo()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser, url
        browser.close()
    demo.close()


@pytest.fixture
def errors():
    """Every page error and console error of the pages a test opens; the test fails if there is one."""
    seen: list[str] = []
    yield seen
    assert seen == []


@pytest.fixture
def open_page(app, errors):
    browser, url = app
    pages = []

    def open_(query: str = ""):
        page = browser.new_page(viewport={"width": 1024, "height": 768}, accept_downloads=True)
        page.on("pageerror", lambda err: errors.append(f"page error: {err}"))
        page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
        page.goto(url + query)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


def wait_for_run(page, n: int) -> None:
    """Until every column shows its n pictures, each with a verdict line, and the link box holds the run."""
    expect = playwright.expect
    for family in FAMILIES:
        expect(page.locator(f"#sentence-{family}")).to_contain_text(f"of {n} hands right", timeout=RUN_S)
        expect(page.locator(f"#pictures-{family} figcaption")).to_have_count(n, timeout=RUN_S)
    expect(page.locator("#link textarea, #link input").first).to_have_value(re.compile(r"^http.*\?prompt="), timeout=30_000)


def verdict_lines(page, family: str) -> list[str]:
    return [t.strip() for t in page.locator(f"#pictures-{family} figcaption").all_inner_texts()]


def picture_sources(page) -> list[str]:
    return [img.get_attribute("src") for family in FAMILIES for img in page.locator(f"#pictures-{family} img").all()]


def test_lesson_path_shows_a_plain_verdict_under_every_picture(open_page):
    """Each lesson's "Show me" fills the inputs and runs; every picture gets one readable verdict line."""
    page = open_page()
    for title, lesson in zip(lessons.titles(), lessons.LESSONS):
        page.get_by_text(title, exact=True).click()
        playwright.expect(page.locator("#lesson-text")).to_contain_text(lesson.why[:40])
        if lesson.inputs is None:
            playwright.expect(page.locator("#show-me")).to_be_disabled()
            continue
        page.locator("#show-me").click()
        playwright.expect(page.get_by_label("Prompt").first).to_have_value(lesson.inputs.prompt)
        wait_for_run(page, lesson.inputs.images_per_backend)
        playwright.expect(page.locator("#link textarea, #link input").first).to_have_value(
            re.compile(rf"seed={lesson.inputs.seed}&"))
        for family in FAMILIES:
            lines = verdict_lines(page, family)
            assert all(VERDICT.match(line) for line in lines), lines
            assert not any("_" in line or "…" in line for line in lines), lines


def test_finished_columns_stay_visible_while_diffusion_streams(open_page):
    """A link with many steps: while diffusion still removes noise, the VAE and GAN pictures are on screen."""
    page = open_page("?prompt=a+fist&seed=1&n=2&steps=120")
    status = page.locator("#pictures-diffusion .status")
    playwright.expect(status).to_contain_text("Removing noise: step", timeout=RUN_S)
    for family in ("vae", "gan"):
        pictures = page.locator(f"#pictures-{family} img")
        assert pictures.count() == 2
        playwright.expect(pictures.first).to_be_visible()
        assert all(VERDICT.match(line) for line in verdict_lines(page, family))
        assert page.locator(f"#pictures-{family}").evaluate(SHOWN_TRACKERS) == 0  # no spinner over finished pictures
    assert "Removing noise" in status.inner_text()  # still streaming when the finished columns were checked
    wait_for_run(page, 2)


def test_permalink_reproduces_the_same_picture_bytes(open_page):
    page = open_page("?prompt=a+peace+sign&seed=4&n=2&steps=4")
    wait_for_run(page, 2)
    link = page.locator("#link textarea, #link input").first.input_value()
    first = picture_sources(page)
    assert len(first) == 2 * len(FAMILIES) and all(src.startswith("data:image/png;base64,") for src in first)
    again = open_page(link[link.index("?"):])
    wait_for_run(again, 2)
    assert picture_sources(again) == first
    assert again.get_by_label("Prompt").first.input_value() == "a peace sign"


def test_slide_export_and_new_seed(open_page, tmp_path):
    page = open_page("?prompt=a+thumbs+up&seed=2&n=1&steps=2")
    wait_for_run(page, 1)
    button = page.locator("#export-slide")
    playwright.expect(button).to_be_enabled(timeout=30_000)
    with page.expect_download() as download:
        button.click()
    path = tmp_path / "slide.png"
    download.value.save_as(path)
    from PIL import Image

    assert download.value.suggested_filename == "hands-a-thumbs-up-seed-2.png" and Image.open(path).size == (1920, 1080)
    before = page.locator("#link textarea, #link input").first.input_value()
    page.locator("#new-seed").click()
    playwright.expect(page.locator("#link textarea, #link input").first).not_to_have_value(before, timeout=RUN_S)


def test_bad_input_gives_one_message_and_no_badges(open_page):
    page = open_page()
    page.get_by_label("Prompt").first.fill("   ")
    page.get_by_role("button", name="Generate").click()
    toast = page.get_by_test_id("toast-text")
    playwright.expect(toast.first).to_contain_text("empty", timeout=30_000)
    assert toast.count() == 1
    assert page.evaluate(SHOWN_TRACKERS) == 0  # no "Error" badge on any output
    page.get_by_label("Prompt").first.fill("a fist")  # the same button then runs a good prompt
    page.get_by_role("button", name="Generate").click()
    wait_for_run(page, 4)
    page.get_by_text("Details: scores, ranges and times").click()
    playwright.expect(page.locator("#summary")).to_contain_text("Hand Score")  # plain headers before any run


def test_overlays_come_with_a_legend_in_words(open_page):
    page = open_page("?prompt=a+fist&seed=2&n=1&steps=2&overlays=1")
    wait_for_run(page, 1)
    legend = page.locator("#legend")
    playwright.expect(legend).to_be_visible()
    playwright.expect(legend).to_contain_text("yellow rings: the fingertips it counted")
    page.locator("#settings").get_by_text("Settings").first.click()
    page.get_by_label("Show what the judge saw").uncheck()
    playwright.expect(legend).to_be_hidden()


def test_seed_box_takes_whole_numbers_only(open_page):
    page = open_page()
    page.locator("#settings").get_by_text("Settings").first.click()
    seed = page.locator("#seed input")
    seed.fill("7.5")
    seed.blur()
    playwright.expect(seed).to_have_value("8")


def test_every_tab_opens_without_errors(open_page):
    page = open_page()
    page.get_by_role("tab", name="Inside the models").click()
    page.get_by_role("tab", name="Training curves").click()
    playwright.expect(page.locator("#curve-diffusion-loss .vega-embed")).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name="Why hands?").click()
    playwright.expect(page.locator("#claims .claim").first).to_be_visible()
    playwright.expect(page.locator("#claims")).to_contain_text("does not hold")
    page.get_by_role("tab", name="Fix it with feedback").click()
    playwright.expect(page.locator("#feedback-gain")).to_be_visible()
    playwright.expect(page.locator("#feedback-prompt")).to_be_visible()
