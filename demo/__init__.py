"""The Gradio UI: one builder function per tab (see demo/blocks.py)."""
