"""The hand world: anatomy, a procedural renderer, prompt understanding and the scorer.

Knows nothing of generators or UI (see ../README.md for the flow of one comparison).
"""
