"""Broken parts stay contained: a damaged backend shows its own clear error while the other two serve;
the scorer without MediaPipe still scores silhouettes and says what is missing; nothing unpickles.

Damage is done to copies of the shipped weights in a temp folder (HANDS_WEIGHTS), never to models/weights/.
"""

from __future__ import annotations

import pickle
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

gradio_client = pytest.importorskip("gradio_client")

from core.settings import REPO_ROOT  # noqa: E402
from judge.witnesses import landmarks  # noqa: E402
from models.registry import FAMILY_NAMES as FAMILIES  # noqa: E402
from models.registry import Registry  # noqa: E402
from world.render import render_sample  # noqa: E402

pytestmark = pytest.mark.skipif(not all(Registry().variants(f) for f in FAMILIES), reason="shipped weights missing")

WEIGHT_FILE = {"vae": "diffusion_pytorch_model.safetensors", "gan": "diffusion_pytorch_model.safetensors",
               "diffusion": "unet/diffusion_pytorch_model.safetensors"}


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:64] = b"\xff" * 64  # the header length and the start of the JSON header
    path.write_bytes(bytes(data))


def remove(path: Path) -> None:
    path.unlink()


def pickle_instead(path: Path) -> None:
    """The safetensors file gone and a pickle in its place, named as torch would save it."""
    path.unlink()
    torch.save({"weight": torch.zeros(1)}, path.with_suffix(".bin"))


SHIPPED = REPO_ROOT / "models" / "weights"


def weights_copy(tmp_path: Path, copied: tuple[str, ...] = FAMILIES) -> Path:
    """A weights root: `copied` families copied (to be damaged), the others linked to the shipped ones.

    The app's registry follows HANDS_WEIGHTS and drops what it loaded from the previous root."""
    root = tmp_path / "weights"
    for family in FAMILIES:
        if family in copied:
            shutil.copytree(SHIPPED / family / "full", root / family / "full")
        else:
            (root / family).mkdir(parents=True)
            (root / family / "full").symlink_to(SHIPPED / family / "full")
    return root


def compare(client) -> dict[str, tuple[list, str]]:
    out = client.predict("a peace sign", 2, 1, 1, 2.5, "dpm++", "full", False, api_name="/compare")
    galleries = client.predict(api_name="/pictures")  # that comparison's pictures, as files
    return {family: (galleries[k], out[1 + k]) for k, family in enumerate(FAMILIES)}


@pytest.mark.parametrize("damage", [truncate, garble, remove, pickle_instead])
@pytest.mark.parametrize("family", FAMILIES)
def test_damaged_weights_take_down_only_their_backend(client, tmp_path, monkeypatch, family, damage):
    root = weights_copy(tmp_path, (family,))
    damage(root / family / "full" / WEIGHT_FILE[family])
    monkeypatch.setenv("HANDS_WEIGHTS", str(root))
    result = compare(client)
    gallery, stats = result[family]
    assert gallery == []
    assert f"{family}/full weights unavailable: " in stats, stats
    assert "Traceback" not in stats
    for other in set(FAMILIES) - {family}:
        gallery, stats = result[other]
        assert len(gallery) == 1 and "/100" in gallery[0]["caption"], (other, stats)


def test_missing_variant_folder_is_named(client, tmp_path, monkeypatch):
    root = weights_copy(tmp_path, ("gan",))
    shutil.rmtree(root / "gan" / "full")
    monkeypatch.setenv("HANDS_WEIGHTS", str(root))
    result = compare(client)
    assert result["gan"][0] == [] and "gan/full: no weights" in result["gan"][1]
    assert len(result["vae"][0]) == 1 and len(result["diffusion"][0]) == 1


@pytest.fixture
def no_mediapipe(monkeypatch, tmp_path, app_judge):
    """The app's judge without MediaPipe: its bundle gone, and the judge's loaded model forgotten."""
    monkeypatch.setattr(landmarks, "_locate_bundle", lambda: tmp_path / "missing" / landmarks.MODEL_BUNDLE)
    app_judge.networks.landmarks.reset()
    yield
    app_judge.networks.landmarks.reset()


def test_scorer_without_mediapipe_scores_silhouettes_and_says_so(no_mediapipe, app_judge):
    image = render_sample(5, 0, 64).image
    report = app_judge.score(image)
    assert app_judge.networks.landmarks.get_or_none() is None
    assert report.hand_found and report.hand_score > 0 and report.extended_count > 0
    assert report.landmarks is None and report.presence is None
    assert any("mediapipe unavailable" in note and landmarks.MODEL_BUNDLE in note for note in report.notes), report.notes


def test_app_without_mediapipe_still_scores_and_shows_what_is_missing(client, no_mediapipe):
    for gallery, stats in compare(client).values():
        assert len(gallery) == 1 and "/100" in gallery[0]["caption"]
        assert "mediapipe unavailable" in stats, stats


def test_nothing_unpickles(monkeypatch, tmp_path):
    """Loading every shipped family works with torch.load and pickle.load disabled; no code calls them."""
    def refuse(*args, **kwargs):
        raise AssertionError("a pickle was loaded")

    for name in ("load", "loads"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(torch, "load", refuse)
    for family in FAMILIES:
        assert Registry(weights_copy(tmp_path / family, ())).load(family, "full").generate is not None
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    for name in tracked.split():
        text = (REPO_ROOT / name).read_text()
        for banned in ("torch.load(", "pickle.load", "joblib.load", "allow_pickle=True"):
            assert banned not in text or name == "tests/test_reliability_broken.py", f"{name} uses {banned}"
