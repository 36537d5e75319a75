"""Builds the demo and launches it. Host and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT."""

from core.settings import result_cache_images
from demo import lessons, pipeline
from demo.arena import open_store
from demo.blocks import build_demo
from judge import Judge
from models.registry import Registry
from prompt import GestureEncoder, PromptParser

# Everything the app loads, loaded once, here: the generators, the judge, the prompt parser, finished comparisons.
registry, judge, parser = Registry(), Judge.load(), PromptParser(GestureEncoder())
results = pipeline.ResultCache(result_cache_images())
store = open_store()  # the arena's votes database in HANDS_DATA (if it cannot be written: voting off, the rest on)
pipeline.use_serving_threads()  # one torch thread (HANDS_THREADS): the other core encodes and sends the pictures
# Before the page answers: every one-time cost (the judge's reference set, the weights, torch's kernels) and the
# lesson steps, computed once, so that a class following a lesson is answered from the cache (pipeline.warm_up).
pipeline.warm_up(registry, judge, parser, results, [lesson.inputs.as_list() for lesson in lessons.LESSONS if lesson.inputs])
demo = build_demo(judge, registry, parser, results, store)

if __name__ == "__main__":
    demo.launch()
