"""The conditional VAE: trains through the shared loop, round-trips, is deterministic, obeys the spec."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from core.settings import REPO_ROOT
from core.vocab import HandSpec
from models import vae
from models.base import Generator
from models.registry import Registry
from models.train import main as train_main
from models.training import vae as training

PEACE = HandSpec(gesture="peace", handedness="left", view="palm")
FIST = HandSpec(gesture="fist", handedness="right", object="none")


def pixels(images) -> np.ndarray:
    return np.stack([np.asarray(im) for im in images]).astype(np.int16)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """Three optimisation steps on 16 rendered hands through `python -m models.train`, exported."""
    tmp = tmp_path_factory.mktemp("vae")
    out = tmp / "weights" / "vae" / "full"
    cmd = [sys.executable, "-m", "models.train", "vae", "--data-size", "16", "--steps", "3", "--batch", "4",
           "--threads", "1", "--run-dir", str(tmp / "run"), "--export", str(out)]
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["steps"] == 3
    return out


@pytest.fixture(scope="module")
def generator(exported) -> vae.VAEGenerator:
    return vae.load(exported, device="cpu")


def test_export_layout_and_fp16(exported):
    config = json.loads((exported / "config.json").read_text())
    assert config["_class_name"] == "VAEModel" and config["beta"] == training.TRAIN_DEFAULTS["beta"]
    assert "beta" in (exported / "MODEL_CARD.md").read_text()
    assert json.loads((exported / "training.json").read_text())["steps"] == 3
    assert "kl" in (exported / "train_log.csv").read_text().splitlines()[0]
    with safe_open(str(exported / "diffusion_pytorch_model.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    assert (exported / "diffusion_pytorch_model.safetensors").stat().st_size < 6e6


def test_loads_as_fp32_generator(generator):
    assert isinstance(generator, Generator)
    assert generator.family == "vae" and generator.variant == "full"
    assert {p.dtype for p in generator.model.parameters()} == {torch.float32}
    assert 2e6 <= generator.num_parameters <= 3e6


def test_same_seed_same_pixels(generator):
    a, b = generator.generate(PEACE, 3, seed=11), generator.generate(PEACE, 3, seed=11)
    assert (pixels(a.images) == pixels(b.images)).all()
    assert a.images[0].size == (64, 64) and a.steps == 1 and a.evaluations == 1 and a.backend == "vae"
    assert (pixels(generator.generate(PEACE, 3, seed=12).images) != pixels(a.images)).any()
    assert (pixels(a.images[0:1]) != pixels(a.images[1:2])).any()  # each image has its own noise


def test_condition_changes_output(generator):
    a, b = generator.generate(PEACE, 2, seed=5), generator.generate(FIST, 2, seed=5)
    assert np.abs(pixels(a.images) - pixels(b.images)).mean() > 0.1


def test_save_pretrained_round_trip(generator, tmp_path):
    generator.save_pretrained(tmp_path / "copy")
    again = vae.VAEGenerator.from_pretrained(tmp_path / "copy")
    assert again.variant == "copy"
    assert (pixels(again.generate(FIST, 2, seed=3).images) == pixels(generator.generate(FIST, 2, seed=3).images)).all()


def test_rejects_bad_requests(generator):
    with pytest.raises(ValueError):
        generator.generate(PEACE, 0, seed=1)
    with pytest.raises(ValueError):
        generator.generate(PEACE, 2, seed=-1)
    with pytest.raises(ValueError):
        generator.interpolate(PEACE, FIST, 1, 2, steps=1)


def test_encode_decode_interpolate(generator):
    images = generator.generate(PEACE, 2, seed=1).images
    mu, logvar = generator.encode(images, PEACE)
    assert mu.shape == logvar.shape == (2, generator.z_dim)
    assert len(generator.decode(mu, PEACE)) == 2
    walk = generator.interpolate(PEACE, FIST, seed_a=4, seed_b=9, steps=5)
    assert len(walk.images) == 5
    start = generator.generate(PEACE, 1, seed=4).images
    end = generator.generate(FIST, 1, seed=9).images
    assert np.abs(pixels(walk.images[:1]) - pixels(start)).max() <= 1  # the walk starts and ends at the samples
    assert np.abs(pixels(walk.images[-1:]) - pixels(end)).max() <= 1


def test_kl_and_beta_annealing():
    zeros = torch.zeros(3, 8)
    assert torch.allclose(training.kl_divergence(zeros, zeros), torch.zeros(3))
    assert (training.kl_divergence(zeros + 1, zeros) > 0).all()
    trainer = training.Trainer.__new__(training.Trainer)
    trainer.config = {"beta": 0.5, "kl_anneal_steps": 100}
    assert trainer.beta_at(0) == 0 and trainer.beta_at(50) == 0.25 and trainer.beta_at(1000) == 0.5


def test_snapshots_are_refused_for_a_family_that_keeps_none(capsys):
    """The VAE keeps no snapshots: --snapshot-every is an error before any work, never silently ignored."""
    with pytest.raises(SystemExit) as exit_:
        train_main(["vae", "--snapshot-every", "2", "--no-export"])
    assert exit_.value.code == 2 and "the vae family keeps no snapshots" in capsys.readouterr().err


def test_refuses_weights_for_another_vocabulary(exported, tmp_path):
    config = json.loads((exported / "config.json").read_text())
    kwargs = {k: v for k, v in config.items() if not k.startswith("_")}
    model = vae.VAEModel(**kwargs | {"condition_sizes": [2, 2, 2, 2, 2]})
    model.save_pretrained(tmp_path / "odd")
    with pytest.raises(ValueError, match="condition sizes"):
        vae.load(tmp_path / "odd", device="cpu")


SHIPPED = REPO_ROOT / "models" / "weights" / "vae" / "full"


@pytest.mark.skipif(not (SHIPPED / "config.json").exists(), reason="no shipped VAE weights yet")
def test_shipped_weights_generate_deterministically():
    g = Registry(SHIPPED.parent.parent).load("vae", "full")
    a, b = g.generate(PEACE, 2, seed=0), g.generate(PEACE, 2, seed=0)
    assert [im.size for im in a.images] == [(64, 64)] * 2
    assert (pixels(a.images) == pixels(b.images)).all()
    assert pixels(a.images).std() > 5  # not a flat, collapsed image
