"""'Why hands?': the causes and fixes the articles give, each claim this project measured in one sentence with a
verdict badge and a small chart; the numbers behind a switch."""

from __future__ import annotations

import json

import gradio as gr

from core.settings import REPO_ROOT
from demo import claims

RESULTS = REPO_ROOT / "results" / "benchmark.json"

INTRO = """
**Why do image generators get hands wrong?** Articles give five causes and three fixes. This app tests them: three
kinds of image generator were trained here on the same 20,000 drawn hands (and on only 1,000), and a judge counts
the fingers of every hand they draw. Each claim below says what was measured and whether it **holds**, **does not
hold**, or whether the test could not tell (**unsure**). The dot is what was measured, the bar its likely range;
when the bar crosses the dashed "no difference" line, the test cannot tell.
"""


def load_results() -> dict | None:
    try:
        return json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return None


def build_teach_tab() -> None:
    """The groups as cards (static: drawn when the app is built), then the numbers in an accordion."""
    gr.Markdown(INTRO)
    results = load_results()
    if results is None:
        gr.Markdown("_No benchmark results yet: run `python -m bench` to measure the claims._")
        return
    groups = claims.grouped(results.get("claims", []))
    gr.HTML("".join(claims.group_html(g, c) for g, c in groups), css_template=claims.CSS, elem_id="claims",
            label="The claims, measured")
    with gr.Accordion(f"The numbers behind each claim (benchmark of {results.get('date', '?')})", open=False,
                      elem_id="claim-numbers"):
        gr.Markdown("\n\n".join(t for t in (claims.numbers_markdown(g, c) for g, c in groups) if t))
        notes = results.get("notes")
        if notes:
            gr.Markdown("\n".join(f"- {n}" for n in notes))
