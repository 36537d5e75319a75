"""The comparison without the UI: every backend answers, in a fixed order, scored, reproducibly."""

import io

import pytest

from core.limits import GUIDANCE, IMAGES, PROMPT_MAX_CHARS, SEED, STEPS
from demo import pipeline
from models.registry import FAMILY_NAMES as FAMILIES
from models.registry import Registry

pytestmark = pytest.mark.skipif(not all(Registry().variants(f) for f in FAMILIES), reason="needs the shipped weights")


def _bytes(runs) -> list[bytes]:
    out = []
    for run in runs:
        for image in run.generation.images:
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            out.append(buffer.getvalue())
    return out


def test_compare_answers_every_backend_in_order_with_scores(registry, judge):
    runs = pipeline.compare(registry, judge, pipeline.validate("a peace sign", seed=3, n=2, steps=3))
    assert [r.backend for r in runs] == list(FAMILIES)
    for run in runs:
        assert run.ok, run.error
        assert len(run.generation.images) == 2 and len(run.reports) == 2
        assert all(0 <= r.hand_score <= 100 for r in run.reports)


def test_events_stream_steps_then_one_done_per_backend(registry, judge):
    request = pipeline.validate("a fist", seed=1, n=1, steps=4)
    events = list(pipeline.compare_events(registry, judge, request, pipeline.understand(request.prompt), cache=None))
    done = [family for kind, family, _ in events if kind == "done"]
    assert sorted(done) == sorted(FAMILIES)
    steps = [payload[0] for kind, family, payload in events if kind == "step" and family == "diffusion"]
    assert steps == [1, 2, 3, 4]
    last_step = max(i for i, (kind, family, _) in enumerate(events) if kind == "step")
    assert last_step < [i for i, (kind, family, _) in enumerate(events) if (kind, family) == ("done", "diffusion")][0]


def test_compare_in_its_worker_thread_gives_the_same_pixels_as_direct_calls(registry, judge):
    request = pipeline.validate("a hand holding a cup", seed=11, n=2, steps=3)
    first = _bytes(pipeline.compare(registry, judge, request))
    alone = _bytes([pipeline.run_backend(registry, judge, f, request, pipeline.understand(request.prompt)) for f in FAMILIES])
    assert first == alone == _bytes(pipeline.compare(registry, judge, request))


@pytest.mark.parametrize("field, bound", [("seed", SEED), ("n", IMAGES), ("steps", STEPS), ("guidance", GUIDANCE)])
def test_validation_bounds_are_core_limits(field, bound):
    """The API accepts exactly core.limits' range for every number (the bound that every generator checks too)."""
    for ok in (bound.lo, bound.hi):
        assert getattr(pipeline.validate("a fist", **{field: ok}), field) == ok
    for bad in (bound.lo - 1, bound.hi + 1):
        with pytest.raises(ValueError, match=field.capitalize()):
            pipeline.validate("a fist", **{field: bad})
    assert getattr(pipeline.Request(prompt="a fist"), field) == bound.default


def test_prompt_limit_is_core_limits():
    assert pipeline.validate("✋" * PROMPT_MAX_CHARS).prompt == "✋" * PROMPT_MAX_CHARS
    with pytest.raises(ValueError, match="too long"):
        pipeline.validate("✋" * (PROMPT_MAX_CHARS + 1))
