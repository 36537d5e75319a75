"""The launched app, through gradio_client: the /compare endpoint end to end, its API names, and bad input."""

from __future__ import annotations

import hashlib

import pytest

gradio_client = pytest.importorskip("gradio_client")

from models.registry import FAMILY_NAMES as FAMILIES  # noqa: E402
from models.registry import Registry  # noqa: E402

pytestmark = pytest.mark.skipif(not all(Registry().variants(f) for f in FAMILIES), reason="shipped weights missing")



@pytest.fixture(scope="module")
def client(tmp_path_factory, app_judge):
    """The demo launched on loopback without a result cache (it keeps nothing), so that asking the same request
    twice computes it twice: determinism is tested, not the cache (tests/test_result_cache.py tests that)."""
    import os

    from demo.blocks import build_demo
    from demo.pipeline import ResultCache

    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))  # read while serving files: keep it set
    demo = build_demo(app_judge, results=ResultCache(max_images=0))
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    c = gradio_client.Client(url, verbose=False)
    yield c
    c.close()
    demo.close()


INPUT_NAMES = ["prompt", "seed", "images_per_backend", "steps", "guidance", "sampler", "training_data", "show_overlays"]
F = len(FAMILIES)


def _compare(client, prompt="a peace sign", seed=3, n=2, steps=8):
    return client.predict(prompt, seed, n, steps, 2.5, "dpm++", "full", False, api_name="/compare")


def pictures(client) -> list:
    """The last comparison's three galleries, as files (/pictures, on the client that sent /compare)."""
    return list(client.predict(api_name="/pictures"))


def _digest(gallery) -> list[str]:
    return [hashlib.sha256(open(item["image"], "rb").read()).hexdigest() for item in gallery]


def test_compare_returns_three_judged_columns(client):
    out = _compare(client)
    understood, sentences, pages, table, link = out[0], out[1:1 + F], out[1 + F:1 + 2 * F], out[1 + 2 * F], out[2 + 2 * F]
    assert "peace sign" in understood
    for gallery, sentence, page in zip(pictures(client), sentences, pages):
        assert len(gallery) == 2
        for item in gallery:
            assert "/100" in item["caption"] and item["caption"][0] in "✓✗?"
        assert "of 2 hands right" in sentence
        assert page.count("<figure") == 2 and page.count("<figcaption>") == 2
    assert len(table["data"]) == 3
    assert [row[0] for row in table["data"]] == ["VAE", "GAN", "Diffusion"]
    assert "_" not in "".join(table["headers"])
    assert link.startswith("?prompt=a+peace+sign&seed=3&n=2&steps=8")


def test_api_names_are_plain(client):
    named = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    api = named["/compare"]
    assert [p["parameter_name"] for p in api["parameters"]] == INPUT_NAMES
    labels = [r["label"] for r in api["returns"]]
    assert len(labels) == 3 + 2 * F and all(labels) and not any(label.startswith("value_") for label in labels)
    gallery_labels = [r["label"] for r in named["/pictures"]["returns"]]
    assert len(gallery_labels) == F and not any(label.startswith("value_") for label in gallery_labels)


def test_the_compare_answer_holds_no_files_and_pictures_follows_it(client):
    """The columns' pictures travel inline; the files (one download each for an API client) only from /pictures."""
    out = client.predict("a fist", 5, 2, 2, 2.5, "dpm++", "full", False, api_name="/compare")
    assert not any(isinstance(v, list) for v in out)  # a gallery would be a list of {"image": file, "caption"}
    assert all(page.count("data:image/png;base64,") == 2 for page in out[1 + F:1 + 2 * F])
    assert [len(g) for g in pictures(client)] == [2] * F


def _seed_digests(client, seed: int) -> list:
    _compare(client, seed=seed)
    return [_digest(g) for g in pictures(client)]


def test_same_seed_same_images(client):
    first, again, other = _seed_digests(client, 11), _seed_digests(client, 11), _seed_digests(client, 12)
    assert first == again
    assert first != other


@pytest.mark.parametrize("prompt", ["", "   \n\t", "x" * 10_000])
def test_bad_prompts_get_a_clear_error(client, prompt):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as err:
        _compare(client, prompt=prompt)
    assert "prompt" in str(err.value).lower()


@pytest.mark.parametrize("field,value", [(1, -5), (2, 99), (3, 0), (1, 1e18), (3, 10**6), (1, 7.5)])
def test_out_of_range_numbers_get_a_clear_error(client, field, value):
    from gradio_client.exceptions import AppError

    args = ["a fist", 0, 2, 8, 2.5, "dpm++", "full", False]
    args[field] = value
    with pytest.raises(AppError) as err:
        client.predict(*args, api_name="/compare")
    assert any(word in str(err.value).lower() for word in ("seed", "n ", "n must", "steps"))


def test_a_refused_request_logs_one_line_not_a_traceback(client, capfd, caplog):
    from gradio_client.exceptions import AppError

    capfd.readouterr()
    with caplog.at_level("INFO", logger="demo.compare_tab"), pytest.raises(AppError):
        _compare(client, prompt="")
    assert "Traceback" not in capfd.readouterr().err
    assert [r.getMessage() for r in caplog.records if r.name == "demo.compare_tab"] == \
        ["refused a request: The prompt is empty: describe a hand, e.g. 'a peace sign' or 'a hand holding a banana'."]


def test_emoji_only_prompt_works(client):
    out = _compare(client, prompt="🤘", n=1)
    assert "rock" in out[0]
    _compare(client, prompt="🍕🍕", n=1)  # no hand emoji: any hand, with a warning, no crash
    assert all(len(g) == 1 for g in pictures(client))
