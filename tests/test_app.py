"""The launched app, through gradio_client: the /compare endpoint end to end, and bad input."""

from __future__ import annotations

import hashlib

import pytest

gradio_client = pytest.importorskip("gradio_client")

from models.registry import FAMILY_NAMES as FAMILIES  # noqa: E402
from models.registry import Registry  # noqa: E402

pytestmark = pytest.mark.skipif(not all(Registry().variants(f) for f in FAMILIES), reason="shipped weights missing")


def _compare(client, prompt="a peace sign", seed=3, n=2, steps=8):
    return client.predict(prompt, seed, n, steps, 2.5, "dpm++", "full", False, api_name="/compare")


def _digest(gallery) -> list[str]:
    return [hashlib.sha256(open(item["image"], "rb").read()).hexdigest() for item in gallery]


def test_compare_returns_three_scored_galleries(client):
    out = _compare(client)
    understood, galleries, table = out[0], out[1:7:2], out[7]
    assert "peace" in understood
    for gallery in galleries:
        assert len(gallery) == 2
        for item in gallery:
            assert "/100" in item["caption"]
    assert len(table["data"]) == 3
    assert {row[0] for row in table["data"]} == set(FAMILIES)


def test_same_seed_same_images(client):
    first = [_digest(g) for g in _compare(client, seed=11)[1:7:2]]
    again = [_digest(g) for g in _compare(client, seed=11)[1:7:2]]
    other = [_digest(g) for g in _compare(client, seed=12)[1:7:2]]
    assert first == again
    assert first != other


@pytest.mark.parametrize("prompt", ["", "   \n\t", "x" * 10_000])
def test_bad_prompts_get_a_clear_error(client, prompt):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as err:
        _compare(client, prompt=prompt)
    assert "prompt" in str(err.value).lower()


@pytest.mark.parametrize("field,value", [(1, -5), (2, 99), (3, 0), (1, 1e18), (3, 10**6)])
def test_out_of_range_numbers_get_a_clear_error(client, field, value):
    from gradio_client.exceptions import AppError

    args = ["a fist", 0, 2, 8, 2.5, "dpm++", "full", False]
    args[field] = value
    with pytest.raises(AppError) as err:
        client.predict(*args, api_name="/compare")
    assert any(word in str(err.value).lower() for word in ("seed", "n ", "n must", "steps"))


def test_emoji_only_prompt_works(client):
    out = _compare(client, prompt="🤘", n=1)
    assert "rock" in out[0]
    out = _compare(client, prompt="🍕🍕", n=1)  # no hand emoji: any hand, with a warning, no crash
    assert all(len(g) == 1 for g in out[1:7:2])
