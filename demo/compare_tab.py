"""The first tab: one prompt, three architectures side by side, every hand scored.

`build_compare_tab` only lays out components and wires each event to one named handler; the handler that runs
models is a method of `CompareHandlers`, which holds the app's generators, prompt parser and judge.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from core.limits import DEFAULT_SAMPLER, GUIDANCE, IMAGES, PROMPT_MAX_CHARS, SAMPLERS, SEED, STEPS
from core.vocab import HandSpec
from demo import pipeline, present
from judge import Judge
from models.registry import FAMILY_NAMES as FAMILIES
from models.registry import Registry
from prompt import PromptParser

EXAMPLES = [
    ["a fist"],  # articulation: every finger folded
    ["a hand pointing at the viewer"],  # occlusion: the pointing finger hides the others
    ["a person holding a banana"],  # occlusion by an object
    ["five fingers spread, palm facing me"],  # low margin for error: count them
    ["a dark-skinned left hand making a peace sign"],  # variability: skin tone, handedness
    ["hang loose 🤙"],  # slang and emoji
]
TITLES = {"vae": "VAE", "gan": "GAN", "diffusion": "Diffusion"}

JSON = Any  # a value as the browser or an API client sent it (preprocess=False): pipeline.validate checks it


@dataclass
class CompareInputs:
    """The /compare endpoint's input components."""

    prompt: gr.Textbox
    seed: gr.Number
    n: gr.Slider
    steps: gr.Slider
    guidance: gr.Slider
    sampler: gr.Radio
    variant: gr.Radio
    overlays: gr.Checkbox

    def as_list(self) -> list[gr.components.Component]:
        """In the order `CompareHandlers.on_compare` takes them (and API clients send them)."""
        return [self.prompt, self.seed, self.n, self.steps, self.guidance, self.sampler, self.variant, self.overlays]


@dataclass
class CompareOutputs:
    """The /compare endpoint's outputs. The builder fills it with components (the event's `outputs`), the
    handler with values (each yield), and `as_list` lays out both the same way, so they cannot drift apart."""

    understood: Any
    galleries: dict[str, Any]
    stats: dict[str, Any]
    table: Any
    plot: Any
    state: Any

    @classmethod
    def waiting(cls, spec: HandSpec) -> CompareOutputs:
        """The first answer: what the prompt was understood as, every gallery and summary still empty."""
        return cls(present.spec_markdown(spec), {f: [] for f in FAMILIES}, {f: "" for f in FAMILIES},
                   present.summary_frame([]), None, {})

    def as_list(self) -> list:
        """understood; each family's gallery then its stats, in FAMILIES order; the table, the plot, the state."""
        per_family = [x for family in FAMILIES for x in (self.galleries[family], self.stats[family])]
        return [self.understood, *per_family, self.table, self.plot, self.state]


