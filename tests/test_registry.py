"""The family contract and the Registry: one record per family, serving never imports training, each
variant built once per registry, a damaged variant down on its own with its reason."""

from __future__ import annotations

import ast
import importlib
import shutil
from pathlib import Path

import pytest

from core.limits import DEFAULT_SAMPLER, GUIDANCE, STEPS
from core.settings import REPO_ROOT
from models.registry import FAMILIES, FAMILY_NAMES, BackendUnavailable, Registry, family_record

SHIPPED = REPO_ROOT / "models" / "weights"
SERVING = ("models.base", "models.registry", "models.family", "models.conditioning", "models.generate",
           "models.vae", "models.gan", "models.diffusion")
TRAINING_ONLY = ("models.train", "models.training", "world.dataset")


def module_file(name: str) -> Path | None:
    """The project file of module `name`, None for a third-party one."""
    base = REPO_ROOT / Path(*name.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def imports(name: str) -> set[str]:
    """Every name module `name` imports, anywhere in its file (lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(module_file(name).read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return found


def closure(module: str) -> set[str]:
    """`module` and every project module it reaches through imports."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for imported in imports(name):
            while imported and module_file(imported) is None:  # `from models import vae` names models.vae
                imported = imported.rpartition(".")[0]
            if imported:
                todo.append(imported)
    return seen


@pytest.mark.parametrize("module", SERVING)
def test_serving_never_imports_training(module):
    reached = closure(module)
    assert not [m for m in reached if m.startswith(TRAINING_ONLY)], sorted(reached)
    assert not [m for m in reached if any(i.split(".")[0] == "accelerate" for i in imports(m))]


def test_the_training_cli_reaches_every_trainer_through_the_records():
    for record in FAMILIES:
        module = record.training()
        assert isinstance(module.TRAIN_DEFAULTS, dict) and callable(module.Trainer)
        # the explicit field and the code agree: a family that supports snapshots can keep and serve them
        assert hasattr(module.Trainer, "snapshot") == record.supports_snapshots, record.name
        generator_class = getattr(importlib.import_module(record.load.__module__), record.load.__annotations__["return"])
        assert hasattr(generator_class, "at_snapshot") == record.supports_snapshots, record.name


def test_records_are_the_one_list_of_families():
    assert FAMILY_NAMES == ("vae", "gan", "diffusion")
    assert family_record("diffusion").defaults.steps == STEPS.default
    assert family_record("diffusion").defaults.guidance == GUIDANCE.default
    assert family_record("diffusion").defaults.sampler == DEFAULT_SAMPLER
    with pytest.raises(BackendUnavailable, match="unknown backend 'flow'"):
        family_record("flow")


@pytest.mark.skipif(not (SHIPPED / "vae" / "full").is_dir(), reason="no shipped VAE")
def test_each_registry_builds_a_variant_once():
    one, other = Registry(SHIPPED), Registry(SHIPPED)
    first = one.load("vae")
    assert one.load("vae", "full") is first
    assert other.load("vae") is not first  # no hidden singleton: a registry owns its loads
    assert one.trained_steps("vae", "full") > 0 and "full" in one.available()["vae"]


@pytest.mark.parametrize("variant", ["nope", "..", "../vae", ""])
def test_a_missing_or_odd_variant_is_named(variant):
    with pytest.raises(BackendUnavailable, match="no weights"):
        Registry(SHIPPED).load("vae", variant)


@pytest.mark.skipif(not (SHIPPED / "vae" / "full").is_dir() or not (SHIPPED / "gan" / "full").is_dir(),
                    reason="needs the shipped VAE and GAN")
def test_a_damaged_variant_keeps_its_reason_and_others_serve(tmp_path):
    shutil.copytree(SHIPPED / "vae" / "full", tmp_path / "vae" / "full")
    (tmp_path / "gan").mkdir()
    (tmp_path / "gan" / "full").symlink_to(SHIPPED / "gan" / "full")
    weights = tmp_path / "vae" / "full" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    registry = Registry(tmp_path)
    with pytest.raises(BackendUnavailable, match="vae/full weights unavailable") as first:
        registry.load("vae")
    assert registry.load("gan").generate is not None
    shutil.copy(SHIPPED / "vae" / "full" / weights.name, weights)  # repaired, but the registry keeps the first answer
    with pytest.raises(BackendUnavailable) as again:
        registry.load("vae")
    assert str(again.value) == str(first.value)
    assert Registry(tmp_path).load("vae").generate is not None  # a new registry reads the repaired file
