"""Shared fixtures."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def registry():
    """The shipped generators, each variant loaded once per test module."""
    from models.registry import Registry

    return Registry()


@pytest.fixture(scope="module")
def judge():
    """The shipped judge, its networks loaded once per test module."""
    from judge import Judge

    return Judge.load()


@pytest.fixture(scope="module")
def app_judge():
    """The judge the demo in `client` scores with (a test reaches its networks through it)."""
    from judge import Judge

    return Judge.load()


@pytest.fixture(scope="module")
def client(tmp_path_factory, app_judge):
    """The demo launched in this process on loopback, with a gradio_client for it (one per test module)."""
    gradio_client = pytest.importorskip("gradio_client")
    from demo.blocks import build_demo

    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))  # read while serving files: keep it set
    demo = build_demo(app_judge)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    c = gradio_client.Client(url, verbose=False)
    yield c
    c.close()
    demo.close()


@pytest.fixture(autouse=True)
def keep_torch_threads():
    """A CLI's main() run in-process sets torch's thread count for good (python -m judge sets 1); give it back,
    so no later test runs at another count (the VAE's bytes, for one, differ between 1 and 2 threads)."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """accelerate keeps one process-wide AcceleratorState: a trainer run in-process with bf16 would make the next
    test's Accelerator(mixed_precision="no") raise. Each test starts from none, as a fresh `python -m` would."""
    yield
    import sys

    if "accelerate.state" in sys.modules:
        sys.modules["accelerate.state"].AcceleratorState._reset_state(reset_partial_state=True)
