"""Human feedback in the benchmark's outputs: the claims table's row "Human feedback improves hands" and the report's
"## Human feedback" section, both read from results/feedback_eval.json (`python -m bench.feedback --record`
measures diffusion/feedback against diffusion/full on held-out seeds). Nothing is measured here: `python -m bench`
and `python -m bench.claims` put the file's figures and verdict where they belong, without generating anything.

Its own module because both bench.report (the section) and bench.claims (the row, and the section rewritten in
place) use it, and bench.report already imports bench.claims.
"""

from __future__ import annotations

from pathlib import Path

from core.settings import FEEDBACK_CONFIRM, FEEDBACK_EVAL, feedback_basis, feedback_results

CLAIM = "Human feedback improves hands"
SOURCES = {  # what the variant learnt from, as the row says it (models.feedback_pairs.SOURCES)
    "raters": "; learnt from pairs people rated apart",
    "votes": "; learnt from the arena's votes",
    "judge": "; learnt from pairs the judge's quality model (fitted to people's ratings) scored apart, and measured by "
             "the same judge",
}
HEADING = "## Human feedback"
MISSING = (f"Not measured: no {FEEDBACK_EVAL.parent.name}/{FEEDBACK_EVAL.name} "
           "(train the feedback variant, ship it, then `python -m bench.feedback --record`).")


def load(path: Path = FEEDBACK_EVAL, confirmation: Path = FEEDBACK_CONFIRM) -> dict | None:
    """The evaluation bench.feedback wrote, with its confirmation set when one was measured on the same weights; None
    when there is none or it is not a JSON object."""
    return feedback_results(path, confirmation)


def _ci(triple: list, unit: str = "", digits: int = 1) -> str:
    """[mean, lo, hi] -> '2.4 [-1.9, 6.7] points'."""
    mean, lo, hi = (float(v) for v in triple)
    return f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]{unit}"


def _scope(evaluation: dict) -> str:
    """What was compared, on which pictures, by which command; a smoke run says it is one."""
    quick = " **A --quick smoke run, not the held-out evaluation.**" if evaluation.get("quick") else ""
    judge = str(evaluation.get("judge", {}).get("commit", "?")).split()[0]  # the commit, without its message
    return (f"diffusion/feedback ({evaluation.get('candidate', '?')}) against diffusion/full on {evaluation['images']} "
            f"held-out pictures ({evaluation['prompts']} prompts × {evaluation['per_prompt']} seeds from "
            f"{int(evaluation['seed']):,}, the same noise for both), judge {judge}; "
            f"`{evaluation.get('command', 'python -m bench.feedback')}`.{quick}")


def claim_row(evaluation: dict | None) -> dict | None:
    """The claims table's row, with the file's verdict (holds only when the fingers-right interval is clear of 0 and
    McNemar agrees: bench.feedback decides it); None without an evaluation."""
    if evaluation is None:
        return None
    rests_on, name = feedback_basis(evaluation)
    cmp = rests_on["comparison"]
    exact, score = cmp["mcnemar"], cmp["hand_score"]
    quick = "; a --quick smoke run" if rests_on.get("quick") else ""
    also = (f"; on the held-out set the runs were compared on: {_ci(evaluation['comparison']['fingers_right_points'])} "
            "points" if name == "confirmation" else "")
    source = SOURCES.get(str(rests_on.get("learnt_from")), "")
    return {"claim": CLAIM,
            "metric": f"fingers right, diffusion/feedback − diffusion/full, {rests_on['images']} {name} pictures on "
                      "the same seeds (paired, percentage points); holds only if McNemar's exact p < 0.05 too",
            "values": f"feedback−full {_ci(cmp['fingers_right_points'])} points; McNemar p = {float(exact['p']):.3g} "
                      f"({exact['only_candidate_right']} right only after, {exact['only_full_right']} only before); "
                      f"Hand Score {float(score[0]):+.1f} (from {float(score[1]):.1f} to {float(score[2]):.1f}){quick}{also}{source}",
            "verdict": cmp["claim_human_feedback_improves_hands"]}


def put_last(rows: list[dict], claim: str, row: dict | None) -> list[dict]:
    """`rows` with `row` (a claim read from a results file) put last, an earlier row of that claim dropped, not
    doubled; without a row, only dropped."""
    return [r for r in rows if r.get("claim") != claim] + ([row] if row else [])


