"""One comparison, without any UI: validate a request, understand the prompt, run each backend
through the `Generator` protocol, score every hand. The Gradio tabs and the benchmark call this.

For a room of people: finished comparisons are kept in a bounded cache (a `ResultCache` the app holds), so identical requests (a
class following a lesson) are answered without computing again; `precompute` fills it ahead (the lesson
steps, at start) and `warm_up` does every one-time cost (the judge's reference set, the weights, torch's
kernels) before the first person waits. Measured in bench/wait.py and bench/students.py.
"""

from __future__ import annotations

import json
import math
import queue
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from PIL import Image

from core import settings
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


class ResultCache:
    """Finished comparisons, answered again to identical requests: a class following a lesson sends the same
    request thirty times. Least recently used out first, bounded by the images held (each comparison holds
    3 x n, about 0.25 MB each with their reports); thread-safe. A hit is the very same `BackendRun` objects,
    so the same pictures byte for byte. Only comparisons in which every backend answered are kept: a
    failure (a damaged file, a full disk) is retried by the next request, never remembered."""

    def __init__(self, max_images: int) -> None:
        self.max_images = max_images
        self._runs: OrderedDict[tuple, list[BackendRun]] = OrderedDict()
        self._images = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple) -> list[BackendRun] | None:
        with self._lock:
            runs = self._runs.get(key)
            if runs is None:
                self.misses += 1
                return None
            self._runs.move_to_end(key)
            self.hits += 1
            return runs

    def put(self, key: tuple, runs: list[BackendRun]) -> bool:
        """Keep `runs` under `key` (dropping the least recently used until the images fit); whether it was kept."""
        size = _images(runs)
        if not runs or not all(run.ok for run in runs) or size > self.max_images:
            return False
        with self._lock:
            old = self._runs.pop(key, None)
            self._images -= _images(old) if old else 0
            self._runs[key] = runs
            self._images += size
            while self._images > self.max_images:
                self._images -= _images(self._runs.popitem(last=False)[1])
        return True

    def __contains__(self, key: tuple) -> bool:
        """Whether `key` is kept (without counting a hit or moving it up: `get` does that)."""
        with self._lock:
            return key in self._runs

    @property
    def images(self) -> int:
        return self._images

    def __len__(self) -> int:
        return len(self._runs)

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()
            self._images = 0


def _images(runs: list[BackendRun]) -> int:
    return sum(len(run.generation.images) for run in runs if run.generation is not None)


def cache_key(registry: Registry, judge: Judge, request: Request, spec: HandSpec) -> tuple:
    """What decides a comparison's answer: the weights served (two registries on one folder draw the same
    pictures), the judge itself (held, so its id cannot be reused), the checked request and what its prompt
    was understood as."""
    return str(registry.weights_root), judge, request, repr(spec)


def compare_events(registry: Registry, judge: Judge, request: Request, spec: HandSpec,
                   cache: ResultCache | None = None) -> Iterator[tuple[str, str, object]]:
    """Run the backends one after another in a worker thread and yield what happens as it happens:
    ("step", family, (step, total, previews)) while a sampler denoises, ("done", family, BackendRun) at the end.

    One after another, fastest first: measured on the 2-core CPU, running them side by side (a thread
    each) made the whole comparison 0.2 s slower, and the fast columns fill first anyway.
    A request answered before is answered from `cache` (the app's; None always computes):
    its three "done" events at once, in FAMILIES order, and no steps.
    """
    key = cache_key(registry, judge, request, spec)
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        _timing_line(request, 0.0, cached=True)
        for run in cached:
            yield "done", run.backend, run
        return
    events: queue.Queue = queue.Queue()
    t0 = time.perf_counter()

    def work() -> None:
        runs = []
        for family in FAMILIES:
            def on_step(step: int, total: int, previews, family=family) -> None:
                events.put(("step", family, (step, total, previews)))

            try:
                run = run_backend(registry, judge, family, request, spec, callback=on_step)
            except Exception as err:  # run_backend catches what it expects; this is the last guard
                run = BackendRun(backend=family, variant=request.variant, error=f"{family}: {type(err).__name__}: {err}")
            runs.append(run)
            if len(runs) == len(FAMILIES):  # kept before the last event: the next identical request is a hit
                _timing_line(request, time.perf_counter() - t0, cached=False)
                if cache is not None:
                    cache.put(key, runs)
            events.put(("done", family, run))

    threading.Thread(target=work, daemon=True, name="compare").start()
    pending = len(FAMILIES)
    while pending:
        event = events.get()
        pending -= event[0] == "done"
        yield event


