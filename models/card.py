"""Model cards for every shipped variant, written from its training.json and the benchmark's numbers.

    python -m models.card            # (re)writes models/weights/<family>/<variant>/MODEL_CARD.md

Nothing in a card is typed by hand: data, steps, images seen, hardware and wall time come from
the training run; scores come from results/benchmark.json (run `python -m bench` first).
"""

from __future__ import annotations

import functools
import importlib
import json
import sys
from pathlib import Path

from core.settings import REPO_ROOT
from models import registry
from models.base import FAMILIES, snapshot_names

DESCRIPTIONS = {
    "vae": "A conditional convolutional VAE: the encoder squeezes a hand into a latent code, the decoder draws it back; "
           "trained with reconstruction + beta-weighted KL. Expected weakness: blur.",
    "gan": "A conditional GAN (spectral norm, hinge loss, projection discriminator, DiffAugment, EMA generator). "
           "Expected weaknesses: mode collapse, unstable training.",
    "diffusion": "A conditional diffusers UNet with classifier-free guidance, sampled by diffusers schedulers "
                 "(DPM-Solver++ by default). Expected weakness: speed (sequential denoising).",
}


def _benchmark() -> dict:
    path = REPO_ROOT / "results" / "benchmark.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _bench_row(family: str, variant: str) -> dict | None:
    return next((b for b in _benchmark().get("backends", []) if b["family"] == family and b["variant"] == variant), None)


def _snapshot_rows(family: str, variant: str) -> list[tuple[str, dict]]:
    """The benchmark's rows for this variant's snapshots (the equal-training comparison)."""
    rows = _benchmark().get("equal_training") or []
    return [(r["full"]["variant"].split("@", 1)[1], r["full"]) for r in rows
            if r["family"] == family and r["full"]["variant"].startswith(f"{variant}@")]


def _fmt_kid(kid) -> str:
    return "–" if not kid else f"{1000 * kid[0]:.1f} ± {1000 * kid[1]:.1f}"


def _fmt_ci(triple) -> str:
    if not triple or triple[0] is None:
        return "–"
    return f"{triple[0]:.1f} (95% CI {triple[1]:.1f}–{triple[2]:.1f})"


def _of_clean(hand_score: float | None) -> str:
    """The Hand Score as a share of clean renders' mean: the scale the generator issue's 70 % bar is on."""
    clean = (_benchmark().get("renders") or {}).get("hand_score") or [None]
    if hand_score is None or not clean[0]:
        return ""
    return f" = {100 * hand_score / clean[0]:.1f} % of clean renders' {clean[0]:.1f}"


@functools.cache
def parameter_budget_lines(variant: str) -> tuple[str, ...]:
    """Trained and sampling-time parameters of every family's `variant`, and how far apart they are."""
    budgets = {}
    for family in FAMILIES:
        info_path = registry.WEIGHTS_ROOT / family / variant / "training.json"
        if info_path.exists():
            config = json.loads(info_path.read_text())["config"]
            budgets[family] = importlib.import_module(f"models.{family}").parameter_budget(config)
    if len(budgets) < 2:
        return ()
    lines = ["| family | trained | run to draw a hand |", "|---|---|---|"]
    lines += [f"| {f} | {b['trained']:,} | {b['sampling']:,} |" for f, b in budgets.items()] + [""]
    for kind in ("trained", "sampling"):
        counts = [b[kind] for b in budgets.values()]
        ratio = max(counts) / min(counts)
        lines.append(f"- {'Trained' if kind == 'trained' else 'Run to draw a hand'}: largest / smallest = "
                     f"{ratio:.2f}x ({'within' if ratio <= 3 else 'outside'} the 3x the comparison allows).")
    return tuple(lines)


