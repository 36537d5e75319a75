"""The benchmark runs end to end on a tiny setting and writes what the app and README read."""

import json
import subprocess
import sys

import pytest

from core.settings import REPO_ROOT
from models.registry import FAMILY_NAMES as FAMILIES
from models.registry import Registry

pytestmark = pytest.mark.skipif(not all(Registry().variants(f) for f in FAMILIES), reason="shipped weights missing")


def test_quick_bench_writes_json_markdown_and_plots(tmp_path):
    run = subprocess.run([sys.executable, "-m", "bench", "--quick", "--per-prompt", "1", "--latency-calls", "1", "--sweep", "2",
                          "--compare-runs", "1", "--no-app", "--families", "vae", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout)
    assert summary["compare_p50_s"] > 0
    results = json.loads((tmp_path / "benchmark.json").read_text())
    for key in ("date", "quick", "renders", "backends", "sweep", "claims", "speed", "compare_p50_s"):
        assert key in results
    row = results["backends"][0]
    assert row["family"] == "vae" and row["n_images"] == 14
    for key in ("hand_score", "finger_accuracy", "malformation_rate", "hand_found_rate", "sharpness", "kid", "diversity",
                "latency_median_s", "latency_p90_s", "images_per_s", "peak_rss_mb"):
        assert key in row
    mean, lo, hi = row["hand_score"]
    assert lo <= mean <= hi
    assert all({"claim", "metric", "values", "verdict"} <= set(c) for c in results["claims"])
    assert (tmp_path / "benchmark.md").read_text().startswith("# Benchmark")
    assert (tmp_path / "hand_score.png").exists()


def _sweep_entry(steps: int, scores: list[float], latency: float) -> dict:
    return {"steps": steps, "_scores": scores, "latency_median_s": latency}


def test_few_steps_claim_compares_the_same_seeds_in_pairs():
    from bench.claims import _few_steps_row

    base = [40.0, 90.0, 55.0, 70.0, 20.0, 85.0] * 5  # widely spread scores: only pairing gives a tight interval
    close = _few_steps_row([_sweep_entry(8, [s - 1 for s in base], 0.1), _sweep_entry(250, base, 3.0)], app_steps=8)
    assert close["verdict"] == "holds" and "30x faster" in close["values"]
    far = _few_steps_row([_sweep_entry(8, [s - 10 for s in base], 0.1), _sweep_entry(250, base, 3.0)], app_steps=8)
    assert far["verdict"] == "does not hold"
    assert _few_steps_row([_sweep_entry(8, base, 0.1), _sweep_entry(10, base, 0.2)], app_steps=8) is None


def test_text_guidance_claim_needs_the_prompt_to_change_the_fingers():
    from bench.claims import _guidance_row

    right = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0] * 10
    guided = _guidance_row([{"guidance": 0.0, "_correct": [0.0] * 60}, {"guidance": 2.5, "_correct": right}], 2.5)
    assert guided["verdict"] == "holds" and "guidance 2.5 vs 0" in guided["metric"]
    same = _guidance_row([{"guidance": 0.0, "_correct": right}, {"guidance": 2.5, "_correct": right}], 2.5)
    assert same["verdict"] != "holds"
    assert _guidance_row([{"guidance": 2.5, "_correct": right}], 2.5) is None


@pytest.mark.parametrize("argv", [["--per-prompt", "0"], ["--scales", "-1"]])
def test_guidance_choice_rejects_bad_arguments(argv):
    from bench import guidance

    with pytest.raises(SystemExit) as exit_:
        guidance.main(argv)
    assert exit_.value.code == 2


def test_model_card_flags_scores_measured_on_older_weights(tmp_path, monkeypatch):
    """A card quotes the benchmark's row, and says so when the weights have trained on since it was measured."""
    from bench import cards

    shipped = REPO_ROOT / "models" / "weights" / "diffusion" / "full" / "training.json"
    info = json.loads(shipped.read_text())
    (tmp_path / "training.json").write_text(json.dumps(info))
    row = json.loads((REPO_ROOT / "results" / "benchmark.json").read_text())["backends"][0]
    row = dict(row, family="diffusion", variant="full")
    for measured_at, flagged in ((info["steps"], False), (info["steps"] - 1000, True), (None, False)):
        text = cards.card(tmp_path, {"backends": [dict(row, trained_steps=measured_at)]})
        assert "Hand Score:" in text
        assert ("Rerun `python -m bench`" in text) is flagged
