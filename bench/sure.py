"""Where the app's ✓ starts, and what people say of each mark the app gives.

    python -m bench.sure            # writes results/sure_threshold.json (about 6 minutes, one thread)

The app marks a picture ✓ only when the judge finds a hand, flags nothing, counts the prompt's fingers,
scores at least `demo.present.SURE_SCORE` and its matches head says people would see what the prompt asks
with P at least `demo.present.SURE_MATCH`. Those two numbers are chosen here, on predictions the quality
model made without seeing the picture's source (leave one source out, as the judge's own held-out report):
every generated rated picture gets the mark the app would give it (`demo.present.verdict`, ✓ right, ✗ wrong,
? unsure) at each pair of the grid, and the raters' verdicts are tallied per mark. The pair chosen gives the
most ✓ of which raters call at most `MAX_BROKEN` broken (quality 2 or less of 5: the error that matters) and
at least `MIN_MATCHES` showing what the prompt asks, on all of them and on each batch of rated pictures
alone (a pair that keeps the limits on one batch only is luck). How much a choice flatters is checked on data
it never saw: chosen on the first batch alone, reported on the second, and the other way round.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from core.settings import REPO_ROOT
from core.vocab import HandSpec
from demo import present
from judge import rules
from judge.fit import raters
from judge.fit import train_quality as fit
from judge.judge import DEFAULT_WEIGHTS, Judge
from judge.report import HandReport, QualityVerdict
from prompt import PromptParser

SCORES = (30.0, 35.0, 40.0, 45.0, 50.0, 55.0, 60.0)
MATCHES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)  # 0.0: the matches head is not asked (the ✓ before it existed)
MAX_BROKEN, MIN_MATCHES = 0.10, 0.80  # of the ✓: at most 1 in 10 broken, 8 in 10 showing the ask, by the raters
FIRST_BATCH = 768  # ids below it: the rated set's first batch (judge/fit/raters/README.md)
# Until 2026-12-07 the rules excused a count below the prompt's on a palm seen edge-on: P(side view) over this, or
# the palm's half-width / P under EDGE_ON_WIDTH. `fewer_than_asked` tallies what people said of those pictures.
EDGE_ON_SIDE_VIEW, EDGE_ON_WIDTH = 0.5, 0.30

Judged = tuple[HandReport, HandSpec]


def held_out_predictions(judge: Judge, pictures: list[raters.RatedPicture]) -> dict:
    """Each rated picture's heads (quality, P(hand), hand found, P(count), P(malformed), P(matches)) fitted
    without its source, by the judge's own recipe (`judge.fit.train_quality.held_out`: the rated pictures, the
    synthetic failures and the rendered twins)."""
    table, extras = fit.training_rows(judge, pictures)
    return fit.held_out(table, pictures, extras, fit.PARAMS)


def held_out_reports(judge: Judge, pictures: list[raters.RatedPicture], pred: dict) -> list[Judged | None]:
    """Each generated picture's report as the app would write it, with the quality model's verdict replaced by
    the held-out one, and its prompt's spec (None for renders)."""
    from PIL import Image

    model = judge.networks.quality.get()
    parser, out = PromptParser(), []
    for i, picture in enumerate(pictures):
        if not picture.generated:
            out.append(None)
            continue
        with Image.open(picture.path) as im:
            evidence = judge.gather(np.asarray(im.convert("RGB")))
        p_count = pred["p_count"][i]
        count = int(p_count.argmax())
        verdict = QualityVerdict(quality=float(pred["quality"][i]), p_hand=float(pred["p_hand"][i]),
                                 hand_found=bool(pred["found"][i]), count=count, count_p=float(p_count[count]),
                                 use_count=model.meta["count_from"] != "witness",
                                 p_malformed=float(pred["p_malformed"][i]), malformed_share=model.malformed_share,
                                 p_matches=float(pred["p_matches"][i]))
        spec = parser.parse(picture.prompt)
        out.append((rules.evaluate(evidence, spec, judge.calibration, verdict), spec))
    return out


def marks(judged: list[Judged | None], sure_score: float, sure_match: float) -> list[str | None]:
    """The app's mark of each judged picture ("right", "wrong", "unsure"; None where there is no report)."""
    return [None if j is None else present.verdict(*j, sure_score=sure_score, sure_match=sure_match).kind
            for j in judged]


def marks_table(kinds: list[str | None], pictures: list[raters.RatedPicture]) -> dict[str, dict]:
    """Per mark, on the pictures that have one: how many, and what the raters said of them (shows what the
    prompt asks, a hand, good hand ≥ 3.5, broken or no hand ≤ 2, mean quality)."""
    table = {}
    for kind in ("right", "unsure", "wrong"):
        chosen = [p for p, m in zip(pictures, kinds, strict=True) if m == kind]
        said = [p.matches >= 0.5 for p in chosen if p.matches is not None]
        table[kind] = {"n": len(chosen), "share_of_generated": round(len(chosen) / sum(m is not None for m in kinds), 3),
                       "people_matches_prompt": _mean(said), "people_hand": _mean([p.is_hand for p in chosen]),
                       "people_good": _mean([p.quality >= 3.5 for p in chosen]),
                       "people_broken": _mean([p.quality <= 2 for p in chosen]),
                       "people_quality": _mean([p.quality for p in chosen])}
    return table


