"""Model cards: the parameter budget is counted from the networks and agrees with what is shipped; the
training part is models.card's, the scores bench.cards' (which reads results/, models never do)."""

import json
import re

import pytest

from bench import cards
from core.settings import REPO_ROOT
from models import card
from models.registry import FAMILIES, FAMILY_NAMES, Registry

SHIPPED = REPO_ROOT / "models" / "weights"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry(SHIPPED)


@pytest.mark.parametrize("record", FAMILIES, ids=FAMILY_NAMES)
def test_parameter_budget_brackets_the_shipped_generator(registry, record):
    if "full" not in registry.variants(record.name):
        pytest.skip(f"no shipped {record.name}/full")
    config = json.loads((SHIPPED / record.name / "full" / "training.json").read_text())["config"]
    budget = record.parameter_budget(config)
    shipped = registry.load(record.name, "full").num_parameters
    assert 0 < budget["sampling"] <= shipped <= budget["trained"]
    if record.name == "gan":  # the discriminator is trained but never shipped
        assert budget["trained"] > budget["sampling"] == shipped


def test_card_states_the_ratio_of_the_budgets(registry):
    if not all("full" in registry.variants(f) for f in FAMILY_NAMES):
        pytest.skip("needs every family's full weights")
    text = "\n".join(card.parameter_budget_lines(SHIPPED, "full"))
    rows = {m[0]: (int(m[1].replace(",", "")), int(m[2].replace(",", "")))
            for m in re.findall(r"\| (\w+) \| ([\d,]+) \| ([\d,]+) \|", text)}
    assert set(rows) == set(FAMILY_NAMES)
    sampling = [s for _, s in rows.values()]
    assert f"{max(sampling) / min(sampling):.2f}x" in text


def test_committed_cards_are_what_bench_cards_writes(registry):
    """Every shipped card is the training part (models.card) plus the scores of results/benchmark.json, to the byte."""
    benchmark, budgets, checked = cards.load_benchmark(), {}, 0
    for family in FAMILY_NAMES:
        for variant in registry.variants(family):
            folder = SHIPPED / family / variant
            if not (folder / "MODEL_CARD.md").exists():
                continue
            budget = budgets.setdefault(variant, card.parameter_budget_lines(SHIPPED, variant))
            assert cards.card(folder, benchmark, budget) == (folder / "MODEL_CARD.md").read_text(), folder
            checked += 1
    if not checked:
        pytest.skip("no shipped cards")


@pytest.mark.skipif(not (SHIPPED / "vae" / "full" / "training.json").exists(), reason="no shipped VAE")
def test_a_card_without_scores_says_how_to_measure(tmp_path):
    info = json.loads((SHIPPED / "vae" / "full" / "training.json").read_text())
    (tmp_path / "training.json").write_text(json.dumps(info))
    text = card.card(tmp_path)
    assert text.startswith("# vae / full\n") and "## Training" in text and "beta" in text
    assert text.endswith("\n".join(["## Scores (from `python -m bench`)", "", *card.NOT_MEASURED]) + "\n")
    assert cards.card(tmp_path, {"backends": []}) == text  # no benchmark row: the same card


def test_models_never_read_results():
    """A card's measured scores belong to the benchmark: no module under models/ names results/."""
    offenders = [str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "models").rglob("*.py")
                 if re.search(r"""["']results["']|results/""", p.read_text())]
    assert offenders == []
