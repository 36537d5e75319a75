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


# Seeds picked by looking at each comparison's pictures and verdicts on the shipped weights (November 2026 models),
# at 10 diffusion steps: a lesson names its steps, so a change of the app's default does not change its pictures.
# Each text was checked again against the judge fitted to raters (✓ from a Hand Score of 40, demo.present): the
# counts and ✓/✗ it names are what the app shows for its inputs. A new judge or threshold: run every lesson again.
PICKED_AT_STEPS = 10
LESSONS: tuple[Lesson, ...] = (
    Lesson("Blur (VAE)",
           "A VAE squeezes every hand into a short code, then draws the average of all the hands that code could be.",
           "Look at the VAE column: soft smudges, no crisp fingers. Diffusion learned from the same hands: sharp ones.",
           Inputs("a thumbs up", seed=1, steps=PICKED_AT_STEPS)),
    Lesson("Collapse (GAN)",
           "A GAN learns by fooling a critic. Once one shape fools it, it may draw that shape for every seed.",
           "Look at the GAN column: eight different seeds, nearly the same blob eight times. Diffusion's eight differ.",
           Inputs("a thumbs up", seed=3, images_per_backend=8, steps=PICKED_AT_STEPS)),
    Lesson("A sixth finger",
           "A model does not know that a hand has five fingers: it learned what fingers look like next to each other.",
           "Count the fingers in the diffusion column: the first and last hands have six. The judge counts six in three: ✗ 6 fingers.",
           Inputs("five fingers spread, palm facing me", seed=4, steps=PICKED_AT_STEPS)),
    Lesson("Words guide the picture",
           "Guidance sets how strongly the words steer diffusion. At 0 the model ignores the prompt altogether.",
           "Asked for a fist at guidance 0, diffusion draws other hands: all ✗. Set Guidance to 2.5 in Settings, Generate: fists, none ✗.",
           Inputs("a fist", seed=3, guidance=0.0, steps=PICKED_AT_STEPS)),
    Lesson("Scarce data",
           "These models learned from 1,000 hands instead of 20,000. With few examples, a model can get stuck on one picture.",
           "The GAN draws the same small smudge eight times, ✗ not a hand: stuck on one picture. Diffusion: 0 of 8 right.",
           Inputs("a peace sign", seed=0, images_per_backend=8, training_data="scarce", steps=PICKED_AT_STEPS)),
    Lesson("More steps, better hands",
           "Diffusion removes noise a little at a time. With only 2 steps it has to guess the whole hand at once.",
           "Lesson 1's prompt and seed with 2 steps: smeared, none right. Set Diffusion steps to 10, Generate: sharper, 1 right, 1 unsure.",
           Inputs("a thumbs up", seed=1, steps=2)),
    Lesson("Feedback: you are the raters",
           "Big image models got better hands partly from people marking bad ones and the model learning from that.",
           "Open the Rate hands tab: pick the better of two hands, then see which model drew each. The judge's "
           "Hand Score is already fitted to 1,248 pictures people rated. Then open Fix it with feedback: the "
           "diffusion model before and after learning from choices between its pictures, made by a judge fitted to "
           "those people's ratings, on the same seed.",
           None),
)


def titles() -> list[str]:
    """'1. Blur (VAE)', … — the lesson picker's choices."""
    return [f"{k}. {lesson.title}" for k, lesson in enumerate(LESSONS, 1)]


def by_title(title: str | None) -> Lesson | None:
    """The lesson a picker choice names, or None."""
    return dict(zip(titles(), LESSONS)).get(title or "")


def text(lesson: Lesson | None) -> str:
    """The lesson's two lines, as the lesson panel shows them."""
    return "" if lesson is None else f"**{lesson.why}**  \n{lesson.look}"


def note(title: str) -> str:
    """What to look at, right above the pictures once a lesson has run."""
    lesson = by_title(title)
    return "" if lesson is None else f"#### Lesson {title}\n{lesson.look}"
