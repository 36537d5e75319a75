"""Builds the demo and launches it. Host and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT."""

from demo import lessons, pipeline
from demo.blocks import build_demo

pipeline.use_serving_threads()  # one torch thread (HANDS_THREADS): the other core encodes and sends the pictures
# Before the page answers: every one-time cost (the judge's reference set, the weights, torch's kernels) and the
# lesson steps, computed once, so that a class following a lesson is answered from the cache (pipeline.warm_up).
judge = pipeline.warm_up(requests=[lesson.inputs.as_list() for lesson in lessons.LESSONS if lesson.inputs])
demo = build_demo(judge)

if __name__ == "__main__":
    demo.launch()
