"""Distillation (models.training.distill): a few steps on a tiny teacher through `python -m models.train`, resumed,
exported, served by the registry as the `distilled` variant; the teacher's paths are the app's sampler.

A tiny random teacher stands in for the shipped one, so the file runs in seconds.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.vocab import HandSpec
from models import diffusion
from models.base import GenerateOptions, image_generators, randn
from models.registry import Registry, family_record
from models.train import main as train_main
from models.training import diffusion as training
from models.training import distill

TINY = {"channels": [32, 32, 32], "attention": [False, False, True], "embed_dim": 16}
SMALL_RUN = {"chunk": 4, "chunks_at_start": 1, "steps_per_chunk": 2, "val_paths": 4, "warmup_steps": 1}
SPEC = HandSpec(gesture="peace")


@pytest.fixture()
def weights(tmp_path, monkeypatch):
    """A weights root holding a tiny random teacher as diffusion/full (with its training.json), served from there."""
    torch.manual_seed(0)
    config = dict(training.TRAIN_DEFAULTS, **TINY, size=64)
    pipe = diffusion.HandDiffusionPipeline(
        unet=diffusion.build_unet(config), scheduler=diffusion.training_scheduler(),
        conditioner=diffusion.build_conditioner(config), patch=config["patch"])
    root = tmp_path / "weights"
    diffusion.save_fp16(pipe, root / "diffusion" / "full")
    (root / "diffusion" / "full" / "training.json").write_text(json.dumps({"config": config}))
    monkeypatch.setenv("HANDS_WEIGHTS", str(root))
    return root


def pixels(generation) -> np.ndarray:
    return np.stack([np.asarray(im) for im in generation.images])


def test_distil_resume_and_serve(weights, tmp_path, monkeypatch):
    """Finite losses, a run that resumes where it stopped (steps 1-4, not 1-2 then 1-2), the pool grown a chunk,
    and a student the registry serves at its own defaults with its guidance baked in."""
    for key, value in SMALL_RUN.items():
        monkeypatch.setitem(distill.TRAIN_DEFAULTS, key, value)
    run = tmp_path / "run"
    common = ["diffusion", "--variant", "distilled", "--data-size", "8", "--batch", "4", "--run-dir", str(run),
              "--export", str(weights / "diffusion" / "distilled"), "--log-every", "1", "--threads", "1"]
    assert train_main(common + ["--steps", "2"]) == 0
    assert train_main(common + ["--steps", "4"]) == 0

    rows = (run / "train_log.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    for name in ("loss", "val_999", "val_499"):
        assert all(np.isfinite(float(r.split(",")[header.index(name)])) for r in rows[1:]), name
    assert sorted(p.name for p in (run / "paths").iterdir()) == [
        "chunk-00000.safetensors", "chunk-00001.safetensors", "validation.safetensors"]
    info = json.loads((weights / "diffusion" / "distilled" / "training.json").read_text())
    assert info["steps"] == 4 and info["teacher"] == "diffusion/full" and info["data_size"] == 8

    student = Registry(weights).load("diffusion", "distilled")
    assert student.baked_guidance == 2.5 and student.defaults == family_record("diffusion").defaults_for("distilled")
    out = student.generate(SPEC, 1, 0)
    assert out.steps == out.evaluations == student.defaults.steps == 2
    assert np.array_equal(pixels(student.generate(SPEC, 1, 0, GenerateOptions(steps=1, guidance=0.0))),
                          pixels(student.generate(SPEC, 1, 0, GenerateOptions(steps=1, guidance=7.5))))
    teacher = Registry(weights).load("diffusion", "full")
    assert teacher.baked_guidance is None and teacher.defaults == family_record("diffusion").defaults


def test_teacher_paths_are_the_apps_sampler(weights):
    """Given the app's timesteps, a path ends where the pipeline's own sampling does, from the same noise."""
    teacher = diffusion.load_pipeline(weights / "diffusion" / "full")
    sampler = diffusion.make_sampler("dpm++", teacher.scheduler.config)
    sampler.set_timesteps(10)
    app_timesteps = sampler.timesteps.tolist()
    assert [a - b for a, b in zip(app_timesteps, distill.TRAIN_DEFAULTS["teacher_timesteps"], strict=True)] == [
        0, 0, 0, 0, 0, -1, 0, 0, 0, 0]  # the distilled paths: the app's, but through t=499
    config = dict(distill.TRAIN_DEFAULTS, teacher_timesteps=app_timesteps, store_t=[app_timesteps[0], 498])
    cond = torch.tensor([[3, 2, 4, 5, 3], [11, 0, 1, 2, 0]])
    gens = image_generators(5, "diffusion", 2)
    noise = teacher.to_unet_space(randn((3, 64, 64), gens))
    path = distill.teacher_paths(teacher, cond, noise, config)
    images, _ = teacher(cond, image_generators(5, "diffusion", 2), steps=10, guidance=2.5, sampler="dpm++",
                        bf16=diffusion.native_bf16(torch.device("cpu")))
    assert torch.allclose(teacher.to_image_space(path["x0"].float()), images, atol=2e-3)
    assert torch.equal(path[f"z{app_timesteps[0]}"].float(), noise.half().float()) and path["z498"].shape == noise.shape
