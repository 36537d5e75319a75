"""What a class reads, without a browser or a model: verdict lines, links, lessons, the claims view, the slide."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from core.limits import DEFAULT_SAMPLER, IMAGES, SEED
from core.settings import REPO_ROOT
from core.vocab import HandSpec
from demo import claims, lessons, links, pipeline, present, slide
from judge.report import HandReport, SetReport
from models.base import Generation

PEACE = HandSpec(gesture="peace")


def report(**fields) -> HandReport:
    base = dict(hand_found=True, hand_score=92.0, extended_count=2, expected_count=2, gesture_match=True, flags=[])
    return HandReport(**{**base, **fields})


@pytest.mark.parametrize("fields,kind,words", [
    ({}, "right", "peace sign, 2 fingers up"),
    ({"hand_found": False, "hand_score": 0.0, "flags": ["no_hand"]}, "wrong", "not a hand"),
    ({"extended_count": 6, "flags": ["extra_finger", "wrong_gesture"], "gesture_match": False}, "wrong",
     "6 fingers (a hand has 5)"),
    ({"extended_count": 3, "flags": ["extra_finger", "wrong_gesture"], "gesture_match": False}, "wrong",
     "3 fingers up, asked for 2"),
    ({"flags": ["fused_fingers", "joint_past_limit"], "hand_score": 80.0}, "wrong",
     "fingers fused together, a joint bent the wrong way"),
    ({"flags": ["blurry"], "hand_score": 85.0}, "unsure", "blurry, 2 fingers up"),
    ({"hand_score": present.SURE_SCORE - 5}, "unsure", "2 fingers up, looks odd"),  # under SURE_SCORE: never "right"
    ({"extended_count": 1, "gesture_match": False, "flags": ["missing_finger", "wrong_gesture"], "hand_score": 75.0},
     "wrong", "1 finger up, asked for 2"),  # fewer than asked is wrong, seen edge-on or not
    ({"flags": ["a_new_flag"]}, "wrong", "a new flag"),
])
def test_verdict_words(fields, kind, words):
    v = present.verdict(report(**fields), PEACE)
    assert (v.kind, v.words) == (kind, words)
    assert v.line.startswith({"right": "✓", "wrong": "✗", "unsure": "?"}[kind])


def test_verdict_threshold_is_the_sure_score():
    assert present.verdict(report(hand_score=present.SURE_SCORE), PEACE).kind == "right"
    assert present.verdict(report(hand_score=present.SURE_SCORE - 0.1), PEACE).kind == "unsure"


def test_right_needs_people_to_see_what_was_asked():
    """A clean, high-scoring hand is ✓ only when the matches head expects people to see the asked-for gesture."""
    sure = report(hand_score=90.0, p_matches=0.95)
    doubt = report(hand_score=90.0, p_matches=0.05)
    assert present.verdict(sure, PEACE, sure_match=0.6).kind == "right"
    assert (present.verdict(doubt, PEACE, sure_match=0.6).kind,
            present.verdict(doubt, PEACE, sure_match=0.6).words) == ("unsure", "2 fingers up, may not look like what was asked")
    assert present.verdict(report(hand_score=90.0), PEACE, sure_match=0.6).kind == "right"  # no matches head: score only


def test_one_finger_is_singular_and_any_hand_is_named():
    assert present.verdict(report(extended_count=1, expected_count=None, gesture_match=None), HandSpec()).words == \
        "a hand, 1 finger up"
    assert present.fingers(0) == "no fingers up"


def fake_run(backend: str, reports: list[HandReport]) -> pipeline.BackendRun:
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)) for _ in reports]
    for r, im in zip(reports, images):
        r.image = np.asarray(im)
    generation = Generation(images, backend, "full", 0, 10, 0.5, 10)
    set_report = SetReport(len(reports), 1.0, 80.0, (70.0, 90.0), 0.5, 0.0, None, 3.0, None, 1.0)
    return pipeline.BackendRun(backend, "full", generation, reports, set_report)


def test_column_sentence_counts_right_and_unsure():
    low = report(hand_score=present.SURE_SCORE - 5)
    run = fake_run("diffusion", [report(), report(), low, report(hand_found=False, flags=["no_hand"])])
    assert present.tally(run, PEACE) == "2 of 4 hands right, 1 unsure"
    assert "Diffusion: 2 of 4 hands right" in present.column_sentence(run, PEACE)


def test_every_picture_has_its_whole_verdict_under_it():
    run = fake_run("gan", [report(), report(extended_count=6, flags=["extra_finger"], gesture_match=False)])
    page = present.pictures_html(run, PEACE)
    assert page.count("<figure") == 2 and page.count("data:image/png;base64,") == 2
    assert "6 fingers (a hand has 5)" in page and "peace sign, 2 fingers up" in page


def test_summary_table_has_plain_column_names_even_when_empty():
    frame = present.summary_frame([])
    assert list(frame.columns) == present.SUMMARY_COLUMNS
    assert not any("_" in c for c in frame.columns)


def test_link_round_trip():
    inputs = links.Inputs("a fist, left hand & more", seed=3, images_per_backend=2, steps=20, guidance=5.0,
                          sampler="ddim", training_data="scarce", show_overlays=True)
    query = links.to_query(inputs)
    assert query.startswith("?prompt=a+fist") and "seed=3" in query and "overlays=1" in query
    params = dict(p.split("=", 1) for p in query[1:].split("&"))
    from urllib.parse import unquote_plus

    assert links.from_query({k: unquote_plus(v) for k, v in params.items()}) == (inputs, [])


def test_link_without_prompt_or_with_bad_values():
    assert links.from_query({}) == (None, [])
    inputs, unread = links.from_query({"prompt": "a fist", "seed": "7.5", "n": "two", "steps": "inf"})
    assert inputs == links.Inputs("a fist") and sorted(unread) == ["n", "seed", "steps"]
    assert links.Inputs("x").seed == SEED.default and links.Inputs("x").images_per_backend == IMAGES.default
    assert links.Inputs("x").sampler == DEFAULT_SAMPLER


def test_lessons_are_runnable_and_in_order():
    titles = lessons.titles()
    assert len(set(titles)) == len(titles) == len(lessons.LESSONS) >= 7
    for lesson in lessons.LESSONS:
        assert lesson.why and lesson.look
        if lesson.inputs is not None:
            pipeline.validate(*lesson.inputs.as_list()[:7])  # raises on a value the app would refuse
    assert lessons.LESSONS[-1].inputs is None and "Rate hands tab" in lessons.LESSONS[-1].look  # the arena, demo/arena_tab.py
    assert lessons.by_title(titles[0]) is lessons.LESSONS[0] and lessons.by_title("nope") is None


def test_claims_view_groups_every_benchmark_claim():
    rows = json.loads((REPO_ROOT / "results" / "benchmark.json").read_text())["claims"]
    groups = claims.grouped(rows)
    shown = sum(len(c.rows) for _, cs in groups for c in cs)
    assert shown == len(rows)
    assert [g.title for g, _ in groups][:9] == [g.title for g in claims.GROUPS]
    page = "".join(claims.group_html(g, c) for g, c in groups)
    assert page.count('class="claim"') < len(rows)  # per-model claims are merged
    assert "<svg" in page and "vae−gan" not in page and "snake_case" not in page


def test_claims_numbers_read_as_words():
    assert claims.readable("vae−gan -0.64 [-0.82, -0.46]") == "VAE − GAN: -0.64 (likely between -0.82 and -0.46)"
    assert claims.measures("58% vs renders 16%", "gan") == [claims.Measure("GAN", 58.0), claims.Measure("renders (clean)", 16.0)]
    assert claims.measures("step-001600 38.4 → final 44.0 (one run, no CI)", "")[0].label == "step 1,600"


def test_slide_is_one_png_with_every_verdict():
    runs = [fake_run(f, [report(), report(extended_count=6, flags=["extra_finger"], gesture_match=False),
                         report(hand_score=55.0), report(flags=["fused_fingers", "long_finger", "joint_past_limit"])])
            for f in ("vae", "gan", "diffusion")]
    inputs = links.Inputs("a peace sign", seed=4)
    image = slide.compose(inputs, runs, PEACE)
    assert image.size == slide.SIZE
    assert slide.file_name(inputs) == "hands-a-peace-sign-seed-4.png"
    draw = __import__("PIL.ImageDraw", fromlist=["ImageDraw"]).Draw(image)
    per_row, side, caption_h, size = slide.grid(draw, present.verdicts(runs[0], PEACE), 560, 780)
    assert side >= 0.6 * 270 and size >= 14
