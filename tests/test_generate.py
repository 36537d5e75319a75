"""models.generate: the generation CLI on shipped weights."""

import json
import subprocess
import sys

import pytest

from models.registry import Registry

pytestmark = pytest.mark.skipif(not Registry().variants("vae"), reason="no shipped VAE weights")


def _run(*args):
    return subprocess.run([sys.executable, "-m", "models.generate", *args], capture_output=True, text=True, timeout=300)


def test_writes_pngs_and_meta_deterministically(tmp_path):
    outs = []
    for name in ("a", "b"):
        run = _run("--backend", "vae", "--prompt", "a peace sign", "--n", "2", "--seed", "5", "--out", str(tmp_path / name))
        assert run.returncode == 0, run.stderr
        meta = json.loads((tmp_path / name / "meta.json").read_text())
        for key in ("backend", "prompt", "seed", "latency_s", "steps"):
            assert key in meta
        assert meta["spec"]["gesture"] == "peace"
        outs.append([(tmp_path / name / f).read_bytes() for f in meta["files"]])
    assert outs[0] == outs[1] and len(outs[0]) == 2


@pytest.mark.parametrize("args", [("--prompt", "   "), ("--prompt", "a fist", "--n", "0"), ("--prompt", "a fist", "--variant", "nope")])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args):
    run = _run("--backend", "vae", "--out", str(tmp_path), *args)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and run.stderr.strip().count("\n") == 0
