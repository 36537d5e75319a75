"""Hostile input on every public API endpoint: it works, or it says clearly what is wrong; the server stays up.

Two layers, ~1,300 cases in all:
- in-process (~900 cases): the endpoint functions themselves, taken from the Blocks by api_name.
  The API events take raw JSON (`preprocess=False`), so these calls see exactly what the server
  hands them. /compare is run to its first yield (validation and prompt understanding, before any
  generation); the other endpoints run whole, with valid values kept cheap (1-2 steps) and rare.
- live (~400 cases): the launched app through gradio_client, one hostile field per call and the
  rest valid, so each call is a fast validation error; then a valid call must still be served.
Hostile values: unicode and control characters, 100k-character strings, NaN, infinities,
negative and huge numbers, None, booleans, lists and dicts where text or numbers belong.
"""

from __future__ import annotations

import json
import math

import pytest

gradio_client = pytest.importorskip("gradio_client")
hypothesis = pytest.importorskip("hypothesis")

import gradio as gr  # noqa: E402
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from core.limits import PROMPT_MAX_CHARS, SAMPLERS  # noqa: E402
from demo import pipeline  # noqa: E402
from demo.blocks import build_demo  # noqa: E402
from models.registry import FAMILY_NAMES as FAMILIES  # noqa: E402
from models.registry import Registry  # noqa: E402

pytestmark = [
    pytest.mark.skipif(not all(Registry().variants(f) for f in FAMILIES), reason="shipped weights missing"),
    pytest.mark.filterwarnings("ignore::UserWarning"),  # gr.Warning outside a request
]

# The input kinds of every public endpoint, in view_api's order; None: any value is fine (a checkbox).
ENDPOINTS: dict[str, list[str | None]] = {
    "/compare": ["prompt", "seed", "n", "steps", "guidance", "sampler", "variant", None],
    "/denoise": ["prompt", "seed", "steps", "sampler"],
    "/vae_walk": ["prompt", "prompt", "seed", "seed"],
    "/vae_reconstruct": ["seed"],
    "/gan_snapshots": ["prompt"],
}
# Endpoints with free-form or opaque inputs (a pair id, a vote, the browser's session): any value in any field must be
# served or refused with a clear gr.Error; the number is how many inputs their functions take in-process.
ANY_INPUT: dict[str, int] = {"/arena_pair": 2, "/arena_vote": 4, "/leaderboard": 0, "/pictures": 1,
                             "/fix_with_feedback": 2}
CULPRIT = {"prompt": "prompt", "seed": "seed", "n": "n must", "steps": "steps", "guidance": "guidance",
           "sampler": "sampler", "variant": "training data"}  # the words that name the bad field
VALID_BASE = {"prompt": "a fist", "seed": 0, "n": 1, "steps": 1, "guidance": 2.5, "sampler": "dpm++", "variant": "full"}

NASTY_STRINGS = ["", " ", "\n\t\r", "\x00", "\x1b[31m", "\u202eevil", "\ufeff", "\ud7ff", "💩" * 9, "🤙🏿", "a" * 100_000,
                 "✋" * (PROMPT_MAX_CHARS + 1), "<script>alert(1)</script>", "'; DROP TABLE hands;--", "%s%n{0}",
                 "../../etc/passwd", "NaN", "-1", "1e309", "Infinity", "0x10", "４", "٣"]
