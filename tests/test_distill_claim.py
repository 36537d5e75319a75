"""The claims row "Diffusion's slowness can be addressed": its verdict follows issue 18's bars, read from bench.distill's file."""

from __future__ import annotations

from bench import distill_claim


def distill(cost: list[float], speedup: float) -> dict:
    return {"prompts": 14, "per_prompt": 8, "student": {"steps": 1685},
            "comparisons": {"student_2 - teacher_10": {"hand_score": cost, "fingers_right_points": [-8.0, -17.9, 1.8]}},
            "bars": {"2_step": {"speedup_vs_teacher_10": speedup}}}


def test_verdict_follows_the_bars():
    assert distill_claim.claim_row(distill([-2.0, -4.0, 0.0], 6.0))["verdict"] == "holds"
    assert distill_claim.claim_row(distill([-5.5, -7.0, -4.0], 6.0))["verdict"] == "inconclusive"
    assert distill_claim.claim_row(distill([-7.9, -10.0, -5.8], 5.9))["verdict"] == "does not hold"
    assert distill_claim.claim_row(distill([-1.0, -2.0, 0.0], 3.0))["verdict"] == "does not hold"  # not fast enough


def test_row_says_how_much_faster_at_what_cost_and_replaces_an_old_one():
    row = distill_claim.claim_row(distill([-7.9, -10.0, -5.8], 5.92))
    assert "5.9× faster at a cost of 7.9 points" in row["values"]
    rows = distill_claim.with_claim([{"claim": distill_claim.CLAIM, "verdict": "holds"}, {"claim": "x"}],
                                    distill([-7.9, -10.0, -5.8], 5.92))
    assert [r["claim"] for r in rows] == ["x", distill_claim.CLAIM] and rows[-1]["verdict"] == "does not hold"


def test_no_file_or_an_odd_one_gives_no_row(tmp_path):
    assert distill_claim.claim_row(None) is None
    assert distill_claim.claim_row({"comparisons": {}}) is None
    (tmp_path / "d.json").write_text("[1, 2]")
    assert distill_claim.load(tmp_path / "d.json") is None