def grid(judged: list[Judged | None], pictures: list[raters.RatedPicture], by_batch: bool = True) -> list[dict]:
    """Per (sure_score, sure_match): the ✓ row of `marks_table`, the same per batch (`by_batch`), and whether
    all of them keep to the raters' limits."""
    first = np.array([p.id < FIRST_BATCH for p in pictures])
    rows = []
    for score in SCORES:
        for match in MATCHES:
            kinds = marks(judged, score, match)
            right = marks_table(kinds, pictures)["right"]
            row = {"sure_score": score, "sure_match": match, **right}
            if by_batch:
                for name, side in (("first_batch", True), ("second_batch", False)):
                    keep = np.flatnonzero(first == side)
                    row[name] = marks_table([kinds[i] for i in keep], [pictures[i] for i in keep])["right"]
            parts = [right] + [row[n] for n in ("first_batch", "second_batch") if n in row]
            row["within_limits"] = all(_within(part) for part in parts)
            rows.append(row)
    return rows


def _within(right: dict) -> bool:
    return right["n"] > 0 and right["people_broken"] <= MAX_BROKEN and right["people_matches_prompt"] >= MIN_MATCHES


def choose(rows: list[dict]) -> dict | None:
    """The grid row with the most ✓ within the limits (ties: the stricter pair), None when none is."""
    inside = [r for r in rows if r["within_limits"]]
    return max(inside, key=lambda r: (r["n"], r["sure_score"], r["sure_match"])) if inside else None


def split_check(judged: list[Judged | None], pictures: list[raters.RatedPicture]) -> dict:
    """The pair chosen on one batch of rated pictures, and its ✓ on the other batch, which the choice never saw."""
    out = {}
    first = [p.id < FIRST_BATCH for p in pictures]
    for name, side in (("chosen_on_first_batch", True), ("chosen_on_second_batch", False)):
        def part(keep: bool) -> tuple[list, list]:
            idx = [i for i, f in enumerate(first) if f == keep]
            return [judged[i] for i in idx], [pictures[i] for i in idx]

        best = choose(grid(*part(side), by_batch=False))
        if best is None:
            out[name] = None
            continue
        other_judged, other_pictures = part(not side)
        kinds = marks(other_judged, best["sure_score"], best["sure_match"])
        out[name] = {"sure_score": best["sure_score"], "sure_match": best["sure_match"],
                     "on_the_other_batch": marks_table(kinds, other_pictures)["right"]}
    return out


def fewer_than_asked(judged: list[Judged | None], pictures: list[raters.RatedPicture]) -> dict[str, dict]:
    """Hands found with fewer fingers than the prompt asks, split by whether the palm is seen edge-on (where the
    rules once excused the count: fingers may hide) or not, and what the raters said of each group (`marks_table`'s
    row). Whether people forgive a hidden finger is the question."""
    groups: dict[str, list[int]] = {"edge_on": [], "face_on": []}
    for i, j in enumerate(judged):
        if j is None or not j[0].hand_found or j[0].expected_count is None or j[0].extended_count >= j[0].expected_count:
            continue
        sil = j[0].silhouette
        edge_on = sil is not None and ((sil.side_view is not None and sil.side_view > EDGE_ON_SIDE_VIEW) or
                                       (sil.palm_width is not None and sil.palm_width < EDGE_ON_WIDTH))
        groups["edge_on" if edge_on else "face_on"].append(i)
    return {name: marks_table(["right"] * len(idx), [pictures[i] for i in idx])["right"] for name, idx in groups.items()}


def _mean(values: list) -> float | None:
    return round(float(np.mean(values)), 3) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Where the app's ✓ starts, checked on the raters.")
    parser.add_argument("--out", default=str(REPO_ROOT / "results" / "sure_threshold.json"))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    pictures = raters.load()
    judge = Judge.load(DEFAULT_WEIGHTS)
    judged = held_out_reports(judge, pictures, held_out_predictions(judge, pictures))
    rows = grid(judged, pictures)
    best = choose(rows)
    shipped = marks_table(marks(judged, present.SURE_SCORE, present.SURE_MATCH), pictures)
    result = {"command": "python -m bench.sure",
              "protocol": "every generated rated picture marked as the app marks it (demo.present.verdict) from the "
                          "rules and the quality model's heads predicted leave one source out (python -m "
                          "judge.fit.train_quality's recipe); per (sure_score, sure_match) the raters' verdicts on the "
                          f"pictures marked right; chosen: the most right with at most {MAX_BROKEN:.0%} broken "
                          f"(quality <= 2) and at least {MIN_MATCHES:.0%} showing the prompt's ask, on all and on "
                          "each batch of rated pictures alone; split_check: chosen on one batch alone, reported on "
                          "the other",
              "chosen": best, "shipped": {"sure_score": present.SURE_SCORE, "sure_match": present.SURE_MATCH,
                                          "marks": shipped},
              "split_check": split_check(judged, pictures), "fewer_than_asked": fewer_than_asked(judged, pictures),
              "grid": rows}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: result[k] for k in ("chosen", "shipped", "split_check", "fewer_than_asked")}, indent=1),
          file=sys.stderr)
    return 0 if best is not None else 1


if __name__ == "__main__":
    sys.exit(main())
