"""The model card of a trained variant, from its training.json and the networks' own counts.

Nothing in a card is typed by hand: data, steps, images seen, hardware and wall time come from
the training run, the architecture and parameter budget from the family's record
(`models.registry.FAMILIES`). `models.train` writes a card with every export; the scores are
measured by the benchmark, which adds them (`python -m bench.cards` rewrites every card).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from models.base import snapshot_names
from models.registry import FAMILIES, family_record

NOT_MEASURED = ("Not measured yet: run `python -m bench`, then `python -m bench.cards`.",)


def parameter_budget_lines(root: Path, variant: str) -> list[str]:
    """Trained and sampling-time parameters of every family's `variant` under `root`, and how far apart they are."""
    budgets = {}
    for record in FAMILIES:
        info_path = root / record.name / variant / "training.json"
        if info_path.exists():
            budgets[record.name] = record.parameter_budget(json.loads(info_path.read_text())["config"])
    if len(budgets) < 2:
        return []
    lines = ["| family | trained | run to draw a hand |", "|---|---|---|"]
    lines += [f"| {f} | {b['trained']:,} | {b['sampling']:,} |" for f, b in budgets.items()] + [""]
    for kind in ("trained", "sampling"):
        counts = [b[kind] for b in budgets.values()]
        ratio = max(counts) / min(counts)
        lines.append(f"- {'Trained' if kind == 'trained' else 'Run to draw a hand'}: largest / smallest = "
                     f"{ratio:.2f}x ({'within' if ratio <= 3 else 'outside'} the 3x the comparison allows).")
    return lines


def training_lines(folder: Path, info: dict) -> list[str]:
    """The card's training section, from training.json (`info`) and the files in `folder`."""
    size_mb = sum(p.stat().st_size for p in folder.rglob("*.safetensors")) / 2**20
    snapshots = snapshot_names(folder)
    if "feedback" in info:  # fine-tuned on preference pairs beside its frozen reference (models.training.dpo)
        data = feedback_data_line(info)
    elif "teacher" in info:  # a distilled student learns from its teacher's pictures, not from renders
        data = (f"- Data: {info['data_size']:,} sampling paths of the teacher `{info['teacher']}` (its own sampler, "
                f"guidance {info['config']['distill']['guidance']:g}; noise seeds from {info['data_seed']:,}), no rendered hands; "
                f"{info['method']}.")
    else:
        data = (f"- Data: {info['data_size']:,} procedurally rendered hands (`world.dataset`, seed {info['data_seed']}), "
                f"{info['image_size']}x{info['image_size']} px, conditioned on the structured hand spec (gesture, handedness, "
                "object, skin tone, view) with field dropout.")
    return [
        data,
        f"- Steps: {info['steps']:,} at batch {info['batch']} = {info['images_seen']:,} images seen "
        f"({info['images_seen'] / max(info['data_size'], 1):.1f} epochs).",
        f"- Hardware: {info['hardware']}; mixed precision: {info['mixed_precision']}; wall time {info['wall_s'] / 3600:.2f} h.",
        f"- Parameters (shipped generator): {info['num_parameters']:,}; weights on disk {size_mb:.1f} MB (safetensors).",
        f"- Finished: {'yes' if info.get('final') else 'no — a checkpoint of a run still in progress'}.",
        *([f"- Snapshots kept (earlier states of this run, under `snapshots/`): {', '.join(snapshots)}."]
          if snapshots else []),
        *measured_lines(info),
        *feedback_lines(info),
        f"- Config: `{json.dumps(info['config'])}`",
        "- Reproduce: `" + info.get("reproduce", f"python -m models.train {info['family']} --variant {info['variant']} "
                                    f"--data-size {info['data_size']} --steps {info['steps']}") + "` (resumes from a checkpoint "
        "or the shipped weights).",
    ]


def feedback_data_line(info: dict) -> str:
    """What a variant fine-tuned on preferences learned from, and how much (its training.json's "feedback")."""
    fb, counts = info["feedback"], info["feedback"]["pair_counts"]
    return (f"- Data: {counts.get('train', 0):,} preference pairs from **{fb['pairs']}** ({counts.get('heldout', 0):,} more held "
            f"out by picture, never trained on); objective **{fb['objective']}** against the frozen reference "
            f"`{info['reference']}` (Diffusion-DPO in v space, beta {fb['beta']:.4g}, "
            f"{'the renders' if fb['objective'].startswith('dpo-renders') else 'winners'}' SFT anchor "
            f"{info['config']['feedback']['sft_weight']:g}); `models.training.dpo` says how.")


