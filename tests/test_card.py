"""Model cards: the parameter budget is counted from the networks, and agrees with what is shipped."""

import importlib
import json
import re

import pytest

from models import card, registry
from models.base import FAMILIES


@pytest.mark.parametrize("family", FAMILIES)
def test_parameter_budget_brackets_the_shipped_generator(family):
    if "full" not in registry.variants(family):
        pytest.skip(f"no shipped {family}/full")
    config = json.loads((registry.WEIGHTS_ROOT / family / "full" / "training.json").read_text())["config"]
    budget = importlib.import_module(f"models.{family}").parameter_budget(config)
    shipped = registry.load(family, "full").num_parameters
    assert 0 < budget["sampling"] <= shipped <= budget["trained"]
    if family == "gan":  # the discriminator is trained but never shipped
        assert budget["trained"] > budget["sampling"] == shipped


def test_card_states_the_ratio_of_the_budgets():
    if not all("full" in registry.variants(f) for f in FAMILIES):
        pytest.skip("needs every family's full weights")
    text = "\n".join(card.parameter_budget_lines("full"))
    rows = {m[0]: (int(m[1].replace(",", "")), int(m[2].replace(",", "")))
            for m in re.findall(r"\| (\w+) \| ([\d,]+) \| ([\d,]+) \|", text)}
    assert set(rows) == set(FAMILIES)
    sampling = [s for _, s in rows.values()]
    assert f"{max(sampling) / min(sampling):.2f}x" in text
