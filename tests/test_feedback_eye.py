"""bench.feedback_eye: a blind look at an A/B sheet, tallied against its key only afterwards."""

from __future__ import annotations

import json

from bench import feedback_eye

KEY = {"candidate": "feedback", "cells": {"1-1": {"left": "candidate", "right": "full"},
                                          "1-2": {"left": "full", "right": "candidate"},
                                          "1-3": {"left": "candidate", "right": "full"}}}


def test_sides_are_read_through_the_key(tmp_path):
    answers = {"1-1": {"better": "left", "why": "clean"}, "1-2": "left", "1-3": {"better": "same"}}
    result = feedback_eye.tally(answers, KEY)
    assert (result["candidate_better"], result["full_better"], result["alike"]) == (1, 1, 1)
    assert result["model"] == "feedback" and result["sign_test_p"] == 1.0
    all_candidate = {"1-1": "left", "1-2": "right", "1-3": "left"}
    assert feedback_eye.tally(all_candidate, KEY)["candidate_better"] == 3


def test_bad_answers_are_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "key.json").write_text(json.dumps(KEY))
    for answers, says in (({"1-1": "left", "1-2": "up", "1-3": "same"}, "must be one of"),
                          ({"1-1": "left", "1-2": "left"}, "1 cells unanswered"),
                          ({"1-1": "left", "1-2": "left", "1-3": "left", "9-9": "left"}, "not on the sheet")):
        (tmp_path / "answers.json").write_text(json.dumps(answers))
        assert feedback_eye.main([str(tmp_path / "answers.json"), "--key", str(tmp_path / "key.json")]) == 2
        err = capsys.readouterr().err.strip()
        assert says in err and "\n" not in err