def _timing_line(request: Request, compute_s: float, cached: bool) -> None:
    """With HANDS_TIMING=1, one line per comparison on stderr, which bench/wait.py reads from the app's log to
    split a client's wait into computing and everything else."""
    if settings.timing_log():
        line = {"t": round(time.time(), 3), "prompt": request.prompt[:40], "seed": request.seed, "n": request.n,
                "steps": request.steps, "compute_s": round(compute_s, 3), "cached": cached}
        print(f"hands-timing {json.dumps(line)}", file=sys.stderr, flush=True)


def compare(registry: Registry, judge: Judge, request: Request, spec: HandSpec | None = None,
            cache: ResultCache | None = None) -> list[BackendRun]:
    """Every backend's scored answer, in FAMILIES order (see compare_events for how they run). Computed every
    time unless a `cache` is given: the benchmarks time it."""
    spec = spec or understand(request.prompt)
    runs = {family: run for kind, family, run in compare_events(registry, judge, request, spec, cache) if kind == "done"}
    return [runs[family] for family in FAMILIES]


def as_request(item: Request | Sequence) -> Request:
    """A Request, or /compare's raw inputs in its order (prompt, seed, n, steps, guidance, sampler, variant
    [, overlays]: what a lesson or a link holds), checked by `validate`."""
    return item if isinstance(item, Request) else validate(*list(item)[:7])


def precompute(registry: Registry, judge: Judge, requests: Iterable[Request | Sequence], parser: PromptParser | None = None,
               cache: ResultCache | None = None) -> list[Request]:
    """Compute each request now and keep it in `cache`, so that everyone who sends it later (a class on the
    lesson path) is answered from the cache; one already there costs nothing. `parser`: the app's, so that a
    prompt is understood as the app understands it (the spec is part of the key). Returns the requests computed
    (one that does not validate is skipped with a line on stderr)."""
    done = []
    for item in requests:
        try:
            request = as_request(item)
        except ValueError as err:  # a bad lesson must not keep the app from starting: its own run says why
            print(f"precompute: skipped {item!r}: {err}", file=sys.stderr, flush=True)
            continue
        compare(registry, judge, request, understand(request.prompt, parser), cache=cache)
        done.append(request)
    return done


WARM_UP = Request(prompt="a hand", seed=SEED.hi)  # at the defaults, so torch's kernels are ready for their shapes


def warm_up(registry: Registry, judge: Judge, parser: PromptParser, cache: ResultCache | None,
            requests: Iterable[Request | Sequence] = ()) -> None:
    """Pay every one-time cost before anyone waits, on the app's own objects (loaded once, in app.py).

    1. the judge's reference set for KID (500 clean renders: the largest one-time cost, 4-11 s on the 2-core CPU);
    2. every family's default weights and the prompt encoder; 3. one comparison at the defaults, not cached
    (torch picks its kernels for those shapes on the first call, the judge's networks load); 4. `precompute(requests)`.
    What it warms is the process's (torch) and the objects given; the lesson steps go to `cache`. A failing
    backend is left to say so on its first request."""
    started = time.perf_counter()
    judge.reference_features()
    for family in FAMILIES:
        try:
            registry.load(family)
        except BackendUnavailable:
            pass
    parser.preload(background=False)
    compare(registry, judge, WARM_UP, understand(WARM_UP.prompt, parser))
    done = precompute(registry, judge, requests, parser, cache)
    print(f"warm-up: {time.perf_counter() - started:.1f} s ({len(done)} requests precomputed)", file=sys.stderr, flush=True)


def use_serving_threads() -> int:
    """Torch's intra-op threads for serving: HANDS_THREADS, else 1, and returns the count. On the 2-core CPU the
    other core encodes and sends the pictures; torch on both cores made every /compare wait for them (measured
    in bench/wait.py: see README, Speed)."""
    import torch

    count = settings.threads() or 1
    torch.set_num_threads(count)
    return count


def upscale(image: Image.Image, size: int = 192) -> Image.Image:
    """Nearest-neighbour, so the pixels shown are the pixels generated (blur stays visible)."""
    return image.resize((size, size), Image.NEAREST) if image.width < size else image
