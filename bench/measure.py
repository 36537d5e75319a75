"""Measure one backend variant: speed, memory, and what the scorer says of its hands."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import psutil

from bench.prompts import OCCLUDED, OPEN, PROMPTS
from bench.stats import mean_ci
from demo.pipeline import Batch, generate_and_score
from judge import Judge
from models.base import GenerateOptions
from models.registry import Registry
from prompt import GestureEncoder, PromptParser


class PeakRSS:
    """Samples this process's resident memory in a thread; `.peak_mb` above the start."""

    def __init__(self, every_s: float = 0.02) -> None:
        self.proc = psutil.Process(os.getpid())
        self.every_s = every_s
        self.start_mb = self.peak_mb = 0.0
        self._stop = threading.Event()

    def __enter__(self) -> PeakRSS:
        self.start_mb = self.proc.memory_info().rss / 2**20
        self._peak = self.start_mb
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, self.proc.memory_info().rss / 2**20)
            time.sleep(self.every_s)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = self._peak - self.start_mb


def specs_for_prompts() -> dict[str, object]:
    parser = PromptParser(GestureEncoder())  # one parser for all prompts: its encoder loads at most once
    return {key: parser.parse(text) for key, text in PROMPTS.items()}


def measure(registry: Registry, judge: Judge, family: str, variant: str, per_prompt: int, latency_calls: int,
            seed: int = 1000, options: GenerateOptions | None = None, reference=None, generator=None) -> dict:
    """Generate per_prompt images for every benchmark prompt and score them all.

    `generator` overrides the shipped variant (e.g. a training snapshot); `variant` then names it.
    """
    generator = generator or registry.load(family, variant)
    specs = specs_for_prompts()
    batches = [Batch(spec, per_prompt, seed + k) for k, spec in enumerate(specs.values())]
    with PeakRSS() as mem:
        scored = generate_and_score(generator, judge, batches, options, reference=reference)
        latencies = latency_samples(generator, list(specs.values()), latency_calls, seed + 500, options)
    images, report, score_s = scored.images, scored.set_report, scored.score_s
    batch_s = sum(g.latency_s for g in scored.generations)
    groups = [key for key, g in zip(specs, scored.generations) for _ in g.images]
    scores = np.array([r.hand_score for r in report.reports])
    sharp = [r.sharpness for r in report.reports if r.sharpness is not None]
    correct = [float(bool(r.gesture_match)) for r in report.reports if r.expected_count is not None]
    groups = np.array(groups)
    per_prompt_scores = {key: float(scores[groups == key].mean()) for key in specs}
    pairs = pair_distances(judge, images, groups, reference)
    per_prompt_diversity = [float(np.mean(d)) for d in pairs.values()]
    return {
        "family": family,
        "variant": variant,
        "n_images": len(images),
        "steps": getattr(options, "steps", None),
        "guidance": getattr(options, "guidance", None),
        "latency_median_s": float(np.median(latencies)),
        "latency_p90_s": float(np.percentile(latencies, 90)),
        "images_per_s": len(images) / batch_s,
        "peak_rss_mb": round(mem.peak_mb, 1),
        "num_parameters": generator.num_parameters,
        "score_s_per_image": score_s / max(len(images), 1),
        "hand_score": mean_ci(scores),
        "finger_accuracy": mean_ci(correct),
        "malformation_rate": report.malformation_rate,
        "hand_found_rate": report.hand_found_rate,
        "sharpness": mean_ci(sharp),
        "kid": report.kid,
        "diversity": report.diversity,
        "reference_diversity": report.reference_diversity,
        "flag_rates": report.flag_rates,
        "per_prompt_score": per_prompt_scores,
        "occluded_score": mean_ci(scores[np.isin(groups, OCCLUDED)]),
        "open_score": mean_ci(scores[np.isin(groups, OPEN)]),
        "_scores": scores.tolist(),
        "_sharpness": sharp,
        "_correct": correct,
        "diversity_per_prompt": mean_ci(per_prompt_diversity),
        "_diversity": per_prompt_diversity,
        "_pairs": pairs,
        "_latencies": latencies,
        "_open_scores": scores[np.isin(groups, OPEN)].tolist(),
        "_occluded_scores": scores[np.isin(groups, OCCLUDED)].tolist(),
        "_images": images,
    }


def latency_samples(generator, specs: list, calls: int, seed: int, options: GenerateOptions | None) -> list[float]:
    """Seconds per single-image call, over `calls` calls cycling through `specs` (what one picture costs)."""
    return [generator.generate(specs[j % len(specs)], 1, seed + j, options).latency_s for j in range(calls)]


def pair_distances(judge: Judge, images, groups: np.ndarray, reference=None) -> dict[str, list[float]]:
    """Per prompt, the feature distance of every pair of its images (different seeds).

    Mode collapse is one prompt giving the same hand whatever the seed, so it is measured within
    prompts: the mean of these is the prompt's diversity; a pair closer than clean renders ever
    come is a near-duplicate.
    """
    from judge.metrics import pair_distances as distances

    try:
        ref = judge.reference_features() if reference is None else reference
        feats = judge.features(images)
    except RuntimeError:
        return {}
    return {key: distances(feats[groups == key], ref).tolist()
            for key in dict.fromkeys(groups.tolist()) if (groups == key).sum() >= 2}


def near_duplicate_rates(pairs: dict[str, list[float]], threshold: float) -> list[float]:
    """Per prompt, the share of image pairs closer than `threshold` (from clean renders)."""
    return [float(np.mean(np.asarray(d) < threshold)) for d in pairs.values() if d]


def duplicate_threshold(render_pairs: dict[str, list[float]], percentile: float = 1.0) -> float:
    """Two different clean renders of one prompt are this close only 1% of the time."""
    values = [x for d in render_pairs.values() for x in d]
    return float(np.percentile(values, percentile)) if values else float("nan")
