"""Builds the demo and launches it. Host and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT."""

from demo.blocks import build_demo

demo = build_demo()

if __name__ == "__main__":
    demo.launch()
