"""The conditional GAN: trains through the shared loop, snapshots, round-trips, is deterministic."""

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
from models import gan
from models.base import Generator
from models.registry import Registry
from models.training import gan as training

PEACE = HandSpec(gesture="peace", handedness="left", view="palm")
FIST = HandSpec(gesture="fist", handedness="right", object="none")


def pixels(images) -> np.ndarray:
    return np.stack([np.asarray(im) for im in images]).astype(np.int16)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """Four optimisation steps on 16 rendered hands, a snapshot every 2, exported."""
    tmp = tmp_path_factory.mktemp("gan")
    out = tmp / "weights" / "gan" / "full"
    cmd = [sys.executable, "-m", "models.train", "gan", "--data-size", "16", "--steps", "4", "--batch", "4",
           "--snapshot-every", "2", "--threads", "1", "--run-dir", str(tmp / "run"), "--export", str(out)]
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["steps"] == 4
    return out


@pytest.fixture(scope="module")
def generator(exported) -> gan.GANGenerator:
    return gan.load(exported, device="cpu")


def test_export_layout_and_fp16(exported):
    assert json.loads((exported / "config.json").read_text())["_class_name"] == "GANModel"
    assert "hinge" in (exported / "MODEL_CARD.md").read_text()
    assert "loss_d" in (exported / "train_log.csv").read_text().splitlines()[0]
    for weights in [exported, *sorted((exported / "snapshots").iterdir())]:
        with safe_open(str(weights / "diffusion_pytorch_model.safetensors"), "pt") as f:
            assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
        assert (weights / "diffusion_pytorch_model.safetensors").stat().st_size < 4e6


def test_loads_as_fp32_generator(generator):
    assert isinstance(generator, Generator)
    assert generator.family == "gan" and generator.variant == "full"
    assert {p.dtype for p in generator.model.parameters()} == {torch.float32}
    assert 1.2e6 <= generator.num_parameters <= 3e6


def test_same_seed_same_pixels(generator):
    a, b = generator.generate(PEACE, 3, seed=11), generator.generate(PEACE, 3, seed=11)
    assert (pixels(a.images) == pixels(b.images)).all()
    assert a.images[0].size == (64, 64) and a.steps == 1 and a.evaluations == 1 and a.backend == "gan"
    assert (pixels(generator.generate(PEACE, 3, seed=12).images) != pixels(a.images)).any()


def test_condition_changes_output(generator):
    a, b = generator.generate(PEACE, 2, seed=5), generator.generate(FIST, 2, seed=5)
    assert np.abs(pixels(a.images) - pixels(b.images)).mean() > 0.1


def test_snapshots_listed_and_loadable(generator):
    assert generator.snapshots() == ["step-000002", "step-000004"]
    early = generator.at_snapshot("step-000002")
    assert early.variant == "full@step-000002" and early.family == "gan"
    assert len(early.generate(PEACE, 2, seed=1).images) == 2
    # the step-4 snapshot is the EMA generator at the end, i.e. the exported one
    last = generator.at_snapshot("step-000004").generate(PEACE, 2, seed=1)
    assert (pixels(last.images) == pixels(generator.generate(PEACE, 2, seed=1).images)).all()
    with pytest.raises(KeyError):
        generator.at_snapshot("step-999999")


def test_save_pretrained_round_trip(generator, tmp_path):
    generator.save_pretrained(tmp_path / "copy")
    again = gan.GANGenerator.from_pretrained(tmp_path / "copy")
    assert again.variant == "copy" and again.snapshots() == []
    assert (pixels(again.generate(FIST, 2, seed=3).images) == pixels(generator.generate(FIST, 2, seed=3).images)).all()


def test_rejects_bad_requests(generator):
    with pytest.raises(ValueError):
        generator.generate(PEACE, 17, seed=1)


def test_translation_only_shifts():
    """DiffAugment's translation moves content (zero fill) and never mirrors it: left stays left."""
    torch.manual_seed(0)
    x = torch.rand(6, 3, 64, 64) + 0.5
    y = training.translate(x)
    for xi, yi in zip(x, y, strict=True):
        matches = [(dy, dx) for dy in range(-8, 9) for dx in range(-8, 9)
                   if torch.equal(yi[:, max(dy, 0):64 + min(dy, 0), max(dx, 0):64 + min(dx, 0)],
                                  xi[:, max(-dy, 0):64 - max(dy, 0), max(-dx, 0):64 - max(dx, 0)])]
        assert len(matches) == 1


def test_cutout_zeroes_a_square():
    x = torch.ones(4, 3, 64, 64)
    zeroed = (training.cutout(x) == 0).float().mean(dim=(1, 2, 3))
    assert ((zeroed > 0.05) & (zeroed <= 0.25)).all()
    assert training.diff_augment(x, "").equal(x)


def test_projection_discriminator_reads_the_condition():
    torch.manual_seed(0)
    d = gan.Discriminator([8, 16, 32, 32])
    x = torch.randn(2, 3, 64, 64)
    a = d(x, torch.tensor([[0, 0, 0, 0, 0]] * 2))
    b = d(x, torch.tensor([[1, 1, 1, 1, 1]] * 2))
    assert a.shape == (2,) and not torch.allclose(a, b)
    assert all(hasattr(m, "parametrizations") for m in [*d.convs, d.last, d.head, *d.embed.fields])


def test_ema_update_moves_towards_online():
    ema, online = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    expected = (ema.weight + online.weight).detach() / 2
    training.ema_update(ema, online, decay=0.5)
    assert torch.allclose(ema.weight, expected)


SHIPPED = REPO_ROOT / "models" / "weights" / "gan" / "full"


@pytest.mark.skipif(not (SHIPPED / "config.json").exists(), reason="no shipped GAN weights yet")
def test_shipped_weights_generate_deterministically():
    g = Registry(SHIPPED.parent.parent).load("gan", "full")
    a, b = g.generate(PEACE, 2, seed=0), g.generate(PEACE, 2, seed=0)
    assert [im.size for im in a.images] == [(64, 64)] * 2
    assert (pixels(a.images) == pixels(b.images)).all()
    assert pixels(a.images).std() > 5
    for name in g.snapshots():
        assert len(g.at_snapshot(name).generate(PEACE, 1, seed=0).images) == 1
