"""The diffusion family: training loop, diffusers save/load, seeds, samplers, streaming callback.

A tiny UNet (random or a few steps trained) stands in for the real one so the file runs in
seconds; the shipped weights get their own test when they exist.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

from core.limits import GUIDANCE, IMAGES, SAMPLERS, SEED, STEPS
from core.settings import REPO_ROOT
from core.vocab import HandSpec
from models import diffusion
from models.base import GenerateOptions, Generator
from models.registry import Registry
from models.train import main as train_main
from models.training import diffusion as training

TINY = {"channels": [32, 32, 32], "attention": [False, False, True], "embed_dim": 16}
SPEC = HandSpec(gesture="peace", handedness="left", view="palm")


def pixels(gen) -> np.ndarray:
    return np.stack([np.asarray(im) for im in gen.images])


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Two threads on a shared 2-core machine run 5-50x slower than one; tests stay quick."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny() -> diffusion.DiffusionGenerator:
    """A randomly initialised tiny pipeline: enough to test plumbing, not quality."""
    torch.manual_seed(0)
    config = dict(training.TRAIN_DEFAULTS, **TINY)
    pipe = diffusion.HandDiffusionPipeline(
        unet=diffusion.build_unet(config), scheduler=diffusion.training_scheduler(),
        conditioner=diffusion.build_conditioner(config), patch=config["patch"])
    pipe.unet.eval()
    pipe.conditioner.eval()
    return diffusion.DiffusionGenerator(pipe, variant="tiny")


def test_train_resume_and_export(tmp_path, monkeypatch):
    """models.train drives the Trainer, resumes from its checkpoint or the export, exports diffusers' layout,
    and keeps the snapshots it is asked for."""
    monkeypatch.setenv("HANDS_CACHE", str(tmp_path / "cache"))
    for key, value in TINY.items():
        monkeypatch.setitem(training.TRAIN_DEFAULTS, key, value)
    run, out = tmp_path / "run", tmp_path / "weights" / "smoke"
    common = ["diffusion", "--data-size", "8", "--batch", "4", "--run-dir", str(run), "--export", str(out),
              "--log-every", "1", "--threads", "1"]
    assert train_main(common + ["--steps", "2", "--snapshot-every", "1"]) == 0
    assert train_main(common + ["--steps", "3"]) == 0

    log = (run / "train_log.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in log[1:]] == ["1", "2", "3"]  # resumed at 2, not restarted
    assert all(np.isfinite(float(row.split(",")[3])) for row in log[1:])
    index = json.loads((out / "model_index.json").read_text())
    assert index["_class_name"] == "HandDiffusionPipeline" and index["patch"] == 2
    assert index["conditioner"] == ["models.diffusion", "HandConditioner"]
    for part in ("unet", "conditioner"):
        with safe_open(str(out / part / "diffusion_pytorch_model.safetensors"), "pt") as f:
            assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    assert json.loads((out / "training.json").read_text())["steps"] == 3

    # a fresh clone has no run dir: it continues from the shipped weights and keeps their loss history
    fresh = ["diffusion", "--data-size", "8", "--batch", "4", "--run-dir", str(tmp_path / "clone"), "--export", str(out),
             "--log-every", "1", "--threads", "1"]
    assert train_main(fresh + ["--steps", "4"]) == 0
    shipped_log = (out / "train_log.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in shipped_log[1:]] == ["1", "2", "3", "4"]
    assert json.loads((out / "training.json").read_text())["steps"] == 4

    gen = diffusion.load(out)
    assert isinstance(gen, Generator) and gen.variant == "smoke" and gen.family == "diffusion"
    assert next(gen.pipeline.unet.parameters()).dtype == torch.float32
    assert gen.snapshots() == ["step-000001", "step-000002"]
    early = gen.at_snapshot("step-000001")
    assert early.num_parameters == gen.num_parameters
    assert not np.array_equal(pixels(early.generate(SPEC, 1, 0, GenerateOptions(steps=2))),
                              pixels(gen.generate(SPEC, 1, 0, GenerateOptions(steps=2))))


def test_save_load_round_trip(tiny, tmp_path):
    """fp16 on disk, fp32 in memory, same images as the original (up to fp16 rounding)."""
    tiny.save_pretrained(tmp_path / "rt")
    back = diffusion.DiffusionGenerator.from_pretrained(tmp_path / "rt")
    assert back.num_parameters == tiny.num_parameters
    assert back.pipeline.config.patch == tiny.pipeline.config.patch
    for name, p in tiny.pipeline.unet.state_dict().items():
        torch.testing.assert_close(back.pipeline.unet.state_dict()[name], p.half().float())
    opts = GenerateOptions(steps=3)
    fp32 = diffusion.DiffusionGenerator(tiny.pipeline, bf16=False)
    back.bf16 = False  # compare the weights, not bf16 rounding
    a, b = pixels(fp32.generate(SPEC, 2, 5, opts)), pixels(back.generate(SPEC, 2, 5, opts))
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 0.5
    # diffusers' own loader finds the custom pipeline and conditioner too
    pipe = diffusion.HandDiffusionPipeline.from_pretrained(tmp_path / "rt")
    assert isinstance(pipe.conditioner, diffusion.HandConditioner)


def test_same_seed_same_pixels(tiny):
    opts = GenerateOptions(steps=4)
    first, again = tiny.generate(SPEC, 3, 11, opts), tiny.generate(SPEC, 3, 11, opts)
    assert first.images[0].size == (64, 64) and len(first.images) == 3
    assert np.array_equal(pixels(first), pixels(again))
    assert not np.array_equal(pixels(first), pixels(tiny.generate(SPEC, 3, 12, opts)))
    # images within a request differ (own noise each)
    assert not np.array_equal(pixels(first)[0], pixels(first)[1])


def test_image_k_does_not_depend_on_n(tiny):
    """Same noise for image k whatever n; only batched-kernel rounding may differ."""
    opts = GenerateOptions(steps=4)
    one, three = pixels(tiny.generate(SPEC, 1, 11, opts)), pixels(tiny.generate(SPEC, 3, 11, opts))
    assert np.abs(one[0].astype(int) - three[0].astype(int)).max() <= 2


def test_bf16_matches_fp32_closely(tiny):
    opts = GenerateOptions(steps=4)
    fp32 = pixels(diffusion.DiffusionGenerator(tiny.pipeline, bf16=False).generate(SPEC, 2, 9, opts))
    bf16 = diffusion.DiffusionGenerator(tiny.pipeline, bf16=True)
    first, again = pixels(bf16.generate(SPEC, 2, 9, opts)), pixels(bf16.generate(SPEC, 2, 9, opts))
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - fp32.astype(int)).mean() < 3


def test_condition_changes_the_output(tiny):
    opts = GenerateOptions(steps=4)
    fist = HandSpec(gesture="fist", handedness="right", skin_tone="dark")
    assert np.abs(pixels(tiny.generate(SPEC, 1, 3, opts)).astype(int)
                  - pixels(tiny.generate(fist, 1, 3, opts)).astype(int)).max() > 2


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samplers(tiny, sampler):
    gen = tiny.generate(SPEC, 2, 1, GenerateOptions(steps=5, sampler=sampler))
    assert len(gen.images) == 2 and gen.images[0].size == (64, 64)
    assert gen.steps == 5 and gen.evaluations == 5


def test_sampler_switch_changes_images(tiny):
    results = {s: pixels(tiny.generate(SPEC, 1, 1, GenerateOptions(steps=5, sampler=s))) for s in SAMPLERS}
    assert not np.array_equal(results["dpm++"], results["ddim"])
    assert not np.array_equal(results["ddim"], results["ddpm"])


def test_callback_once_per_step_and_frames(tiny):
    calls = []
    gen = tiny.generate(SPEC, 2, 4, GenerateOptions(steps=6, keep_frames=True),
                        callback=lambda step, total, previews: calls.append((step, total, previews)))
    assert [(s, t) for s, t, _ in calls] == [(i, 6) for i in range(1, 7)]
    assert all(len(p) == 2 and p[0].size == (64, 64) for _, _, p in calls)
    assert len(gen.frames) == 6 and all(len(f) == 2 for f in gen.frames)
    assert not tiny.generate(SPEC, 1, 4, GenerateOptions(steps=2)).frames


def test_guidance_one_skips_the_unconditional_branch(tiny):
    plain = tiny.generate(SPEC, 1, 2, GenerateOptions(steps=3, guidance=1.0))
    guided = tiny.generate(SPEC, 1, 2, GenerateOptions(steps=3, guidance=4.0))
    assert plain.evaluations == guided.evaluations == 3
    assert not np.array_equal(pixels(plain), pixels(guided))


@pytest.mark.parametrize("options", [GenerateOptions(sampler="euler"), GenerateOptions(steps=0),
                                     GenerateOptions(steps=STEPS.hi + 1), GenerateOptions(guidance=-1.0),
                                     GenerateOptions(guidance=GUIDANCE.hi + 0.5)])
def test_bad_options_are_rejected(tiny, options):
    with pytest.raises(ValueError):
        tiny.generate(SPEC, 1, 0, options)


@pytest.mark.parametrize("n, seed", [(0, 1), (IMAGES.hi + 1, 1), (1, -1), (1, SEED.hi + 1)])
def test_bad_requests_are_rejected(tiny, n, seed):
    with pytest.raises(ValueError):
        tiny.generate(SPEC, n, seed)


def test_ema_state_round_trip():
    from accelerate import Accelerator

    config = dict(training.TRAIN_DEFAULTS, **TINY, batch=2)
    trainer = training.Trainer(config, Accelerator())  # Accelerate's state is process-wide
    x, cond = torch.rand(2, 3, 64, 64) * 2 - 1, torch.zeros(2, 5, dtype=torch.long)
    for step in range(2):
        assert np.isfinite(trainer.step(x, cond, step)["loss"])
    state = trainer.extra_state()
    other = training.Trainer(config, Accelerator())
    other.load_extra_state(state)
    assert other.ema.optimization_step == 2
    for a, b in zip(trainer.ema.shadow_params, other.ema.shadow_params, strict=True):
        assert torch.equal(a, b)


SHIPPED = REPO_ROOT / "models" / "weights" / "diffusion" / "full"


@pytest.mark.skipif(not (SHIPPED / "model_index.json").exists(), reason="no shipped diffusion weights yet")
def test_shipped_weights_generate_deterministic_hands():
    gen = Registry(SHIPPED.parent.parent).load("diffusion", "full")
    assert 2e6 <= gen.num_parameters <= 6e6
    opts = GenerateOptions(steps=10)
    a, b = gen.generate(SPEC, 2, 123, opts), gen.generate(SPEC, 2, 123, opts)
    assert [im.size for im in a.images] == [(64, 64), (64, 64)]
    assert np.array_equal(pixels(a), pixels(b))
    assert pixels(a).std() > 5  # not a flat image


def test_shipped_snapshot_is_an_earlier_state_of_the_full_run():
    """The full run keeps its pipeline at the scarce run's step count (the benchmark's equal-training pair)."""
    full = Registry(SHIPPED.parent.parent).load("diffusion", "full")
    names = full.snapshots()
    assert names and all(n.startswith("step-") for n in names)
    old = full.at_snapshot(names[0])
    assert old.variant == f"full@{names[0]}" and old.num_parameters == full.num_parameters
    spec, opts = HandSpec(gesture="peace"), GenerateOptions(steps=4)
    a, b = old.generate(spec, 1, 3, opts).images[0], old.generate(spec, 1, 3, opts).images[0]
    assert np.array_equal(np.asarray(a), np.asarray(b))  # deterministic
    now = full.generate(spec, 1, 3, opts).images[0]
    assert not np.array_equal(np.asarray(a), np.asarray(now))  # different weights, different hand
    with pytest.raises(KeyError):
        full.at_snapshot("step-999999")
