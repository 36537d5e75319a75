"""Same prompt, seed and settings -> byte-identical PNGs: twice in this process and in two fresh processes
(different hash seeds), for every family and, for diffusion, a deterministic and a stochastic sampler."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.digests import digests
from core.settings import REPO_ROOT
from models.registry import FAMILY_NAMES as FAMILIES
from models.registry import Registry

pytestmark = pytest.mark.skipif(not all(Registry().variants(f) for f in FAMILIES), reason="shipped weights missing")

PROMPT, SEED = "a thumbs up with the left hand", 1234


def digests_in_fresh_process(hash_seed: str) -> dict:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    run = subprocess.run([sys.executable, "-m", "bench.digests", "--prompt", PROMPT, "--seed", str(SEED)], cwd=REPO_ROOT,
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def test_same_inputs_same_bytes_in_process(registry):
    first = digests(registry, PROMPT, SEED)
    assert set(first) == {"vae", "gan", "diffusion/dpm++", "diffusion/ddpm"}
    assert digests(registry, PROMPT, SEED) == first
    other = digests(registry, PROMPT, SEED + 1)
    assert all(first[k] != other[k] for k in first), "a different seed must change every family's images"


def test_same_inputs_same_bytes_across_processes(registry):
    here = digests(registry, PROMPT, SEED)
    assert digests_in_fresh_process("1") == here
    assert digests_in_fresh_process("2") == here


def test_bad_input_is_one_line_and_exit_2():
    run = subprocess.run([sys.executable, "-m", "bench.digests", "--prompt", "   "], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "empty" in run.stderr.lower(), run.stderr
