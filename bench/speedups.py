"""What each speed-up of the /compare call bought: the same call timed with the speed-ups added one by one.

Tried and dropped (measured in the full benchmark of 2026-11-23): running the three backends side
by side in threads made the call 0.2 s slower on 2 cores (torch runs ~25 % slower off the main
thread here); ONNX Runtime ran the UNet at 189 ms/step (batch 8, 1 thread) against torch's 147 ms
in bf16.

Each row keeps the previous rows' speed-ups and adds one; all rows run pipeline.compare (the app's
path, off the main thread) on the same prompts and seeds in one process, so the differences are the
speed-ups' (on a quiet machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from bench.prompts import PROMPTS
from demo import pipeline
from judge import Judge
from models.registry import FAMILY_NAMES as FAMILIES
from models.registry import Registry


def _set_bf16(registry: Registry, enabled: bool | None) -> dict[str, object]:
    """Switch bf16 autocast on/off in every loaded generator that has it; returns the old values."""
    old = {}
    for family in FAMILIES:
        generator = registry.load(family, "full")
        if hasattr(generator, "bf16"):
            old[family] = generator.bf16
            if enabled is not None:
                generator.bf16 = enabled
    return old


def _time(call: Callable[[pipeline.Request], list], runs: int, **settings) -> float:
    prompts = list(PROMPTS.values())
    times = []
    for k in range(runs):
        request = pipeline.validate(prompts[k % len(prompts)], seed=k, **settings)
        t0 = time.perf_counter()
        call(request)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def ablation(registry: Registry, judge: Judge, runs: int = 3) -> list[dict]:
    """Rows: (what was added, p50 of the full comparison in s). The last row is the app as shipped."""
    default = pipeline.Request(prompt="")
    compare = lambda request: pipeline.compare(registry, judge, request)
    compare(pipeline.validate("a fist"))  # warm-up: weights, scorer, prompt encoder
    old = _set_bf16(registry, None)
    rows = []
    try:
        _set_bf16(registry, False)
        rows.append(("baseline: fp32, 20 diffusion steps", _time(compare, runs, steps=20)))
        _set_bf16(registry, True)
        rows.append(("+ bf16 autocast of the UNet (native bf16 on this CPU)", _time(compare, runs, steps=20)))
    finally:
        for family, value in old.items():
            registry.load(family, "full").bf16 = value
    rows.append((f"+ {default.steps} DPM-Solver++ steps instead of 20: the app as shipped (pipeline.compare)",
                 _time(compare, runs, steps=default.steps)))
    return [{"change": change, "compare_p50_s": round(p50, 3)} for change, p50 in rows]
