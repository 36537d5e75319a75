"""The first tab: one prompt, three architectures side by side, every hand scored."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from core.limits import DEFAULT_SAMPLER, GUIDANCE, IMAGES, PROMPT_MAX_CHARS, SAMPLERS, SEED, STEPS
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


def build_compare_tab(registry: Registry, concurrency_id: str, parser: PromptParser, judge: Judge) -> None:
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
    understood = gr.Markdown(elem_id="understood")
    galleries, stats = {}, {}
    with gr.Row(equal_height=False):
        for family in FAMILIES:
            with gr.Column(min_width=220):
                gr.Markdown(f"### {TITLES[family]}")
                galleries[family] = gr.Gallery(label=f"{TITLES[family]} hands", columns=2, height=420, object_fit="contain",
                                               elem_id=f"gallery-{family}", format="png")
                stats[family] = gr.Markdown(elem_id=f"stats-{family}")
    detail = gr.Markdown(elem_id="detail")
    table = gr.Dataframe(label="Summary across backends", interactive=False, elem_id="summary")
    plot = gr.BarPlot(x="backend", y="hand_score", color="backend", title="Mean Hand Score (0-100)", y_lim=[0, 100],
                      label="Hand Score by backend")
    state = gr.State({})

    outputs = [understood, *[x for f in FAMILIES for x in (galleries[f], stats[f])], table, plot, state]

    def on_compare(prompt_text, seed_v, n_v, steps_v, guidance_v, sampler_v, variant_v, show_overlays,
                   progress=gr.Progress()):
        """Generate n hands per backend for the prompt and score each one."""
        try:
            request = pipeline.validate(prompt_text, seed_v, n_v, steps_v, guidance_v, sampler_v, variant_v)
            spec = pipeline.understand(request.prompt, parser)
        except ValueError as err:
            raise gr.Error(str(err)) from None
        if spec.gesture is None and spec.confidence < 0.3:
            gr.Warning("I could not tell which gesture you mean, so every backend draws any hand.")
        runs: dict[str, pipeline.BackendRun] = {}
        # every yield carries all outputs, so the last one is the complete answer (API clients see only it)
        current = [present.spec_markdown(spec)] + [[], ""] * len(FAMILIES) + [present.summary_frame([]), None, {}]
        yield list(current)
        progress(0, desc="Generating")
        for kind, family, payload in pipeline.compare_events(registry, judge, request, spec):
            i = 1 + 2 * FAMILIES.index(family)  # this family's gallery in `outputs`; its stats follow it
            if kind == "step":  # a sampler's intermediate estimate: stream about 10 of them
                step, total, previews = payload
                progress((step, total), desc=f"{TITLES[family]}: denoising step {step}/{total}")
                if step % max(1, total // 10) == 0 or step == total:
                    current[i] = [(pipeline.upscale(p), f"step {step}/{total}") for p in previews]
                    yield list(current)
                continue
            runs[family] = run = payload
            if run.error:
                gr.Warning(run.error)
            current[i], current[i + 1] = present.gallery_items(run, show_overlays), present.stats_markdown(run)
            yield list(current)
        runs = {f: runs[f] for f in FAMILIES if f in runs}  # the summary lists backends in a fixed order
        frame = present.summary_frame(list(runs.values()))
        current[-3:] = [frame, frame[["backend", "hand_score"]], {"runs": runs, "spec": spec}]
        yield list(current)

    gr.on([run.click, prompt.submit], on_compare, inputs=[prompt, seed, n, steps, guidance, sampler, variant, overlays],
          outputs=outputs, api_name="compare", concurrency_id=concurrency_id, concurrency_limit=1,
          preprocess=False)  # raw JSON in: pipeline.validate explains any bad value; Gradio's own checks raise bare errors

    def on_overlays(show, saved):
        runs = (saved or {}).get("runs", {})
        return [present.gallery_items(runs[f], show) if f in runs else gr.skip() for f in FAMILIES]

    overlays.change(on_overlays, [overlays, state], [galleries[f] for f in FAMILIES], api_visibility="private")

    for family in FAMILIES:
        def on_select(saved, evt: gr.SelectData, family=family):
            runs = (saved or {}).get("runs", {})
            if family not in runs or evt.index is None:
                return gr.skip()
            return present.report_markdown(runs[family], int(evt.index))

        galleries[family].select(on_select, state, detail, api_visibility="private")


def empty_summary() -> pd.DataFrame:
    return present.summary_frame([])