def card(folder: Path) -> str:
    """The whole card of the variant in `folder` (needs its training.json)."""
    info = json.loads((folder / "training.json").read_text())
    family, variant = info["family"], info["variant"]
    size_mb = sum(p.stat().st_size for p in folder.rglob("*.safetensors")) / 2**20
    architecture = importlib.import_module(f"models.{family}").describe(info["config"], info["num_parameters"])
    snapshots = snapshot_names(folder)
    lines = [
        f"# {family} / {variant}", "", DESCRIPTIONS[family], "", "## Architecture", "", architecture.strip(), "",
        "## Training", "",
        f"- Data: {info['data_size']:,} procedurally rendered hands (`world.dataset`, seed {info['data_seed']}), "
        f"{info['image_size']}x{info['image_size']} px, conditioned on the structured hand spec (gesture, handedness, object, "
        "skin tone, view) with field dropout.",
        f"- Steps: {info['steps']:,} at batch {info['batch']} = {info['images_seen']:,} images seen "
        f"({info['images_seen'] / max(info['data_size'], 1):.1f} epochs).",
        f"- Hardware: {info['hardware']}; mixed precision: {info['mixed_precision']}; wall time {info['wall_s'] / 3600:.2f} h.",
        f"- Parameters (shipped generator): {info['num_parameters']:,}; weights on disk {size_mb:.1f} MB (safetensors).",
        f"- Finished: {'yes' if info.get('final') else 'no — a checkpoint of a run still in progress'}.",
        *([f"- Snapshots kept (earlier states of this run, under `snapshots/`): {', '.join(snapshots)}."]
          if snapshots else []),
        f"- Config: `{json.dumps(info['config'])}`",
        "- Reproduce: `python -m models.train " + f"{family} --variant {variant} --data-size {info['data_size']} "
        f"--steps {info['steps']}` (resumes from a checkpoint or the shipped weights).",
        "",
    ]
    budget = parameter_budget_lines(variant)
    if budget:
        lines += [f"## Parameter budget ({variant} variants of the three families)", "", *budget, ""]
    lines += ["## Scores (from `python -m bench`)", ""]
    row = _bench_row(family, variant)
    if row is None:
        lines.append("Not measured yet: run `python -m bench`.")
    else:
        measured_at = row.get("trained_steps")
        if measured_at is not None and measured_at != info["steps"]:
            lines += [f"**Measured at {measured_at:,} training steps; these weights have {info['steps']:,}. "
                      "Rerun `python -m bench` for their scores.**", ""]
        lines += [
            f"- Hand Score: {_fmt_ci(row['hand_score'])} over {row['n_images']} images (14 prompts)"
            + _of_clean(row['hand_score'][0]),
            f"- Extended fingers match the prompt: {_fmt_ci([100 * x for x in row['finger_accuracy']])} %",
            f"- Hands found: {100 * row['hand_found_rate']:.0f}%; malformed: {100 * row['malformation_rate']:.0f}%",
            f"- Sharpness (1 = clean renders): {_fmt_ci(row['sharpness'])}",
            f"- KID×1000 vs clean renders (silhouette-net features): {_fmt_kid(row['kid'])}; diversity: {row['diversity']:.2f}"
            + (f"; near-duplicate pairs within a prompt: {_fmt_ci([100 * x for x in row['near_duplicates']])} %"
               if row.get("near_duplicates") else ""),
            f"- Latency per image: {row['latency_median_s']:.3f} s (p50), {row['latency_p90_s']:.3f} s (p90) on the benchmark machine",
        ]
        for name, earlier in _snapshot_rows(family, variant):
            lines.append(f"- At {name} (the snapshot): Hand Score {_fmt_ci(earlier['hand_score'])}; hands found "
                         f"{100 * earlier['hand_found_rate']:.0f}%")
    return "\n".join(lines) + "\n"


def main() -> int:
    written = []
    for family in FAMILIES:
        for variant in registry.variants(family):
            folder = registry.WEIGHTS_ROOT / family / variant
            if not (folder / "training.json").exists():
                continue
            (folder / "MODEL_CARD.md").write_text(card(folder))
            written.append(str(Path(folder, "MODEL_CARD.md").relative_to(REPO_ROOT)))
    print(json.dumps({"written": written}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
