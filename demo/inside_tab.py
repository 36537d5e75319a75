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
from demo.compare_tab import refused
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
        raise refused(err) from None


def _spec(parser: PromptParser, prompt: str):
    try:
        return pipeline.understand(pipeline.validate(prompt).prompt, parser)
    except ValueError as err:
        raise refused(err) from None


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

    def walk(self, a: JSON, b: JSON, seed_a: JSON, seed_b: JSON) -> str:
        """Interpolate the VAE's latent code between two prompts/seeds: 8 pictures, from the first to the second."""
        ra, rb = _validated(a, seed=seed_a), _validated(b, seed=seed_b)
        gen = _load(self.registry, "vae", "full")
        images = gen.interpolate(_spec(self.parser, ra.prompt), _spec(self.parser, rb.prompt), ra.seed, rb.seed, 8).images
        captions = ["start"] + [""] * (len(images) - 2) + ["end"]
        return present.strips_html([(f"From “{ra.prompt}” (left) to “{rb.prompt}” (right)", images, captions)])

    def reconstruct(self, seed: JSON) -> str:
        """Encode renders with the VAE's encoder and decode them back: the input on one row, the output under it."""
        from PIL import Image

        from world.render import render_sample

        request = _validated("hand", seed=seed)
        gen = _load(self.registry, "vae", "full")
        renders = [render_sample(request.seed, i, 64) for i in range(4)]
        originals = [Image.fromarray(r.image) for r in renders]
        specs = [spec_of(r.label) for r in renders]
        recon = [gen.decode(gen.encode([im], sp)[0], sp)[0] for im, sp in zip(originals, specs)]  # z = posterior mean
        sharp = [f"sharpness {self.judge.score(im).sharpness or 0:.2f}" for im in recon]
        return present.strips_html([("Drawn hands: what goes into the VAE", originals, ["drawn"] * len(originals)),
                                    ("What the VAE gives back from its short code", recon, sharp)])

    def listens(self, prompt_a: JSON, prompt_b: JSON, seed: JSON) -> str:
        """The same seed through each model with two prompts: how much do the pictures change with the words?"""
        ra, rb = _validated(prompt_a, seed=seed), _validated(prompt_b, seed=seed)
        spec_a, spec_b = _spec(self.parser, ra.prompt), _spec(self.parser, rb.prompt)
        strips, change = [], {}
        for family in FAMILIES:
            gen = _load(self.registry, family, "full")
            a, b = gen.generate(spec_a, LISTEN_N, ra.seed).images, gen.generate(spec_b, LISTEN_N, ra.seed).images
            change[family] = pixel_change(a, b)
            title = present.TITLES[family]
            strips += [(f"{title}: “{ra.prompt}”", a, [""] * len(a)),
                       (f"{title}: “{rb.prompt}” (same seed)", b, [""] * len(b))]
        return listen_summary(change) + present.strips_html(strips)

    def snapshots(self, prompt: JSON) -> tuple[str, pd.DataFrame]:
        """Generate the same 8 seeds with every saved generator snapshot and measure their variety."""
        spec = _spec(self.parser, _validated(prompt).prompt)
        gen = _load(self.registry, "gan", "full")
        strips, rows = [], []
        final_step = self.registry.trained_steps("gan", "full")
        for name in list(gen.snapshots()) + ["final"]:
            g = gen if name == "final" else gen.at_snapshot(name)
            result = g.generate(spec, 8, 0)
            diversity = self.judge.score_set(result.images, spec).diversity
            step = present.step_of(name, final_step)
            rows.append({"step": step, "diversity": diversity})
            when = f"after {step:,} training steps" if step is not None else name
            strips.append((f"{when}{' (the shipped model)' if name == 'final' else ''}: variety "
                           f"{diversity or 0:.1f}", result.images, [""] * len(result.images)))
        return present.strips_html(strips), pd.DataFrame(rows)


LISTEN_N = 4  # pictures per prompt and model in "does it listen to the prompt?"


def pixel_change(a: list, b: list) -> float:
    """Mean absolute difference between paired pictures, in pixel levels (0-255)."""
    import numpy as np

    return float(np.mean([np.abs(np.asarray(x, float) - np.asarray(y, float)).mean() for x, y in zip(a, b)]))


def listen_summary(change: dict[str, float]) -> str:
    """One line per model with its measured change, and which model listens least."""
    least = min(change, key=change.get)
    lines = "".join(f"<li><b>{present.TITLES[f]}</b>: the pictures change by {v:.0f} of 255 per pixel</li>"
                    for f, v in change.items())
    others = [v for f, v in change.items() if f != least]
    if others and change[least] < 0.5 * min(others):
        verdict = f"The <b>{present.TITLES[least]}</b> barely listens to the prompt: its pictures change least."
    else:
        verdict = "Every model changes its pictures with the words."
    return f'<ul class="status">{lines}</ul><p class="status">{verdict}</p>'


