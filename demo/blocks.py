"""The whole demo as one gr.Blocks, built from one small function per tab."""

from __future__ import annotations

import threading

import gradio as gr

from core.settings import queue_size, result_cache_images
from demo.arena import open_store
from demo.arena_tab import build_arena_tab
from demo.compare_tab import build_compare_tab
from demo.feedback_tab import build_feedback_tab
from demo.inside_tab import build_inside_tab
from demo.pipeline import ResultCache
from demo.teach_tab import build_teach_tab
from feedback.store import Store, StoreUnavailable
from judge import Judge
from models.registry import Registry
from prompt import GestureEncoder, PromptParser

COMPUTE = "compute"  # one concurrency id for every event that runs a model: they share the CPU

HEADER = """# 🖐️ Why can't AI draw hands?
One prompt, three kinds of image generator trained on the same hands — a **VAE**, a **GAN** and a **diffusion model** —
and a judge that counts the fingers of every hand they draw."""


def warm_up(parser: PromptParser, judge: Judge) -> None:
    """Load the prompt encoder and the scorer's reference set off the request path (background)."""
    parser.preload(background=True)
    threading.Thread(target=judge.reference_features, daemon=True).start()


def build_demo(judge: Judge | None = None, registry: Registry | None = None, parser: PromptParser | None = None,
               results: ResultCache | None = None, store: Store | StoreUnavailable | None = None) -> gr.Blocks:
    """The app, on the objects it is given (app.py loads them once; a missing one is made here, e.g. in tests):
    `judge` scores every hand, `registry` serves the generators, `parser` reads prompts, `results` keeps finished
    comparisons for identical requests, `store` keeps the arena's votes (or says why voting is off)."""
    registry = registry or Registry()  # the app's generators: each variant loaded once, on first use
    parser = parser or PromptParser(GestureEncoder())  # the app's prompt parser: its encoder loaded once
    judge = judge or Judge.load()  # the app's judge: its networks loaded once, its calibration frozen
    results = results if results is not None else ResultCache(result_cache_images())
    store = store if store is not None else open_store()  # the votes database in HANDS_DATA
    with gr.Blocks(title="Why can't AI draw hands?") as demo:
        gr.Markdown(HEADER)
        with gr.Tab("Compare"):
            build_compare_tab(registry, COMPUTE, parser, judge, demo, results)
        with gr.Tab("Inside the models"):
            build_inside_tab(registry, COMPUTE, parser, judge)
        with gr.Tab("Why hands?"):
            build_teach_tab()
        build_arena_tab(registry, judge, parser, store, COMPUTE, demo)  # its tab, and the browser's session beside it
        with gr.Tab("Fix it with feedback"):
            build_feedback_tab(registry, COMPUTE, parser, judge)
    # a full queue answers at once (HTTP 503; the page says "currently busy. Please try again", gradio_client
    # raises QueueError "Queue is full! Please try again.") instead of letting callers time out
    demo.queue(max_size=queue_size(), default_concurrency_limit=1)
    warm_up(parser, judge)
    return demo