def streamed(step: int, total: int) -> bool:
    """Whether a sampler's step is shown: about 10 per run, since each yield sends every output again."""
    return step % max(1, total // 10) == 0 or step == total


@dataclass(frozen=True)
class CompareHandlers:
    """The handler that runs the models, made once per app so it holds the app's objects."""

    registry: Registry
    parser: PromptParser
    judge: Judge

    def on_compare(self, prompt_text: JSON, seed_v: JSON, n_v: JSON, steps_v: JSON, guidance_v: JSON, sampler_v: JSON,
                   variant_v: JSON, show_overlays: JSON, progress: gr.Progress = gr.Progress()) -> Iterator[list]:
        """Generate n hands per backend for the prompt and score each one."""
        request, spec = self.request_and_spec(prompt_text, seed_v, n_v, steps_v, guidance_v, sampler_v, variant_v)
        if spec.gesture is None and spec.confidence < 0.3:
            gr.Warning("I could not tell which gesture you mean, so every backend draws any hand.")
        runs: dict[str, pipeline.BackendRun] = {}
        # every yield carries all outputs, so the last one is the complete answer (API clients see only it)
        view = CompareOutputs.waiting(spec)
        yield view.as_list()
        progress(0, desc="Generating")
        for kind, family, payload in pipeline.compare_events(self.registry, self.judge, request, spec):
            if kind == "step":  # a sampler's intermediate estimate
                step, total, previews = payload
                progress((step, total), desc=f"{TITLES[family]}: denoising step {step}/{total}")
                if not streamed(step, total):
                    continue
                view.galleries[family] = [(pipeline.upscale(p), f"step {step}/{total}") for p in previews]
            else:
                runs[family] = run = payload
                if run.error:
                    gr.Warning(run.error)
                view.galleries[family], view.stats[family] = present.gallery_items(run, show_overlays), present.stats_markdown(run)
            yield view.as_list()
        runs = {f: runs[f] for f in FAMILIES if f in runs}  # the summary lists backends in a fixed order
        frame = present.summary_frame(list(runs.values()))
        view.table, view.plot, view.state = frame, frame[["backend", "hand_score"]], {"runs": runs, "spec": spec}
        yield view.as_list()

    def request_and_spec(self, prompt_text: JSON, *settings: JSON) -> tuple[pipeline.Request, HandSpec]:
        """The checked request and what its prompt asks for; a bad value becomes a message on the page."""
        try:
            request = pipeline.validate(prompt_text, *settings)
            return request, pipeline.understand(request.prompt, self.parser)
        except ValueError as err:
            raise gr.Error(str(err)) from None


def on_overlays(show: bool, saved: dict | None) -> list:
    """Redraw the galleries with or without the scorer's overlays from the saved runs: no model runs again."""
    runs = (saved or {}).get("runs", {})
    return [present.gallery_items(runs[f], show) if f in runs else gr.skip() for f in FAMILIES]


@dataclass(frozen=True)
class HandReport:
    """The select handler of one family's gallery: which family a click came from is fixed when it is wired."""

    family: str

    def on_select(self, saved: dict | None, evt: gr.SelectData) -> str | dict:
        """The full report of the clicked hand, from the saved runs."""
        runs = (saved or {}).get("runs", {})
        if self.family not in runs or evt.index is None:
            return gr.skip()
        return present.report_markdown(runs[self.family], int(evt.index))


def request_controls() -> tuple[CompareInputs, gr.Button]:
    """The prompt box and its button, the examples, and the settings accordion."""
    with gr.Row():
        prompt = gr.Textbox(label="Prompt", placeholder="Describe a hand, e.g. 'a thumbs up with the left hand'", scale=5,
                            max_length=PROMPT_MAX_CHARS, elem_id="prompt")
        run = gr.Button("Generate", variant="primary", scale=1, elem_id="generate")
    gr.Examples(EXAMPLES, inputs=prompt, cache_examples=False)
    with gr.Accordion("Settings", open=False):
        with gr.Row():
            seed = gr.Number(label="Seed", value=SEED.default, precision=0, minimum=SEED.lo, maximum=SEED.hi)
            n = gr.Slider(IMAGES.lo, IMAGES.hi, value=IMAGES.default, step=1, label="Images per backend")
            variant = gr.Radio(list(pipeline.VARIANTS), value="full", label="Training data",
                               info="full: 20,000 rendered hands; scarce: 1,000")
        with gr.Row():
            steps = gr.Slider(STEPS.lo, STEPS.hi, value=STEPS.default, step=1, label="Diffusion steps")
            guidance = gr.Slider(GUIDANCE.lo, GUIDANCE.hi, value=GUIDANCE.default, step=0.5, label="Guidance (classifier-free)")
            sampler = gr.Radio(list(SAMPLERS), value=DEFAULT_SAMPLER, label="Sampler")
        overlays = gr.Checkbox(label="Show the scorer's overlays (landmarks, counted fingertips, flags in red)")
    return CompareInputs(prompt, seed, n, steps, guidance, sampler, variant, overlays), run


def family_column(family: str) -> tuple[gr.Gallery, gr.Markdown]:
    """One family's column: its title, its gallery of hands and their stats."""
    with gr.Column(min_width=220):
        gr.Markdown(f"### {TITLES[family]}")
        gallery = gr.Gallery(label=f"{TITLES[family]} hands", columns=2, height=420, object_fit="contain",
                             elem_id=f"gallery-{family}", format="png")
        stats = gr.Markdown(elem_id=f"stats-{family}")
    return gallery, stats


def result_views() -> tuple[CompareOutputs, gr.Markdown]:
    """What the prompt was understood as, a column per family, the clicked hand's report (returned apart: not
    an output of /compare), and the summary across backends."""
    understood = gr.Markdown(elem_id="understood")
    galleries, stats = {}, {}
    with gr.Row(equal_height=False):
        for family in FAMILIES:
            galleries[family], stats[family] = family_column(family)
    detail = gr.Markdown(elem_id="detail")
    table = gr.Dataframe(label="Summary across backends", interactive=False, elem_id="summary")
    plot = gr.BarPlot(x="backend", y="hand_score", color="backend", title="Mean Hand Score (0-100)", y_lim=[0, 100],
                      label="Hand Score by backend")
    state = gr.State({})
    return CompareOutputs(understood, galleries, stats, table, plot, state), detail


def build_compare_tab(registry: Registry, concurrency_id: str, parser: PromptParser, judge: Judge) -> None:
    """Lay out the tab and wire each event to its one handler."""
    inputs, run = request_controls()
    outputs, detail = result_views()
    handlers = CompareHandlers(registry, parser, judge)
    gr.on([run.click, inputs.prompt.submit], handlers.on_compare, inputs=inputs.as_list(), outputs=outputs.as_list(),
          api_name="compare", concurrency_id=concurrency_id, concurrency_limit=1,
          preprocess=False)  # raw JSON in: pipeline.validate explains any bad value; Gradio's own checks raise bare errors
    inputs.overlays.change(on_overlays, [inputs.overlays, outputs.state], [outputs.galleries[f] for f in FAMILIES],
                           api_visibility="private")
    for family in FAMILIES:
        outputs.galleries[family].select(HandReport(family).on_select, outputs.state, detail, api_visibility="private")


def empty_summary() -> pd.DataFrame:
    return present.summary_frame([])
