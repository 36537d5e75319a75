"""'Fix it with feedback': the articles' third fix, shown. The same prompt and seed drawn by diffusion/full (before)
and diffusion/feedback (after: full fine-tuned by Diffusion-DPO on preference pairs), each picture with the
judge's verdict line; the gain measured on held-out seeds (`python -m bench.feedback --record` writes
results/feedback_eval.json: read here, never measured here); and the loop in one picture.

`build_feedback_tab` lays out the components and wires the one event to `FeedbackHandlers.on_show`. When the
feedback variant or the evaluation is missing, the tab says so in one line and the rest of the app is unaffected.
API: /fix_with_feedback (prompt, seed -> before, after, before's verdict, after's verdict).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from core import settings
from core.limits import FEEDBACK_VIEW_SEED, SEED
from core.prompts import PROMPTS
from demo import pipeline, present
from demo.compare_tab import refused
from judge import Judge
from models.registry import FEEDBACK, Registry
from prompt import PromptParser

JSON = Any  # a value as the browser or an API client sent it (preprocess=False): pipeline.validate checks it
FAMILY = "diffusion"
BEFORE, AFTER = "full", FEEDBACK  # the variant fine-tuned, and what the fine-tuning made of it
SHOWN_SIZE = 256  # enlarged nearest-neighbour (pipeline.upscale): the pixels shown are the pixels drawn

INTRO = """### Fix it with feedback
The articles' third fix for bad hands: people say which of two hands is better, and the model learns from it.
Here the diffusion model was fine-tuned on choices between pairs of hand pictures (Diffusion-DPO); the line below
says whose choices.
Pick a prompt and a seed: both models start from the same noise, so any difference is what the feedback changed.
Seeds from 900,000 were kept out of all training and voting."""
MISSING_VARIANT = ("The feedback model is not installed here (no models/weights/diffusion/feedback): train it with "
                   "`python -m bench.feedback_pairs raters --train dpo` and copy its best/ there.")
MISSING_EVAL = ("Not measured yet: no results/feedback_eval.json (`python -m bench.feedback --record` writes it).")
LOOP_WORDS = ("**The loop:** votes (people pick the better hand) → reward (which picture people prefer; the judge's "
              "quality model is fitted to the same raters) → fine-tune (Diffusion-DPO moves the model towards the "
              "preferred pictures) → compare (the same seeds before and after, judged) → new pictures to vote on.")

SOURCE_WORDS = {  # whose choices each source of pairs is (models.feedback_pairs.SOURCES)
    "raters": ": pictures that people rated at least a point apart",
    "votes": ": the votes cast in the Rate hands tab",
    "judge": (": pairs of its own pictures that the judge scored apart. The judge's quality model was fitted to "
              "people's ratings, so this is feedback from a model of people's eyes (\"AI feedback\"), not from people "
              "directly; and it is the same judge that measures the gain below"),
}
VERDICT_SENTENCES = {
    "holds": "After feedback the fingers are right more often, by more than chance would give.",
    "does not hold": "After feedback the fingers are right less often, by more than chance would give.",
    "inconclusive": "The change could be chance: this measurement cannot tell.",
}
BAR_WORDS = {  # the bars of issue 17, as bench.feedback names them in the file
    "fingers_right_up_8_points_ci_above_0": "fingers right up 8 points or more, its range above 0",
    "fingers_right_mcnemar_p_below_0.05": "McNemar p below 0.05",
    "hand_score_does_not_fall": "the Hand Score does not fall",
    "hand_score_not_significantly_lower": "the Hand Score is not clearly lower",
    "near_duplicates_rise_at_most_3_points": "near-duplicates rise by 3 points at most",
}


def missing_variant(registry: Registry) -> str | None:
    """Why the view cannot draw (the feedback variant is not shipped), or None when it can."""
    return None if AFTER in registry.variants(FAMILY) else MISSING_VARIANT


def learnt_from(registry: Registry) -> str:
    """What the shipped feedback variant learnt from, in one line from its training.json ('' when unknown)."""
    try:
        info = json.loads((registry.weights_root / FAMILY / AFTER / "training.json").read_text())
        method = str(info["method"]).split(" (")[0]  # 'dpo on raters pairs (models.training.dpo)': its first words
        source = SOURCE_WORDS.get(str(info.get("feedback", {}).get("pairs", "")), "")
        return (f"diffusion/feedback is {info['reference']} fine-tuned for {int(info['steps']):,} steps on "
                f"{int(info['data_size']):,} preference pairs ({method}){source}.")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ""


def load_evaluation(path: Path, confirmation: Path = settings.FEEDBACK_CONFIRM) -> dict | None:
    """The evaluation bench.feedback wrote (with its confirmation set when one was measured on the same weights), or
    None when there is none (or it is not JSON): the view says so."""
    return settings.feedback_results(path, confirmation)


def _signed(value: float, digits: int = 1) -> str:
    return f"{value:+.{digits}f}".replace("-", "−")


def _interval(triple: list, unit: str = "") -> str:
    """[mean, lo, hi] -> '+2.4 points (likely −1.9 to +6.7)'."""
    mean, lo, hi = (float(v) for v in triple)
    return f"{_signed(mean)}{unit} (likely {_signed(lo)} to {_signed(hi)})"


def _model_cells(models: dict) -> list[tuple[str, str, str]]:
    """Per measure: (name, before, after), as the file holds each model's figures."""
    full, after = models["full"], models["candidate"]

    def kid(row: dict) -> str:
        return "–" if not row.get("kid") else f"{1000 * float(row['kid'][0]):,.0f}"

    return [("fingers right", f"{float(full['finger_accuracy'][0]):.0%}", f"{float(after['finger_accuracy'][0]):.0%}"),
            ("Hand Score (0-100)", f"{float(full['hand_score'][0]):.1f}", f"{float(after['hand_score'][0]):.1f}"),
            ("near-duplicates", f"{float(full['near_duplicates']):.0%}", f"{float(after['near_duplicates']):.0%}"),
            ("KID ×1000 (lower: closer to clean drawings)", kid(full), kid(after))]


