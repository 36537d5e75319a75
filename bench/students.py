"""A class on the lesson path: simulated students against the launched app, and the wait of every step.

    python -m bench.students [--students 30] [--spread 10] [--read 4] [--max-p95 3] [--out results/students.json]

Launches `python app.py` on loopback (the lesson steps are computed while it starts: `pipeline.warm_up`). Each
student is a thread with its own gradio_client Client; they open the page within --spread seconds of each other,
then follow the path of `demo.lessons` one step after another, reading for about --read seconds between steps. A
step's wait runs from the click (`submit`) to the last streamed update, plus fetching any picture file the answer
names over the student's kept-alive connection, as a browser tab does (none: the columns' pictures are inline, and
a student's page, Details closed, asks no /pictures; gradio_client itself downloads every file on a fresh
connection each: --client-downloads measures that instead). The app's CPU seconds per answer are reported too, and
the students' own: on this machine the simulated students use more CPU than the server does (a class's browsers
run on their own devices).

Two rounds on the same app: `precomputed`, the lesson path as shipped; `first_use`, the same steps with other
seeds, so the first student to reach a step computes it and the others are answered from the cache. Bounded: at
most 100 students, --timeout seconds per request, loopback only. JSON on stdout and in --out; exit 1 if a
request failed or the precomputed round's p95 wait is over --max-p95.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from bench.server import App, launched_app
from bench.wait import load, log
from core.settings import REPO_ROOT
from demo import lessons

MAX_STUDENTS = 100
FIRST_USE_SEEDS = 10_000  # added to every lesson's seed in the first-use round: never precomputed


def lesson_path(seed_offset: int = 0) -> list[tuple[str, list]]:
    """(title, /compare inputs) of every lesson step that runs a comparison, in order."""
    path = []
    for lesson in lessons.LESSONS:
        if lesson.inputs is not None:
            args = lesson.inputs.as_list()
            args[1] += seed_offset
            path.append((lesson.title, args))
    return path


def image_urls(value) -> list[str]:
    """Every picture URL in an answer (galleries hold {"image": {"url": ...}}), each once."""
    found: list[str] = []

    def walk(v) -> None:
        if isinstance(v, dict):
            url = v.get("url")
            if isinstance(url, str) and v.get("path"):
                found.append(url)
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif hasattr(v, "url") and isinstance(getattr(v, "url", None), str):
            found.append(v.url)

    walk(value)
    return list(dict.fromkeys(found))


def one_step(client, args: list, timeout_s: float, http=None) -> float:
    """Click, read the stream to its end, fetch the answer's picture files with `http` (the student's connection,
    kept alive as a browser tab keeps it; None: gradio_client downloaded them itself); the seconds it took."""
    t0 = time.perf_counter()
    job = client.submit(*args, api_name="/compare")
    for _ in job:
        if time.perf_counter() - t0 > timeout_s:
            job.cancel()
            raise TimeoutError(f"no answer within {timeout_s:.0f} s")
    answer = job.result(timeout=timeout_s)
    for url in image_urls(answer) if http is not None else []:
        http.get(url).raise_for_status()
    return time.perf_counter() - t0


def run_class(url: str, path: list[tuple[str, list]], students: int, spread: float, read: float, timeout_s: float,
              client_downloads: bool, seed: int = 0) -> dict:
    """Every student follows `path`; returns each step's waits and the failures."""
    from gradio_client import Client

    waits: dict[str, list[float]] = {title: [] for title, _ in path}
    errors: list[str] = []
    lock = threading.Lock()
    rng = random.Random(seed)
    starts = sorted(rng.uniform(0, spread) for _ in range(students))
    pauses = [[rng.uniform(0.5 * read, 1.5 * read) for _ in path] for _ in range(students)]
    t_start = time.perf_counter()

    def student(k: int) -> None:
        import httpx

        time.sleep(starts[k])
        try:
            client = Client(url, verbose=False) if client_downloads else Client(url, verbose=False, download_files=False)
        except Exception as err:  # a student who cannot open the page fails every step
            with lock:
                errors.extend([f"connect: {type(err).__name__}: {err}"[:200]] * len(path))
            return
        http = None if client_downloads else httpx.Client(timeout=timeout_s)
        for (title, args), pause in zip(path, pauses[k]):
            try:
                wait = one_step(client, args, timeout_s, http)
                with lock:
                    waits[title].append(wait)
            except Exception as err:  # counted, never raised: one student's failure must not stop the class
                with lock:
                    errors.append(f"{title}: {type(err).__name__}: {err}".splitlines()[0][:200])
            time.sleep(pause)
        client.close()
        if http is not None:
            http.close()

    threads = [threading.Thread(target=student, args=(k,), daemon=True) for k in range(students)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + spread + len(path) * (timeout_s + 2 * read) + 30
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = sum(t.is_alive() for t in threads)
    return {"waits": waits, "errors": errors, "stuck": stuck, "wall_s": round(time.perf_counter() - t_start, 1)}


def stats(values: list[float]) -> dict:
    if not values:
        return {"served": 0}
    a = np.array(values)
    return {"served": len(values), "p50": round(float(np.median(a)), 2), "p95": round(float(np.percentile(a, 95)), 2),
            "max": round(float(a.max()), 2)}


def cache_use(app: App, since: int) -> dict:
    """From the app's log (HANDS_TIMING): comparisons computed and answered from the cache since char `since`."""
    lines = [json.loads(m.group(1)) for m in re.finditer(r"^hands-timing (\{.*\})$", app.log_tail(10**8)[since:], re.M)]
    return {"computed": sum(not x["cached"] for x in lines), "from_cache": sum(x["cached"] for x in lines)}


def app_cpu_s(app: App) -> float:
    """CPU seconds the app's process has used: per answer, the server's own cost, whatever the clients on this
    machine cost (a class's browsers run elsewhere)."""
    times = psutil.Process(app.process.pid).cpu_times()
    return times.user + times.system


def students_cpu_s() -> float:
    """CPU seconds this process (every simulated student) has used: it shares the server's CPU."""
    times = os.times()
    return times.user + times.system


def round_report(run: dict, app: App, since: int) -> dict:
    every = [w for waits in run["waits"].values() for w in waits]
    return {"all_steps": stats(every), "steps": {title: stats(w) for title, w in run["waits"].items()},
            "failed": len(run["errors"]), "errors": sorted(set(run["errors"]))[:5], "stuck_students": run["stuck"],
            "wall_s": run["wall_s"], "load": load(), **cache_use(app, since)}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=30)
    p.add_argument("--spread", type=float, default=10.0, help="seconds over which the students open the page")
    p.add_argument("--read", type=float, default=4.0, help="mean seconds a student reads between two steps")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds a request may take before it counts as failed")
    p.add_argument("--max-p95", type=float, default=3.0, help="target: p95 wait of a precomputed step, s")
    p.add_argument("--client-downloads", action="store_true", help="let gradio_client download every update's pictures")
    p.add_argument("--skip-first-use", action="store_true", help="only the precomputed round")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "students.json")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not 1 <= args.students <= MAX_STUDENTS or args.spread < 0 or args.read < 0 or args.timeout <= 0:
        print(f"error: --students must be 1 to {MAX_STUDENTS}; --spread, --read at least 0; --timeout over 0", file=sys.stderr)
        return 2
    path = lesson_path()
    result: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"), "students": args.students,
                    "spread_s": args.spread, "read_s": args.read, "client_downloads": args.client_downloads,
                    "path": [title for title, _ in path], "load_before": load()}
    rounds = [("precomputed", 0)] + ([] if args.skip_first_use else [("first_use", FIRST_USE_SEEDS)])
    try:
        with launched_app({"HANDS_TIMING": "1", "HANDS_QUEUE_SIZE": str(max(64, 2 * args.students))}) as app:
            result["cold_start_s"] = round(app.cold_start_s, 1)
            for name, offset in rounds:
                log(f"{name}: {args.students} students, {len(path)} steps (load {load()})")
                since, cpu, own = len(app.log_tail(10**8)), app_cpu_s(app), students_cpu_s()
                run = run_class(app.url, lesson_path(offset), args.students, args.spread, args.read, args.timeout,
                                args.client_downloads, seed=offset)
                result[name] = round_report(run, app, since)
                served = max(1, result[name]["all_steps"]["served"])
                result[name]["server_cpu_s_per_answer"] = round((app_cpu_s(app) - cpu) / served, 3)
                result[name]["students_cpu_s_per_answer"] = round((students_cpu_s() - own) / served, 3)
            result["server_alive"] = app.alive()
    except RuntimeError as err:
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return verdict(result, args.max_p95)


def verdict(result: dict, max_p95: float) -> int:
    """0 when every request was answered and the precomputed steps' p95 is under the target; else 1, with why."""
    rounds = [r for r in ("precomputed", "first_use") if r in result]
    failed = sum(result[r]["failed"] + result[r]["stuck_students"] for r in rounds)
    p95 = result["precomputed"]["all_steps"].get("p95", float("inf"))
    problems = ([f"{failed} requests failed or students stuck"] if failed else []) + \
               ([f"precomputed steps p95 {p95} s >= {max_p95} s"] if not p95 < max_p95 else [])
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    return 1 if problems or not result.get("server_alive") else 0


if __name__ == "__main__":
    sys.exit(main())
