"""Turning runs and reports into what the UI shows: captions, markdown, tables. No Gradio here."""

from __future__ import annotations

import re

import pandas as pd

from core.vocab import HandSpec
from demo import pipeline
from judge.overlay import draw

FLAG_WORDS = {
    "no_hand": "no hand found",
    "extra_finger": "too many fingers",
    "missing_finger": "a finger is missing",
    "fused_fingers": "fingers fused together",
    "long_finger": "a finger is too long",
    "joint_past_limit": "a joint bent past its limit",
    "blurry": "blurry",
    "wrong_gesture": "not the gesture asked for",
    "wrong_count": "wrong number of extended fingers",
}


def flag_words(flags: list[str]) -> str:
    return ", ".join(FLAG_WORDS.get(f, f.replace("_", " ")) for f in flags) or "no problems found"


def spec_markdown(spec: HandSpec) -> str:
    d = spec.to_dict()
    parts = []
    for name in ("gesture", "handedness", "object", "skin_tone", "view"):
        value = d[name]
        parts.append(f"**{name.replace('_', ' ')}**: {value.replace('_', ' ') if value else '_any_'}")
    expected = "any" if d["extended_count"] is None else f"{d['extended_count']} ({', '.join(d['extended']) or 'none'})"
    notes = "; ".join(spec.notes[:4])
    return (f"**Understood** (confidence {spec.confidence:.0%}): " + " · ".join(parts)
            + f" · **extended fingers expected**: {expected}" + (f"  \n<small>{notes}</small>" if notes else ""))


def caption(report) -> str:
    if not report.hand_found:
        return "no hand · 0/100"
    return f"{report.hand_score:.0f}/100 · {report.extended_count} fingers · {flag_words(report.flags)}"


def gallery_items(run: pipeline.BackendRun, overlays: bool = False) -> list[tuple]:
    if not run.ok or run.generation is None:
        return []
    items = []
    for image, report in zip(run.generation.images, run.reports):
        shown = draw(report) if overlays else image
        items.append((pipeline.upscale(shown), caption(report)))
    return items


def stats_markdown(run: pipeline.BackendRun) -> str:
    if not run.ok:
        return f"⚠️ {run.error}"
    g, s = run.generation, run.set_report
    lo, hi = s.score_ci
    fingers = "—" if s.finger_count_accuracy is None else f"{s.finger_count_accuracy:.0%}"
    return (f"**Hand Score {s.mean_score:.0f}** (95% CI {lo:.0f}–{hi:.0f}) · fingers right {fingers} · "
            f"hands found {s.hand_found_rate:.0%}  \n{len(g.images)} images in **{g.latency_s:.2f} s** "
            f"({g.images_per_s:.1f} images/s, {g.evaluations} network passes) · scoring {run.score_s:.2f} s"
            + "".join(f"  \n⚠️ {note}" for note in s.notes))  # what the scorer had to do without


def summary_frame(runs: list[pipeline.BackendRun]) -> pd.DataFrame:
    columns = ["backend", "variant", "hand_score", "ci_low", "ci_high", "finger_accuracy", "hands_found", "sharpness",
               "diversity", "latency_s", "images_per_s"]
    rows = []
    for run in runs:
        if not run.ok:
            continue
        s, g = run.set_report, run.generation
        rows.append({
            "backend": run.backend, "variant": run.variant, "hand_score": round(s.mean_score, 1),
            "ci_low": round(s.score_ci[0], 1), "ci_high": round(s.score_ci[1], 1),
            "finger_accuracy": _round(s.finger_count_accuracy), "hands_found": round(s.hand_found_rate, 3),
            "sharpness": _round(s.sharpness_mean), "diversity": _round(s.diversity),
            "latency_s": round(g.latency_s, 3), "images_per_s": round(g.images_per_s, 1),
        })
    return pd.DataFrame(rows, columns=columns)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def report_markdown(run: pipeline.BackendRun, index: int) -> str:
    if not run.ok or not 0 <= index < len(run.reports):
        return ""
    r = run.reports[index]
    lines = [f"#### {run.backend} image {index + 1}: Hand Score {r.hand_score:.0f}/100", f"Flags: {flag_words(r.flags)}", ""]
    lines.append("| penalty | points | why |\n|---|---|---|")
    for name, penalty in r.breakdown.items():
        lines.append(f"| {name.replace('_', ' ')} | −{penalty.points:.0f} | {penalty.reason} |")
    return "\n".join(lines)


def step_of(snapshot_name: str, final_step: int | None) -> int | None:
    """'step-002500' -> 2500; a name without a number ('final': the shipped weights) -> final_step."""
    match = re.search(r"(\d+)", snapshot_name)
    return int(match.group(1)) if match else final_step
