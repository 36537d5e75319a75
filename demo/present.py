"""Turning runs and reports into what the UI shows: verdict lines, pictures with their verdicts, sentences,
tables. No Gradio here, so every word a class reads can be tested without a browser.

The one place that decides whether a hand is right, wrong or unsure is `verdict`.
"""

from __future__ import annotations

import base64
import html
import io
import re
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
from PIL import Image

from core.vocab import HandSpec
from demo import pipeline
from judge.overlay import draw

# Where ✓ starts: a Hand Score (people's quality, 25 x (rater-scale quality - 1), less the malformed head's share)
# of at least SURE_SCORE, and the matches head's P(people say it shows what the prompt asks) of at least
# SURE_MATCH. Chosen by `python -m bench.sure` (results/sure_threshold.json) on predictions made without the
# picture's source: the most ✓ of which raters call at most 1 in 10 broken and 8 in 10 showing the ask, on each
# batch of rated pictures alone. At 40, 6.4 % of generated pictures get ✓ (72), raters say 82 % of them show what
# was asked and call 10 % broken (chosen on either batch alone, the other batch agrees: 81 % and 10 %, 84 % and
# 10 %); asking P(matches) too gives fewer ✓ (0.5: 60, and 11 % broken on the second batch). Under either:
# "unsure", never "right".
SURE_SCORE = 40.0
SURE_MATCH = 0.0

# The judge's flags in words a class reads (a flag the judge adds later is shown with its underscores as spaces).
FLAG_WORDS = {
    "no_hand": "not a hand",
    "extra_finger": "an extra finger",
    "missing_finger": "a finger missing",
    "fused_fingers": "fingers fused together",
    "long_finger": "a finger too long",
    "joint_past_limit": "a joint bent the wrong way",
    "bone_ratio": "finger bones the wrong length",
    "blurry": "blurry",
    "wrong_gesture": "not the gesture asked for",
    "wrong_count": "wrong number of fingers",
}
# Flags that do not say the hand is wrong, or that the finger count already says.
_SOFT_FLAGS = {"blurry"}
_COUNT_FLAGS = {"extra_finger", "missing_finger", "wrong_gesture", "wrong_count"}

GESTURE_WORDS = {
    "open_palm": "open hand", "fist": "fist", "point": "pointing finger", "peace": "peace sign",
    "thumbs_up": "thumbs up", "ok": "OK sign", "rock": "rock sign", "call_me": "call-me sign", "three": "three",
    "four": "four", "gun": "finger gun", "grip": "a hand holding something",
}
TITLES = {"vae": "VAE", "gan": "GAN", "diffusion": "Diffusion"}
MARKS = {"right": "✓", "wrong": "✗", "unsure": "?"}
T = TypeVar("T")


@dataclass(frozen=True)
class Verdict:
    """What a class is told about one picture: right, wrong or unsure, and why in a few plain words."""

    kind: str  # "right", "wrong" or "unsure"
    words: str

    @property
    def mark(self) -> str:
        return MARKS[self.kind]

    @property
    def line(self) -> str:
        return f"{self.mark} {self.words}"


def fingers(n: int) -> str:
    """'no fingers up', '1 finger up', '3 fingers up'."""
    return "no fingers up" if n == 0 else f"{n} finger up" if n == 1 else f"{n} fingers up"


def gesture_words(spec: HandSpec | None) -> str:
    """What the prompt asked for, as a class would say it ('peace sign'; 'a hand' when it named no gesture)."""
    if spec is None or spec.gesture is None:
        return "a hand"
    if spec.gesture == "grip" and spec.object not in (None, "none"):
        return f"a hand holding a {spec.object}"
    return GESTURE_WORDS.get(spec.gesture, spec.gesture.replace("_", " "))


def problems(report) -> list[str]:
    """What is wrong with a found hand, in words: the finger count first (against five, then against the
    prompt), then every other flag the judge raised."""
    n, asked, flags = report.extended_count, report.expected_count, report.flags
    words = []
    if n > 5:
        words.append(f"{n} fingers (a hand has 5)")
    elif asked is not None and n != asked:
        words.append(f"{fingers(n)}, asked for {asked or 'none'}")
    counted = bool(words)
    for flag in flags:
        if flag in _SOFT_FLAGS or flag == "no_hand" or (counted and flag in _COUNT_FLAGS):
            continue
        words.append(FLAG_WORDS.get(flag, flag.replace("_", " ")))
    return words


