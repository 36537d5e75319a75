"""The claims table's column "by the raters' eyes": the raters' verdicts from the rated pictures (judge/fit/raters/),
shown beside the judge's, both where they differ, and "not rated" where the rater set cannot tell."""

import json

import numpy as np
import pytest

from bench import claims
from bench.raters_claims import (
    NOT_RATED,
    Comparison,
    Picture,
    RaterClaim,
    Side,
    attach,
    both_verdicts,
    decide,
    diff_ci,
    per_source,
    pictures,
)
from demo import claims as view


@pytest.fixture(scope="module")
def rated() -> list[Picture]:
    return pictures()


def _pictures(source: str, qualities) -> list[Picture]:
    return [Picture(source, "", float(q), 1.0, 1.0, 0.0) for q in qualities]


def test_raters_say_scarce_data_hurts_the_gan(rated):
    sources = per_source(rated)
    assert sources["gan/scarce"]["hand"][0] == 0.0 and sources["gan/scarce"]["quality"][0] == 1.0
    assert 1.6 < sources["gan/full"]["quality"][0] < 1.8
    said = decide(Comparison(Side("full data", "gan/full"), (Side("scarce", "gan/scarce"),)), rated)
    assert said.verdict == "holds"
    assert said.words == "quality out of 5: full data 1.7 vs scarce 1.0 (±0.1)"


def test_the_gan_row_shows_the_judge_and_the_raters_when_they_differ(rated):
    judge_row = {"claim": "Scarce data hurts hands (gan)", "metric": "Hand Score", "values": "full−scarce -25.2 [-30.8, -19.8]",
                 "verdict": "does not hold"}
    row = attach([judge_row], claims.RATER_CLAIMS, rated)[0]
    # at the judge's own comparison (both at 1,600 training steps) neither draws a hand; the longer-trained full GAN does
    assert row["raters_verdict"] == "inconclusive"
    assert "trained longer on full data: full data 1.7 vs scarce 1.0 (±0.1), holds" in row["raters"]
    assert both_verdicts(row) == "judge: does not hold · raters: inconclusive"
    assert "**judge: does not hold · raters: inconclusive**" in claims.markdown_table([row])


def test_overlapping_intervals_are_inconclusive():
    spread = [1, 2, 3, 4, 5] * 8
    close = _pictures("a", spread) + _pictures("b", [q - 0.1 for q in spread])
    assert decide(Comparison(Side("a", "a"), (Side("b", "b"),)), close).verdict == "inconclusive"
    far = _pictures("a", [q + 1.5 for q in spread]) + _pictures("b", spread)
    assert decide(Comparison(Side("a", "a"), (Side("b", "b"),)), far).verdict == "holds"
    assert decide(Comparison(Side("b", "b"), (Side("a", "a"),)), far).verdict == "does not hold"
    # within a margin: 'a' is no worse than 'b' by more than 3 points
    assert decide(Comparison(Side("b", "b"), (Side("a", "a"),), margin=3.0), far).verdict == "holds"


def test_a_source_the_raters_never_saw_is_not_rated(rated):
    unseen = Comparison(Side("later", "gan/full@step-099999"), (Side("scarce", "gan/scarce"),))
    said = decide(unseen, rated)
    assert said.verdict == NOT_RATED and "gan/full@step-099999" in said.words
    judge_only = {"claim": "Diffusion is slow (sequential denoising)", "metric": "latency", "values": "0.32 [0.31, 0.34]",
                  "verdict": "holds"}
    rows = attach([judge_only], (RaterClaim("Later snapshots help", unseen, metric="quality"),), rated)
    assert rows[0]["raters"] == NOT_RATED and both_verdicts(rows[0]) == "holds"
    assert rows[1]["raters_verdict"] == NOT_RATED and rows[1]["verdict"] == "not measured"
    assert "| not rated |" in claims.markdown_table(rows)


def test_pictures_rated_twice_count_once_with_their_ratings_averaged(tmp_path):
    one = {"hand": True, "fingers": 2, "malformed": False, "quality": 4}
    two = {"hand": False, "fingers": None, "malformed": None, "quality": 1}
    (tmp_path / "labels.jsonl").write_text(json.dumps(
        {"id": 0, "file": "images/0000.png", "prompt": "a peace sign", "source": "gan/full", "family": "gan",
         "ratings": [one, two]}) + "\n")
    [picture] = pictures(tmp_path)
    assert (picture.quality, picture.hand, picture.fingers, picture.wrong) == (2.5, 0.5, 0.5, 0.5)


def test_pictures_of_one_setting_pair_and_of_two_do_not():
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 1, 60)
    shifted = base - 0.05
    paired, independent = diff_ci(base, shifted, paired=True), diff_ci(base, shifted)
    assert paired[1] > 0 and independent[1] < 0  # only pairing sees a small shift under a wide spread


def test_every_judge_claim_has_a_raters_column_and_the_command_writes_it(tmp_path, rated):
    results = {"date": "today", "quick": True, "claims": [
        {"claim": "Diffusion draws the best hands", "metric": "Hand Score", "values": "diffusion−vae 21.29 [15.05, 27.65]",
         "verdict": "holds"},
        {"claim": "Occlusion makes hands harder (gan)", "metric": "Hand Score", "values": "-29.2 [-41.7, -16.6]",
         "verdict": "does not hold"}]}
    (tmp_path / "benchmark.json").write_text(json.dumps(results))
    assert claims.main(["--results", str(tmp_path / "benchmark.json"), "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "benchmark.json").read_text())["claims"]
    assert [r["raters_verdict"] for r in rows][:2] == ["holds", "holds"]
    assert rows[-1]["rater_only"] and rows[-1]["verdict"] == "not measured"
    table = (tmp_path / "claims.md").read_text()
    assert "by the raters' eyes" in table and "judge: does not hold · raters: holds" in table
    assert "95%" not in table.split("## Every rated")[0] and "raters_verdict" not in table
    assert claims.main(["--results", str(tmp_path / "missing.json"), "--out", str(tmp_path)]) == 2


def test_the_why_hands_tab_shows_both_verdicts_where_they_differ(rated):
    rows = attach([{"claim": f"Occlusion makes hands harder ({f})", "metric": "Hand Score", "values": "-29.2 [-41.7, -16.6]",
                    "verdict": "does not hold"} for f in ("gan", "diffusion")], claims.RATER_CLAIMS, rated)
    [(group, [claim])] = [(g, c) for g, c in view.grouped(rows) if g.title == "Cause: occlusion"]
    page = view.card(claim)
    assert "Raters" in page and "GAN: holds" in page and "The judge and the raters disagree on the GAN, Diffusion" in page
    numbers = view.numbers_markdown(group, [claim])
    assert "By the raters' eyes" in numbers and "judge: does not hold · raters: holds" in numbers
    unrated = view.card(view.merged([{"claim": "Diffusion is slow (sequential denoising)", "verdict": "holds",
                                      "raters": NOT_RATED, "raters_verdict": NOT_RATED}])[0])
    assert "not rated" in unrated and "disagree" not in unrated
    only_raters = view.card(view.merged([r for r in rows if r.get("rater_only")])[0])
    assert "not measured" in only_raters and "disagree" not in only_raters
