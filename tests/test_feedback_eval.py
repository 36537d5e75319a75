"""bench.feedback's choice of what it measures."""

from __future__ import annotations


def test_feedback_eval_takes_a_saved_state_but_records_only_into_a_variant(tmp_path):
    """bench.feedback --path: any saved diffusion state (a control's evals/step-N) is measured; --record needs the
    training.json it writes into, and a folder without a model is refused in one line."""
    import argparse

    from bench.feedback import candidate_generator
    from models.registry import Registry

    empty = tmp_path / "empty"
    empty.mkdir()
    saved = tmp_path / "step-000300"
    saved.mkdir()
    (saved / "model_index.json").write_text("{}")
    registry = Registry(tmp_path / "no-weights")
    assert "no diffusion model" in candidate_generator(argparse.Namespace(path=empty, record=False), registry)
    assert "no training.json" in candidate_generator(argparse.Namespace(path=saved, record=True), registry)


def test_the_confirmation_set_is_its_own_seeds_and_files(tmp_path):
    """--confirm draws seeds of its own (none of the held-out set's, none the judge's pairs use) and writes its own file
    and A/B sheet; the weights' digest tells which weights were measured, and changes with them."""
    from bench import feedback
    from bench.feedback_pairs import JUDGE_SEED

    assert feedback.CONFIRM_SEED >= feedback.EVAL_SEED + len(feedback.PROMPTS)
    assert JUDGE_SEED + 100 * len(feedback.PROMPTS) <= feedback.EVAL_SEED
    assert feedback.ab_name(tmp_path / "feedback_confirm.json") == "feedback_confirm_ab"
    assert feedback.ab_name(tmp_path / "feedback_eval_x.json") == "feedback_ab_x"
    (tmp_path / "unet").mkdir()
    (tmp_path / "unet" / "w.safetensors").write_bytes(b"one")
    first = feedback.weights_digest(tmp_path)
    (tmp_path / "unet" / "w.safetensors").write_bytes(b"two")
    assert len(first) == 16 and feedback.weights_digest(tmp_path) != first