def verdict(report, spec: HandSpec | None = None, sure_score: float = SURE_SCORE,
            sure_match: float = SURE_MATCH) -> Verdict:
    """Right, wrong or unsure, from the judge's report fields; the only place the app decides it.

    - ✗ "not a hand": `hand_found` is False.
    - ✗ what is wrong: any flag but "blurry": more than five fingers, a finger count other than the prompt's,
      fused / too long / bent-back fingers (`problems` words them all).
    - ? "blurry": blur is the only flag; the judge cannot see the fingers well enough to call it.
    - ? "unsure": nothing flagged, but `hand_score` is under `sure_score` (points lost to doubts that raise no
      flag), or the matches head doubts people would see what the prompt asks (`p_matches` under `sure_match`).
    - ✓ the gesture and its finger count: a hand, nothing flagged, the count the prompt asked for, a score of
      at least `sure_score` and P(matches) of at least `sure_match` (`bench.sure` chooses both).
    """
    if not report.hand_found:
        return Verdict("wrong", "not a hand")
    said = problems(report)
    if said:
        return Verdict("wrong", ", ".join(said))
    count = fingers(report.extended_count)
    if "blurry" in report.flags:
        return Verdict("unsure", f"blurry, {count}")
    if report.hand_score < sure_score:
        return Verdict("unsure", f"{count}, looks odd")
    if report.p_matches is not None and report.p_matches < sure_match:
        return Verdict("unsure", f"{count}, may not look like what was asked")
    return Verdict("right", f"{gesture_words(spec)}, {count}")


def verdicts(run: pipeline.BackendRun, spec: HandSpec | None) -> list[Verdict]:
    return [verdict(report, spec) for report in run.reports]


def tally(run: pipeline.BackendRun, spec: HandSpec | None) -> str:
    """'3 of 4 hands right, 1 unsure'."""
    kinds = [v.kind for v in verdicts(run, spec)]
    unsure = kinds.count("unsure")
    return f"{kinds.count('right')} of {len(kinds)} hands right" + (f", {unsure} unsure" if unsure else "")


def column_title(family: str) -> str:
    """A column's heading before its model has drawn."""
    return f"### {TITLES.get(family, family)}"


def column_sentence(run: pipeline.BackendRun, spec: HandSpec | None) -> str:
    """The column's heading once drawn: 'Diffusion: 3 of 4 hands right, 1 unsure', readable from the back."""
    if not run.ok:
        return f"{column_title(run.backend)}\n⚠️ could not draw: {html.escape(run.error or '')}"
    notes = run.set_report.notes if run.set_report is not None else []
    return f"{column_title(run.backend)}: {tally(run, spec)}" + "".join(f"\n\n<small>⚠️ {html.escape(n)}</small>" for n in notes)


def spec_markdown(spec: HandSpec) -> str:
    """What the prompt was understood as, in one plain line."""
    asked = gesture_words(spec)
    parts = [f"**{asked}**"]
    if spec.extended_count is not None:
        parts.append(fingers(spec.extended_count) + (f" ({', '.join(spec.extended)})" if spec.extended else ""))
    for name in ("handedness", "skin_tone", "view"):
        value = getattr(spec, name)
        if value:
            parts.append(f"{value.replace('_', ' ')} {'hand' if name == 'handedness' else name.replace('_', ' ')}")
    unsure = "" if spec.confidence >= 0.6 else f" (I am only {spec.confidence:.0%} sure)"
    return "The judge expects: " + ", ".join(parts) + unsure


# ---- pictures -----------------------------------------------------------------------------------------------

def data_url(image: Image.Image) -> str:
    """The picture's PNG bytes inline: the page shows exactly the pixels generated, with no file to fetch."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def marked(report, size: int = 128) -> Image.Image:
    """The judge's overlay (`judge.overlay.draw`) drawn small, so its lines stay thick when the page enlarges
    it, with its 12 px title bar (flag names in 6 px type) painted back over: the verdict line under the
    picture says the same in large words."""
    image = draw(report, size)
    under = Image.fromarray(report.image).resize(image.size, Image.BILINEAR)
    dimmed = (np.asarray(under) * 0.8).astype(np.uint8)  # what draw() shows under its bar
    image.paste(Image.fromarray(dimmed[:13]), (0, 0))
    return image


class ImageMemo:
    """Values made once per picture object (its PNG file, its data URL), forgotten when the picture is: a class
    repeating a lesson is answered with the very same pictures (`pipeline.ResultCache`), so each is encoded once,
    not once per student. Keyed by id() with a weak reference (a PIL image is unhashable): no picture is kept alive
    by it. Thread-safe; a value is made under the lock, so two students never write the same file at once."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref, dict]] = {}
        self._lock = threading.RLock()  # a value may be made from another (a marked picture's URL)

    def get(self, image: Image.Image, tag: object, make: Callable[[], T]) -> T:
        """`image`'s value under `tag`, made by `make()` the first time it is asked for."""
        key = id(image)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0]() is not image:
                entry = (weakref.ref(image, self._forget(key)), {})
                self._entries[key] = entry
            if tag not in entry[1]:
                entry[1][tag] = make()
            return entry[1][tag]

    def _forget(self, key: int) -> Callable[[weakref.ref], None]:
        def forget(ref: weakref.ref) -> None:  # no lock: it may run inside `get`, when the collector does
            if self._entries.get(key, (None,))[0] is ref:
                self._entries.pop(key, None)
        return forget

    def __len__(self) -> int:
        return len(self._entries)


