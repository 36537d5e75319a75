"""bench.sure: the table that places the app's ✓ threshold reads the raters' verdicts correctly."""

import numpy as np

from bench.sure import threshold_table


def test_threshold_table_counts_what_people_said_of_the_pictures_that_pass():
    score = np.array([80.0, 70.0, 56.0, 40.0, 90.0])
    rated = np.array([4.0, 2.0, 3.0, 1.0, 5.0])
    generated = np.array([True, True, True, True, False])  # the render (90) never counts
    rows = {r["threshold"]: r for r in threshold_table(score, rated, generated)}
    assert rows[55.0]["passed"] == 3 and rows[55.0]["share_of_generated"] == 0.75
    assert rows[55.0]["people_good"] == round(1 / 3, 3) and rows[55.0]["people_broken"] == round(1 / 3, 3)
    assert rows[70.0]["passed"] == 2 and rows[70.0]["people_acceptable"] == 0.5
    assert all(r["passed"] == 0 and r["people_good"] is None for r in threshold_table(score, rated, ~generated)
               if r["threshold"] > 90)
