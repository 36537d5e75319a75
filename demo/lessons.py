"""The lesson path: one prompt and seed per idea, each chosen by looking at what the shipped models draw for it.

Each lesson is data (what to say, what to run); the Compare tab shows them in order and "Show me" runs one.
A lesson's pictures are reproducible: the same inputs always draw the same hands. If the shipped weights are
retrained, look at every lesson again (python -m bench.screenshots --lessons saves each one's page).
"""

from __future__ import annotations

from dataclasses import dataclass

from demo.links import Inputs


@dataclass(frozen=True)
class Lesson:
    """One step of the path: two lines to read out, and the comparison that shows it (None: not built yet)."""

    title: str
    why: str  # the idea, in one line
    look: str  # what to look at on the screen, in one line
    inputs: Inputs | None


LESSONS: tuple[Lesson, ...] = (
    Lesson("Blur (VAE)",
           "A VAE squeezes every hand into a short code and draws the average of all the hands that code could be.",
           "Look at the VAE column: an average of many hands is a blur, so the judge cannot count its fingers.",
           Inputs("an open hand, fingers spread", seed=5)),
    Lesson("Collapse (GAN)",
           "A GAN learns by fooling a critic; once one hand fools it, it may draw that same hand for every seed.",
           "Look at the GAN column: eight seeds, nearly the same hand eight times. Diffusion's eight all differ.",
           Inputs("a thumbs up", seed=1, images_per_backend=8)),
    Lesson("A sixth finger",
           "A model does not know a hand has five fingers: it only learned what fingers look like next to each other.",
           "Look for ✗ under the pictures: the judge counts the fingers and says when there are too many.",
           Inputs("five fingers spread, palm facing me", seed=2)),
    Lesson("Words guide the picture",
           "Guidance decides how strongly the words steer diffusion. At 0 the model ignores the prompt entirely.",
           "This run asks for a fist with guidance 0: diffusion draws any hand. Set Guidance to 2.5 and Generate.",
           Inputs("a fist", seed=3, guidance=0.0)),
    Lesson("Scarce data",
           "These models learned from 1,000 hands instead of 20,000. With few examples a model copies what it saw.",
           "Look how alike the pictures in each column are. Switch Training data back to full and Generate.",
           Inputs("a peace sign", seed=4, images_per_backend=8, training_data="scarce")),
    Lesson("More steps, better hands",
           "Diffusion removes noise a little at a time. With only 2 steps it has to guess the whole hand at once.",
           "Look at the diffusion column: rough shapes. Set Diffusion steps to 10 in Settings and Generate.",
           Inputs("a peace sign", seed=6, steps=2)),
    Lesson("Feedback (coming)",
           "Big image models were fixed partly by people marking bad hands, and the models learning from that.",
           "This app has no model trained on feedback yet: this lesson is coming.",
           None),
)


def titles() -> list[str]:
    """'1. Blur (VAE)', … — the lesson picker's choices."""
    return [f"{k}. {lesson.title}" for k, lesson in enumerate(LESSONS, 1)]


def by_title(title: str | None) -> Lesson | None:
    """The lesson a picker choice names, or None."""
    return dict(zip(titles(), LESSONS)).get(title or "")


def text(lesson: Lesson | None) -> str:
    """The lesson's two lines, as shown above the pictures."""
    return "" if lesson is None else f"**{lesson.why}**  \n{lesson.look}"