class Pictures:
    """How a comparison's pictures reach the page: inline as data URLs (the columns) and as files (the details
    galleries, which API clients download), each made once per generated picture and overlay setting.

    The app makes one (`compare_tab`) and passes it to every handler. `save` writes a PNG where the server
    serves files from and returns its path (Gradio's own saver rewrote the same file, named by its hash, for
    every student asking, while others were reading it); without it the galleries get the pictures themselves."""

    def __init__(self, save: Callable[[Image.Image], str] | None = None) -> None:
        self.save = save
        self.memo = ImageMemo()

    def shown(self, run: pipeline.BackendRun, k: int, overlays: bool) -> Image.Image:
        """Picture k as generated, or with the judge's marks (drawn once)."""
        image = run.generation.images[k]
        return self.memo.get(image, "marked", lambda: marked(run.reports[k])) if overlays else image

    def url(self, run: pipeline.BackendRun, k: int, overlays: bool) -> str:
        return self.memo.get(run.generation.images[k], ("url", overlays), lambda: data_url(self.shown(run, k, overlays)))

    def file(self, run: pipeline.BackendRun, k: int, overlays: bool) -> Image.Image | str:
        """Picture k enlarged for the gallery: its file's path when there is a `save`, else the picture."""
        def make() -> Image.Image | str:
            big = pipeline.upscale(self.shown(run, k, overlays))
            return self.save(big) if self.save is not None else big
        return self.memo.get(run.generation.images[k], ("file", overlays), make)

    def count(self, run: pipeline.BackendRun) -> int:
        return len(run.generation.images) if run.ok and run.generation is not None else 0


def figures_html(images: list[Image.Image | str], lines: list[tuple[str, str]], alt: str) -> str:
    """Pictures in a grid, each with its line under it, in large type that wraps instead of being cut.
    `images`: pictures, or their data URLs; `lines`: (kind, text) per picture; kind "right" / "wrong" / "unsure"
    colours the mark, "" shows plain text."""
    cells = []
    for k, (image, (kind, text)) in enumerate(zip(images, lines), 1):
        mark = f'<b class="mark {kind}">{MARKS[kind]}</b> ' if kind else ""
        src = image if isinstance(image, str) else data_url(image)
        cells.append(f'<figure class="pic {kind}"><img src="{src}" alt="{html.escape(alt)} {k}">'
                     f'<figcaption>{mark}{html.escape(text)}</figcaption></figure>')
    return f'<div class="pics">{"".join(cells)}</div>'


def pictures_html(run: pipeline.BackendRun, spec: HandSpec | None, overlays: bool = False,
                  pictures: Pictures | None = None) -> str:
    """One column's pictures, each with its verdict line under it (`pictures`: the app's, so each is encoded once)."""
    title = TITLES.get(run.backend, run.backend)
    if not run.ok:
        return f'<p class="status">⚠️ {html.escape(run.error or "")}</p>'
    pictures = pictures or Pictures()
    lines = [(v.kind, v.words) for v in verdicts(run, spec)]
    urls = [pictures.url(run, k, overlays) for k in range(pictures.count(run))]
    return figures_html(urls, lines, f"{title} picture")


def progress_html(family: str, step: int, total: int, previews: list[Image.Image]) -> str:
    """A denoising column while it streams: the model's current guesses and how far it has got."""
    status = f'<p class="status">Removing noise: step {step} of {total}</p>'
    lines = [("", f"step {step} of {total}")] * len(previews)
    return status + figures_html(previews, lines, f"{TITLES.get(family, family)} draft")


def waiting_html(family: str) -> str:
    return f'<p class="status">{TITLES.get(family, family)} is drawing…</p>'


def strips_html(strips: list[tuple[str, list[Image.Image], list[str]]]) -> str:
    """Labelled rows of pictures (GAN snapshots, renders and their reconstructions, two prompts side by side): each
    row's label in large type above it, every picture shown whole, whatever the window's width."""
    parts = []
    for label, images, captions in strips:
        cells = "".join(f'<figure class="pic"><img src="{data_url(im)}" alt="{html.escape(label)}">'
                        f"<figcaption>{html.escape(c)}</figcaption></figure>" for im, c in zip(images, captions))
        parts.append(f'<p class="status">{html.escape(label)}</p><div class="strip">{cells}</div>')
    return "".join(parts)


