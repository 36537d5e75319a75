"""'Inside the models': denoising step by step, the VAE's latent space, the GAN across training,
and the training curves. Family-specific views use optional capabilities of a Generator
(`frames`, `interpolate`, `encode`/`decode`, `snapshots`) found by duck typing, never by import.
API events take raw JSON (`preprocess=False`) so that `pipeline.validate` words every bad value.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from core.limits import DEFAULT_SAMPLER, SAMPLERS
from demo import pipeline, present
from judge import Judge
from models.base import GenerateOptions
from models.registry import FAMILY_NAMES as FAMILIES
from models.registry import BackendUnavailable, Registry
from prompt import PromptParser
from world.dataset import spec_of


def _load(registry: Registry, family: str, variant: str):
    try:
        return registry.load(family, variant)
    except BackendUnavailable as err:
        raise gr.Error(str(err)) from None


def _spec(parser: PromptParser, prompt: str):
    try:
        return pipeline.understand(pipeline.validate(prompt).prompt, parser)
    except ValueError as err:
        raise gr.Error(str(err)) from None


JSON = Any  # a value as the browser or an API client sent it (preprocess=False): pipeline.validate checks it


@dataclass(frozen=True)
class InsideHandlers:
    """The handlers that run a model, made once per app so they hold its generators, prompt parser and judge."""

    registry: Registry
    parser: PromptParser
    judge: Judge

    def denoise(self, prompt: JSON, seed: JSON, steps: JSON, sampler: JSON) -> tuple[list, gr.Slider, Any]:
        """Sample one image and keep the model's clean-image guess after every step."""
        request = _validated(prompt, seed=seed, n=1, steps=steps, sampler=sampler)
        gen = _load(self.registry, "diffusion", "full")
        result = gen.generate(_spec(self.parser, request.prompt), 1, request.seed,
                              GenerateOptions(steps=request.steps, sampler=request.sampler, keep_frames=True))
        frames = [pipeline.upscale(step[0], 320) for step in result.frames] + [pipeline.upscale(result.images[0], 320)]
        return frames, gr.Slider(0, len(frames) - 1, value=len(frames) - 1, step=1), frames[-1]

    def walk(self, a: JSON, b: JSON, seed_a: JSON, seed_b: JSON) -> list[tuple]:
        """Interpolate the VAE's latent code between two prompts/seeds."""
        ra, rb = _validated(a, seed=seed_a), _validated(b, seed=seed_b)
        gen = _load(self.registry, "vae", "full")
        images = gen.interpolate(_spec(self.parser, ra.prompt), _spec(self.parser, rb.prompt), ra.seed, rb.seed, 8).images
        return [(pipeline.upscale(im), f"{k}/7") for k, im in enumerate(images)]

    def reconstruct(self, seed: JSON) -> list[tuple]:
        """Encode renders with the VAE's encoder and decode them back."""
        from PIL import Image

        from world.render import render_sample

        request = _validated("hand", seed=seed)
        gen = _load(self.registry, "vae", "full")
        renders = [render_sample(request.seed, i, 64) for i in range(4)]
        originals = [Image.fromarray(r.image) for r in renders]
        specs = [spec_of(r.label) for r in renders]
        recon = [gen.decode(gen.encode([im], sp)[0], sp)[0] for im, sp in zip(originals, specs)]  # z = posterior mean
        items = [(pipeline.upscale(im), "render") for im in originals]
        items += [(pipeline.upscale(im), f"decoded, sharpness {self.judge.score(im).sharpness or 0:.2f}") for im in recon]
        return items

    def snapshots(self, prompt: JSON) -> tuple[list[tuple], pd.DataFrame]:
        """Generate the same 8 seeds with every saved generator snapshot and measure diversity."""
        spec = _spec(self.parser, _validated(prompt).prompt)
        gen = _load(self.registry, "gan", "full")
        items, rows = [], []
        final_step = self.registry.trained_steps("gan", "full")
        for name in list(gen.snapshots()) + ["final"]:
            g = gen if name == "final" else gen.at_snapshot(name)
            result = g.generate(spec, 8, 0)
            diversity = self.judge.score_set(result.images, spec).diversity
            rows.append({"step": present.step_of(name, final_step), "diversity": diversity})
            items += [(pipeline.upscale(im, 128), f"{name}" if k == 0 else "") for k, im in enumerate(result.images)]
        return items, pd.DataFrame(rows)


def show_step(frames: list, k: float) -> Any:
    """The kept clean-image guess of step k: moving the slider only looks up what /denoise saved."""
    return frames[int(k)] if frames and 0 <= int(k) < len(frames) else gr.skip()


