"""The first tab: one prompt, three architectures side by side, every hand judged in plain words.

`build_compare_tab` only lays out components and wires each event to one named handler; the handlers that run
models are methods of `CompareHandlers`, which holds the app's generators, prompt parser and judge. Under each
picture is its verdict line (`present.verdict`); the numbers are behind "Details".
"""

from __future__ import annotations

import logging
import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.processing_utils import save_pil_to_cache
from gradio.utils import get_upload_folder
from PIL import Image

from core.limits import GUIDANCE, IMAGES, PROMPT_MAX_CHARS, SAMPLERS, SEED, STEPS
from core.vocab import HandSpec
from demo import lessons, links, pipeline, present, slide
from judge import Judge
from models.registry import FAMILY_NAMES as FAMILIES
from models.registry import Registry
from prompt import PromptParser

log = logging.getLogger(__name__)

EXAMPLES = [
    ["a fist"],  # articulation: every finger folded
    ["a hand pointing at the viewer"],  # occlusion: the pointing finger hides the others
    ["a person holding a banana"],  # occlusion by an object
    ["five fingers spread, palm facing me"],  # low margin for error: count them
    ["a dark-skinned left hand making a peace sign"],  # variability: skin tone, handedness
    ["hang loose 🤙"],  # slang and emoji
]
TITLES = present.TITLES
NEW_SEEDS = 100_000  # the 🎲 button picks seeds under this: short enough to read out and type

JSON = Any  # a value as the browser or an API client sent it (preprocess=False): pipeline.validate checks it

# After a run, the link box gets the page's own address with the run's query, and the address bar shows it too.
SHOW_LINK = """(query) => {
  if (!query || !query.startsWith("?")) return query;
  const url = new URL(window.location.href);
  url.search = query;
  window.history.replaceState(null, "", url);
  return url.toString();
}"""
# Bring the pictures into view when a run starts (a projector shows 768 pixels): values pass through unchanged.
SCROLL_TO = """(...values) => {{
  document.querySelector('{target}')?.scrollIntoView({{behavior: 'smooth', block: 'start'}});
  return values.length === 1 ? values[0] : values;
}}"""
ROUND_SEED = "(seed) => (seed === null || seed === '' || isNaN(seed)) ? seed : Math.max(0, Math.round(Number(seed)))"


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
        """In the order `CompareHandlers.on_compare` takes them (and API clients send them): `links.Inputs`."""
        return [self.prompt, self.seed, self.n, self.steps, self.guidance, self.sampler, self.variant, self.overlays]


@dataclass
class CompareOutputs:
    """The /compare endpoint's outputs. The builder fills it with components (the event's `outputs`), the
    handler with values (each yield), and `as_list` lays out both the same way, so they cannot drift apart.

    No picture files: each column's pictures travel inline in its HTML. The Details galleries (every picture as a
    file, with its Hand Score) are filled while Details is open, and by /pictures for API clients
    (`CompareHandlers.on_pictures`): as /compare's outputs they were twelve more downloads for every API client,
    about 1 s of a 2.6 s wait (bench/wait.py)."""

    understood: Any
    sentences: dict[str, Any]
    pictures: dict[str, Any]
    table: Any
    link: Any
    state: Any
    fresh: set = field(default_factory=set)  # (handler side) names, or (name, family), changed since the last yield

    @classmethod
    def waiting(cls, spec: HandSpec) -> CompareOutputs:
        """What the prompt was understood as; every column still drawing."""
        return cls(present.spec_markdown(spec), {f: present.column_title(f) for f in FAMILIES},
                   {f: present.waiting_html(f) for f in FAMILIES}, present.summary_frame([]), "", {})

    def as_list(self) -> list:
        """understood; each family's sentence; each family's pictures; the table, the link, the state."""
        sentences = [self.sentences[family] for family in FAMILIES]
        pictures = [self.pictures[family] for family in FAMILIES]
        return [self.understood, *sentences, *pictures, self.table, self.link, self.state]

    def changed(self) -> list:
        """The values that changed since the last yield, gr.skip() for the rest: a streamed step re-sends one
        column, so the finished columns neither flicker nor travel again."""
        fresh, skip = self.fresh, gr.skip()
        self.fresh = set()

        def per_family(name: str, values: dict) -> dict:
            return {f: values[f] if (name, f) in fresh else skip for f in FAMILIES}

        return CompareOutputs(self.understood if "understood" in fresh else skip, per_family("sentences", self.sentences),
                              per_family("pictures", self.pictures), self.table if "table" in fresh else skip,
                              self.link if "link" in fresh else skip, skip).as_list()

    @classmethod
    def unchanged(cls) -> list:
        """gr.skip() for every output."""
        per_family = {f: gr.skip() for f in FAMILIES}
        return cls(gr.skip(), per_family, per_family, gr.skip(), gr.skip(), gr.skip()).as_list()


