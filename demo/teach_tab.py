"""'Why hands?': each claim in plain words next to the number this project measured for it."""

from __future__ import annotations

import json

import gradio as gr
import pandas as pd

from core.settings import REPO_ROOT

RESULTS = REPO_ROOT / "results" / "benchmark.json"

INTRO = """
**Why do image generators get hands wrong?** Five reasons are usually given. This app was built to test them:
the three model families below were trained here on the same 20,000 rendered hands (and on only 1,000),
and a judge counts the fingers of every hand they draw.

1. **Articulation.** A hand has 27 bones and about 20 joints; a fist and an open palm look nothing alike.
2. **Variability.** Sizes, proportions, skin tones, left and right, every angle of view.
3. **Occlusion.** A pointing hand hides three fingers; a hand holding a banana hides most of itself.
4. **Scarce, low-resolution data.** Hands are small in most photos: few pixels, few examples.
5. **No margin for error.** A face may be a little off; a sixth finger or a little finger longer than the middle one is wrong at once.

And the three families: a **VAE** is easy to train but blurry; a **GAN** is fast and sharp but can collapse to a few
hands and trains unstably; **diffusion** is stable, diverse, follows the text and draws the best hands, but is slow
because it denoises step after step. The fixes usually proposed: more and better data, more compute, human feedback.
"""


def load_results() -> dict | None:
    try:
        return json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return None


def claims_frame(results: dict | None) -> pd.DataFrame:
    columns = ["claim", "verdict", "values", "measured by"]  # the verdict next to the claim: visible without scrolling
    if not results:
        return pd.DataFrame(columns=columns)
    rows = [{"claim": c["claim"], "measured by": c["metric"], "values": c["values"], "verdict": c["verdict"]}
            for c in results.get("claims", [])]
    return pd.DataFrame(rows, columns=columns)


def build_teach_tab() -> None:
    gr.Markdown(INTRO)
    results = load_results()
    if results is None:
        gr.Markdown("_No benchmark results yet: run `python -m bench` to measure the claims._")
        return
    gr.Markdown(f"### The claims, measured (benchmark of {results.get('date', '?')}, `python -m bench`)")
    gr.Dataframe(claims_frame(results), interactive=False, wrap=True, elem_id="claims")
    notes = results.get("notes")
    if notes:
        gr.Markdown("\n".join(f"- {n}" for n in notes))