def with_claim(rows: list[dict], evaluation: dict | None) -> list[dict]:
    """`rows` with the human-feedback row put last (`put_last`)."""
    return put_last(rows, CLAIM, claim_row(evaluation))


def _models_table(models: dict) -> str:
    """Each model's own figures, full beside feedback."""
    full, after = models["full"], models["candidate"]

    def percent(value) -> str:
        value = value[0] if isinstance(value, list) else value
        return "–" if value is None else f"{100 * float(value):.0f}%"

    def kid(row: dict) -> str:
        return "–" if not row.get("kid") else f"{1000 * float(row['kid'][0]):,.0f}"

    cells = [("Hand Score [95% CI]", _ci(full["hand_score"]), _ci(after["hand_score"])),
             ("fingers right", percent(full["finger_accuracy"]), percent(after["finger_accuracy"])),
             ("hand found", percent(full["hand_found_rate"]), percent(after["hand_found_rate"])),
             ("KID×1000", kid(full), kid(after)),
             ("diversity", f"{float(full['diversity']):.2f}", f"{float(after['diversity']):.2f}"),
             ("near-duplicates", percent(full["near_duplicates"]), percent(after["near_duplicates"]))]
    return "\n".join(["| | full | feedback |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in cells])


def section(evaluation: dict | None) -> str:
    """The report's section body (under HEADING): the models' figures, the paired differences, the bars, the claim."""
    if evaluation is None:
        return MISSING
    rests_on, name = feedback_basis(evaluation)
    cmp = evaluation["comparison"]
    exact = cmp["mcnemar"]
    bars = "\n".join(f"- {'met' if ok else '**NOT met**'}: {name.replace('_', ' ')}" for name, ok in cmp["bars"].items())
    met = "all met" if cmp["bars"] and all(cmp["bars"].values()) else "**not all met**"
    return "\n".join([
        _scope(evaluation), "", _models_table(evaluation["models"]), "",
        "Paired, feedback − full: Hand Score " + _ci(cmp["hand_score"]) + "; fingers right "
        + _ci(cmp["fingers_right_points"], " points") + f"; McNemar exact p = {float(exact['p']):.3g} "
        f"({exact['only_candidate_right']} pictures right only after feedback, {exact['only_full_right']} only before); "
        "near-duplicates " + _ci(cmp["near_duplicates_points"], " points") + "; diversity per prompt "
        + ("–" if not cmp.get("diversity_per_prompt") else _ci(cmp["diversity_per_prompt"], digits=3)) + ".", "",
        f"The bars of issue 17 ({met}):", "", bars, "",
        *([confirmation_paragraph(rests_on), ""] if name == "confirmation" else []),
        f"**Claim \"{CLAIM}\": {rests_on['comparison']['claim_human_feedback_improves_hands']}** (on the {name} set)."])


def confirmation_paragraph(confirmation: dict) -> str:
    """The confirmation set's figures: the same measures on seeds no choice has seen, and its bars."""
    cmp = confirmation["comparison"]
    exact = cmp["mcnemar"]
    failed = [name.replace("_", " ") for name, ok in cmp["bars"].items() if not ok]
    return (f"Confirmation set, drawn once for these weights ({confirmation['images']} pictures, seeds from "
            f"{int(confirmation['seed']):,}, `{confirmation.get('command', 'python -m bench.feedback --confirm')}`): "
            f"Hand Score {_ci(cmp['hand_score'])}; fingers right {_ci(cmp['fingers_right_points'], ' points')}; McNemar "
            f"p = {float(exact['p']):.3g} ({exact['only_candidate_right']} vs {exact['only_full_right']}); near-duplicates "
            f"{_ci(cmp['near_duplicates_points'], ' points')}. Bars on it: "
            + ("all met." if not failed else "**NOT met**: " + "; ".join(failed) + "."))


def upsert(markdown: str, body: str, before: str = "## Backends") -> str:
    """`markdown` with HEADING's section replaced by `body`, or added before the `before` heading (else at the end)."""
    if HEADING in markdown:
        start = markdown.index(HEADING)
        end = markdown.find("\n## ", start + len(HEADING))
        rest = markdown[end + 1:] if end >= 0 else ""
    else:
        start = markdown.find(before)
        start, rest = (start, markdown[start:]) if start >= 0 else (len(markdown), "")
    return markdown[:start] + f"{HEADING}\n\n{body}\n\n" + rest