def show_step(frames: list, k: float) -> Any:
    """The kept clean-image guess of step k: moving the slider only looks up what /denoise saved."""
    return frames[int(k)] if frames and 0 <= int(k) < len(frames) else gr.skip()


def diffusion_steps(handlers: InsideHandlers, concurrency_id: str) -> None:
    """The denoiser's clean-image guess after each step, on a slider."""
    gr.Markdown("Diffusion starts from pure noise and removes a little of it per step. Each step is one more pass "
                "through the network, one after another: that sequence is why diffusion is the slow family.")
    with gr.Row():
        prompt = gr.Textbox(label="Prompt", value="a peace sign", scale=3)
        seed = gr.Number(label="Seed", value=0, precision=0, step=1, minimum=0)
        steps = gr.Slider(2, 100, value=20, step=1, label="Steps")
        sampler = gr.Radio(list(SAMPLERS), value=DEFAULT_SAMPLER, label="Sampler")
    run = gr.Button("Denoise", variant="primary")
    slider = gr.Slider(0, 20, value=20, step=1, label="Show step")
    image = gr.Image(label="Prediction of the clean image at this step", type="pil", height=320, format="png",
                     elem_id="denoise-image")
    frames = gr.State([])
    run.click(handlers.denoise, [prompt, seed, steps, sampler], [frames, slider, image], api_name="denoise",
              concurrency_id=concurrency_id, preprocess=False)
    slider.change(show_step, [frames, slider], image, api_visibility="private")


def vae_latent_space(handlers: InsideHandlers, concurrency_id: str) -> None:
    """A walk between two latent codes, and renders encoded and decoded back."""
    gr.Markdown("A VAE squeezes every hand into a short code and decodes it back. Walking from one code to another "
                "morphs one hand into another (left to right); decoding averages over what the code cannot say, "
                "hence the blur.")
    with gr.Row():
        prompt_a = gr.Textbox(label="From prompt", value="a fist")
        prompt_b = gr.Textbox(label="To prompt", value="an open hand")
        seed_a = gr.Number(label="Seed A", value=0, precision=0, step=1, minimum=0)
        seed_b = gr.Number(label="Seed B", value=1, precision=0, step=1, minimum=0)
    walk_run = gr.Button("Walk", variant="primary")
    walk = gr.HTML(label="Latent walk, from the first prompt to the second", css_template=present.PICTURES_CSS,
                   elem_id="vae-walk")
    gr.Markdown("Encode a drawn hand and decode it back: the first row goes in, the second comes out.")
    with gr.Row():
        render_seed = gr.Number(label="Render seed", value=0, precision=0, step=1, minimum=0)
        recon_run = gr.Button("Encode and decode")
    recon = gr.HTML(label="Drawn hands and what the VAE gives back", css_template=present.PICTURES_CSS,
                    elem_id="vae-recon")
    walk_run.click(handlers.walk, [prompt_a, prompt_b, seed_a, seed_b], walk, api_name="vae_walk",
                   concurrency_id=concurrency_id, preprocess=False)
    recon_run.click(handlers.reconstruct, [render_seed], recon, api_name="vae_reconstruct", concurrency_id=concurrency_id,
                    preprocess=False)


def prompt_listening(handlers: InsideHandlers, concurrency_id: str) -> None:
    """The same seed with two different prompts, through each model, and how much the pictures change."""
    gr.Markdown("Does a model listen to the words? Each model draws the same seed twice, once per prompt. If the "
                "pictures hardly change, the model is ignoring what it is told. Measured now, on the shipped models.")
    with gr.Row():
        prompt_a = gr.Textbox(label="First prompt", value="a fist")
        prompt_b = gr.Textbox(label="Second prompt", value="five fingers spread")
        seed = gr.Number(label="Seed", value=0, precision=0, step=1, minimum=0)
    run = gr.Button("Draw both and measure", variant="primary", elem_id="listen-run")
    out = gr.HTML(label="Pictures for each prompt, and how much they change", css_template=present.PICTURES_CSS,
                  elem_id="listen")
    run.click(handlers.listens, [prompt_a, prompt_b, seed], out, concurrency_id=concurrency_id,
              api_visibility="private")


