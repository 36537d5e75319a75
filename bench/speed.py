"""Speed and memory of what users wait for: /compare in-process and through gradio_client, the app's cold start, its RSS."""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from bench import wait
from bench.prompts import PROMPTS
from bench.server import launched_app
from demo import pipeline
from judge import Judge
from models.registry import Registry, family_record
from prompt import GestureEncoder, PromptParser


def compare_speed(registry: Registry, judge: Judge, runs: int) -> dict:
    """p50/p90 of the full comparison (3 backends x 4 images + scoring) at the app's defaults."""
    prompts = list(PROMPTS.values())
    pipeline.compare(registry, judge, pipeline.validate(prompts[0]))  # warm-up: loads weights, scorer, encoder
    times, parts = [], []
    for k in range(runs):
        request = pipeline.validate(prompts[(k + 1) % len(prompts)], seed=k)
        t0 = time.perf_counter()
        result = pipeline.compare(registry, judge, request)
        times.append(time.perf_counter() - t0)
        parts.append({r.backend: {"generate_s": r.generation.latency_s if r.generation else None, "score_s": r.score_s}
                      for r in result})
    per_backend = {}
    for backend in parts[0]:
        gen = [p[backend]["generate_s"] for p in parts if p[backend]["generate_s"] is not None]
        per_backend[backend] = {"generate_p50_s": float(np.median(gen)) if gen else None,
                                "score_p50_s": float(np.median([p[backend]["score_s"] for p in parts]))}
    defaults = pipeline.Request(prompt="")
    return {"compare_p50_s": float(np.median(times)), "compare_p90_s": float(np.percentile(times, 90)),
            "compare_runs": runs, "compare_threads": torch.get_num_threads(), "compare_load": round(os.getloadavg()[0], 2),
            "n_per_backend": defaults.n, "diffusion_steps": defaults.steps, "guidance": defaults.guidance,
            "sampler": defaults.sampler, "per_backend": per_backend}


def gan_snapshots(registry: Registry, judge: Judge, n: int) -> list[dict]:
    """Hand Score and diversity of the GAN's generator at each saved point of its training."""
    if not family_record("gan").supports_snapshots:
        return []
    generator = registry.load("gan", "full")
    rows = []
    parser = PromptParser(GestureEncoder())  # one parser for all prompts: its encoder loads at most once
    specs = [parser.parse(p) for p in PROMPTS.values()]
    for name in list(generator.snapshots()) + ["final"]:
        g = generator if name == "final" else generator.at_snapshot(name)
        images, image_specs = [], []
        for k, spec in enumerate(specs):
            images += g.generate(spec, n, 2000 + k).images
            image_specs += [spec] * n
        rep = judge.score_set(images, image_specs)
        rows.append({"snapshot": name, "hand_score": rep.mean_score, "diversity": rep.diversity, "kid": rep.kid})
    return rows


def app_start_and_memory(requests: int = 5, timeout_s: float = 300) -> dict:
    """Launch `python app.py`, time until the page answers, then /compare through gradio_client the way people
    wait for it (bench.wait: the first call, `requests` new ones each way, a repeated one), and read the RSS."""
    try:
        with launched_app({"HANDS_TIMING": "1"}, timeout_s=timeout_s) as app:
            rss_idle = app.rss_mb()
            waits = wait.client_waits(app, requests)
            rss = app.rss_mb()
    except RuntimeError as err:
        return {"app_cold_start_s": None, "note": f"app did not answer: {err}"[:300]}
    return {"app_cold_start_s": round(app.cold_start_s, 2), "app_rss_idle_mb": round(rss_idle, 1),
            "app_rss_after_requests_mb": round(rss, 1), "app_requests": waits["sent"],
            "compare_client_first_s": waits["first"]["p50"], "compare_client_warm_p50_s": waits["warm"]["p50"],
            "compare_client_compute_p50_s": waits["warm"].get("compute_p50"),
            "compare_client_no_download_p50_s": waits["no_download"]["p50"],
            "compare_client_stream_p50_s": waits["stream"]["p50"], "compare_client_cached_p50_s": waits["cached"]["p50"],
            "compare_client_load": waits["warm"]["load"]}
