"""What a person waits for: /compare through gradio_client against the launched app, beside the in-process call.

    python -m bench.wait [--warm 7] [--max-warm-p50 1.5] [--max-first 5] [--out results/wait.json]

Launches `python app.py` on loopback (with HANDS_TIMING=1, so the app logs the seconds each comparison spent
computing) and sends, at the app's defaults (3 backends x 4 images, 4 DPM++ steps: core.limits.STEPS):

- first: the first /compare after the page answers, a request the app has not seen;
- warm: --warm more, each a new request (never a cache hit), with `Client.predict` (what an API caller waits for,
  gradio_client downloading every file of every streamed update: /compare sends none, its pictures are inline);
- no_download: the same with `Client(download_files=False)`: the server's part alone;
- stream: the same with `Client.submit`, iterating the stream (what a page sees): updates and seconds to the first;
- with_files: /compare then /pictures, downloading its 12 picture files (an API caller who wants the files; a page
  runs /pictures after each comparison to fill its Details galleries);
- cached: one request sent again (a class following a lesson: answered from the app's cache);

then, once the app has stopped, `pipeline.compare` in this process on the same requests, on the app's threads
(in-process). Each client wait is split into the app's computing (from its log) and everything else (streaming,
encoding, downloading, the queue). The machine's load average is recorded with every figure: the CPU is shared.
JSON on stdout and in --out; exit 1 when the warm p50 or the first call misses its target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

from bench.prompts import PROMPTS
from bench.server import App, compare_args, launched_app
from core.settings import REPO_ROOT
from demo import pipeline

DEFAULTS = pipeline.Request(prompt="")
SETTINGS = {"n": DEFAULTS.n, "steps": DEFAULTS.steps, "guidance": DEFAULTS.guidance, "sampler": DEFAULTS.sampler,
            "variant": DEFAULTS.variant, "overlays": False}
SEED0 = 500_000  # seeds no lesson, link or example uses: every timed request is new to the app


def log(msg: str) -> None:
    print(f"[wait {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load() -> float:
    """The 1-minute load average: over 2 means something else is using this 2-core CPU."""
    return round(os.getloadavg()[0], 2)


def requests(count: int, seed0: int) -> list[tuple[str, int]]:
    """`count` (prompt, seed) pairs at the defaults, each different."""
    prompts = list(PROMPTS.values())
    return [(prompts[k % len(prompts)], seed0 + k) for k in range(count)]


def summary(values: list[float]) -> dict:
    a = np.array(values, dtype=float)
    return {"p50": round(float(np.median(a)), 3), "p90": round(float(np.percentile(a, 90)), 3),
            "min": round(float(a.min()), 3), "max": round(float(a.max()), 3), "runs": len(values)}


def timed_predict(client, prompt: str, seed: int) -> dict:
    t0 = time.perf_counter()
    client.predict(*compare_args(prompt, seed, SETTINGS), api_name="/compare")
    return {"prompt": prompt, "seed": seed, "wait_s": time.perf_counter() - t0, "load": load()}


def timed_with_files(client, prompt: str, seed: int) -> dict:
    """/compare, then /pictures with its picture files downloaded (gradio_client fetches each on a new connection)."""
    t0 = time.perf_counter()
    client.predict(*compare_args(prompt, seed, SETTINGS), api_name="/compare")
    client.predict(api_name="/pictures")
    return {"prompt": prompt, "seed": seed, "wait_s": time.perf_counter() - t0, "load": load()}


def timed_stream(client, prompt: str, seed: int) -> dict:
    """Iterate the stream as a page would: the updates, and when the first and the last arrived."""
    t0, marks = time.perf_counter(), []
    for _ in client.submit(*compare_args(prompt, seed, SETTINGS), api_name="/compare"):
        marks.append(time.perf_counter() - t0)
    return {"prompt": prompt, "seed": seed, "wait_s": time.perf_counter() - t0, "updates": len(marks),
            "first_update_s": marks[0] if marks else None, "load": load()}


def compute_times(app: App) -> dict[tuple[str, int, bool], float]:
    """(prompt, seed, cached) -> the seconds the app spent computing it, from its `hands-timing` lines."""
    out = {}
    for match in re.finditer(r"^hands-timing (\{.*\})$", app.log_tail(10**7), re.M):
        line = json.loads(match.group(1))
        out[line["prompt"], line["seed"], line["cached"]] = line["compute_s"]
    return out


def split(calls: list[dict], computed: dict, cached: bool = False) -> dict:
    """The calls' waits, and how much of each the app spent computing (the rest: everything else)."""
    waits = [c["wait_s"] for c in calls]
    compute = [computed.get((c["prompt"][:40], c["seed"], cached)) for c in calls]
    out = {**summary(waits), "load": summary([c["load"] for c in calls])["p50"]}
    if all(x is not None for x in compute):
        out["compute_p50"] = summary(compute)["p50"]
        out["other_p50"] = summary([w - x for w, x in zip(waits, compute)])["p50"]
    if "updates" in calls[0]:
        out["updates"] = int(np.median([c["updates"] for c in calls]))
        out["first_update_p50"] = summary([c["first_update_s"] for c in calls])["p50"]
    return out


