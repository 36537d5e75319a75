"""Screenshots of every tab as a projector shows them (1280x800 and 1024x768), in a real headless Chromium.

    python -m bench.screenshots [--out results/screenshots] [--lesson 3] [--lessons]

The Compare tab is shot after one lesson's "Show me" (default: lesson 3, a sixth finger), once at the top of the
page and once scrolled to the pictures; each "Inside the models" view after its button has run. `--lessons` also
shoots every lesson's pictures (to check, after retraining, that each still shows what it says).
Emoji need a colour emoji font on the machine (Debian: fonts-noto-color-emoji), as on any teacher's laptop.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from core.settings import REPO_ROOT

ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORTS = [(1280, 800), (1024, 768)]
RUN_MS = 300_000
# Inside the models: (sub-tab, button to press or None, what to wait for, file name)
INSIDE = [("Diffusion, step by step", "Denoise", "#denoise-image img", "inside-diffusion"),
          ("VAE latent space", "Walk", "#vae-walk img", "inside-vae"),
          ("Does it listen to the prompt?", "Draw both and measure", "#listen img", "inside-listen"),
          ("GAN across training", "Show snapshots", "#gan-snapshots img", "inside-gan"),
          ("Training curves", None, "#curve-vae-loss .vega-embed", "inside-curves")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "screenshots")
    parser.add_argument("--lesson", type=int, default=3, help="the lesson (1-based) the Compare shots run")
    parser.add_argument("--lessons", action="store_true", help="also shoot every lesson's pictures")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("error: Debian's chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    from demo.blocks import build_demo

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    args.out.mkdir(parents=True, exist_ok=True)
    demo = build_demo()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    shots: list[Path] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=ARGS)
            for width, height in VIEWPORTS:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(url)
                shots += shoot_tabs(page, args.out, f"{width}x{height}", args.lesson)
                if args.lessons and (width, height) == VIEWPORTS[-1]:
                    shots += shoot_lessons(page, args.out, f"{width}x{height}")
                page.close()
            browser.close()
    finally:
        demo.close()
    print(json.dumps({"screenshots": [str(s) for s in shots]}))
    return 0


def shoot_tabs(page, out: Path, size: str, lesson: int) -> list[Path]:
    """Compare (top and pictures), every Inside view, Why hands."""
    from demo import lessons

    shots = []
    run_lesson(page, lessons.titles()[lesson - 1])
    shots.append(_shot(page, out / f"compare-{size}.png"))
    page.evaluate("document.querySelector('#lesson-note').scrollIntoView({block: 'start'})")
    shots.append(_shot(page, out / f"compare-pictures-{size}.png"))
    page.evaluate("window.scrollTo(0, 0)")
    page.get_by_role("tab", name="Inside the models").click()
    for tab, button, ready, name in INSIDE:
        page.get_by_role("tab", name=tab).click()
        if button:
            page.get_by_role("button", name=button, exact=True).click()
        page.locator(ready).first.wait_for(state="visible", timeout=RUN_MS)
        page.wait_for_timeout(1500)  # plots draw after their data arrives
        shots.append(_shot(page, out / f"{name}-{size}.png"))
    page.get_by_role("tab", name="Why hands?").click()
    page.locator("#claims .claim").first.wait_for(state="visible")
    shots.append(_shot(page, out / f"why-hands-{size}.png"))
    page.get_by_role("tab", name="Compare").click()
    return shots


def run_lesson(page, title: str) -> None:
    """Pick a lesson, press "Show me", wait until every column has its verdicts and the link holds its inputs."""
    import re

    from playwright.sync_api import expect

    from demo import lessons, links

    query = links.to_query(lessons.by_title(title).inputs)
    page.get_by_text(title, exact=True).click()
    page.locator("#show-me").click()
    link = page.locator("#link textarea, #link input").first
    expect(link).to_have_value(re.compile(re.escape(query) + "$"), timeout=RUN_MS)
    expect(page.locator("#sentence-diffusion")).to_contain_text("hands right", timeout=RUN_MS)
    page.wait_for_timeout(800)
    page.evaluate("window.scrollTo(0, 0)")


def shoot_lessons(page, out: Path, size: str) -> list[Path]:
    """Every lesson that runs: its pictures and verdicts, scrolled into view."""
    from demo import lessons

    shots = []
    for k, (title, lesson) in enumerate(zip(lessons.titles(), lessons.LESSONS), 1):
        if lesson.inputs is None:
            continue
        run_lesson(page, title)
        page.evaluate("document.querySelector('#lesson-note').scrollIntoView({block: 'start'})")
        shots.append(_shot(page, out / f"lesson-{k}-{size}.png"))
    return shots


def _shot(page, path: Path) -> Path:
    page.screenshot(path=str(path))
    return path


if __name__ == "__main__":
    sys.exit(main())
