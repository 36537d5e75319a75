"""'Fix it with feedback' (demo/feedback_tab.py) and the human-feedback claim (bench/feedback_report.py): the view
draws full and feedback from the same seed as PNG pictures with their verdicts, says in one line what is missing,
states the measured gain and its bar plainly, and the claims table takes its verdict from the evaluation file."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image

from bench import claims, feedback_loop, feedback_report
from core.limits import FEEDBACK_VIEW_SEED
from core.prompts import PROMPTS
from demo import feedback_tab, pipeline
from demo.claims import grouped
from demo.feedback_tab import FeedbackHandlers, build_feedback_tab, gain_markdown, load_evaluation
from models.registry import FEEDBACK, Registry
from prompt import PromptParser

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "models" / "weights" / "diffusion"
EVALUATION = {  # bench.feedback's schema, with made-up figures: a small gain that chance could give
    "command": "python -m bench.feedback --record", "candidate": "feedback", "judge": {"commit": "abc1234", "uncommitted": False},
    "quick": False, "seed": 900000, "prompts": 14, "per_prompt": 15, "images": 210, "near_duplicate_threshold": 3.2,
    "models": {name: {"n_images": 210, "hand_score": [score, score - 2, score + 2], "finger_accuracy": [right, right - 0.07, right + 0.07],
                      "hand_found_rate": 0.9, "malformation_rate": 0.2, "kid": [0.7, 0.05], "diversity": 7.0,
                      "reference_diversity": 8.0, "diversity_per_prompt": [7.0], "near_duplicates": 0.11}
               for name, score, right in (("full", 42.5, 0.53), ("candidate", 43.1, 0.555))},
    "comparison": {"hand_score": [0.6, -0.8, 2.0], "fingers_right_points": [2.4, -1.9, 6.7],
                   "mcnemar": {"only_candidate_right": 14, "only_full_right": 9, "p": 0.405},
                   "near_duplicates_points": [0.5, -1.0, 2.0], "diversity_per_prompt": [-0.01, -0.05, 0.03],
                   "kid": {"candidate": [0.7, 0.05], "full": [0.718, 0.05]},
                   "bars": {"fingers_right_up_8_points_ci_above_0": False, "fingers_right_mcnemar_p_below_0.05": False,
                            "hand_score_does_not_fall": True, "hand_score_not_significantly_lower": True,
                            "near_duplicates_rise_at_most_3_points": True},
                   "claim_human_feedback_improves_hands": "inconclusive"},
}


@pytest.fixture(autouse=True)
def one_thread():
    """Small and fast, like the app serves (conftest gives the count back after each test)."""
    torch.set_num_threads(1)


def weights(tmp_path: Path, feedback: str | None) -> Registry:
    """A weights root with diffusion/full and, as diffusion/feedback, the shipped variant `feedback` (None: none).
    The test stands another model in for feedback, so that a view drawing full twice, or swapping them, shows."""
    root = tmp_path / "weights" / "diffusion"
    root.mkdir(parents=True)
    (root / "full").symlink_to(SHIPPED / "full")
    if feedback is not None:
        (root / FEEDBACK).symlink_to(SHIPPED / feedback)
    return Registry(root.parent)


def handlers(registry: Registry, judge) -> FeedbackHandlers:
    return FeedbackHandlers(registry, PromptParser(), judge)  # the rules read every benchmark prompt: no encoder


def test_view_draws_full_and_feedback_from_the_same_seed_as_png(tmp_path, judge):
    registry = weights(tmp_path, feedback="scarce")
    before, after, before_line, after_line = handlers(registry, judge).on_show(PROMPTS["peace"], 123)
    spec = PromptParser().parse(PROMPTS["peace"])
    for shown, variant in ((before, "full"), (after, FEEDBACK)):
        drawn = registry.load("diffusion", variant).generate(spec, 1, 123).images[0]  # the family's defaults, seed 123
        assert shown.size == (feedback_tab.SHOWN_SIZE,) * 2
        assert np.array_equal(np.asarray(shown), np.asarray(pipeline.upscale(drawn, feedback_tab.SHOWN_SIZE)))
    assert not np.array_equal(np.asarray(before), np.asarray(after))
    assert before_line.startswith("**Before** (diffusion/full): ") and after_line.startswith("**After** (diffusion/feedback): ")
    assert all(line.split(": ", 1)[1][0] in "✓✗?" and "/100" in line for line in (before_line, after_line))
    other = handlers(registry, judge).on_show(PROMPTS["peace"], 124)[0]
    assert not np.array_equal(np.asarray(before), np.asarray(other))  # the seed is used
    with gr.Blocks() as demo:
        build_feedback_tab(registry, "compute", PromptParser(), judge)
    images = [b for b in demo.blocks.values() if isinstance(b, gr.Image)]
    assert {image.format for image in images} == {"png"}  # never lossy WebP for 64 px hands
    api = demo.get_api_info()["named_endpoints"]["/fix_with_feedback"]
    assert [p["parameter_name"] for p in api["parameters"]] == ["prompt", "seed"]
    assert not any(r["label"].startswith("value_") for r in api["returns"])


def test_missing_variant_says_so_in_one_line(tmp_path, judge):
    registry = weights(tmp_path, feedback=None)
    with pytest.raises(gr.Error) as raised:
        handlers(registry, judge).on_show(PROMPTS["peace"], 1)
    assert "not installed" in raised.value.message and "\n" not in raised.value.message
    with gr.Blocks() as demo:
        build_feedback_tab(registry, "compute", PromptParser(), judge, evaluation=tmp_path / "none.json")
    texts = [b.value for b in demo.blocks.values() if isinstance(b, gr.Markdown)]
    assert f"**{feedback_tab.MISSING_VARIANT}**" in texts and feedback_tab.MISSING_EVAL in texts
    button = next(b for b in demo.blocks.values() if isinstance(b, gr.Button) and b.elem_id == "feedback-show")
    assert button.interactive is False


def test_the_view_says_what_the_variant_learnt_from(tmp_path):
    folder = tmp_path / "diffusion" / FEEDBACK
    assert feedback_tab.learnt_from(Registry(tmp_path)) == ""  # no training.json: nothing said
    folder.mkdir(parents=True)
    (folder / "training.json").write_text(json.dumps({"reference": "diffusion/full", "steps": 300, "data_size": 3835,
                                                      "method": "dpo on raters pairs (models.training.dpo)",
                                                      "feedback": {"pairs": "raters"}}))
    assert feedback_tab.learnt_from(Registry(tmp_path)) == ("diffusion/feedback is diffusion/full fine-tuned for 300 "
                                                            "steps on 3,835 preference pairs (dpo on raters pairs): "
                                                            "pictures that people rated at least a point apart.")
    (folder / "training.json").write_text(json.dumps({"reference": "diffusion/full", "steps": 300, "data_size": 2096,
                                                      "method": "dpo-renders on judge pairs (models.training.dpo)",
                                                      "feedback": {"pairs": "judge"}}))
    assert "not from people directly" in feedback_tab.learnt_from(Registry(tmp_path))


def test_missing_or_unreadable_evaluation_is_one_line(tmp_path):
    assert load_evaluation(tmp_path / "none.json") is None
    (tmp_path / "bad.json").write_text("{not json")
    assert gain_markdown(load_evaluation(tmp_path / "bad.json")) == feedback_tab.MISSING_EVAL
    broken = gain_markdown({"images": 3})
    assert "could not be read" in broken and "\n" not in broken
    assert feedback_report.section(None) == feedback_report.MISSING and feedback_report.claim_row(None) is None


def test_gain_is_stated_plainly_even_when_the_bar_is_missed():
    text = gain_markdown(EVALUATION)
    assert "+2.4 points (likely −1.9 to +6.7)" in text and "McNemar p = 0.405" in text
    assert "**Human feedback improves hands: inconclusive.**" in text and "could be chance" in text
    assert "**The project's bar: NOT met.**" in text and "✗ fingers right up 8 points" in text
    holds = copy.deepcopy(EVALUATION)
    holds["comparison"]["claim_human_feedback_improves_hands"] = "holds"
    holds["comparison"]["bars"] = {name: True for name in holds["comparison"]["bars"]}
    text = gain_markdown(holds)
    assert "improves hands: holds.**" in text and "**The project's bar: met.**" in text and "✗" not in text


def test_claims_row_and_report_section_read_the_files_verdict(tmp_path):
    evaluation = copy.deepcopy(EVALUATION)
    evaluation["comparison"]["claim_human_feedback_improves_hands"] = "does not hold"
    (tmp_path / "feedback_eval.json").write_text(json.dumps(evaluation))
    for name in ("benchmark.json", "benchmark.md"):
        shutil.copy(ROOT / "results" / name, tmp_path / name)
    args = ["--results", str(tmp_path / "benchmark.json"), "--out", str(tmp_path), "--feedback", str(tmp_path / "feedback_eval.json")]
    assert claims.main(args) == 0 and claims.main(args) == 0  # twice: the row and the section are redone, not doubled
    rows = [r for r in json.loads((tmp_path / "claims.json").read_text())["claims"] if r["claim"] == feedback_report.CLAIM]
    assert len(rows) == 1 and rows[0]["verdict"] == "does not hold" and "2.4 [-1.9, 6.7]" in rows[0]["values"]
    report = (tmp_path / "benchmark.md").read_text()
    assert report.count(feedback_report.HEADING) == 1 and "Human feedback improves hands\": does not hold" in report
    assert "| Human feedback improves hands |" in (tmp_path / "claims.md").read_text()
    group = next(claims_ for g, claims_ in grouped(rows) if g.title == "Fix: feedback")
    assert [c.verdicts[""] for c in group] == ["does not hold"]  # the app's "Why hands?" card


def test_the_view_opens_on_the_held_out_seed():
    from bench.feedback import EVAL_SEED

    assert FEEDBACK_VIEW_SEED == EVAL_SEED


def test_loop_picture_is_drawn_and_committed(tmp_path):
    assert feedback_loop.main(["--out", str(tmp_path / "loop.png")]) == 0
    drawn = Image.open(tmp_path / "loop.png")
    assert drawn.format == "PNG" and drawn.size == (feedback_loop.WIDTH, feedback_loop.HEIGHT)
    assert (ROOT / "results" / "feedback_loop.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_fine_tunes_log_does_not_break_the_training_curves(tmp_path):
    """diffusion/feedback's DPO log counts steps and pair accuracies, not images seen: the curves leave it out (it
    raised KeyError, and with it the whole app failed to build)."""
    from demo.inside_tab import training_curves

    registry = weights(tmp_path, feedback=None)
    folder = registry.weights_root / "diffusion" / "dpo"
    folder.mkdir()
    (folder / "weights.safetensors").write_bytes(b"")  # a variant is a folder holding safetensors
    (folder / "train_log.csv").write_text("step,wall_s,loss,heldout_accuracy\n25,112.1,3.02,0.5\n")
    curves = training_curves(registry, "diffusion")
    assert set(curves["training data"]) == {"full"} and len(curves) > 0


def test_the_claim_rests_on_the_confirmation_set_of_the_same_weights(tmp_path):
    """Several runs were compared on the held-out seeds, so the chosen one's verdict comes from the confirmation set
    when it measured the same weights with the same judge; a confirmation of other weights is not read."""
    evaluation = copy.deepcopy(EVALUATION)
    evaluation["weights"] = "aaaa"
    evaluation["comparison"].update(fingers_right_points=[8.1, 1.0, 15.0], claim_human_feedback_improves_hands="holds")
    confirmation = copy.deepcopy(EVALUATION)
    confirmation.update(weights="aaaa", seed=950000, command="python -m bench.feedback --confirm --record")
    confirmation["comparison"]["fingers_right_points"] = [5.0, -1.0, 11.0]
    (tmp_path / "feedback_eval.json").write_text(json.dumps(evaluation))
    (tmp_path / "feedback_confirm.json").write_text(json.dumps(confirmation))
    for name in ("benchmark.json", "benchmark.md"):
        shutil.copy(ROOT / "results" / name, tmp_path / name)
    args = ["--results", str(tmp_path / "benchmark.json"), "--out", str(tmp_path), "--feedback", str(tmp_path / "feedback_eval.json"),
            "--feedback-confirm", str(tmp_path / "feedback_confirm.json")]
    assert claims.main(args) == 0
    row = next(r for r in json.loads((tmp_path / "claims.json").read_text())["claims"] if r["claim"] == feedback_report.CLAIM)
    assert row["verdict"] == "inconclusive" and "5.0 [-1.0, 11.0]" in row["values"] and "compared on: 8.1" in row["values"]
    assert "confirmation pictures" in row["metric"]
    report = (tmp_path / "benchmark.md").read_text()
    assert "Confirmation set, drawn once" in report and "inconclusive** (on the confirmation set)" in report
    text = gain_markdown(load_evaluation(tmp_path / "feedback_eval.json", tmp_path / "feedback_confirm.json"))
    assert "new pictures" in text and "+5.0 points (likely −1.0 to +11.0)" in text and "improves hands: inconclusive" in text

    confirmation["weights"] = "bbbb"  # measured on other weights: not this evaluation's confirmation
    (tmp_path / "feedback_confirm.json").write_text(json.dumps(confirmation))
    assert claims.main(args) == 0
    row = next(r for r in json.loads((tmp_path / "claims.json").read_text())["claims"] if r["claim"] == feedback_report.CLAIM)
    assert row["verdict"] == "holds" and "held-out pictures" in row["metric"]
