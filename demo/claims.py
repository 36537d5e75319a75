"""The benchmark's claims for a class: grouped by the causes and fixes the articles give, one plain sentence and
a verdict badge each, a small chart of what was measured, and what people saw in the same kind of pictures. No
Gradio here.

It reads the claims rows of results/benchmark.json (claim, metric, values, verdict; raters, raters_verdict) as
`python -m bench` and `python -m bench.claims` write them. A claim measured per model ("... (vae)", "... (gan)",
...) is shown once, with a badge per model. Where the judge and the raters disagree, the card says so.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

FAMILY_TITLES = {"vae": "VAE", "gan": "GAN", "diffusion": "Diffusion"}
VERDICT_WORDS = {"holds": "holds", "does not hold": "does not hold", "inconclusive": "unsure"}
RATED = ("holds", "does not hold", "inconclusive")  # the raters' verdicts; else "not rated"
RATERS_NOTE = "People rated 1,248 of the project's pictures by eye, without knowing which model drew them."


@dataclass(frozen=True)
class Group:
    """A cause or a fix from the articles, and the claims (by their opening words) that test it."""

    title: str
    idea: str
    starts: tuple[str, ...]
    missing: str = ""  # said when no claim tests it


GROUPS: tuple[Group, ...] = (
    Group("The three kinds of model", "What each kind of generator is said to be good and bad at.",
          ("VAEs are blurry", "Diffusion draws", "Diffusion follows", "GANs are", "GANs collapse", "Diffusion is",
           "Diffusion's slowness")),
    Group("Cause: articulation", "A hand has 27 bones and about 20 joints: a fist and an open hand look nothing alike.",
          (), "Not measured on its own here: every gesture is in every test."),
    Group("Cause: variability", "Sizes, skin tones, left and right, every angle of view.",
          (), "Not measured on its own here: the test prompts mix them."),
    Group("Cause: occlusion", "Fingers hide behind each other and behind held objects.", ("Occlusion",)),
    Group("Cause: scarce, low-resolution data", "Hands are small in most photos: few pixels, few examples.",
          ("Scarce data",)),
    Group("Cause: no margin for error", "A face can be a little off; a sixth finger is wrong at once.",
          ("A hand can look", "Little tolerance")),
    Group("Fix: more data", "Train on more hands.", (),
          "The scarce-data claims above, read backwards: the same models trained on 20,000 hands instead of 1,000."),
    Group("Fix: more compute", "Train longer, or spend more steps on each picture.", ("More", "Few steps", "The app's sampler")),
    Group("Fix: feedback", "People mark bad hands and the model learns from it.", ("Human feedback",),
          "Not measured yet: the feedback model has not been evaluated (python -m bench.feedback --record)."),
)

# The claims in words a class reads; a claim not listed here is shown as the benchmark words it.
PLAIN = {
    "VAEs are blurry (the blurriest of the three)": "The VAE draws the blurriest hands of the three.",
    "Diffusion draws the best hands": "Diffusion draws the best hands.",
    "Diffusion follows the prompt best": "Diffusion gets the number of fingers the prompt asks for most often.",
    "GANs are the least diverse (mode collapse)": "The GAN's hands vary the least.",
    "GANs collapse: one prompt, the same hand whatever the seed": "The GAN often draws the same hand, whatever the seed.",
    "Diffusion is slow (sequential denoising)": "Diffusion is the slowest: it removes noise in steps, one after another.",
    "Diffusion's slowness can be addressed (a distilled 2-step student)":
        "Diffusion's slowness can be fixed: a student model learns to draw in 2 steps what its teacher draws in 10.",
    "Diffusion is text-guided": "Diffusion follows the words: with them it gets the fingers right far more often.",
    "Scarce data hurts hands": "Training on 1,000 hands instead of 20,000 draws worse hands.",
    "Scarce data makes a generator repeat itself": "Training on few hands makes a model draw the same hand again.",
    "More compute at sampling helps (diffusion steps)": "More denoising steps draw better hands.",
    "Few steps are enough: 10 steps within 3 points of 250": "10 denoising steps draw hands about as good as many more.",
    "The app's sampler (DPM-Solver++) draws better hands than DDIM":
        "The app's way of sampling (DPM-Solver++) draws better hands than DDIM in the same 10 steps.",
    "More training compute helps (GAN snapshots)": "The GAN draws better hands the longer it trains.",
    "More training compute helps": "Training longer draws better hands.",
    "Occlusion makes hands harder": "Hands with hidden fingers (fists, held objects) come out worse.",
    "A hand can look like a hand and still be wrong": "A picture can look like a hand and still have the wrong fingers.",
    "Human feedback improves hands": "After learning from choices between its pictures (made by a judge fitted to "
                                     "people's ratings), the diffusion model gets the fingers right more often (same "
                                     "seeds, before and after).",
    "Little tolerance for error: generated vs rendered hands": "Generated hands have far more malformed fingers than drawn ones.",
}


@dataclass(frozen=True)
class Measure:
    """One number of a claim: a difference with its likely range (lo, hi), or a plain value (lo = hi = None)."""

    label: str
    value: float
    lo: float | None = None
    hi: float | None = None


@dataclass
class Claim:
    """A claim, once: its sentence, a verdict per model (or one, keyed ""), its numbers, the raters' verdict and
    words per model where they rated it, and the raw rows."""

    base: str
    verdicts: dict[str, str] = field(default_factory=dict)
    raters: dict[str, tuple[str, str]] = field(default_factory=dict)  # family -> (verdict, what they saw)
    measures: list[Measure] = field(default_factory=list)
    rows: list[tuple[str, dict]] = field(default_factory=list)  # (family or "", the benchmark's row)

    @property
    def sentence(self) -> str:
        return PLAIN.get(self.base, self.base)

    @property
    def disagree(self) -> list[str]:
        """The models (or "") where the judge and the raters reach different verdicts (not where the judge did not
        measure the claim)."""
        return [f for f, (v, _) in self.raters.items() if self.verdicts.get(f) in RATED and v != self.verdicts[f]]


NUMBER = r"-?\d+(?:\.\d+)?"
INTERVAL = re.compile(rf"(?:(?P<label>[A-Za-z][\w]*\s*[−/-]\s*[A-Za-z][\w]*)\s+)?(?P<v>{NUMBER})(?:\s*points)?"
                      rf"\s*\[(?P<lo>{NUMBER}),\s*(?P<hi>{NUMBER})\]")
PERCENT_VS = re.compile(rf"(?P<v>{NUMBER})% vs (?P<ref>[a-z ]+?) (?P<r>{NUMBER})%")
ARROW = re.compile(rf"(?P<a>\S+) (?P<va>{NUMBER}) → (?P<b>\S+) (?P<vb>{NUMBER})")


def pair_words(label: str) -> str:
    """'vae−gan' -> 'VAE − GAN'; 'full−scarce' -> 'full − scarce'."""
    return re.sub(r"\s*[−-]\s*", " − ", " ".join(FAMILY_TITLES.get(w, w) for w in re.split(r"(\W)", label) if w.strip()))


def measures(values: str, family: str) -> list[Measure]:
    """The numbers in a claim's values text; `family` names them when the claim is one model's."""
    name = FAMILY_TITLES.get(family, "")
    found = [Measure(name or pair_words(m["label"] or "") or "difference", float(m["v"]), float(m["lo"]), float(m["hi"]))
             for m in INTERVAL.finditer(values)]
    if found:
        return found[:1] if name else found
    if m := PERCENT_VS.search(values):
        return [Measure(name or "generated", float(m["v"])), Measure(f"{m['ref'].strip()} (clean)", float(m["r"]))]
    if m := ARROW.search(values):
        return [Measure(step_words(m["a"]), float(m["va"])), Measure(step_words(m["b"]), float(m["vb"]))]
    return []


def step_words(name: str) -> str:
    """'step-001600' -> 'step 1,600'; other names as they are."""
    match = re.fullmatch(r"step-(\d+)", name)
    return f"step {int(match[1]):,}" if match else name


def merged(rows: list[dict]) -> list[Claim]:
    """Claims in benchmark order, a claim measured per model ('... (vae)') merged into one."""
    claims: dict[str, Claim] = {}
    for row in rows:
        text = row.get("claim", "")
        match = re.fullmatch(r"(.*) \((vae|gan|diffusion)\)", text)
        base, family = (match[1], match[2]) if match else (text, "")
        claim = claims.setdefault(base, Claim(base))
        claim.verdicts[family] = row.get("verdict", "")
        if row.get("raters_verdict") in RATED:
            claim.raters[family] = (row["raters_verdict"], row.get("raters", ""))
        claim.rows.append((family, row))
        for m in measures(row.get("values", ""), family):
            if m not in claim.measures:
                claim.measures.append(m)
    for claim in claims.values():  # a reference value ("renders (clean)") after the models it is compared with
        claim.measures.sort(key=lambda m: m.label.endswith("(clean)"))
    return list(claims.values())


def grouped(rows: list[dict]) -> list[tuple[Group, list[Claim]]]:
    """Each group with its claims; a claim no group names goes to a last group, 'Other claims'."""
    claims, out = merged(rows), []
    for group in GROUPS:
        mine = [c for c in claims if group.starts and c.base.startswith(group.starts)]
        claims = [c for c in claims if c not in mine]
        out.append((group, mine))
    if claims:
        out.append((Group("Other claims", "", ()), claims))
    return out


# ---- drawing ------------------------------------------------------------------------------------------------

def badge(verdict: str, family: str = "") -> str:
    words = VERDICT_WORDS.get(verdict, verdict or "?")
    kind = {"holds": "yes", "does not hold": "no"}.get(verdict, "unsure")
    who = f"{FAMILY_TITLES.get(family, family)}: " if family else ""
    return f'<span class="badge {kind}">{html.escape(who + words)}</span>'


def chart(items: list[Measure], width: int = 320) -> str:
    """A small inline SVG: each difference as a dot (what was measured) on its likely range, against a dashed
    'no difference' line at 0; or bars from zero for plain values. Each number is written next to its mark."""
    if not items:
        return ""
    ranged = all(m.lo is not None for m in items)
    low = min([0.0] + [m.lo if ranged else m.value for m in items])
    high = max([0.0] + [m.hi if ranged else m.value for m in items])
    pad = (high - low) * 0.08 or 1.0
    low, high = low - (pad if low < 0 else 0), high + pad
    left, right, row = 112, (16 if ranged else 48), 34
    x = lambda v: left + (width - left - right) * (v - low) / (high - low)  # noqa: E731
    height = row * len(items) + (30 if ranged else 14)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" role="img">']
    for k, m in enumerate(items):
        y = 10 + k * row + row / 2
        parts.append(f'<text x="{left - 8}" y="{y + 5}" text-anchor="end">{html.escape(m.label)}</text>')
        if ranged:
            colour = "#2b5fad" if m.lo > 0 or m.hi < 0 else "#888"  # clear of 0 or not; the badge says if it holds
            parts.append(f'<line x1="{x(m.lo):.1f}" x2="{x(m.hi):.1f}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="4"/>'
                         f'<circle cx="{x(m.value):.1f}" cy="{y}" r="6" fill="{colour}"/>'
                         f'<text x="{x(m.value):.1f}" y="{y - 10}" text-anchor="middle">{m.value:g}</text>')
        else:
            parts.append(f'<rect x="{x(0):.1f}" y="{y - 8}" width="{max(1.0, x(m.value) - x(0)):.1f}" height="16" '
                         f'fill="#5b7fc7"/><text x="{x(m.value) + 4:.1f}" y="{y + 5}">{m.value:g}</text>')
    if ranged:
        zero, bottom = x(0), row * len(items) + 10
        parts.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="2" y2="{bottom}" stroke="currentColor" '
                     f'stroke-dasharray="4 3"/><text x="{zero:.1f}" y="{bottom + 14}" text-anchor="middle">0</text>')
    return "".join(parts) + "</svg>"


def card(claim: Claim) -> str:
    """One claim: the judge's badges, its sentence, its chart and what was measured; then what the raters saw."""
    badges = "".join(badge(v, f) for f, v in claim.verdicts.items())
    metric = claim.rows[0][1].get("metric", "") if claim.rows else ""
    return (f'<div class="claim"><div class="badges"><span class="who">Judge</span>{badges}</div>'
            f'<p>{html.escape(claim.sentence)}</p>{chart(claim.measures)}'
            f'<p class="metric">Measured: {html.escape(metric)}</p>{raters_html(claim)}</div>')


