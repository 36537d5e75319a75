"""Prompt understanding: free text to a `HandSpec`, rules first, then a sentence encoder.

    parser = PromptParser(GestureEncoder())  # hold one to parse many prompts; the encoder loads once
    parser.preload()                         # optional: load the encoder now, in the background
    spec = parser.parse("hang loose with my left hand")
    spec = parse("a peace sign")             # one prompt, once: keeps nothing

`rules` (keywords, no model) and `encoder` (the sentence encoder) are the two layers; the CLI is
`python -m prompt "TEXT" [--no-encoder]`.
"""

from prompt.encoder import GestureEncoder
from prompt.parser import EMPTY_MESSAGE, PromptParser, checked, parse

__all__ = ["EMPTY_MESSAGE", "GestureEncoder", "PromptParser", "checked", "parse"]
