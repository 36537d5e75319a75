"""Screenshots of every tab, taken in a real headless Chromium (for the README and release notes).

    python -m bench.screenshots [--out results/screenshots] [--prompt "a peace sign"]
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "screenshots")
    parser.add_argument("--prompt", default="a peace sign")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("error: Debian's chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import expect, sync_playwright

    from demo.blocks import build_demo

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    args.out.mkdir(parents=True, exist_ok=True)
    demo = build_demo()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    shots = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_label("Prompt").first.fill(args.prompt)
            page.get_by_role("button", name="Generate").click()
            expect(page.locator("#summary")).to_contain_text("diffusion", timeout=300_000)
            shots.append(_shot(page, args.out / "compare.png"))
            page.get_by_role("tab", name="Inside the models").click()
            page.get_by_role("button", name="Denoise").click()
            page.wait_for_timeout(500)
            expect(page.locator(".progress-text, .eta-bar")).to_have_count(0, timeout=300_000)
            shots.append(_shot(page, args.out / "inside_diffusion.png"))
            for tab, button, name in [("VAE latent space", "Walk", "inside_vae.png"),
                                      ("GAN across training", "Show snapshots", "inside_gan.png"),
                                      ("Training curves", None, "inside_curves.png")]:
                page.get_by_role("tab", name=tab).click()
                if button:
                    page.get_by_role("button", name=button).click()
                    page.wait_for_timeout(500)
                    expect(page.locator(".progress-text, .eta-bar")).to_have_count(0, timeout=300_000)
                page.wait_for_timeout(1000)
                shots.append(_shot(page, args.out / name))
            page.get_by_role("tab", name="Why hands?").click()
            page.wait_for_timeout(1000)
            shots.append(_shot(page, args.out / "why_hands.png"))
            browser.close()
    finally:
        demo.close()
    print(json.dumps({"screenshots": [str(s) for s in shots]}))
    return 0


def _shot(page, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=True)
    return path


if __name__ == "__main__":
    sys.exit(main())
