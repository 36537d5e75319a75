"""The app's cache of finished comparisons, the lesson precompute and the warm-up (demo.pipeline).

No timings here: the speed targets live in bench/wait.py and bench/students.py, which exit 1 when one is missed.
"""

import io
import threading

import pytest
import torch
from PIL import Image

from demo import pipeline
from judge import Judge
from models.base import Generation
from models.registry import FAMILY_NAMES as FAMILIES
from models.registry import Registry

needs_weights = pytest.mark.skipif(not all(Registry().variants(f) for f in FAMILIES), reason="needs the shipped weights")


def _run(family: str, images: int, ok: bool = True) -> pipeline.BackendRun:
    pictures = [Image.new("RGB", (4, 4), (k, 0, 0)) for k in range(images)]
    generation = Generation(pictures, family, "full", 0, 1, 0.0, 1)
    return pipeline.BackendRun(family, "full", generation=generation, error=None if ok else "broken")


def _runs(images: int = 1, ok: bool = True) -> list[pipeline.BackendRun]:
    return [_run(family, images, ok) for family in FAMILIES]


def _png(runs) -> list[bytes]:
    out = []
    for run in runs:
        for image in run.generation.images:
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            out.append(buffer.getvalue())
    return out


def test_cache_drops_the_least_recently_used_to_stay_within_its_images():
    cache = pipeline.ResultCache(max_images=2 * len(FAMILIES))  # room for two comparisons of one image each
    a, b, c = _runs(), _runs(), _runs()
    assert cache.put("a", a) and cache.put("b", b)
    assert cache.get("a") is a  # "a" is now the most recently used: "b" goes first
    assert cache.put("c", c)
    assert cache.get("b") is None and cache.get("a") is a and cache.get("c") is c
    assert len(cache) == 2 and cache.images == 2 * len(FAMILIES)
    assert (cache.hits, cache.misses) == (3, 1)


def test_cache_keeps_no_failed_or_oversized_comparison_and_replaces_a_key():
    cache = pipeline.ResultCache(max_images=2 * len(FAMILIES))
    assert not cache.put("broken", _runs(ok=False)) and cache.get("broken") is None
    assert not cache.put("big", _runs(images=3)) and len(cache) == 0
    first, second = _runs(), _runs(images=2)
    cache.put("k", first)
    cache.put("k", second)
    assert cache.get("k") is second and cache.images == 2 * len(FAMILIES)
    cache.clear()
    assert len(cache) == 0 and cache.images == 0


def test_cache_is_consistent_under_threads():
    cache = pipeline.ResultCache(max_images=10 * len(FAMILIES))

    def work(k: int) -> None:
        for i in range(200):
            cache.put((k, i % 15), _runs())
            cache.get((k, (i * 7) % 15))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 10 and cache.images == 10 * len(FAMILIES)


def test_cache_size_comes_from_the_setting(monkeypatch):
    from core import settings

    monkeypatch.setenv("HANDS_RESULT_CACHE", "48")
    assert settings.result_cache_images() == 48
    monkeypatch.setenv("HANDS_RESULT_CACHE", "-3")
    assert settings.result_cache_images() == 0
    monkeypatch.delenv("HANDS_RESULT_CACHE")
    assert settings.result_cache_images() == 384


@needs_weights
def test_an_identical_request_is_answered_from_the_cache_with_the_same_pictures(registry, judge):
    cache = pipeline.ResultCache(max_images=100)
    request = pipeline.validate("a peace sign", seed=21, n=1, steps=2)
    spec = pipeline.understand(request.prompt)
    first = list(pipeline.compare_events(registry, judge, request, spec, cache))
    again = list(pipeline.compare_events(registry, judge, request, spec, cache))
    assert any(kind == "step" for kind, _, _ in first)
    assert [(kind, family) for kind, family, _ in again] == [("done", f) for f in FAMILIES]  # no steps: nothing ran
    done = {family: run for kind, family, run in first if kind == "done"}
    assert all(run is done[run.backend] for _, _, run in again)
    assert _png([r for _, _, r in again]) == _png([done[f] for f in FAMILIES])
    assert (cache.hits, len(cache)) == (1, 1)
    other = pipeline.validate("a peace sign", seed=22, n=1, steps=2)  # another seed is another request
    assert any(kind == "step" for kind, _, _ in pipeline.compare_events(registry, judge, other, spec, cache))
    assert pipeline.cache_key(registry, Judge.load(), request, spec) != pipeline.cache_key(registry, judge, request, spec)


@needs_weights
def test_compare_computes_unless_given_a_cache(registry, judge):
    """The benchmarks time pipeline.compare: it must never be answered from the app's cache."""
    request = pipeline.validate("a fist", seed=23, n=1, steps=2)
    spec = pipeline.understand(request.prompt)
    first, second = pipeline.compare(registry, judge, request, spec), pipeline.compare(registry, judge, request, spec)
    assert all(a is not b for a, b in zip(first, second)) and _png(first) == _png(second)


@needs_weights
def test_precompute_fills_the_cache_for_lesson_inputs_and_skips_a_bad_one(registry, judge, capsys):
    from demo import links

    cache = pipeline.ResultCache(max_images=100)
    lesson = links.Inputs("a thumbs up", seed=24, images_per_backend=1, steps=2)
    done = pipeline.precompute(registry, judge, [lesson.as_list(), ["", 1]], cache=cache)
    assert done == [pipeline.as_request(lesson.as_list())] and "skipped" in capsys.readouterr().err
    spec = pipeline.understand(done[0].prompt)
    events = list(pipeline.compare_events(registry, judge, done[0], spec, cache))
    assert [kind for kind, _, _ in events] == ["done"] * len(FAMILIES) and cache.hits == 1


@needs_weights
def test_warm_up_computes_the_reference_set_and_precomputes_into_the_cache(registry, judge):
    request = pipeline.Request("a peace sign", seed=25, n=1, steps=2)
    from prompt import PromptParser

    cache = pipeline.ResultCache(max_images=100)
    pipeline.warm_up(registry, judge, PromptParser(), cache, requests=[request])
    assert judge._references  # the KID reference set: computed, not left to the first request
    key = pipeline.cache_key(registry, judge, request, pipeline.understand(request.prompt))
    assert cache.get(key) is not None


def test_serving_threads_follow_the_setting(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("HANDS_THREADS", raising=False)
        assert pipeline.use_serving_threads() == 1 == torch.get_num_threads()
        monkeypatch.setenv("HANDS_THREADS", "2")
        assert pipeline.use_serving_threads() == 2 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
