"""'Inside the models': denoising step by step, the VAE's latent space, the GAN across training,
and the training curves. Family-specific views use optional capabilities of a Generator
(`frames`, `interpolate`, `encode`/`decode`, `snapshots`) found by duck typing, never by import.
API events take raw JSON (`preprocess=False`) so that `pipeline.validate` words every bad value.
"""

from __future__ import annotations

import csv

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


def build_inside_tab(registry: Registry, concurrency_id: str, parser: PromptParser, judge: Judge) -> None:
    with gr.Tab("Diffusion, step by step"):
        gr.Markdown("Diffusion starts from pure noise and removes a little of it per step. Each step is one more pass "
                    "through the network, one after another: that sequence is why diffusion is the slow family.")
        with gr.Row():
            d_prompt = gr.Textbox(label="Prompt", value="a peace sign", scale=3)
            d_seed = gr.Number(label="Seed", value=0, precision=0, minimum=0)
            d_steps = gr.Slider(2, 100, value=20, step=1, label="Steps")
            d_sampler = gr.Radio(list(SAMPLERS), value=DEFAULT_SAMPLER, label="Sampler")
        d_run = gr.Button("Denoise", variant="primary")
        d_slider = gr.Slider(0, 20, value=20, step=1, label="Show step")
        d_image = gr.Image(label="Prediction of the clean image at this step", type="pil", height=320, format="png")
        d_frames = gr.State([])

        def denoise(prompt, seed, steps, sampler):
            """Sample one image and keep the model's clean-image guess after every step."""
            request = _validated(prompt, seed=seed, n=1, steps=steps, sampler=sampler)
            gen = _load(registry, "diffusion", "full")
            result = gen.generate(_spec(parser, request.prompt), 1, request.seed,
                                  GenerateOptions(steps=request.steps, sampler=request.sampler, keep_frames=True))
            frames = [pipeline.upscale(step[0], 320) for step in result.frames] + [pipeline.upscale(result.images[0], 320)]
            return frames, gr.Slider(0, len(frames) - 1, value=len(frames) - 1, step=1), frames[-1]

        d_run.click(denoise, [d_prompt, d_seed, d_steps, d_sampler], [d_frames, d_slider, d_image], api_name="denoise",
                    concurrency_id=concurrency_id, preprocess=False)
        d_slider.change(lambda frames, k: frames[int(k)] if frames and 0 <= int(k) < len(frames) else gr.skip(),
                        [d_frames, d_slider], d_image, api_visibility="private")

    with gr.Tab("VAE latent space"):
        gr.Markdown("A VAE squeezes every hand into a small code and decodes it back. Walking from one code to another "
                    "morphs one hand into another; decoding averages over what the code cannot say, hence the blur.")
        with gr.Row():
            v_a = gr.Textbox(label="From prompt", value="a fist")
            v_b = gr.Textbox(label="To prompt", value="an open hand")
            v_seed_a = gr.Number(label="Seed A", value=0, precision=0, minimum=0)
            v_seed_b = gr.Number(label="Seed B", value=1, precision=0, minimum=0)
        v_run = gr.Button("Walk", variant="primary")
        v_walk = gr.Gallery(label="Latent walk", columns=8, height=200, format="png")
        gr.Markdown("Encode and decode a rendered hand (top: the render; bottom: what the VAE gives back).")
        with gr.Row():
            v_render_seed = gr.Number(label="Render seed", value=0, precision=0, minimum=0)
            v_recon_run = gr.Button("Encode and decode")
        v_recon = gr.Gallery(label="Render vs reconstruction", columns=8, height=260, format="png")

        def walk(a, b, seed_a, seed_b):
            """Interpolate the VAE's latent code between two prompts/seeds."""
            ra, rb = _validated(a, seed=seed_a), _validated(b, seed=seed_b)
            gen = _load(registry, "vae", "full")
            images = gen.interpolate(_spec(parser, ra.prompt), _spec(parser, rb.prompt), ra.seed, rb.seed, 8).images
            return [(pipeline.upscale(im), f"{k}/7") for k, im in enumerate(images)]

        def reconstruct(seed):
            """Encode renders with the VAE's encoder and decode them back."""
            from PIL import Image

            from world.render import render_sample

            request = _validated("hand", seed=seed)
            gen = _load(registry, "vae", "full")
            renders = [render_sample(request.seed, i, 64) for i in range(4)]
            originals = [Image.fromarray(r.image) for r in renders]
            specs = [spec_of(r.label) for r in renders]
            recon = [gen.decode(gen.encode([im], sp)[0], sp)[0] for im, sp in zip(originals, specs)]  # z = posterior mean
            items = [(pipeline.upscale(im), "render") for im in originals]
            items += [(pipeline.upscale(im), f"decoded, sharpness {judge.score(im).sharpness or 0:.2f}") for im in recon]
            return items

        v_run.click(walk, [v_a, v_b, v_seed_a, v_seed_b], v_walk, api_name="vae_walk", concurrency_id=concurrency_id,
                    preprocess=False)
        v_recon_run.click(reconstruct, [v_render_seed], v_recon, api_name="vae_reconstruct", concurrency_id=concurrency_id,
                          preprocess=False)

    with gr.Tab("GAN across training"):
        gr.Markdown("A GAN's generator learns by fooling a critic. If it finds one hand that fools it, it may draw only "
                    "that hand: **mode collapse**. The same 8 seeds through snapshots of the generator; the diversity "
                    "meter is the mean distance between the 8 hands (0 = all identical).")
        with gr.Row():
            g_prompt = gr.Textbox(label="Prompt", value="an open palm", scale=3)
            g_run = gr.Button("Show snapshots", variant="primary")
        g_gallery = gr.Gallery(label="Snapshots (rows: training step)", columns=8, height=520, format="png")
        g_plot = gr.LinePlot(x="step", y="diversity", title="Diversity of 8 samples across training", label="Diversity")

        def snapshots(prompt):
            """Generate the same 8 seeds with every saved generator snapshot and measure diversity."""
            spec = _spec(parser, _validated(prompt).prompt)
            gen = _load(registry, "gan", "full")
            items, rows = [], []
            final_step = registry.trained_steps("gan", "full")
            for name in list(gen.snapshots()) + ["final"]:
                g = gen if name == "final" else gen.at_snapshot(name)
                result = g.generate(spec, 8, 0)
                diversity = judge.score_set(result.images, spec).diversity
                rows.append({"step": present.step_of(name, final_step), "diversity": diversity})
                items += [(pipeline.upscale(im, 128), f"{name}" if k == 0 else "") for k, im in enumerate(result.images)]
            return items, pd.DataFrame(rows)

        g_run.click(snapshots, [g_prompt], [g_gallery, g_plot], api_name="gan_snapshots", concurrency_id=concurrency_id,
                    preprocess=False)

    with gr.Tab("Training curves"):
        gr.Markdown("Losses logged while training (the CSVs shipped with the weights). Diffusion's loss falls smoothly; "
                    "a GAN's two losses fight, which is what 'unstable training' looks like.")
        with gr.Row():
            for family in FAMILIES:
                frame = training_curves(registry, family)
                gr.LinePlot(frame, x="images_seen", y="value", color="curve", title=f"{family} training", label=family,
                            height=260)


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