def feedback_lines(info: dict) -> list[str]:
    """The held-out pair accuracy that chose these weights, and the held-out seeds' verdict (`python -m bench.feedback
    --record`), for a variant fine-tuned on preferences."""
    fb = info.get("feedback")
    if not fb:
        return []
    acc = fb["heldout_accuracy"]
    lines = [f"- Chosen by held-out pair accuracy: {acc:.3f} at step {fb['selected_step']:,} of {fb['steps_run']:,} "
             f"(0.500 at the start, where the model is its reference; history: "
             + ", ".join(f"{s}: {a:.3f}" for s, a, _ in fb["heldout_history"]) + ")."]
    ev = info.get("feedback_eval")
    if not ev:
        return [*lines, "- Held-out seeds: not measured yet (`python -m bench.feedback --path <this folder> --record`)."]
    lines.append(eval_line("Held-out seeds", ev, info))
    if confirm := info.get("feedback_confirm"):
        lines.append(eval_line("Confirmation seeds, drawn once for these weights", confirm, info))
    return lines


def eval_line(what: str, ev: dict, info: dict) -> str:
    """One bench.feedback verdict in a line: its command, pictures, judge and the paired differences."""
    return (f"- {what} (`{ev['command']}`, {ev['images']} pictures each, paired with `{info['reference']}`, "
            f"judge {ev['judge']}): Hand Score {ev['hand_score'][0]:+.1f} [{ev['hand_score'][1]:+.1f}, "
            f"{ev['hand_score'][2]:+.1f}], fingers right {ev['fingers_right_points'][0]:+.1f} points "
            f"[{ev['fingers_right_points'][1]:+.1f}, {ev['fingers_right_points'][2]:+.1f}] (McNemar p = "
            f"{ev['mcnemar_p']:.3g}), near-duplicates {ev['near_duplicates_points']:+.1f} points.")


def measured_lines(info: dict) -> list[str]:
    """A distilled student's bars against its teacher, as `python -m bench.distill` measured them (in training.json)."""
    m = info.get("measured")
    if not m:
        return []
    stale = f" (measured at step {m['steps']:,}; these weights have {info['steps']:,})" if m["steps"] != info["steps"] else ""
    lines = [f"- Measured by `{m['command']}`{stale}, judge {m['judge']}, {m['images']} pictures per setting, "
             "paired on the same noise:"]
    for k, row in m["per_steps"].items():
        lines.append(f"  - {k} step(s): Hand Score {row['hand_score']:.1f} vs the teacher's {m['teacher_hand_score']:.1f} at 10 steps "
                     f"(paired {row['vs_teacher'][0]:+.1f} [{row['vs_teacher'][1]:+.1f}, {row['vs_teacher'][2]:+.1f}]); "
                     f"fingers right {row['fingers_right']:.0f} % vs {m['teacher_fingers_right']:.0f} %; against plain "
                     f"sampling at {k} step(s) {row['vs_plain'][0]:+.1f} [{row['vs_plain'][1]:+.1f}, {row['vs_plain'][2]:+.1f}]; "
                     f"{row['speedup']:.1f}x faster per image than the teacher at 10 steps.")
    return lines


def card(folder: Path, scores: Sequence[str] | None = None, budget: Sequence[str] | None = None) -> str:
    """The whole card of the variant in `folder` (needs its training.json).

    `scores`: the benchmark's lines for it (None: not measured). `budget`: the parameter budget table
    (None: counted here from the variants beside this one, folder/../../<family>/<variant>).
    """
    info = json.loads((folder / "training.json").read_text())
    family, variant = info["family"], info["variant"]
    record = family_record(family)
    if budget is None:
        budget = parameter_budget_lines(folder.parent.parent, variant)
    lines = [f"# {family} / {variant}", "", record.summary, "", "## Architecture", "",
             record.description(info["config"], info["num_parameters"]).strip(), "",
             "## Training", "", *training_lines(folder, info), ""]
    if budget:
        lines += [f"## Parameter budget ({variant} variants of the three families)", "", *budget, ""]
    lines += ["## Scores (from `python -m bench`)", "", *(NOT_MEASURED if scores is None else scores)]
    return "\n".join(lines) + "\n"