def gan_across_training(handlers: InsideHandlers, concurrency_id: str) -> None:
    """The same 8 seeds through every saved snapshot of the generator, and their variety."""
    gr.Markdown("A GAN's generator learns by fooling a critic. If it finds one hand that fools it, it may draw only "
                "that hand: **mode collapse**. The same 8 seeds through snapshots of the generator, one row per "
                "snapshot; *variety* is the mean distance between the 8 hands (0 = all identical).")
    with gr.Row():
        prompt = gr.Textbox(label="Prompt", value="an open palm", scale=3)
        run = gr.Button("Show snapshots", variant="primary")
    plot = gr.LinePlot(x="step", y="diversity", title="Variety of the 8 hands across training", label="Variety",
                       show_label=False, x_title="training steps", y_title="variety (0 = all the same)",
                       y_lim=[0, None], height=220, elem_id="gan-variety")
    rows = gr.HTML(label="The same 8 seeds at each training snapshot", css_template=present.PICTURES_CSS,
                   elem_id="gan-snapshots")
    run.click(handlers.snapshots, [prompt], [rows, plot], api_name="gan_snapshots", concurrency_id=concurrency_id,
              preprocess=False)


CURVES = {  # per family: its logged quantities, in words, and what to see in them
    "vae": ("The VAE's loss is its pixel error (MSE) plus β × KL, how far its codes stray from a plain bell curve. "
            "Both drop fast, then level off and wobble from batch to batch; β is not learned, it is raised on a "
            "schedule. The scarce model's error ends lower: 1,000 hands are easier to memorise than 20,000.",
            {"loss": "loss", "mse": "pixel error (MSE)", "kl": "KL: codes vs a bell curve", "beta": "β (schedule)"}),
    "gan": ("A GAN's two losses do not fall: the generator and the critic push against each other, so the lines "
            "jump around one level. d_real and d_fake are the critic's scores for real and generated hands.",
            {"loss_d": "critic's loss", "loss_g": "generator's loss", "d_real": "critic's score: real hands",
             "d_fake": "critic's score: generated"}),
    "diffusion": ("Diffusion's loss drops fast, then wobbles from one logged step to the next (each batch gets "
                  "different amounts of noise) while still trending down; it never swings like the GAN's.",
                  {"loss": "loss (noise-prediction error)", "grad_norm": "gradient size"}),
}


CURVE_COLOURS = {"full": "#3b6fb6", "scarce": "#e8821e"}  # the same two lines in every plot


def curves(registry: Registry) -> None:
    """The shipped training logs: one plot per logged quantity, two to a row so each stays readable on a
    projector; full and scarce data as two lines (no event: drawn when the app is built)."""
    gr.Markdown("Each plot is one number logged while training, against the training pictures seen so far. "
                "<b style='color:#3b6fb6'>Blue</b>: the model trained on 20,000 hands; "
                "<b style='color:#e8821e'>orange</b>: on 1,000 (scarce).")
    for family in FAMILIES:
        text, names = CURVES[family]
        gr.Markdown(f"### {present.TITLES[family]}\n{text}")
        frame = training_curves(registry, family)
        quantities = list(names.items())
        for k in range(0, len(quantities), 2):
            with gr.Row():
                for quantity, words in quantities[k:k + 2]:
                    gr.LinePlot(frame[frame["quantity"] == quantity], x="images_seen", y="value",
                                color="training data", color_map=CURVE_COLOURS, title=words, show_label=False,
                                label=f"{present.TITLES[family]}: {words}", x_title="training images seen",
                                y_title=" ", height=300, min_width=300, elem_id=f"curve-{family}-{quantity}")


def build_inside_tab(registry: Registry, concurrency_id: str, parser: PromptParser, judge: Judge) -> None:
    """One sub-tab per view; each lays out its components and wires its events to `InsideHandlers`."""
    handlers = InsideHandlers(registry, parser, judge)
    with gr.Tab("Diffusion, step by step"):
        diffusion_steps(handlers, concurrency_id)
    with gr.Tab("VAE latent space"):
        vae_latent_space(handlers, concurrency_id)
    with gr.Tab("Does it listen to the prompt?"):
        prompt_listening(handlers, concurrency_id)
    with gr.Tab("GAN across training"):
        gan_across_training(handlers, concurrency_id)
    with gr.Tab("Training curves"):
        curves(registry)


def _validated(prompt: str, **kwargs) -> pipeline.Request:
    try:
        return pipeline.validate(prompt, **kwargs)
    except ValueError as err:
        raise refused(err) from None


def training_curves(registry: Registry, family: str) -> pd.DataFrame:
    """Long-format logs (images_seen, training data, quantity, value) for every shipped variant of a family."""
    rows = []
    for variant in registry.variants(family):
        path = registry.weights_root / family / variant / "train_log.csv"
        if not path.exists():
            continue
        with open(path) as f:
            for row in csv.DictReader(f):
                if not row.get("images_seen"):  # a fine-tune's log (diffusion/feedback's DPO) counts steps and pair
                    continue  # accuracies, not images seen: it has no place on these curves
                for key, value in row.items():
                    if key in ("step", "images_seen", "wall_s") or value in ("", None):
                        continue
                    rows.append({"images_seen": int(row["images_seen"]), "training data": variant, "quantity": key,
                                 "value": float(value)})
    return pd.DataFrame(rows, columns=["images_seen", "training data", "quantity", "value"])
