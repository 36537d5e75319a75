"""The claims table's row "Diffusion's slowness can be addressed (distillation)", read from results/distill.json
(`python -m bench.distill` measures the distilled 2-step student against its 10-step teacher on the same noise).
Nothing is measured here: `python -m bench` and `python -m bench.claims` put the file's figures where they belong.

The article says diffusion's slowness "will no doubt be addressed"; the answer in one line is "N× faster at a cost of
X points". It holds when the student at 2 steps is at least MIN_SPEEDUP times faster than the teacher at 10 steps and
its Hand Score interval reaches within MAX_COST points of the teacher's; it does not hold when the whole interval is
more than MAX_COST points down (or it is not fast enough); else inconclusive.
"""

from __future__ import annotations

from pathlib import Path

from bench import feedback_report
from core.settings import DISTILL_EVAL, read_results

CLAIM = "Diffusion's slowness can be addressed (a distilled 2-step student)"
MAX_COST, MIN_SPEEDUP = 5.0, 5.0  # issue 18's bars: within 5 Hand Score points of the teacher, >= 5x faster


def load(path: Path = DISTILL_EVAL) -> dict | None:
    """bench.distill's file, or None when there is none or it is not a JSON object."""
    return read_results(path)


def _ci(triple: list) -> str:
    mean, lo, hi = (float(v) for v in triple)
    return f"{mean:+.1f} [{lo:+.1f}, {hi:+.1f}]"


def verdict(cost: list, speedup: float) -> str:
    """holds / does not hold / inconclusive from the student - teacher Hand Score [mean, lo, hi] and the speed-up."""
    if speedup < MIN_SPEEDUP or float(cost[2]) < -MAX_COST:
        return "does not hold"
    return "holds" if float(cost[1]) >= -MAX_COST else "inconclusive"


def claim_row(distill: dict | None) -> dict | None:
    """The row from bench.distill's file; None without one (or one without the 2-step comparison)."""
    try:
        cmp = distill["comparisons"]
        cost, fingers = cmp["student_2 - teacher_10"]["hand_score"], cmp["student_2 - teacher_10"]["fingers_right_points"]
        speedup = float(distill["bars"]["2_step"]["speedup_vs_teacher_10"])
        app = cmp.get("student_2 - teacher_4", {}).get("hand_score")
        app_speedup = distill["bars"]["2_step"].get("speedup_vs_teacher_4")
    except (TypeError, KeyError):
        return None
    against_app = f"; against the app's 4 steps {_ci(app)}, {float(app_speedup):.1f}× faster" if app and app_speedup else ""
    return {"claim": CLAIM,
            "metric": f"Hand Score, distilled at 2 steps − the teacher (diffusion/full) at 10, "
                      f"{distill['prompts'] * distill['per_prompt']} pictures on the same noise; time per picture",
            "values": f"{speedup:.1f}× faster at a cost of {-float(cost[0]):.1f} points: Hand Score {_ci(cost)}, fingers "
                      f"right {_ci(fingers)} points{against_app}; student at step {distill['student']['steps']:,}",
            "verdict": verdict(cost, speedup)}


def with_claim(rows: list[dict], distill: dict | None) -> list[dict]:
    """`rows` with the distillation row put last (`feedback_report.put_last`)."""
    return feedback_report.put_last(rows, CLAIM, claim_row(distill))