TEXT = st.one_of(
    st.text(),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "So"]), max_size=50),
    st.sampled_from(NASTY_STRINGS),
    st.builds(lambda c, k: c * k, st.characters(), st.integers(1, 100_000)),
)
NUMBERS = st.one_of(
    st.integers(), st.floats(), st.integers(-(2**80), 2**80),
    st.sampled_from([math.nan, math.inf, -math.inf, -1, -0.0, 0.5, 2**31, 2**63, 10**30, 1e308, 5e-324]),
)
ANY = st.one_of(TEXT, NUMBERS, st.none(), st.booleans(), st.lists(st.integers(), max_size=3),
                st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
CHEAP = {
    "prompt": st.one_of(st.sampled_from(["a fist", "✋", "hang loose 🤙", "PEACE\x00sign"]),
                        st.text(min_size=1, max_size=40).filter(lambda t: any(c.isprintable() and not c.isspace() for c in t))),
    "seed": st.integers(0, 2**31 - 1), "n": st.just(1), "steps": st.integers(1, 2), "guidance": st.floats(0, 15),
    "sampler": st.sampled_from(SAMPLERS), "variant": st.just("full"), None: st.booleans(),
}


def rejected(kind: str, value) -> bool:
    """Whether validation refuses `value` for this one field (the others valid)."""
    try:
        pipeline.validate(**{**VALID_BASE, kind: value})
    except ValueError:
        return True
    return False


def invalid(kind: str | None):
    return ANY if kind is None else ANY.filter(lambda v: rejected(kind, v))


def json_safe(value) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def assert_clear(message: str, culprit: str | None = None) -> None:
    """A message for a person: one short line, no traceback, not Gradio's generic 'an exception was raised'."""
    assert message and "\n" not in message and len(message) < 300, message
    assert "Traceback" not in message and "upstream Gradio app" not in message and "Exception" not in message, message
    if culprit:
        assert CULPRIT[culprit] in message.lower(), message


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import os

    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    blocks = build_demo()
    yield blocks
    blocks.close()


@pytest.fixture(scope="module")
def endpoint(demo):
    fns = {f"/{f.api_name}": f.fn for f in demo.fns.values() if f.api_visibility == "public"}

    def call(name: str, *args):
        """The endpoint's function on raw values; a streaming one is run to its first yield."""
        out = fns[name](*args)
        if hasattr(out, "__next__"):
            first = next(out)
            out.close()
            return first
        return out

    return call


@pytest.fixture(scope="module")
def client(demo):
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    c = gradio_client.Client(url, verbose=False)
    yield c
    c.close()


@st.composite
def some_bad_fields(draw, name: str, at_least: int = 0):
    """Cheap valid values with a drawn set of fields (maybe none) replaced by values validation must refuse."""
    kinds = ENDPOINTS[name]
    bad = draw(st.sets(st.sampled_from([i for i, k in enumerate(kinds) if k is not None]), min_size=at_least))
    args = [draw(invalid(k)) if i in bad else draw(CHEAP[k]) for i, k in enumerate(kinds)]
    return {kinds[i] for i in bad}, args


def check_in_process(endpoint, name: str, case: tuple[set, list]) -> None:
    """No bad field: it must be served. Bad fields: a clear gr.Error that names one of them."""
    bad, args = case
    try:
        out = endpoint(name, *args)
    except gr.Error as err:
        hypothesis.event("refused")
        assert bad, f"valid input refused: {err.message}"
        assert_clear(err.message)
        assert any(CULPRIT[k] in err.message.lower() for k in bad), (bad, err.message)
    else:
        hypothesis.event("served")
        assert not bad, f"served although {bad} were invalid"
        assert out is not None


def test_every_public_endpoint_is_fuzzed(client):
    api = client.view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == set(ENDPOINTS) | set(ANY_INPUT)
    assert not api["unnamed_endpoints"]
    for name, kinds in ENDPOINTS.items():
        assert len(api["named_endpoints"][name]["parameters"]) == len(kinds), name


def cases(n: int) -> settings:
    """n examples, no deadline (the CPU is shared), no example database written into the repo."""
    return settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@cases(400)
@given(st.tuples(*[st.one_of(ANY, CHEAP[k]) for k in ENDPOINTS["/compare"]]))
@example(("a fist", math.nan, 1, 1, 2.5, "dpm++", "full", False))
@example(("a" * 100_000, -1, 10**30, -math.inf, None, [], {}, "yes"))
def test_compare_anything_in_process(endpoint, args):
    """Any value in any field: served, or a clear gr.Error."""
    try:
        endpoint("/compare", *args)
    except gr.Error as err:
        assert_clear(err.message)


@pytest.mark.parametrize("name", sorted(ANY_INPUT))
def test_free_form_endpoints_take_anything(endpoint, name):
    """The arena's and /pictures' inputs, any values: served, or a clear gr.Error (never a traceback)."""
    @cases(12)
    @given(st.tuples(*[ANY] * ANY_INPUT[name]))
    def run(args):
        try:
            endpoint(name, *args)
        except gr.Error as err:
            assert_clear(err.message)

    run()


@cases(150)
@given(some_bad_fields("/compare"))
def test_compare_in_process(endpoint, case):
    check_in_process(endpoint, "/compare", case)


@cases(60)
@given(some_bad_fields("/denoise"))
def test_denoise_in_process(endpoint, case):
    check_in_process(endpoint, "/denoise", case)


@cases(150)
@given(some_bad_fields("/vae_walk"))
def test_vae_walk_in_process(endpoint, case):
    check_in_process(endpoint, "/vae_walk", case)


@cases(60)
@given(some_bad_fields("/vae_reconstruct", at_least=1))
@example((set(), [7]))  # valid: renders, encodes, decodes and scores 4 hands
def test_vae_reconstruct_in_process(endpoint, case):
    check_in_process(endpoint, "/vae_reconstruct", case)


@cases(100)
@given(some_bad_fields("/gan_snapshots", at_least=1))
@example((set(), ["✋🏽 \x00 \u202e hi"]))  # valid and hostile: runs every GAN snapshot (seconds)
def test_gan_snapshots_in_process(endpoint, case):
    check_in_process(endpoint, "/gan_snapshots", case)


@pytest.mark.parametrize("name,count", [("/compare", 150), ("/denoise", 60), ("/vae_walk", 60), ("/vae_reconstruct", 40),
                                        ("/gan_snapshots", 60)])
def test_live_server_explains_bad_input(client, name, count):
    from gradio_client.exceptions import AppError

    @cases(count)
    @given(some_bad_fields(name, at_least=1).filter(lambda case: json_safe(case[1])))
    def run(case):
        bad, args = case
        with pytest.raises(AppError) as err:
            client.predict(*args, api_name=name)
        assert_clear(str(err.value))
        assert any(CULPRIT[k] in str(err.value).lower() for k in bad), (bad, str(err.value))

    run()
    client.predict("a peace sign", 1, 1, 1, 2.5, "dpm++", "full", False, api_name="/compare")  # still serving
    assert all(len(g) == 1 for g in client.predict(api_name="/pictures"))  # one picture per family, as files