def raters_html(claim: Claim) -> str:
    """The raters' badges and what they saw, per model; a warning line where they and the judge disagree."""
    if not claim.raters:
        return '<p class="metric">By the raters\' eyes: not rated.</p>'
    badges = "".join(badge(v, f) for f, (v, _) in claim.raters.items())
    seen = "".join(f"<li>{html.escape((FAMILY_TITLES[f] + ': ' if f else '') + words)}</li>"
                   for f, (_, words) in claim.raters.items())
    names = [FAMILY_TITLES[f] for f in claim.disagree if f]
    warning = (f'<p class="differs">The judge and the raters disagree{" on the " + ", ".join(names) if names else ""}.</p>'
               if claim.disagree else "")
    return (f'<div class="raters" title="{html.escape(RATERS_NOTE)}"><div class="badges"><span class="who">Raters</span>'
            f'{badges}</div><ul>{seen}</ul>{warning}</div>')


def group_html(group: Group, claims: list[Claim]) -> str:
    """A group's heading, its idea, and a card per claim (or what is missing)."""
    body = "".join(card(c) for c in claims) or f'<p class="missing">{html.escape(group.missing)}</p>'
    return (f'<section><h3>{html.escape(group.title)}</h3><p class="idea">{html.escape(group.idea)}</p>'
            f'<div class="cards">{body}</div></section>')


