"""The judge on pictures drawn another way: flat 2D cartoon hands (`world.style2d`, a style no witness
trains on) and the validation renders in random looks (`world.styles`), also with every outline reaching into
the hand as drawn lines do ("drawn_renders": the same renders and looks otherwise) and drawn as line drawings
("line_renders": the hand not filled in, `world.styles.line_drawing`). Before and after the witnesses were
retrained with domain randomisation.

Why: every other check of the judge uses the renderer's own pictures. A person counts the fingers of
a clip-art hand at a glance; a judge that only knows one renderer may not, and a user's picture is
never in the renderer's style. Measured per set: finger count equal to the truth (open hands, all
healthy hands, malformed ones), malformed-vs-normal AUROC of the Hand Score (with the prompt's gesture
and blind) and of the malformation detector alone, how often a hand is found, and no-hand rejection.
The plain judge (the witnesses and the rules) is what retraining the witnesses changes; with a quality
model in the weights folder, the full judge is measured beside it (`*_full`).

    python -m judge.fit.styles --label before                    # the shipped judge
    python -m judge.fit.styles --label after --weights DIR       # weights in DIR (default judge/weights)
    python -m judge.fit.styles --grid                            # also results/styles_grid*.png
    python -m judge.fit.styles --sets watercolour_2d             # only some sets

Writes results/judge_styles.json, one entry per --label (the others are kept).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from core.settings import REPO_ROOT
from core.vocab import ANOMALIES, HandSpec
from judge.judge import Judge
from judge.metrics import auroc
from world.render import render_sample
from world.style2d import GESTURES_2D, MALFORMATIONS, draw_hand

CARTOON_SEED = 9401  # cartoon hands (a style no witness trains on)
CHALK_SEED = 9402  # chalk drawings (no witness trains on them; the line drawings were chosen on them)
PENCIL_SEED = 9403  # pencil sketches (no witness trains on them; the second look net was chosen on them)
WATERCOLOUR_SEED = 9404  # watercolours (drawn after the look net and its threshold were chosen; nothing chosen on them)
SHADOW_SEED = 9405  # shadow hands (drawn after the second look net was chosen, on pencil among others)
LOOK_SEEDS = {"cartoon": CARTOON_SEED, "chalk": CHALK_SEED, "pencil": PENCIL_SEED,
              "watercolour": WATERCOLOUR_SEED, "shadow": SHADOW_SEED}  # world.style2d's looks
STYLED_SEED = 9304  # the looks given to the validation renders (seed 9303, as judge.fit.validate)
RENDER_SEED = 9303
OUT = REPO_ROOT / "results" / "judge_styles.json"


def cartoons(per_gesture: int, per_kind: int, look: str = "cartoon") -> list[tuple[np.ndarray, dict]]:
    """Healthy cartoon hands, `per_gesture` of every gesture, then `per_kind` of each malformation (`look`: one of
    `world.style2d.LOOKS`, each from a seed of its own)."""
    seed = LOOK_SEEDS[look]
    out = [draw_hand(seed, i, gesture=g, look=look) for g in GESTURES_2D for i in range(per_gesture)]
    out += [draw_hand(seed, i, malformation=k, look=look) for k in MALFORMATIONS for i in range(per_kind)]
    return [(c.image, {"kind": c.label["malformation"] or "clean", "gesture": c.label["gesture"],
                       "true_count": c.label["extended_count"]}) for c in out]


def styled_renders(clean: int, per_kind: int, ink_inside: float = 0.0,
                   line_art: float = 0.0) -> list[tuple[np.ndarray, dict]]:
    """The validation renders (seed 9303: clean, then each malformation) each in a random look of its own;
    `ink_inside`: the share of outlines that also reach into the hand, `line_art`: of looks drawn as line
    drawings (`world.styles.sample_style`)."""
    from world import styles

    out = []
    for k, kind in enumerate((None, *ANOMALIES)):
        for i in range(clean if kind is None else per_kind):
            r = render_sample(RENDER_SEED, i, 64, anomaly=kind)
            look = styles.sample_style(np.random.default_rng([STYLED_SEED, k, i]), 0.15, ink_inside, line_art)
            style = styles.for_render(look, r.label["object"] != "none")
            out.append((styles.restyle(style, r.image, r.mask),
                        {"kind": kind or "clean", "gesture": r.label["gesture"], "true_count": r.label["extended_count"]}))
    return out


def score(judge: Judge, cases: list[tuple[np.ndarray, dict]]) -> dict[str, list[dict]]:
    """Rows per judge: "plain" (the witnesses and the rules: what retraining the witnesses changes) and,
    when the weights carry one, "full" (the quality model fitted to people reading the witnesses). A row:
    the Hand Score with the gesture as the prompt and blind, the count, found, the detector's P(malformed)."""
    modes = {"plain": judge.witness_report}
    if judge.networks.quality.get_or_none() is not None:
        modes["full"] = judge.evaluate
    rows: dict[str, list[dict]] = {mode: [] for mode in modes}
    for image, label in cases:
        ev = judge.gather(image)
        p_bad = None if ev.defect is None else 1.0 - ev.defect["clean"]
        for mode, report in modes.items():
            with_spec, blind = report(ev, HandSpec(gesture=label["gesture"])), report(ev)
            rows[mode].append({**label, "score_spec": with_spec.hand_score, "score_blind": blind.hand_score,
                               "count": blind.extended_count if blind.hand_found else None,
                               "found": blind.hand_found, "p_malformed": p_bad,
                               "other_look": mode == "full" and judge.in_other_look(ev)})
    return rows


