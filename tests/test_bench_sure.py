"""bench.sure: the tables that place the app's ✓ read the raters' verdicts correctly."""


def test_marks_table_tallies_what_people_said_per_mark():
    from pathlib import Path

    from bench.sure import marks_table
    from judge.fit.raters import RatedPicture

    def pic(i, quality, hand, matches):
        return RatedPicture(id=i, path=Path("x.png"), prompt="a peace sign", source="gan/full", family="gan",
                            quality=quality, is_hand=hand, fingers=None, ratings=1, matches=matches)

    pictures = [pic(0, 4.0, True, 1.0), pic(1, 2.0, True, 0.0), pic(2, 1.0, False, 0.0), pic(3, 3.0, True, None),
                pic(4, 5.0, True, 1.0)]
    table = marks_table(["right", "wrong", "wrong", "unsure", None], pictures)  # the render (None) never counts
    assert table["right"] == {"n": 1, "share_of_generated": 0.25, "people_matches_prompt": 1.0, "people_hand": 1.0,
                              "people_good": 1.0, "people_broken": 0.0, "people_quality": 4.0}
    assert table["wrong"]["n"] == 2 and table["wrong"]["people_matches_prompt"] == 0.0
    assert table["wrong"]["people_hand"] == 0.5 and table["wrong"]["people_broken"] == 1.0
    assert table["unsure"]["people_matches_prompt"] is None  # nobody said


def test_the_grid_marks_with_the_apps_verdict_and_chooses_the_most_right_within_the_limits():
    """Two good-looking hands, one people call broken: a pair that lets the broken one through breaks the 1-in-10
    limit, so the pair chosen asks for a P(matches) that only the good ones reach."""
    from pathlib import Path

    from bench import sure
    from core.vocab import HandSpec
    from judge.fit.raters import RatedPicture
    from judge.report import HandReport

    def pic(i, quality, matches):
        return RatedPicture(id=i, path=Path("x.png"), prompt="a peace sign", source="gan/full", family="gan",
                            quality=quality, is_hand=True, fingers=2, ratings=1, matches=matches)

    def judged(score, p_matches):
        return HandReport(hand_found=True, hand_score=score, extended_count=2, expected_count=2, gesture_match=True,
                          flags=[], p_matches=p_matches), HandSpec(gesture="peace")

    pictures = [pic(0, 4.0, 1.0), pic(1, 4.5, 1.0), pic(2, 2.0, 0.0), pic(3, 1.0, 0.0)]
    reports = [judged(70.0, 0.95), judged(62.0, 0.85), judged(65.0, 0.55), judged(20.0, 0.1)]
    assert sure.marks(reports, 60.0, 0.0) == ["right", "right", "right", "unsure"]
    assert sure.marks(reports, 60.0, 0.8) == ["right", "right", "unsure", "unsure"]
    rows = sure.grid(reports, pictures, by_batch=False)
    loose = next(r for r in rows if r["sure_score"] == 60.0 and r["sure_match"] == 0.0)
    assert loose["n"] == 3 and not loose["within_limits"]  # one of three broken
    best = sure.choose(rows)
    assert best["n"] == 2 and best["people_broken"] == 0.0 and 0.55 < best["sure_match"] <= 0.85
    assert sure.choose([{**r, "within_limits": False} for r in rows]) is None


def test_a_pair_must_keep_the_limits_on_each_batch_alone():
    """Ten good hands in the first batch, a good and a broken one in the second: a pair that lets the broken one
    through keeps the limit on all twelve (1 in 12 broken) but not on the second batch (1 in 2), so it is out."""
    from pathlib import Path

    from bench import sure
    from core.vocab import HandSpec
    from judge.fit.raters import RatedPicture
    from judge.report import HandReport

    def pic(i, quality):
        return RatedPicture(id=i, path=Path("x.png"), prompt="a peace sign", source="gan/full", family="gan",
                            quality=quality, is_hand=True, fingers=2, ratings=1, matches=1.0)

    def judged(p_matches):
        return HandReport(hand_found=True, hand_score=70.0, extended_count=2, expected_count=2, gesture_match=True,
                          flags=[], p_matches=p_matches), HandSpec(gesture="peace")

    pictures = [pic(i, 4.0) for i in range(10)] + [pic(sure.FIRST_BATCH, 4.0), pic(sure.FIRST_BATCH + 1, 2.0)]
    reports = [judged(0.95)] * 11 + [judged(0.55)]
    row = next(r for r in sure.grid(reports, pictures) if r["sure_score"] == 60.0 and r["sure_match"] == 0.0)
    assert row["n"] == 12 and sure._within(row)  # all twelve together: within the limits
    assert row["first_batch"]["n"] == 10 and row["second_batch"]["people_broken"] == 0.5
    assert not row["within_limits"]
    assert sure.choose(sure.grid(reports, pictures))["sure_match"] > 0.55


def test_fewer_than_asked_splits_edge_on_palms_from_the_rest():
    from pathlib import Path
    from types import SimpleNamespace

    from bench import sure
    from core.vocab import HandSpec
    from judge.fit.raters import RatedPicture
    from judge.report import HandReport

    def pic(i, matches):
        return RatedPicture(id=i, path=Path("x.png"), prompt="a peace sign", source="gan/full", family="gan",
                            quality=3.0, is_hand=True, fingers=1, ratings=1, matches=matches)

    def judged(count, side_view, palm_width=0.5, found=True):
        report = HandReport(hand_found=found, hand_score=40.0, extended_count=count, expected_count=2,
                            silhouette=SimpleNamespace(side_view=side_view, palm_width=palm_width))
        return report, HandSpec(gesture="peace")

    pictures = [pic(i, m) for i, m in enumerate([0.0, 1.0, 0.0, 1.0, 1.0, 0.0])]
    reports = [judged(1, 0.9), judged(1, 0.1, palm_width=0.2), judged(0, 0.1), judged(2, 0.9), judged(3, 0.1),
               judged(1, 0.9, found=False)]
    table = sure.fewer_than_asked(reports, pictures)
    assert table["edge_on"]["n"] == 2 and table["edge_on"]["people_matches_prompt"] == 0.5  # by view, by width
    assert table["face_on"]["n"] == 1 and table["face_on"]["people_matches_prompt"] == 0.0  # 2 and 3 are not fewer