def numbers_markdown(group: Group, claims: list[Claim]) -> str:
    """The numbers behind a group's claims, as a table with plain column names."""
    if not claims:
        return ""
    lines = [f"**{group.title}**", "", "| Claim | Model | What was measured | Result | Verdict | By the raters' eyes |",
             "|---|---|---|---|---|---|"]
    for claim in claims:
        for family, row in claim.rows:
            lines.append(f"| {claim.base} | {FAMILY_TITLES.get(family, '–')} | {row.get('metric', '')} | "
                         f"{readable(row.get('values', '')) or '–'} | {verdict_text(row)} | "
                         f"{row.get('raters', 'not rated').replace('|', '/')} |")
    return "\n".join(lines)


def verdict_text(row: dict) -> str:
    """'holds'; or, where the raters reach another verdict, 'judge: does not hold · raters: holds'."""
    judge, raters = row.get("verdict", ""), row.get("raters_verdict", "")
    said = VERDICT_WORDS.get(judge, judge)
    return f"judge: {said} · raters: {VERDICT_WORDS[raters]}" if raters in RATED and raters != judge else said


def readable(values: str) -> str:
    """'vae−gan -0.64 [-0.82, -0.46]' -> 'VAE − GAN: -0.64 (likely between -0.82 and -0.46)'."""
    def one(m: re.Match) -> str:
        label = f"{pair_words(m['label'])}: " if m["label"] else ""
        return f"{label}{m['v']} (likely between {m['lo']} and {m['hi']})"

    return INTERVAL.sub(one, values).replace("|", "/")


CSS = """
section { margin-bottom: 18px; }
h3 { margin: 10px 0 2px; font-size: 1.4rem; }
.idea, .missing { margin: 0 0 8px; font-size: 1.1rem; }
.missing { font-style: italic; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 12px; }
.claim { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; }
.claim p { font-size: 1.15rem; margin: 6px 0; }
.badge { display: inline-block; border-radius: 999px; padding: 2px 10px; margin: 0 6px 4px 0; font-weight: 600;
         font-size: 0.95rem; color: white; }
.badge.yes { background: #1a8a36; } .badge.no { background: #c62828; } .badge.unsure { background: #8a7400; }
.chart { max-width: 100%; height: auto; font-size: 13px; fill: currentColor; }
.claim p.metric { font-size: 0.9rem; opacity: 0.8; margin: 2px 0 0; }
.who { font-weight: 600; font-size: 0.9rem; margin-right: 6px; opacity: 0.85; }
.raters { border-top: 1px dashed var(--border-color-primary); margin-top: 8px; padding-top: 6px; }
.raters ul { margin: 2px 0 0; padding-left: 18px; font-size: 1rem; }
.claim p.differs { font-size: 1rem; font-weight: 600; color: #b35c00; margin: 4px 0 0; }
"""