def _rate(values) -> float | None:
    values = list(values)
    return round(float(np.mean(values)), 4) if values else None


def summary(rows: list[dict]) -> dict:
    """Counts, AUROCs and hand-found rates of one set of rows (`score`)."""
    clean = [r for r in rows if r["kind"] == "clean"]
    bad = [r for r in rows if r["kind"] != "clean"]
    kinds = sorted({r["kind"] for r in bad})
    out: dict = {"n_clean": len(clean), "n_malformed": len(bad),
                 "count_exact_open": _rate(r["count"] == r["true_count"] for r in clean if r["gesture"] == "open_palm"),
                 "count_exact_clean": _rate(r["count"] == r["true_count"] for r in clean),
                 "count_exact_malformed": _rate(r["count"] == r["true_count"] for r in bad),
                 "count_exact_by_gesture": {g: _rate(r["count"] == r["true_count"] for r in clean if r["gesture"] == g)
                                            for g in sorted({r["gesture"] for r in clean})},
                 "hand_found_clean": _rate(r["found"] for r in clean), "hand_found_malformed": _rate(r["found"] for r in bad),
                 "mean_score_clean_spec": round(float(np.mean([r["score_spec"] for r in clean])), 2),
                 "sent_to_other_looks": _rate(r["other_look"] for r in rows)}
    for mode in ("spec", "blind"):
        neg = [-r[f"score_{mode}"] for r in clean]
        out[f"auroc_{mode}"] = round(auroc([-r[f"score_{mode}"] for r in bad], neg), 4)
        out[f"auroc_{mode}_per_kind"] = {k: round(auroc([-r[f"score_{mode}"] for r in bad if r["kind"] == k], neg), 4)
                                         for k in kinds}
    if all(r["p_malformed"] is not None for r in rows):
        out["auroc_detector_alone"] = round(auroc([r["p_malformed"] for r in bad], [r["p_malformed"] for r in clean]), 4)
    return out


