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
