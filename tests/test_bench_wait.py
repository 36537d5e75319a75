"""bench.wait and bench.students without launching the app: how a wait is split, what counts as missed."""

import subprocess
import sys

from bench import students, wait
from bench.server import App
from core.settings import REPO_ROOT
from demo import lessons


def _app_with_log(tmp_path, text: str) -> App:
    log = tmp_path / "app.log"
    log.write_text(text)
    return App("http://127.0.0.1:1/", subprocess.Popen([sys.executable, "-c", ""]), 0.0, str(log))


def test_the_apps_timing_lines_split_each_wait_into_computing_and_the_rest(tmp_path):
    app = _app_with_log(tmp_path, "Running on local URL\n"
                        'hands-timing {"prompt": "a fist", "seed": 1, "compute_s": 1.0, "cached": false}\n'
                        'hands-timing {"prompt": "a fist", "seed": 1, "compute_s": 0.0, "cached": true}\n'
                        'hands-timing {"prompt": "a cup", "seed": 2, "compute_s": 2.0, "cached": false}\n')
    computed = wait.compute_times(app)
    calls = [{"prompt": "a fist", "seed": 1, "wait_s": 3.0, "load": 1.0}, {"prompt": "a cup", "seed": 2, "wait_s": 4.0, "load": 2.0}]
    out = wait.split(calls, computed)
    assert (out["p50"], out["compute_p50"], out["other_p50"]) == (3.5, 1.5, 2.0)
    assert wait.split(calls[:1], computed, cached=True)["compute_p50"] == 0.0
    assert "compute_p50" not in wait.split([{"prompt": "new", "seed": 9, "wait_s": 1.0, "load": 0.5}], computed)


def test_wait_reports_each_missed_target():
    args = wait.parse_args([])
    assert (args.max_warm_p50, args.max_first) == (1.5, 5.0)
    assert wait.verdict({"warm": {"p50": 1.4}, "first": {"p50": 4.9}}, args) == []
    missed = wait.verdict({"warm": {"p50": 5.9}, "first": {"p50": 19.7}}, args)
    assert len(missed) == 2 and "warm" in missed[0] and "first" in missed[1]


def test_every_timed_request_is_new_to_the_app():
    pairs = wait.requests(30, wait.SEED0)
    assert len(set(pairs)) == 30
    lesson_seeds = {lesson.inputs.seed for lesson in lessons.LESSONS if lesson.inputs}
    assert not lesson_seeds & {seed for _, seed in pairs}


def test_the_lesson_path_is_the_lessons_with_a_run_and_the_first_use_round_moves_their_seeds():
    path = students.lesson_path()
    with_runs = [lesson for lesson in lessons.LESSONS if lesson.inputs is not None]
    assert [title for title, _ in path] == [lesson.title for lesson in with_runs]
    assert path[0][1] == with_runs[0].inputs.as_list()
    moved = students.lesson_path(students.FIRST_USE_SEEDS)
    assert [args[1] for _, args in moved] == [args[1] + students.FIRST_USE_SEEDS for _, args in path]
    assert [args[2:] for _, args in moved] == [args[2:] for _, args in path]


def test_a_students_answer_yields_each_picture_url_once():
    picture = {"path": "/gradio/g/a.png", "url": "http://h/file=/gradio/g/a.png", "meta": {"_type": "gradio.FileData"}}
    answer = ["understood", [{"image": picture, "caption": "✓"}, {"image": dict(picture), "caption": "✓"}],
              "<p>html</p>", {"headers": ["Model"], "data": [["vae"]]}, {"url": None, "path": None}]
    assert students.image_urls(answer) == ["http://h/file=/gradio/g/a.png"]


def test_the_class_fails_on_any_failed_request_or_a_slow_precomputed_step(capsys):
    def result(p95: float, failed: int = 0) -> dict:
        one = {"all_steps": {"p95": p95}, "failed": failed, "stuck_students": 0}
        return {"precomputed": one, "first_use": {**one, "all_steps": {"p95": 60.0}}, "server_alive": True}

    assert students.verdict(result(2.9), 3.0) == 0  # the first-use round may be slow: it computes
    assert students.verdict(result(3.0), 3.0) == 1
    assert students.verdict(result(1.0, failed=1), 3.0) == 1
    assert "failed" in capsys.readouterr().err


def test_bad_arguments_exit_2_before_any_app_starts():
    for module, argv in (("bench.wait", ["--warm", "0"]), ("bench.students", ["--students", "0"]),
                         ("bench.students", ["--students", "101"])):
        run = subprocess.run([sys.executable, "-m", module, *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert run.returncode == 2, (module, argv, run.stderr[-500:])