def streamed(step: int, total: int) -> bool:
    """Whether a sampler's step is shown: about 10 per run."""
    return step % max(1, total // 10) == 0 or step == total


def refused(err: Exception) -> gr.Error:
    """A request the app cannot run: one line in the log, one message on the page, no traceback."""
    log.warning("refused a request: %s", err)
    return gr.Error(str(err), print_exception=False)


@dataclass(frozen=True)
class CompareHandlers:
    """The handlers that run the models, made once per app so they hold the app's objects."""

    registry: Registry
    parser: PromptParser
    judge: Judge
    results: pipeline.ResultCache | None  # finished comparisons, answered again to identical requests
    pictures: present.Pictures  # each picture's PNG file and data URL, made once (a class gets the same pictures)

    def on_compare(self, prompt: JSON, seed: JSON, images_per_backend: JSON, steps: JSON, guidance: JSON,
                   sampler: JSON, training_data: JSON, show_overlays: JSON) -> Iterator[list]:
        """Draw `images_per_backend` hands with each model for the prompt and judge every one.

        Streams: each column appears as soon as its model is done; the diffusion column shows its drafts while
        it removes noise. The last answer holds every output (API clients see only it). A request answered from
        the cache (a class on a lesson) is one answer: nothing to watch, and each message costs the server."""
        request, spec = self.request_and_spec(prompt, seed, images_per_backend, steps, guidance, sampler, training_data)
        if spec.gesture is None and spec.confidence < 0.3:
            gr.Warning("I could not tell which gesture you mean, so every model draws any hand.")
        overlays = bool(show_overlays)
        view, runs = CompareOutputs.waiting(spec), {}
        view.fresh = {"understood", "table", *((name, f) for f in FAMILIES for name in ("sentences", "pictures"))}
        cached = self.results is not None and pipeline.cache_key(self.registry, self.judge, request, spec) in self.results
        if not cached:
            yield view.changed()  # at once, before any model runs: what the prompt was understood as
        for kind, family, payload in pipeline.compare_events(self.registry, self.judge, request, spec, self.results):
            if kind == "step":  # a sampler's intermediate estimate: only its own column changes
                step, total, previews = payload
                if streamed(step, total):
                    view.pictures[family] = present.progress_html(family, step, total, previews)
                    view.fresh.add(("pictures", family))
                    yield view.changed()
                continue
            runs[family] = run = payload
            if run.error:
                gr.Warning(run.error)
            view.sentences[family] = present.column_sentence(run, spec)
            view.pictures[family] = present.pictures_html(run, spec, overlays, self.pictures)
            view.fresh |= {("sentences", family), ("pictures", family)}
            if len(runs) < len(FAMILIES) and not cached:
                yield view.changed()
        runs = {f: runs[f] for f in FAMILIES if f in runs}  # the table lists models in a fixed order
        view.table = present.summary_frame(list(runs.values()))
        inputs = links.Inputs(request.prompt, request.seed, request.n, request.steps, request.guidance,
                              request.sampler, request.variant, overlays)
        view.link = links.to_query(inputs)
        view.state = {"runs": runs, "spec": spec, "inputs": inputs}
        yield view.as_list()

    def on_pictures(self, saved: dict | None) -> list:
        """The last comparison's pictures as files, each captioned with its verdict and Hand Score: the Details
        galleries when Details opens, and /pictures for API clients (called after /compare, on the same client)."""
        saved = saved if isinstance(saved, dict) else None  # a session's state, never a caller's value: no run yet
        inputs = (saved or {}).get("inputs")
        return self.galleries(saved, bool(inputs and inputs.show_overlays))

    def on_done(self, saved: dict | None, details_open: bool) -> list:
        """After a run: the Details galleries if Details is open; else nothing (a class never opens it, and each
        gallery is twelve files to check, send and fetch)."""
        return self.on_pictures(saved) if details_open else [gr.skip()] * len(FAMILIES)

    def galleries(self, saved: dict | None, overlays: bool) -> list:
        """Each family's gallery items from the saved runs (files written once: `present.Pictures`)."""
        runs, spec = (saved or {}).get("runs", {}), (saved or {}).get("spec")
        return [present.gallery_items(runs[f], spec, overlays, self.pictures) if f in runs else [] for f in FAMILIES]

    def request_and_spec(self, prompt: JSON, *settings: JSON) -> tuple[pipeline.Request, HandSpec]:
        """The checked request and what its prompt asks for; a bad value becomes one message on the page."""
        try:
            request = pipeline.validate(prompt, *settings)
            return request, pipeline.understand(request.prompt, self.parser)
        except ValueError as err:
            raise refused(err) from None

    def on_open(self, request: gr.Request) -> Iterator[list]:
        """A page opened from a link: fill the inputs from its query and draw the same pictures again.
        Outputs: the inputs, then /compare's outputs. A page opened without a link changes nothing."""
        inputs, unread = links.from_query(dict(request.query_params) if request else {})
        if inputs is None:
            yield [gr.skip()] * len(links.Inputs("").as_list()) + CompareOutputs.unchanged()
            return
        if unread:
            gr.Warning(f"The link's {', '.join(unread)} could not be read; the defaults are used instead.")
        shown = inputs.as_list()  # the inputs once, with the first answer; unchanged after that
        for values in self.on_compare(*inputs.as_list()):
            yield shown + values
            shown = [gr.skip()] * len(shown)


    def on_overlays(self, show: bool, saved: dict | None) -> list:
        """Redraw the pictures with or without the judge's marks from the saved runs: no model runs again."""
        runs, spec = (saved or {}).get("runs", {}), (saved or {}).get("spec")
        pictures = [present.pictures_html(runs[f], spec, show, self.pictures) if f in runs else gr.skip() for f in FAMILIES]
        return [gr.HTML(present.OVERLAY_LEGEND, visible=bool(show)), *pictures, *self.galleries(saved, show)]


def save_png(image: Image.Image) -> str:
    """Write a gallery picture where the server serves files from (Gradio's upload folder) and return its path; the
    Gallery then serves that file as it is, without writing it again (`present.Pictures` calls this once per picture)."""
    return save_pil_to_cache(image, cache_dir=get_upload_folder(), format="png")


def on_new_seed() -> int:
    """A fresh seed for the 🎲 button (short, so it can be read out)."""
    return random.randrange(NEW_SEEDS)


def on_slide(saved: dict | None) -> gr.DownloadButton:
    """The last comparison as one slide (a PNG with its verdicts), ready behind the download button."""
    runs = (saved or {}).get("runs")
    if not runs:
        return gr.DownloadButton(interactive=False)
    inputs: links.Inputs = saved["inputs"]
    image = slide.compose(inputs, list(runs.values()), saved["spec"])
    folder = Path(tempfile.mkdtemp(prefix="hands-slide-"))
    path = folder / slide.file_name(inputs)
    image.save(path)
    return gr.DownloadButton(value=str(path), interactive=True)


@dataclass(frozen=True)
class HandReport:
    """The select handler of one family's details gallery: which family a click came from is fixed when wired."""

    family: str

    def on_select(self, saved: dict | None, evt: gr.SelectData) -> str | dict:
        """The full report of the clicked hand, from the saved runs."""
        runs = (saved or {}).get("runs", {})
        if self.family not in runs or evt.index is None:
            return gr.skip()
        return present.report_markdown(runs[self.family], int(evt.index), saved.get("spec"))


def on_lesson(title: str) -> tuple[str, gr.Button]:
    """Show the picked lesson's two lines; its button runs it, or says it is coming."""
    lesson = lessons.by_title(title)
    ready = lesson is not None and lesson.inputs is not None
    return lessons.text(lesson), gr.Button("Show me" if ready else "Coming soon", interactive=ready)


def on_show_me(title: str) -> list:
    """Fill the Compare inputs with the lesson's prompt, seed and settings, and put what to look at above the
    pictures (the run follows)."""
    lesson = lessons.by_title(title)
    if lesson is None or lesson.inputs is None:
        raise gr.Error("This lesson is not built yet.", print_exception=False)
    return [*lesson.inputs.as_list(), lessons.note(title)]


def lesson_panel() -> tuple[gr.Radio, gr.Markdown, gr.Button]:
    """The lesson path: pick a lesson, read its two lines, press "Show me"."""
    with gr.Accordion("Lessons: why AI gets hands wrong, in 7 short steps", open=True, elem_id="lessons"):
        first = lessons.titles()[0]
        with gr.Row(equal_height=True):
            picker = gr.Radio(lessons.titles(), value=first, show_label=False, scale=5, elem_id="lesson-picker")
            show = gr.Button("Show me", variant="primary", scale=0, min_width=140, elem_id="show-me")
        text = gr.Markdown(lessons.text(lessons.by_title(first)), elem_id="lesson-text")
    return picker, text, show


def request_controls() -> tuple[CompareInputs, gr.Button, gr.Button]:
    """The prompt box and its buttons, the examples, and the settings accordion."""
    with gr.Row(equal_height=True):
        prompt = gr.Textbox(label="Prompt", placeholder="Describe a hand, e.g. 'a thumbs up with the left hand'", scale=5,
                            max_length=PROMPT_MAX_CHARS, elem_id="prompt")
        run = gr.Button("Generate", variant="primary", scale=1, elem_id="generate")
        dice = gr.Button("🎲 New seed", scale=1, elem_id="new-seed")
    gr.Examples(EXAMPLES, inputs=prompt, cache_examples=False, label="Try one")
    with gr.Accordion("Settings", open=False, elem_id="settings"):
        with gr.Row():
            seed = gr.Number(label="Seed (same seed, same pictures)", value=SEED.default, precision=0, step=1,
                             minimum=SEED.lo, maximum=SEED.hi, elem_id="seed")
            n = gr.Slider(IMAGES.lo, IMAGES.hi, value=IMAGES.default, step=1, label="Pictures per model")
            variant = gr.Radio(list(pipeline.VARIANTS), value="full", label="Training data",
                               info="full: 20,000 drawn hands; scarce: 1,000")
        with gr.Row():
            steps = gr.Slider(STEPS.lo, STEPS.hi, value=STEPS.default, step=1, label="Diffusion steps")
            guidance = gr.Slider(GUIDANCE.lo, GUIDANCE.hi, value=GUIDANCE.default, step=0.5,
                                 label="Guidance: how strongly the words steer diffusion")
            sampler = gr.Radio(list(SAMPLERS), value=SAMPLERS[0], label="Sampler")
        overlays = gr.Checkbox(label="Show what the judge saw (outline, counted fingertips, problems in red)")
    seed.blur(None, seed, seed, js=ROUND_SEED)  # a whole number in the box, in the browser: no round trip
    return CompareInputs(prompt, seed, n, steps, guidance, sampler, variant, overlays), run, dice


def family_column(family: str) -> tuple[gr.Markdown, gr.HTML]:
    """One family's column: its sentence, then its pictures each with its verdict line under it."""
    with gr.Column(min_width=240):
        sentence = gr.Markdown(present.column_title(family), label=f"{TITLES[family]} in one sentence",
                               elem_id=f"sentence-{family}")
        pictures = gr.HTML(label=f"{TITLES[family]} pictures with verdicts", css_template=present.PICTURES_CSS,
                           elem_id=f"pictures-{family}", min_height=60)
    return sentence, pictures


def details(outputs_state: gr.State) -> tuple[gr.Accordion, dict[str, gr.Gallery], gr.Dataframe]:
    """Behind a switch: every picture with its Hand Score (click one for its full report), and the numbers."""
    with gr.Accordion("Details: scores, ranges and times", open=False, elem_id="details") as accordion:
        galleries = {}
        with gr.Row():
            for family in FAMILIES:
                galleries[family] = gr.Gallery(label=f"{TITLES[family]} pictures", columns=2, height=360,
                                               object_fit="contain", format="png", elem_id=f"gallery-{family}")
        report = gr.Markdown("Click a picture for everything the judge found in it.", elem_id="detail")
        table = gr.Dataframe(present.summary_frame([]), label="The numbers, per model", interactive=False,
                             elem_id="summary", wrap=True)
        gr.Markdown(present.SUMMARY_GLOSSARY)
    for family in FAMILIES:
        galleries[family].select(HandReport(family).on_select, outputs_state, report, api_visibility="private")
    return accordion, galleries, table


@dataclass
class Details:
    """The Details switch, its galleries (/pictures' outputs, not /compare's) and whether this page has it open."""

    accordion: gr.Accordion
    galleries: list[gr.Gallery]  # in FAMILIES order
    opened: gr.State


def result_views() -> tuple[CompareOutputs, Details, gr.Markdown, gr.HTML, gr.DownloadButton]:
    """The lesson's note, what the prompt was understood as, a column per family, the slide and the link, and the
    details."""
    note = gr.Markdown(elem_id="lesson-note")
    understood = gr.Markdown(label="What the judge expects", elem_id="understood")
    legend = gr.HTML(present.OVERLAY_LEGEND, label="What the marks mean", elem_id="legend",
                     css_template=present.PICTURES_CSS, visible=False)
    sentences, pictures = {}, {}
    with gr.Row(equal_height=False):
        for family in FAMILIES:
            sentences[family], pictures[family] = family_column(family)
    with gr.Row(equal_height=True):
        link = gr.Textbox(label="Link to these pictures (opens the same comparison)", buttons=["copy"],
                          interactive=False, scale=4, elem_id="link")
        slide_button = gr.DownloadButton("Export slide (PNG)", interactive=False, scale=1, elem_id="export-slide")
    state = gr.State({})
    accordion, galleries, table = details(state)
    shown = Details(accordion, [galleries[f] for f in FAMILIES], gr.State(False))
    return CompareOutputs(understood, sentences, pictures, table, link, state), shown, note, legend, slide_button


def build_compare_tab(registry: Registry, concurrency_id: str, parser: PromptParser, judge: Judge,
                      demo: gr.Blocks, results: pipeline.ResultCache | None = None) -> None:
    """Lay out the tab and wire each event to its one handler."""
    picker, lesson_text, show_me = lesson_panel()
    inputs, run, dice = request_controls()
    outputs, shown, note, legend, slide_button = result_views()
    handlers = CompareHandlers(registry, parser, judge, results, present.Pictures(save_png))
    # raw JSON in (preprocess=False): pipeline.validate explains any bad value; Gradio's own checks raise bare errors.
    # No progress overlay: it would cover finished columns and leave an "Error" badge on each output after a refused
    # request; the columns say themselves what they are doing ("drawing…", "removing noise: step 4 of 10").
    compare = dict(fn=handlers.on_compare, inputs=inputs.as_list(), outputs=outputs.as_list(),
                   concurrency_id=concurrency_id, concurrency_limit=1, show_progress="hidden", preprocess=False)
    runs = [gr.on([run.click, inputs.prompt.submit], api_name="compare", js=SCROLL_TO.format(target="#understood"),
                  **compare),
            dice.click(on_new_seed, None, inputs.seed, api_visibility="private").then(api_visibility="private", **compare),
            show_me.click(on_show_me, picker, [*inputs.as_list(), note], js=SCROLL_TO.format(target="#lesson-note"),
                          api_visibility="private").success(api_visibility="private", **compare),
            demo.load(handlers.on_open, None, inputs.as_list() + outputs.as_list(), concurrency_id=concurrency_id,
                      show_progress="hidden", api_visibility="private")]
    # the Details galleries: their files are written once (present.Pictures), so no compute slot and no limit
    pictures = dict(outputs=shown.galleries, show_progress="hidden", concurrency_limit=None)
    for done in runs:
        done.success(None, outputs.link, outputs.link, js=SHOW_LINK, show_progress="hidden")
        done.success(on_slide, outputs.state, slide_button, api_visibility="private", show_progress="hidden")
        done.success(handlers.on_done, [outputs.state, shown.opened], api_visibility="private", **pictures)
    shown.accordion.expand(lambda: True, None, shown.opened, api_visibility="private", show_progress="hidden").then(
        handlers.on_pictures, outputs.state, api_name="pictures", **pictures)
    shown.accordion.collapse(lambda: False, None, shown.opened, api_visibility="private", show_progress="hidden")
    gr.on([run.click, inputs.prompt.submit, dice.click], None, None, note, js="() => ''")  # the lesson is left
    gr.on([run.click, inputs.prompt.submit, dice.click, show_me.click], None, None, shown.galleries,
          js=f"() => {[[]] * len(FAMILIES)}")  # no pictures of the last run under the next one's columns
    picker.change(on_lesson, picker, [lesson_text, show_me], api_visibility="private")
    inputs.overlays.change(handlers.on_overlays, [inputs.overlays, outputs.state],
                           [legend, *[outputs.pictures[f] for f in FAMILIES], *shown.galleries],
                           api_visibility="private", show_progress="hidden")