def gain_table(evaluation: dict) -> str:
    """Before, after and the paired difference with its 95 % range, one row per measure."""
    cmp = evaluation["comparison"]
    differences = [_interval(cmp["fingers_right_points"], " points"), _interval(cmp["hand_score"]),
                   _interval(cmp["near_duplicates_points"], " points"), "–"]
    lines = ["| | before (full) | after (feedback) | after − before, same pictures |", "|---|---|---|---|"]
    lines += [f"| {name} | {a} | {b} | {d} |" for (name, a, b), d in zip(_model_cells(evaluation["models"]), differences)]
    return "\n".join(lines)


def bar_line(bars: dict) -> str:
    """The project's bar, met or NOT met, and each of its parts."""
    met = bool(bars) and all(bars.values())
    parts = "; ".join(f"{'✓' if ok else '✗'} {BAR_WORDS.get(name, name.replace('_', ' '))}" for name, ok in bars.items())
    return f"**The project's bar: {'met' if met else 'NOT met'}.** {parts}."


def gain_markdown(evaluation: dict | None) -> str:
    """The measured gain in plain words: the numbers, the pictures that changed, the verdict, the bar."""
    if evaluation is None:
        return MISSING_EVAL
    try:
        cmp, exact = evaluation["comparison"], evaluation["comparison"]["mcnemar"]
        rests_on, name = settings.feedback_basis(evaluation)
        claim = rests_on["comparison"]["claim_human_feedback_improves_hands"]
        quick = ("\n\n⚠️ A smoke run (`--quick`, a few pictures per prompt), not the held-out evaluation."
                 if evaluation.get("quick") else "")
        return "\n\n".join([
            f"### What the feedback changed, measured{quick}",
            f"On **{evaluation['images']} pictures** held out before any training ({evaluation['prompts']} benchmark "
            f"prompts × {evaluation['per_prompt']} seeds from {int(evaluation['seed']):,}), both models drew from the "
            f"same noise, so each picture is compared with its twin (`{evaluation.get('command', 'python -m bench.feedback')}`):",
            gain_table(evaluation),
            f"Pictures that changed: {exact['only_candidate_right']} have the right fingers only after feedback, "
            f"{exact['only_full_right']} only before (McNemar p = {float(exact['p']):.3g}; under 0.05 such a change is "
            "unlikely to be luck).",
            *([confirmation_words(rests_on)] if name == "confirmation" else []),
            f"**Human feedback improves hands: {claim}.** {VERDICT_SENTENCES.get(claim, '')}",
            bar_line(cmp["bars"]),
        ])
    except (KeyError, TypeError, ValueError, IndexError) as err:
        return f"The evaluation file could not be read ({type(err).__name__}: {err}); rerun `python -m bench.feedback --record`."


def confirmation_words(confirmation: dict) -> str:
    """The confirmation set in words: several runs were compared on the held-out pictures, so the chosen one is
    measured once more on pictures no choice has seen, and the verdict rests on those."""
    cmp = confirmation["comparison"]
    return (f"Several fine-tunings were compared on those pictures, so the one shipped was measured once more on "
            f"**{confirmation['images']} new pictures** no choice had seen (seeds from {int(confirmation['seed']):,}): "
            f"fingers right {_interval(cmp['fingers_right_points'], ' points')}, Hand Score {_interval(cmp['hand_score'])}, "
            f"near-duplicates {_interval(cmp['near_duplicates_points'], ' points')}; McNemar p = "
            f"{float(cmp['mcnemar']['p']):.3g}. The verdict below rests on these.")