def sets(per_gesture: int, per_kind: int, styled: int) -> dict[str, tuple]:
    """Every set, by name: (a function making its cases, its seeds). Drawn looks first, then the renders in looks."""
    from functools import partial

    out = {f"{'cartoon' if look == 'cartoon' else look}_2d": (partial(cartoons, per_gesture, per_kind, look), {"seed": seed})
           for look, seed in LOOK_SEEDS.items()}
    seeds = {"seed": RENDER_SEED, "style_seed": STYLED_SEED}
    kinds = max(1, styled // 5)
    out["styled_renders"] = (partial(styled_renders, styled, kinds), seeds)
    out["drawn_renders"] = (partial(styled_renders, styled, kinds, ink_inside=1.0), {**seeds, "ink_inside": 1.0})
    out["line_renders"] = (partial(styled_renders, styled, kinds, line_art=1.0), {**seeds, "line_art": 1.0})
    return out


def measure(judge: Judge, per_gesture: int, per_kind: int, styled: int, no_hand: int,
            only: list[str] | None = None) -> dict:
    """Each set (`sets`; `only`: these), per judge (`score`), and no-hand rejection of the full judge
    (judge.fit.validate's pictures)."""
    import torch

    from judge.fit.validate import rejection

    torch.set_num_threads(1)
    t0 = time.time()
    out: dict = {}
    for name, (make, seeds) in sets(per_gesture, per_kind, styled).items():
        if only and name not in only:
            continue
        for mode, rows in score(judge, make()).items():
            out[name if mode == "plain" else f"{name}_{mode}"] = {**seeds, **summary(rows)}
    out.update(rejection(judge, no_hand))
    out["seconds"] = round(time.time() - t0, 1)
    return out


def grids(out_dir: Path) -> list[Path]:
    """Contact sheets: each drawn look (healthy, then each malformation) and renders in random looks, also drawn
    as line drawings."""
    from world.render import contact_sheet

    paths = []
    for look, seed in LOOK_SEEDS.items():
        rows = [draw_hand(seed, i, gesture=g, look=look).image for i, g in enumerate(GESTURES_2D[:8] * 3)]
        rows += [draw_hand(seed, i, malformation=k, look=look).image for k in MALFORMATIONS for i in range(8)]
        paths.append(out_dir / f"styles_grid_{'2d' if look == 'cartoon' else look}.png")
        contact_sheet(rows, columns=8, scale=3).save(paths[-1])
    for name, line_art in (("randomised", 0.0), ("line", 1.0)):
        paths.append(out_dir / f"styles_grid_{name}.png")
        contact_sheet([im for im, _ in styled_renders(48, 0, line_art=line_art)], columns=8, scale=3).save(paths[-1])
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The judge on a held-out 2D style and on renders in random looks.")
    parser.add_argument("--label", default="current", help="key in the results file (before, after, ...)")
    parser.add_argument("--weights", type=Path, default=None, help="a weights folder (default judge/weights)")
    parser.add_argument("--per-gesture", type=int, default=24, help="healthy cartoon hands per gesture")
    parser.add_argument("--per-kind", type=int, default=60, help="cartoon hands per malformation")
    parser.add_argument("--styled", type=int, default=300, help="styled clean renders (and a fifth of that per kind)")
    parser.add_argument("--no-hand", type=int, default=50, help="no-hand pictures per kind")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--grid", action="store_true", help="also write results/styles_grid_*.png")
    parser.add_argument("--sets", nargs="+", default=None, help="only these sets (default: all)")
    args = parser.parse_args(argv)
    if min(args.per_gesture, args.per_kind, args.styled, args.no_hand) < 1:
        print("error: every count must be at least 1", file=sys.stderr)
        return 2
    if args.weights is not None and not args.weights.is_dir():
        print(f"error: no weights folder {args.weights}", file=sys.stderr)
        return 2
    known = sets(1, 1, 1)
    if args.sets and not set(args.sets) <= set(known):
        print(f"error: unknown set; choose from {' '.join(known)}", file=sys.stderr)
        return 2
    judge = Judge.load(args.weights)
    result = {"weights": "judge/weights" if args.weights is None else args.weights.name,
              **measure(judge, args.per_gesture, args.per_kind, args.styled, args.no_hand, args.sets)}
    data = json.loads(args.out.read_text()) if args.out.exists() else {}
    data[args.label] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    if args.grid:
        grids(args.out.parent)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
