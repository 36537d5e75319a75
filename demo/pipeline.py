"""One comparison, without any UI: validate a request, understand the prompt, run each backend
through the `Generator` protocol, score every hand. The Gradio tabs and the benchmark call this.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from PIL import Image

from core.limits import DEFAULT_SAMPLER, GUIDANCE, IMAGES, PROMPT_MAX_CHARS, SAMPLERS, SEED, STEPS, Bound
from core.vocab import HandSpec
from demo.gpu import on_gpu
from judge import Judge, SetReport
from models.base import GenerateOptions, Generation, Generator, StepCallback
from models.registry import FAMILY_NAMES as FAMILIES
from models.registry import BackendUnavailable, Registry
from prompt import PromptParser, parse

VARIANTS = ("full", "scarce")


@dataclass(frozen=True)
class Request:
    prompt: str
    seed: int = SEED.default
    n: int = IMAGES.default
    steps: int = STEPS.default
    guidance: float = GUIDANCE.default
    sampler: str = DEFAULT_SAMPLER
    variant: str = "full"


def _shown(value) -> str:
    """A short, one-line, printable echo of what a caller sent (it may be 100k characters of anything)."""
    if isinstance(value, str):  # repr escapes control characters; an escape can be 10 characters long
        shown = repr(value[:30])
        return shown if len(shown) <= 60 and len(value) <= 30 else shown[:57] + "..."
    if isinstance(value, int) and value.bit_length() > 64:  # repr of a 5,000-digit int raises
        return f"a number of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    return f"a {type(value).__name__}"


def _number(name: str, value, bound: Bound, integer: bool) -> float:
    lo, hi = bound.lo, bound.hi
    label = name.capitalize()
    try:
        number = float(value)  # JSON gives int, float, bool, str, None, list or dict
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{label} must be a number from {lo} to {hi}, got {_shown(value)}.") from None
    if not math.isfinite(number) or not lo <= number <= hi:
        raise ValueError(f"{label} must be from {lo} to {hi}, got {_shown(value)}.")
    if integer and number != int(number):
        raise ValueError(f"{label} must be a whole number, got {_shown(value)}.")
    return int(number) if integer else number


def validate(prompt, seed=SEED.default, n=IMAGES.default, steps=STEPS.default, guidance=GUIDANCE.default,
             sampler=DEFAULT_SAMPLER, variant="full") -> Request:
    """Turn raw UI/API input (any JSON value) into a Request, or raise ValueError with a message for a person."""
    if prompt is not None and not isinstance(prompt, str):
        raise ValueError(f"The prompt must be text, got {type(prompt).__name__}.")
    if not prompt or not prompt.strip():
        raise ValueError("The prompt is empty: describe a hand, e.g. 'a peace sign' or 'a hand holding a banana'.")
    if len(prompt) > PROMPT_MAX_CHARS:
        raise ValueError(f"The prompt is too long ({len(prompt):,} characters); keep it under {PROMPT_MAX_CHARS:,}.")
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        raise ValueError(f"Sampler must be one of {', '.join(SAMPLERS)}.")
    if not isinstance(variant, str) or variant not in VARIANTS:
        raise ValueError(f"Training data must be one of {', '.join(VARIANTS)}.")
    return Request(
        prompt=prompt.strip(),
        seed=_number("seed", seed, SEED, True),
        n=_number("n", n, IMAGES, True),
        steps=_number("steps", steps, STEPS, True),
        guidance=_number("guidance", guidance, GUIDANCE, False),
        sampler=sampler,
        variant=variant,
    )


def understand(prompt: str, parser: PromptParser | None = None) -> HandSpec:
    """The prompt's HandSpec, by the caller's parser (the app holds one, its encoder loaded once); without
    one, a one-off parse that keeps nothing (it loads the encoder only if the rules do not decide)."""
    return parser.parse(prompt) if parser is not None else parse(prompt)


@dataclass
class BackendRun:
    """One backend's answer to a request: images, what they cost, and their scores."""

    backend: str
    variant: str
    generation: Generation | None = None
    reports: list = field(default_factory=list)
    set_report: SetReport | None = None
    score_s: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Batch:
    """One call to a generator: n images of one spec from one seed."""

    spec: HandSpec
    n: int
    seed: int