def diffusion_steps(handlers: InsideHandlers, concurrency_id: str) -> None:
    """The denoiser's clean-image guess after each step, on a slider."""
    gr.Markdown("Diffusion starts from pure noise and removes a little of it per step. Each step is one more pass "
                "through the network, one after another: that sequence is why diffusion is the slow family.")
    with gr.Row():
        prompt = gr.Textbox(label="Prompt", value="a peace sign", scale=3)
        seed = gr.Number(label="Seed", value=0, precision=0, minimum=0)
        steps = gr.Slider(2, 100, value=20, step=1, label="Steps")
        sampler = gr.Radio(list(SAMPLERS), value=DEFAULT_SAMPLER, label="Sampler")
    run = gr.Button("Denoise", variant="primary")
    slider = gr.Slider(0, 20, value=20, step=1, label="Show step")
    image = gr.Image(label="Prediction of the clean image at this step", type="pil", height=320, format="png")
    frames = gr.State([])
    run.click(handlers.denoise, [prompt, seed, steps, sampler], [frames, slider, image], api_name="denoise",
              concurrency_id=concurrency_id, preprocess=False)
    slider.change(show_step, [frames, slider], image, api_visibility="private")


def vae_latent_space(handlers: InsideHandlers, concurrency_id: str) -> None:
    """A walk between two latent codes, and renders encoded and decoded back."""
    gr.Markdown("A VAE squeezes every hand into a small code and decodes it back. Walking from one code to another "
                "morphs one hand into another; decoding averages over what the code cannot say, hence the blur.")
    with gr.Row():
        prompt_a = gr.Textbox(label="From prompt", value="a fist")
        prompt_b = gr.Textbox(label="To prompt", value="an open hand")
        seed_a = gr.Number(label="Seed A", value=0, precision=0, minimum=0)
        seed_b = gr.Number(label="Seed B", value=1, precision=0, minimum=0)
    walk_run = gr.Button("Walk", variant="primary")
    walk = gr.Gallery(label="Latent walk", columns=8, height=200, format="png")
    gr.Markdown("Encode and decode a rendered hand (top: the render; bottom: what the VAE gives back).")
    with gr.Row():
        render_seed = gr.Number(label="Render seed", value=0, precision=0, minimum=0)
        recon_run = gr.Button("Encode and decode")
    recon = gr.Gallery(label="Render vs reconstruction", columns=8, height=260, format="png")
    walk_run.click(handlers.walk, [prompt_a, prompt_b, seed_a, seed_b], walk, api_name="vae_walk",
                   concurrency_id=concurrency_id, preprocess=False)
    recon_run.click(handlers.reconstruct, [render_seed], recon, api_name="vae_reconstruct", concurrency_id=concurrency_id,
                    preprocess=False)


def gan_across_training(handlers: InsideHandlers, concurrency_id: str) -> None:
    """The same 8 seeds through every saved snapshot of the generator, and their diversity."""
    gr.Markdown("A GAN's generator learns by fooling a critic. If it finds one hand that fools it, it may draw only "
                "that hand: **mode collapse**. The same 8 seeds through snapshots of the generator; the diversity "
                "meter is the mean distance between the 8 hands (0 = all identical).")
    with gr.Row():
        prompt = gr.Textbox(label="Prompt", value="an open palm", scale=3)
        run = gr.Button("Show snapshots", variant="primary")
    gallery = gr.Gallery(label="Snapshots (rows: training step)", columns=8, height=520, format="png")
    plot = gr.LinePlot(x="step", y="diversity", title="Diversity of 8 samples across training", label="Diversity")
    run.click(handlers.snapshots, [prompt], [gallery, plot], api_name="gan_snapshots", concurrency_id=concurrency_id,
              preprocess=False)


def curves(registry: Registry) -> None:
    """The shipped training logs, one plot per family (no event: drawn when the app is built)."""
    gr.Markdown("Losses logged while training (the CSVs shipped with the weights). Diffusion's loss falls smoothly; "
                "a GAN's two losses fight, which is what 'unstable training' looks like.")
    with gr.Row():
        for family in FAMILIES:
            frame = training_curves(registry, family)
            gr.LinePlot(frame, x="images_seen", y="value", color="curve", title=f"{family} training", label=family,
                        height=260)


def build_inside_tab(registry: Registry, concurrency_id: str, parser: PromptParser, judge: Judge) -> None:
    """One sub-tab per view; each lays out its components and wires its events to `InsideHandlers`."""
    handlers = InsideHandlers(registry, parser, judge)
    with gr.Tab("Diffusion, step by step"):
        diffusion_steps(handlers, concurrency_id)
    with gr.Tab("VAE latent space"):
        vae_latent_space(handlers, concurrency_id)
    with gr.Tab("GAN across training"):
        gan_across_training(handlers, concurrency_id)
    with gr.Tab("Training curves"):
        curves(registry)


def _validated(prompt: str, **kwargs) -> pipeline.Request:
    try:
        return pipeline.validate(prompt, **kwargs)
    except ValueError as err:
        raise gr.Error(str(err)) from None


def training_curves(registry: Registry, family: str) -> pd.DataFrame:
    """Long-format losses (images_seen, curve, value) for every shipped variant of a family."""
    rows = []
    for variant in registry.variants(family):
        path = registry.weights_root / family / variant / "train_log.csv"
        if not path.exists():
            continue
        with open(path) as f:
            for row in csv.DictReader(f):
                for key, value in row.items():
                    if key in ("step", "images_seen", "wall_s") or value in ("", None):
                        continue
                    rows.append({"images_seen": int(row["images_seen"]), "curve": f"{variant}: {key}", "value": float(value)})
    return pd.DataFrame(rows, columns=["images_seen", "curve", "value"])