OVERLAY_LEGEND = ('<p class="legend"><b style="color:#3cdc5a">green line</b>: the hand the judge found · '
                  '<b style="color:#e6b800">yellow rings</b>: the fingertips it counted · '
                  '<b style="color:#eb2828">red</b>: what it says is wrong</p>')

PICTURES_CSS = """
.pics { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 12px; }
.pic { margin: 0; }
.pic img { width: 100%; aspect-ratio: 1; image-rendering: pixelated; border-radius: 6px; display: block; }
.pic figcaption { font-size: 1.2rem; line-height: 1.3; margin-top: 4px; overflow-wrap: anywhere; }
.mark { font-size: 1.4rem; }
.mark.right { color: #1a9a3a; } .mark.wrong { color: #d62828; } .mark.unsure { color: #c98a00; }
.status { font-size: 1.2rem; margin: 4px 0 8px; }
.legend { font-size: 1.15rem; }
.strip { display: grid; grid-template-columns: repeat(auto-fill, minmax(105px, 1fr)); gap: 8px; margin-bottom: 10px; }
.strip figcaption { font-size: 1rem; }
"""


# ---- details ------------------------------------------------------------------------------------------------

def gallery_items(run: pipeline.BackendRun, spec: HandSpec | None, overlays: bool = False,
                  pictures: Pictures | None = None) -> list[tuple]:
    """Pictures for the details gallery (and API clients): each captioned with its verdict and Hand Score.
    `pictures`: the app's, so that each picture's file is written once and then only read."""
    pictures = pictures or Pictures()
    files = [pictures.file(run, k, overlays) for k in range(pictures.count(run))]
    return [(file, scored_line(report, spec)) for file, report in zip(files, run.reports)]


def scored_line(report, spec: HandSpec | None) -> str:
    """A picture's verdict line with its Hand Score: '✓ peace sign, 2 fingers up · Hand Score 61/100'."""
    return f"{verdict(report, spec).line} · Hand Score {report.hand_score:.0f}/100"


SUMMARY_COLUMNS = ["Model", "Training data", "Hand Score (0-100)", "Likely at least", "Likely at most",
                   "Fingers right", "Hands found", "Sharpness", "Variety", "Seconds to draw", "Pictures per second"]
SUMMARY_GLOSSARY = """**How to read the table.** *Hand Score*: 100 minus the points the judge took off (a clean drawing
scores about 90). *Likely at least / at most*: with this few pictures the score is only roughly known; 95 times in
100 the true mean falls between the two. *Fingers right*: the share of pictures with the number of fingers the
prompt asks for. *Sharpness*: how crisp the edges are, against a clean drawing (1 = as sharp; the VAE's are
softer). *Variety*: how different the pictures are from each other (0 = all the same; a GAN that collapses draws
the same hand again and again)."""


def summary_frame(runs: list[pipeline.BackendRun]) -> pd.DataFrame:
    """The numbers behind the sentences, one row per model, with column names a class can read."""
    rows = []
    for run in runs:
        if not run.ok:
            continue
        s, g = run.set_report, run.generation
        values = [TITLES.get(run.backend, run.backend), run.variant, round(s.mean_score), round(s.score_ci[0]),
                  round(s.score_ci[1]), _percent(s.finger_count_accuracy), _percent(s.hand_found_rate),
                  _round(s.sharpness_mean, 2), _round(s.diversity, 1), round(g.latency_s, 2), round(g.images_per_s, 1)]
        rows.append(dict(zip(SUMMARY_COLUMNS, values)))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def report_markdown(run: pipeline.BackendRun, index: int, spec: HandSpec | None = None) -> str:
    """One picture's full report: its verdict, then every point the judge took off and why."""
    if not run.ok or not 0 <= index < len(run.reports):
        return ""
    r = run.reports[index]
    title = TITLES.get(run.backend, run.backend)
    lines = [f"#### {title}, picture {index + 1}: {verdict(r, spec).line} (Hand Score {r.hand_score:.0f}/100)", ""]
    if not r.breakdown:
        return "\n".join(lines + ["The judge took no points off."])
    lines.append("| why | points |\n|---|---|")
    for penalty in r.breakdown.values():
        lines.append(f"| {plain_reason(penalty.reason)} | −{penalty.points:.0f} |")
    return "\n".join(lines)


def plain_reason(reason: str) -> str:
    """The judge's reason with its detector probabilities in words: '(P = 0.74; malformed P = 0.99)' -> '(99 % sure
    it is malformed)'."""
    return re.sub(r"\(P = [\d.]+; malformed P = ([\d.]+)\)", lambda m: f"({float(m[1]):.0%} sure it is malformed)", reason)


def step_of(snapshot_name: str, final_step: int | None) -> int | None:
    """'step-002500' -> 2500; a name without a number ('final': the shipped weights) -> final_step."""
    match = re.search(r"(\d+)", snapshot_name)
    return int(match.group(1)) if match else final_step
