"""One comparison, without any UI: validate a request, understand the prompt, run each backend
through the `Generator` protocol, score every hand. The Gradio tabs and the benchmark call this.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from PIL import Image

from demo.gpu import on_gpu
from hands import score as scorer
from hands.spec import parse
from hands.vocab import HandSpec
from models import registry
from models.base import FAMILIES, GenerateOptions, Generation, StepCallback

SAMPLERS = ("dpm++", "ddim", "ddpm")
VARIANTS = ("full", "scarce")
MAX_PROMPT = 2000
LIMITS = {"seed": (0, 2**31 - 1), "n": (1, 8), "steps": (1, 250), "guidance": (0.0, 15.0)}


@dataclass(frozen=True)
class Request:
    prompt: str
    seed: int = 0
    n: int = 4
    steps: int = 20
    guidance: float = 2.5
    sampler: str = "dpm++"
    variant: str = "full"


def _number(name: str, value, integer: bool) -> float:
    lo, hi = LIMITS[name]
    label = name.capitalize()
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be a number from {lo} to {hi}, got {str(value)[:40]!r}.") from None
    if not math.isfinite(number) or not lo <= number <= hi:
        raise ValueError(f"{label} must be from {lo} to {hi}, got {str(value)[:40]}.")
    if integer and number != int(number):
        raise ValueError(f"{label} must be a whole number, got {value}.")
    return int(number) if integer else number


def validate(prompt, seed=0, n=4, steps=20, guidance=2.5, sampler="dpm++", variant="full") -> Request:
    """Turn raw UI/API input into a Request, or raise ValueError with a message for a person."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("The prompt is empty: describe a hand, e.g. 'a peace sign' or 'a hand holding a banana'.")
    if len(prompt) > MAX_PROMPT:
        raise ValueError(f"The prompt is too long ({len(prompt):,} characters); keep it under {MAX_PROMPT:,}.")
    if sampler not in SAMPLERS:
        raise ValueError(f"Sampler must be one of {', '.join(SAMPLERS)}.")
    if variant not in VARIANTS:
        raise ValueError(f"Training data must be one of {', '.join(VARIANTS)}.")
    return Request(
        prompt=prompt.strip(),
        seed=_number("seed", seed, True),
        n=_number("n", n, True),
        steps=_number("steps", steps, True),
        guidance=_number("guidance", guidance, False),
        sampler=sampler,
        variant=variant,
    )


def understand(prompt: str) -> HandSpec:
    return parse(prompt)


@dataclass
class BackendRun:
    """One backend's answer to a request: images, what they cost, and their scores."""

    backend: str
    variant: str
    generation: Generation | None = None
    reports: list = field(default_factory=list)
    set_report: object | None = None
    score_s: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@on_gpu(duration=60)
def run_backend(family: str, request: Request, spec: HandSpec, callback: StepCallback | None = None,
                keep_frames: bool = False) -> BackendRun:
    """Generate and score; a broken backend returns an error message, never an exception."""
    run = BackendRun(backend=family, variant=request.variant)
    try:
        generator = registry.load(family, request.variant)
    except registry.BackendUnavailable as err:
        run.error = str(err)
        return run
    options = GenerateOptions(steps=request.steps, guidance=request.guidance, sampler=request.sampler, keep_frames=keep_frames)
    try:
        run.generation = generator.generate(spec, request.n, request.seed, options, callback)
    except Exception as err:  # one failing family must not take the comparison down
        run.error = f"{family}/{request.variant} failed to generate ({type(err).__name__}: {err})"
        return run
    t0 = time.perf_counter()
    run.set_report = scorer.score_set(run.generation.images, spec)
    run.reports = run.set_report.reports
    run.score_s = time.perf_counter() - t0
    return run


def compare(request: Request, spec: HandSpec | None = None) -> list[BackendRun]:
    """All backends, one after another (they share the CPU; parallel runs only slow each other)."""
    spec = spec or understand(request.prompt)
    return [run_backend(family, request, spec) for family in FAMILIES]


def upscale(image: Image.Image, size: int = 192) -> Image.Image:
    """Nearest-neighbour, so the pixels shown are the pixels generated (blur stays visible)."""
    return image.resize((size, size), Image.NEAREST) if image.width < size else image