def client_waits(app: App, warm: int, seed0: int = SEED0) -> dict:
    """The first call, then `warm` new requests each way (predict, predict without downloads, submit, predict and
    /pictures), then a repeated one; each with its wait, its computing and the machine's load."""
    from gradio_client import Client

    client = Client(app.url, verbose=False)
    plain = Client(app.url, verbose=False, download_files=False)
    first = timed_predict(client, *requests(1, seed0 - 1)[0])
    batches = {"warm": [], "no_download": [], "stream": [], "with_files": []}
    calls = {"warm": timed_predict, "no_download": timed_predict, "stream": timed_stream, "with_files": timed_with_files}
    for k, (prompt, seed) in enumerate(requests(len(batches) * warm, seed0)):
        kind = list(batches)[k % len(batches)]  # interleaved: a change in the machine's load hits every kind alike
        batches[kind].append(calls[kind](plain if kind == "no_download" else client, prompt, seed))
    repeat = batches["warm"][0]
    cached = [timed_predict(client, repeat["prompt"], repeat["seed"]) for _ in range(max(3, warm // 2))]
    client.close()
    plain.close()
    computed = compute_times(app)
    out = {"first": split([first], computed), "cached": split(cached, computed, cached=True)}
    out.update({kind: split(calls, computed) for kind, calls in batches.items()})
    out["requests"] = [(c["prompt"], c["seed"]) for c in batches["warm"]]
    out["sent"] = 1 + len(batches) * warm + len(cached)
    return out


def in_process(pairs: list[tuple[str, int]]) -> dict:
    """`pipeline.compare` on the same requests in this process, warmed up and on the app's threads."""
    from judge import Judge
    from models.registry import Registry
    from prompt import GestureEncoder, PromptParser

    threads = pipeline.use_serving_threads()
    registry, judge, times, loads = Registry(), Judge.load(), [], []
    pipeline.warm_up(registry, judge, PromptParser(GestureEncoder()), None)  # no cache: every request computed
    for prompt, seed in pairs:
        request = pipeline.validate(prompt, seed=seed)
        t0 = time.perf_counter()
        pipeline.compare(registry, judge, request)
        times.append(time.perf_counter() - t0)
        loads.append(load())
    return {**summary(times), "threads": threads, "load": summary(loads)["p50"]}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--warm", type=int, default=7, help="new requests timed each way (predict, no download, stream, files)")
    p.add_argument("--max-warm-p50", type=float, default=1.5, help="target: warm /compare p50 through gradio_client, s")
    p.add_argument("--max-first", type=float, default=5.0, help="target: the first /compare after start, s")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "wait.json")
    return p.parse_args(argv)


def verdict(result: dict, args: argparse.Namespace) -> list[str]:
    """The targets missed, in words (none: the run passes)."""
    missed = []
    if result["warm"]["p50"] > args.max_warm_p50:
        missed.append(f"warm /compare p50 {result['warm']['p50']:.2f} s > {args.max_warm_p50} s")
    if result["first"]["p50"] > args.max_first:
        missed.append(f"first /compare {result['first']['p50']:.2f} s > {args.max_first} s")
    return missed


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.warm < 1:
        print("error: --warm must be at least 1", file=sys.stderr)
        return 2
    result: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"), "settings": SETTINGS, "load_before": load()}
    try:
        with launched_app({"HANDS_TIMING": "1"}) as app:
            log(f"app up in {app.cold_start_s:.1f} s (load {load()}); the first call, then {args.warm} x 4 new requests")
            result["cold_start_s"] = round(app.cold_start_s, 2)
            result.update(client_waits(app, args.warm))
    except RuntimeError as err:
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 1
    log("in-process pipeline.compare on the same requests")
    result["in_process"] = in_process(result.pop("requests"))
    result["missed"] = verdict(result, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    for line in result["missed"]:
        print(f"error: target missed: {line}", file=sys.stderr)
    return 1 if result["missed"] else 0


if __name__ == "__main__":
    sys.exit(main())