@dataclass
class Scored:
    """What `generate_and_score` made: every batch's Generation, and the judge's set report over all of them."""

    generations: list[Generation]
    set_report: SetReport
    score_s: float  # seconds the judge took over the whole set

    @property
    def images(self) -> list[Image.Image]:
        return [image for generation in self.generations for image in generation.images]


class GenerationFailed(RuntimeError):
    """The generator raised: its message says which family and why."""


class ScoringFailed(RuntimeError):
    """The judge raised: never show unscored images as if they had been judged."""


def generate_and_score(generator: Generator, judge: Judge, batches: list[Batch], options: GenerateOptions | None = None,
                       callback: StepCallback | None = None, reference=None) -> Scored:
    """The one generate-and-score path: the app's columns, the API's /compare and the benchmark all come here.

    1. Each batch goes through the `Generator` protocol (a denoising family calls `callback` per step).
    2. The judge scores every image against its own batch's spec, as one set (KID and diversity over all).
    `reference`: clean-render features for KID (default: the judge's reference set).
    """
    try:
        generations = [generator.generate(b.spec, b.n, b.seed, options, callback) for b in batches]
    except Exception as err:  # one failing family must not take a comparison down
        raise GenerationFailed(f"{generator.family}/{generator.variant} failed to generate ({type(err).__name__}: {err})") from err
    images = [image for generation in generations for image in generation.images]
    specs = [batch.spec for batch, generation in zip(batches, generations) for _ in generation.images]
    t0 = time.perf_counter()  # the judge holds its own lock: its networks are shared by every thread
    try:
        set_report = judge.score_set(images, specs, reference=reference)
    except Exception as err:
        raise ScoringFailed(f"{generator.family}/{generator.variant}: the scorer failed ({type(err).__name__}: {err})") from err
    return Scored(generations, set_report, time.perf_counter() - t0)


@on_gpu(duration=60)
def run_backend(registry: Registry, judge: Judge, family: str, request: Request, spec: HandSpec,
                callback: StepCallback | None = None, keep_frames: bool = False) -> BackendRun:
    """One column of a comparison: generate and score; a broken backend returns an error message, never an exception."""
    run = BackendRun(backend=family, variant=request.variant)
    options = GenerateOptions(steps=request.steps, guidance=request.guidance, sampler=request.sampler, keep_frames=keep_frames)
    try:
        generator = registry.load(family, request.variant)
        scored = generate_and_score(generator, judge, [Batch(spec, request.n, request.seed)], options, callback)
    except (BackendUnavailable, GenerationFailed, ScoringFailed) as err:
        run.error = str(err)
        return run
    run.generation, run.set_report, run.score_s = scored.generations[0], scored.set_report, scored.score_s
    run.reports = scored.set_report.reports
    return run


def compare_events(registry: Registry, judge: Judge, request: Request, spec: HandSpec) -> Iterator[tuple[str, str, object]]:
    """Run the backends one after another in a worker thread and yield what happens as it happens:
    ("step", family, (step, total, previews)) while a sampler denoises, ("done", family, BackendRun) at the end.

    One after another, fastest first: measured on the 2-core CPU, running them side by side (a thread
    each) made the whole comparison 0.2 s slower, and the fast columns fill first anyway.
    """
    events: queue.Queue = queue.Queue()

    def work() -> None:
        for family in FAMILIES:
            def on_step(step: int, total: int, previews, family=family) -> None:
                events.put(("step", family, (step, total, previews)))

            try:
                run = run_backend(registry, judge, family, request, spec, callback=on_step)
            except Exception as err:  # run_backend catches what it expects; this is the last guard
                run = BackendRun(backend=family, variant=request.variant, error=f"{family}: {type(err).__name__}: {err}")
            events.put(("done", family, run))

    threading.Thread(target=work, daemon=True, name="compare").start()
    pending = len(FAMILIES)
    while pending:
        event = events.get()
        pending -= event[0] == "done"
        yield event


def compare(registry: Registry, judge: Judge, request: Request, spec: HandSpec | None = None) -> list[BackendRun]:
    """Every backend's scored answer, in FAMILIES order (see compare_events for how they run)."""
    spec = spec or understand(request.prompt)
    runs = {family: run for kind, family, run in compare_events(registry, judge, request, spec) if kind == "done"}
    return [runs[family] for family in FAMILIES]


def upscale(image: Image.Image, size: int = 192) -> Image.Image:
    """Nearest-neighbour, so the pixels shown are the pixels generated (blur stays visible)."""
    return image.resize((size, size), Image.NEAREST) if image.width < size else image
