"""Model cards with the benchmark's scores: every shipped variant's MODEL_CARD.md, rewritten.

    python -m bench.cards            # after `python -m bench`; (re)writes models/weights/<family>/<variant>/MODEL_CARD.md

The training part of a card comes from `models.card` (what `models.train` writes with every export);
this adds what the benchmark measured, from results/benchmark.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.settings import REPO_ROOT
from models import card as model_card
from models.registry import FAMILY_NAMES, Registry

BENCHMARK = REPO_ROOT / "results" / "benchmark.json"


def load_benchmark(path: Path = BENCHMARK) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _fmt_kid(kid) -> str:
    return "–" if not kid else f"{1000 * kid[0]:.1f} ± {1000 * kid[1]:.1f}"


def _fmt_ci(triple) -> str:
    if not triple or triple[0] is None:
        return "–"
    return f"{triple[0]:.1f} (95% CI {triple[1]:.1f}–{triple[2]:.1f})"


def _of_clean(hand_score: float | None, benchmark: dict) -> str:
    """The Hand Score as a share of clean renders' mean: the scale the generator issue's 70 % bar is on."""
    clean = (benchmark.get("renders") or {}).get("hand_score") or [None]
    if hand_score is None or not clean[0]:
        return ""
    return f" = {100 * hand_score / clean[0]:.1f} % of clean renders' {clean[0]:.1f}"


def score_lines(info: dict, benchmark: dict) -> list[str] | None:
    """The card's scores for the variant whose training.json is `info`; None when the benchmark has no row for it."""
    family, variant = info["family"], info["variant"]
    row = next((b for b in benchmark.get("backends", []) if b["family"] == family and b["variant"] == variant), None)
    if row is None:
        return None
    lines = []
    measured_at = row.get("trained_steps")
    if measured_at is not None and measured_at != info["steps"]:
        lines += [f"**Measured at {measured_at:,} training steps; these weights have {info['steps']:,}. "
                  "Rerun `python -m bench` for their scores.**", ""]
    lines += [
        f"- Hand Score: {_fmt_ci(row['hand_score'])} over {row['n_images']} images (14 prompts)"
        + _of_clean(row['hand_score'][0], benchmark),
        f"- Extended fingers match the prompt: {_fmt_ci([100 * x for x in row['finger_accuracy']])} %",
        f"- Hands found: {100 * row['hand_found_rate']:.0f}%; malformed: {100 * row['malformation_rate']:.0f}%",
        f"- Sharpness (1 = clean renders): {_fmt_ci(row['sharpness'])}",
        f"- KID×1000 vs clean renders (silhouette-net features): {_fmt_kid(row['kid'])}; diversity: {row['diversity']:.2f}"
        + (f"; near-duplicate pairs within a prompt: {_fmt_ci([100 * x for x in row['near_duplicates']])} %"
           if row.get("near_duplicates") else ""),
        f"- Latency per image: {row['latency_median_s']:.3f} s (p50), {row['latency_p90_s']:.3f} s (p90) on the benchmark machine",
    ]
    for r in benchmark.get("equal_training") or []:  # this variant's snapshots (the equal-training comparison)
        if r["family"] == family and r["full"]["variant"].startswith(f"{variant}@"):
            earlier = r["full"]
            lines.append(f"- At {earlier['variant'].split('@', 1)[1]} (the snapshot): Hand Score {_fmt_ci(earlier['hand_score'])}; "
                         f"hands found {100 * earlier['hand_found_rate']:.0f}%")
    return lines


def card(folder: Path, benchmark: dict, budget: list[str] | None = None) -> str:
    """The variant's whole card: `models.card`'s, with the benchmark's scores."""
    info = json.loads((folder / "training.json").read_text())
    return model_card.card(folder, score_lines(info, benchmark), budget)


def main() -> int:
    registry, benchmark = Registry(), load_benchmark()
    budgets: dict[str, list[str]] = {}  # one parameter budget table per variant name, shared by its families' cards
    written = []
    for family in FAMILY_NAMES:
        for variant in registry.variants(family):
            folder = registry.weights_root / family / variant
            if not (folder / "training.json").exists():
                continue
            if variant not in budgets:
                budgets[variant] = model_card.parameter_budget_lines(registry.weights_root, variant)
            (folder / "MODEL_CARD.md").write_text(card(folder, benchmark, budgets[variant]))
            written.append(str(Path(folder, "MODEL_CARD.md").relative_to(REPO_ROOT)))
    print(json.dumps({"written": written}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
