"""Writing the benchmark's results: benchmark.json (the app's teaching tab reads it), a markdown
report with the main tables (the README quotes it) and PNG plots. The report's human-feedback section is read from
results/feedback_eval.json (bench.feedback_report), not measured by the benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench import claims, feedback_report


def jsonable(obj):
    """Drop private per-image arrays (keys starting with '_') and numpy scalars."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _ci(triple) -> str:
    if not triple or triple[0] is None or not np.isfinite(triple[0]):
        return "–"
    mean, lo, hi = triple
    return f"{mean:.1f} [{lo:.1f}, {hi:.1f}]"


def _pct(triple) -> str:
    if not triple or triple[0] is None or not np.isfinite(triple[0]):
        return "–"
    return f"{100 * triple[0]:.0f}% [{100 * triple[1]:.0f}, {100 * triple[2]:.0f}]"


def _kid(kid) -> str:
    return "–" if not kid else f"{1000 * kid[0]:.1f} ± {1000 * kid[1]:.1f}"


def backend_table(results: dict) -> str:
    lines = ["| backend | variant | Hand Score [95% CI] | fingers right | malformed | hand found | sharpness | KID×1000 | "
             "diversity | near-duplicates | latency p50 / p90 (s) | × GAN | images/s | peak MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    gan = next((b for b in results["backends"] if b["family"] == "gan" and b["variant"] == "full"), None)
    rows = ([results["renders"]] if results.get("renders") else []) + results["backends"]
    rows += [e["full"] for e in results.get("equal_training") or []]  # full-data snapshots at the scarce runs' steps
    for b in rows:
        lat = f"{b['latency_median_s']:.3f} / {b['latency_p90_s']:.3f}" if "latency_median_s" in b else "–"
        ratio = f"{b['latency_median_s'] / gan['latency_median_s']:.0f}" if gan and "latency_median_s" in b else "–"
        div = b.get("diversity")
        lines.append(
            f"| {b['family']} | {b['variant']} | {_ci(b['hand_score'])} | {_pct(b['finger_accuracy'])} | "
            f"{100 * b['malformation_rate']:.0f}% | {100 * b['hand_found_rate']:.0f}% | {_ci(b['sharpness'])} | "
            f"{_kid(b.get('kid'))} | {'–' if div is None else f'{div:.2f}'} | {_pct(b.get('near_duplicates'))} | {lat} | {ratio} | "
            f"{b.get('images_per_s', float('nan')):.1f} | {b.get('peak_rss_mb', '–')} |")
    return "\n".join(lines)


def sweep_table(results: dict) -> str:
    lines = ["| steps | Hand Score [95% CI] | fingers right | KID×1000 | latency p50 (s/image) |", "|---|---|---|---|---|"]
    for m in results.get("sweep", []):
        lines.append(f"| {m['steps']} | {_ci(m['hand_score'])} | {_pct(m['finger_accuracy'])} | {_kid(m.get('kid'))} | "
                     f"{m['latency_median_s']:.3f} |")
    return "\n".join(lines)


def guidance_table(results: dict) -> str:
    lines = ["| guidance | Hand Score [95% CI] | fingers right | KID×1000 | diversity |", "|---|---|---|---|---|"]
    for m in results.get("guidance", []):
        div = m.get("diversity")
        lines.append(f"| {m['guidance']:g} | {_ci(m['hand_score'])} | {_pct(m['finger_accuracy'])} | {_kid(m.get('kid'))} | "
                     f"{'–' if div is None else f'{div:.2f}'} |")
    return "\n".join(lines)


def speed_lines(results: dict) -> str:
    s = results.get("speed", {})
    out = [f"- `/compare` (3 backends × {s.get('n_per_backend')} images + scoring, diffusion {s.get('diffusion_steps')} steps "
           f"{s.get('sampler')}): p50 **{s.get('compare_p50_s', float('nan')):.2f} s**, p90 {s.get('compare_p90_s', float('nan')):.2f} s "
           f"over {s.get('compare_runs')} runs"]
    for backend, part in (s.get("per_backend") or {}).items():
        gen = part.get("generate_p50_s")
        out.append(f"  - {backend}: generate {'–' if gen is None else f'{gen:.3f}'} s, score {part['score_p50_s']:.3f} s")
    if s.get("app_cold_start_s") is not None:
        out.append(f"- app cold start to first page: **{s['app_cold_start_s']:.1f} s**; resident memory "
                   f"{s['app_rss_idle_mb']:.0f} MB idle, {s['app_rss_after_requests_mb']:.0f} MB after {s['app_requests']} /compare calls")
    if s.get("compare_client_warm_p50_s") is not None:
        out.append(client_line(s))
    return "\n".join(out)


def client_line(s: dict) -> str:
    """/compare as people wait for it: through gradio_client against the launched app (bench.wait)."""
    def sec(key: str) -> str:
        return "–" if s.get(key) is None else f"{s[key]:.2f} s"

    return (f"- `/compare` through gradio_client against `python app.py` (load average {s.get('compare_client_load')}): "
            f"warm p50 **{sec('compare_client_warm_p50_s')}** (computing {sec('compare_client_compute_p50_s')}; without "
            f"downloading the pictures {sec('compare_client_no_download_p50_s')}; streamed {sec('compare_client_stream_p50_s')}), "
            f"the first call after start **{sec('compare_client_first_s')}**, a repeated request (answered from the cache) "
            f"{sec('compare_client_cached_p50_s')}; the in-process figure above ran at {s.get('compare_threads', '?')} "
            f"threads, load average {s.get('compare_load', '?')}")


def speedups_table(results: dict) -> str:
    rows = results.get("speedups") or []
    if not rows:
        return "(not measured in a quick run)"
    lines = ["| change (cumulative) | /compare p50 (s) | × faster than the row above |", "|---|---|---|"]
    for k, row in enumerate(rows):
        gain = "–" if k == 0 else f"{rows[k - 1]['compare_p50_s'] / max(row['compare_p50_s'], 1e-9):.2f}"
        lines.append(f"| {row['change']} | {row['compare_p50_s']:.2f} | {gain} |")
    return "\n".join(lines)


def write(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(jsonable(results), indent=1) + "\n")
    claims.write_files(jsonable(results["claims"]), out, {"date": results["date"], "quick": results["quick"]})
    plots = _plots(results, out)
    md = [f"# Benchmark ({results['date']}, {'quick' if results['quick'] else 'full'} run, {results['hardware']})", "",
          f"{results['per_prompt']} images per prompt × 14 prompts per backend; `python -m bench` ({results['wall_s']:.0f} s).", "",
          "## The claims", "", claims.markdown_table(results["claims"]), "",
          feedback_report.HEADING, "", feedback_report.section(feedback_report.load()), "",
          "## Backends", "", backend_table(results), "",
          "## Diffusion steps", "", sweep_table(results), "",
          "## Diffusion guidance (0: the prompt is ignored)", "", guidance_table(results), "", "## Speed", "", speed_lines(results), "",
          "### What each speed-up bought", "", speedups_table(results), ""]
    if results.get("snapshots"):
        md += ["## GAN across training", "", "| snapshot | Hand Score | diversity |", "|---|---|---|"]
        md += [f"| {r['snapshot']} | {r['hand_score']:.1f} | {r['diversity'] or float('nan'):.2f} |" for r in results["snapshots"]]
        md.append("")
    if results.get("scorer_validation"):
        md += ["## The scorer's own validation", "", "```json", json.dumps(jsonable(results["scorer_validation"]), indent=1)[:3000],
               "```", ""]
    if results.get("notes"):
        md += ["## Notes", ""] + [f"- {n}" for n in results["notes"]] + [""]
    md += [f"![{p.stem}]({p.name})" for p in plots]
    (out / "benchmark.md").write_text("\n".join(md) + "\n")


def _plots(results: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    rows = [results["renders"]] + results["backends"] if results.get("renders") else results["backends"]
    if rows:
        fig, ax = plt.subplots(figsize=(7, 3.2))
        names = [f"{b['family']}\n{b['variant']}" for b in rows]
        means = [b["hand_score"][0] for b in rows]
        err = np.array([[b["hand_score"][0] - b["hand_score"][1], b["hand_score"][2] - b["hand_score"][0]] for b in rows]).T
        ax.bar(names, means, yerr=err, capsize=4, color="#c8a2c8")
        ax.set_ylabel("Hand Score (95% CI)")
        ax.set_ylim(0, 100)
        fig.tight_layout()
        paths.append(out / "hand_score.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    if results.get("sweep"):
        fig, ax = plt.subplots(figsize=(5, 3.2))
        xs = [m["latency_median_s"] for m in results["sweep"]]
        ax.plot(xs, [m["hand_score"][0] for m in results["sweep"]], "o-")
        for m, x in zip(results["sweep"], xs):
            ax.annotate(f"{m['steps']}", (x, m["hand_score"][0]), textcoords="offset points", xytext=(4, 4))
        ax.set_xscale("log")
        ax.set_xlabel("seconds per image (log)")
        ax.set_ylabel("Hand Score")
        ax.set_title("Diffusion: steps vs quality")
        fig.tight_layout()
        paths.append(out / "diffusion_steps.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths
