"""The judge: everything that judges a picture of a hand, and nothing else.

It knows the shared vocabulary (`core`), the prompt's `HandSpec`, and the hand world (`world`,
only in `judge.fit`, to render fitting data); never the generators it judges.
"""
