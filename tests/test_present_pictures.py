"""A class repeating a lesson gets the very same pictures: each is encoded and written once (`present.Pictures`);
/compare's answers carry no picture files, /pictures does (`CompareHandlers`)."""

from __future__ import annotations

import gc
from pathlib import Path

import gradio as gr
import pytest
from PIL import Image
from test_present import PEACE, fake_run, report

from demo import compare_tab, pipeline, present
from models.registry import FAMILY_NAMES as FAMILIES


class CountingSaver:
    """A `save` that writes into a folder and counts its writes."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.writes = folder, 0

    def __call__(self, image: Image.Image) -> str:
        self.writes += 1
        path = self.folder / f"{self.writes}.png"
        image.save(path)
        return str(path)


def test_each_gallery_picture_is_written_once(tmp_path):
    save = CountingSaver(tmp_path)
    pictures = present.Pictures(save)
    run = fake_run("gan", [report(), report(hand_score=50.0)])
    first = present.gallery_items(run, PEACE, pictures=pictures)
    again = present.gallery_items(run, PEACE, pictures=pictures)
    assert save.writes == 2 and first == again  # thirty students, still two files, never rewritten
    path, caption = first[0]
    assert Image.open(path).size == (192, 192) and caption.startswith("✓") and "/100" in caption
    other = present.gallery_items(fake_run("gan", [report()]), PEACE, pictures=pictures)
    assert save.writes == 3 and other[0][0] not in {p for p, _ in first}


def test_data_urls_are_made_once_and_match_the_pictures():
    pictures, run = present.Pictures(), fake_run("vae", [report(), report()])
    page = present.pictures_html(run, PEACE, pictures=pictures)
    assert page == present.pictures_html(run, PEACE)  # the memo changes nothing a class sees
    assert pictures.url(run, 0, False) is pictures.url(run, 0, False)
    assert pictures.url(run, 0, False) == present.data_url(run.generation.images[0])


def test_the_memo_forgets_a_picture_with_the_picture(tmp_path):
    pictures = present.Pictures(CountingSaver(tmp_path))
    run = fake_run("vae", [report(), report(), report()])
    present.gallery_items(run, PEACE, pictures=pictures)
    present.pictures_html(run, PEACE, pictures=pictures)
    assert len(pictures.memo) == 3
    del run
    gc.collect()
    assert len(pictures.memo) == 0  # no leak: the cache's LRU decides how long a picture lives


def test_without_a_saver_the_gallery_gets_the_pictures():
    run = fake_run("diffusion", [report()])
    (image, _), = present.gallery_items(run, PEACE)
    assert isinstance(image, Image.Image) and image.size == (192, 192)


@pytest.fixture
def handlers(monkeypatch, tmp_path):
    """CompareHandlers on made-up runs: pipeline.compare_events answers every family at once."""
    runs = {f: fake_run(f, [report(), report()]) for f in FAMILIES}

    def events(*_args, **_kwargs):
        for family in FAMILIES:
            yield "done", family, runs[family]

    monkeypatch.setattr(pipeline, "compare_events", events)
    monkeypatch.setattr(pipeline, "understand", lambda prompt, parser=None: PEACE)
    return compare_tab.CompareHandlers(None, None, None, None, present.Pictures(CountingSaver(tmp_path)))


def test_compare_sends_no_files_and_pictures_writes_each_once(handlers):
    answers = list(handlers.on_compare("a peace sign", 1, 2, 4, 2.5, "dpm++", "full", False))
    assert not any(isinstance(value, list) for answer in answers for value in answer)  # no gallery, no file
    pages = answers[-1][1 + len(FAMILIES):1 + 2 * len(FAMILIES)]
    assert all(page.count("data:image/png;base64,") == 2 for page in pages)  # the pictures travel inline
    saved = answers[-1][-1]
    first, again = handlers.on_pictures(saved), handlers.on_pictures(saved)
    assert first == again and all(len(g) == 2 and Path(g[0][0]).is_file() for g in first)
    assert handlers.pictures.save.writes == 2 * len(FAMILIES)  # a class asking again reads the same files
    assert handlers.on_pictures(None) == [[]] * len(FAMILIES)


def test_a_cached_answer_is_one_message_and_details_closed_sends_no_files(handlers, monkeypatch):
    cache = pipeline.ResultCache(10)
    cache.put(("a lesson",), [fake_run(f, [report()]) for f in FAMILIES])
    monkeypatch.setattr(pipeline, "cache_key", lambda *_: ("a lesson",))  # every request is the cached lesson
    handlers = compare_tab.CompareHandlers(None, None, None, cache, handlers.pictures)
    answers = list(handlers.on_compare("a peace sign", 1, 2, 4, 2.5, "dpm++", "full", False))
    assert len(answers) == 1 and len(answers[0]) == len(compare_tab.CompareOutputs.unchanged())
    saved = answers[0][-1]
    assert all(isinstance(g, type(gr.skip())) for g in handlers.on_done(saved, details_open=False))
    assert [len(g) for g in handlers.on_done(saved, details_open=True)] == [2] * len(FAMILIES)


def test_the_cache_says_what_it_holds_without_counting_a_hit():
    cache, run = pipeline.ResultCache(10), fake_run("vae", [report()])
    cache.put(("k",), [run])
    assert ("k",) in cache and ("other",) not in cache and (cache.hits, cache.misses) == (0, 0)