@dataclass(frozen=True)
class FeedbackHandlers:
    """The view's handler, made once per app so it holds the app's generators, prompt parser and judge."""

    registry: Registry
    parser: PromptParser
    judge: Judge

    def on_show(self, prompt: JSON, seed: JSON) -> list:
        """The prompt drawn by diffusion/full and diffusion/feedback from the same seed (one picture each, the same
        noise), each judged. Outputs: before, after (PIL, enlarged; the page gets them as PNG), their verdict lines."""
        missing = missing_variant(self.registry)
        if missing is not None:
            raise refused(RuntimeError(missing))
        try:
            request = pipeline.validate(prompt, seed=seed, n=1)
        except ValueError as err:
            raise refused(err) from None
        spec = pipeline.understand(request.prompt, self.parser)
        runs = [self.judged(dataclasses.replace(request, variant=variant), spec) for variant in (BEFORE, AFTER)]
        pictures = [pipeline.upscale(run.generation.images[0], SHOWN_SIZE) for run in runs]
        lines = [f"**{label}** ({FAMILY}/{run.variant}): {present.scored_line(run.reports[0], spec)}"
                 for label, run in zip(("Before", "After"), runs)]
        return [*pictures, *lines]

    def judged(self, request: pipeline.Request, spec) -> pipeline.BackendRun:
        """One variant's picture, drawn and judged the way every column of the app is (pipeline.run_backend)."""
        run = pipeline.run_backend(self.registry, self.judge, FAMILY, request, spec)
        if not run.ok:
            raise refused(RuntimeError(run.error))
        return run


def loop_view(loop_png: Path) -> None:
    """The loop in one picture (bench.feedback_loop draws it), or in one line of words when the picture is missing."""
    if loop_png.exists():
        gr.Image(str(loop_png), type="filepath", format="png", label="The loop: votes → reward → fine-tune → compare",
                 interactive=False, buttons=["fullscreen"], elem_id="feedback-loop")
    gr.Markdown(LOOP_WORDS)


def build_feedback_tab(registry: Registry, concurrency_id: str, parser: PromptParser, judge: Judge,
                       evaluation: Path = settings.FEEDBACK_EVAL, loop_png: Path = settings.FEEDBACK_LOOP) -> None:
    """Lay out the view and wire its one event. `evaluation`, `loop_png`: the files it shows (tests pass others)."""
    missing = missing_variant(registry)
    gr.Markdown(INTRO)
    if missing is not None:
        gr.Markdown(f"**{missing}**", elem_id="feedback-missing")
    else:
        gr.Markdown(learnt_from(registry), elem_id="feedback-learnt")
    with gr.Row(equal_height=True):
        prompt = gr.Dropdown(list(PROMPTS.values()), value=PROMPTS["peace"], label="A benchmark prompt", scale=4,
                             elem_id="feedback-prompt")
        seed = gr.Number(FEEDBACK_VIEW_SEED, label="Seed", minimum=SEED.lo, maximum=SEED.hi, precision=0, scale=1,
                         elem_id="feedback-seed")
        show = gr.Button("Before and after", variant="primary", scale=1, interactive=missing is None,
                         elem_id="feedback-show")
    pictures, lines = side_by_side()
    gr.Markdown(gain_markdown(load_evaluation(evaluation)), elem_id="feedback-gain")
    loop_view(loop_png)
    handlers = FeedbackHandlers(registry, parser, judge)
    show.click(handlers.on_show, [prompt, seed], [*pictures, *lines], api_name="fix_with_feedback",
               concurrency_id=concurrency_id, preprocess=False)


def side_by_side() -> tuple[list[gr.Image], list[gr.Markdown]]:
    """Before and after in two columns, each picture (PNG: lossy WebP would smear 64 px fingers) over its verdict."""
    pictures, lines = [], []
    with gr.Row(equal_height=True):
        for name, label in (("before", f"Before: {FAMILY}/{BEFORE}"), ("after", f"After: {FAMILY}/{AFTER}")):
            with gr.Column():
                pictures.append(gr.Image(label=label, type="pil", format="png", interactive=False, height=272,
                                         buttons=["fullscreen"], elem_id=f"feedback-{name}"))
                lines.append(gr.Markdown(label=f"{name.capitalize()}: the judge says",
                                         elem_id=f"feedback-{name}-verdict"))
    return pictures, lines
