"""The look net: P(a picture is drawn in a look unlike the renders and the generators' pictures), so that the
judge can send it to witnesses trained on many looks (`judge/weights/other_looks`).

Why: the witnesses read by the quality model were trained on one look (shaded renders on calm backgrounds) and the
trees were fitted to people on the generators' pictures, which share that look. Retrained with domain randomisation
they count clip-art hands far better but agree less with people on the generators' pictures (hand AUROC 0.948
against 0.952, finger counts 56 % against 62 %: `judge/fit/candidates/randomised/README.md`). So each picture goes
to the witnesses made for its look. The net (`judge.witnesses.look`) is a small CNN on the 64 px picture.

What it is fitted on (never a drawn style (cartoon, chalk, pencil, watercolour), nor a validation seed):
- the renderers' and the generators' look (0): plain renders, half of each batch's made to look like generator
  output (blur, coarse resampling, noise: `train_counter.degrade`), renders in random looks that change only colour,
  sharpness, noise or JPEG, synthetic generator failures, pictures with no hand, and the rated pictures of the
  raters' first batch (ids below `FIRST_BATCH_END`: all three families), drawn `rated_repeat` times as often;
- another look (1): renders in a random look of `world.styles` that changes the drawing itself (a background
  swapped, flat or toon skin, ink outlines, a line drawing), not only colour, blur, noise or JPEG (generators do
  those too).
Every batch is half of each; 30 % of it, either look, faded and grained; mirrored, turned, scaled and shifted a
little, its colours jittered.

Reported on pictures it never saw: the raters' second batch, the validation renders (seed 9303) and no-hand
pictures, and renders in random looks of another seed; `python -m judge.fit.styles` reports how many of the drawn
styles go to the other looks' witnesses, and `python -m bench.look_check` how many of the benchmark's pictures.

    python -m judge.fit.train_look                         # writes judge/weights/look_net.safetensors (~10 min)
    python -m judge.fit.train_look --weights DIR --out results/judge_look.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.settings import REPO_ROOT
from core.vocab import HandSpec
from judge.calibration import Calibration
from judge.judge import DEFAULT_WEIGHTS
from judge.witnesses.look import LOOK_NET_FILE, LookNet, probabilities
from judge.witnesses.silhouette import SIZE, as_batch

FIT_SEED = 7401  # renders, failures and looks of the fit (not a training, calibration or validation seed)
CHECK_SEED = 7402  # renders in random looks for the report
FAILURE_SEED = 7411  # the fit's failures and empty pictures (their renders are no other set's)
FIRST_BATCH_END = 768  # the raters' first batch: ids below this
OUT = REPO_ROOT / "results" / "judge_look.json"


# ---- the recipe: one visible block -------------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    renders: int = 6_000  # plain renders of the familiar look (FIT_SEED, after the looked ones)
    dark_renders: int = 2_000  # more plain renders with dark or brown skin (the first net leant towards another look
    # on dark hands: mean P 0.26 against 0.09-0.15 for the other tones, on the validation renders)
    looked: int = 12_000  # renders given a random look each: another look when it changes the drawing
    line_art: float = 0.3  # the share of those looks drawn as line drawings (world.styles.line_drawing)
    failures: int = 3_000  # synthetic generator failures (familiar)
    empty: int = 2_000  # pictures with no hand (familiar)
    rated_repeat: int = 4  # the raters' first batch, drawn this many times as often as one render
    degrade: float = 0.6  # the share of plain renders made to look like generator output when drawn
    wear: float = 0.3  # the share of every picture, either look, faded and grained when drawn (`wear`): a drawing
    # in faint or broken strokes is still a drawing, so neither may tell the looks apart
    steps: int = 2_500
    batch: int = 128  # half familiar, half another look, in expectation
    lr: float = 2e-3  # one cycle
    weight_decay: float = 1e-4
    threads: int = 2
    seed: int = 0


def other_look(style) -> bool:
    """Does this `world.styles` look change the drawing, not only its colour, sharpness or noise?"""
    return style.background != "keep" or style.skin != "shaded" or style.outline > 0


def restyled(seed: int, i: int, line_art: float) -> tuple[np.ndarray, bool]:
    """Render (seed, i) in the random look of (seed, i), `line_art` of looks drawn as line drawings (a render that
    holds an object keeps its background: the hand mask does not cover the object), and whether that look is
    another one (`other_look`)."""
    from world import styles
    from world.render import render_sample

    r = render_sample(seed, i, SIZE)
    style = styles.for_render(styles.sample_style(np.random.default_rng([seed, i]), plain=0.0, line_art=line_art),
                              r.label["object"] != "none")
    return styles.restyle(style, r.image, r.mask), other_look(style)


def looked_renders(seed: int, count: int, line_art: float = 0.0) -> list[np.ndarray]:
    """The first `count` renders of `seed` whose random look changes the drawing (`restyled`)."""
    out, i = [], 0
    while len(out) < count:
        image, other = restyled(seed, i, line_art)
        i += 1
        if other:
            out.append(image)
    return out


def no_looks(count_failures: int, count_empty: int) -> list[np.ndarray]:
    """Familiar pictures that are not hands in a look: synthetic generator failures and pictures with no hand."""
    from judge.fit.train_silhouette import negative
    from world import failures as fail

    rng = np.random.default_rng(FAILURE_SEED)
    return fail.failures(count_failures, FAILURE_SEED)[0] + [negative(rng) for _ in range(count_empty)]


def rated(first_batch: bool) -> list[tuple[np.ndarray, str]]:
    """(picture, family) of the raters' first or second batch."""
    from PIL import Image

    from judge.fit import raters

    return [(np.asarray(Image.open(p.path).convert("RGB")), p.family) for p in raters.load()
            if (p.id < FIRST_BATCH_END) == first_batch]


@dataclass
class Pictures:
    """The fit's pictures (N x 3 x 64 x 64 in [0, 1]), whether each is another look, whether it is a plain
    render (those may be made to look like generator output), and how often each is drawn."""

    x: object  # torch.Tensor
    other: object
    plain: object
    weight: object


def pictures(recipe: Recipe) -> Pictures:
    """Every picture of the fit (`Recipe`): the looked renders split by `other_look`, then the familiar ones."""
    import torch

    from world.render import render_sample

    others, recoloured = [], []
    for i in range(recipe.looked):
        image, other = restyled(FIT_SEED, i, recipe.line_art)
        (others if other else recoloured).append(image)
    plain = [render_sample(FIT_SEED, recipe.looked + i, SIZE).image for i in range(recipe.renders)]
    start = recipe.looked + recipe.renders
    plain += [render_sample(FIT_SEED, start + i, SIZE, HandSpec(skin_tone=("dark", "brown")[i % 2])).image
              for i in range(recipe.dark_renders)]
    rest = no_looks(recipe.failures, recipe.empty) + recoloured
    first = [im for im, _ in rated(True)]
    ours = plain + rest + first
    x = torch.from_numpy(as_batch(ours + others))
    other = torch.cat([torch.zeros(len(ours)), torch.ones(len(others))])
    is_plain = torch.zeros(len(x), dtype=torch.bool)
    is_plain[: len(plain)] = True
    per = torch.ones(len(x))
    per[len(plain) + len(rest) : len(ours)] = recipe.rated_repeat
    weight = torch.where(other > 0, per / per[other > 0].sum(), per / per[other == 0].sum())  # half and half
    return Pictures(x, other, is_plain, weight)


def wear(x, share: float, g):
    """`share` of a batch (N x 3 x 64 x 64 in [0, 1]) faded towards its mean (keeping 40-100 % of its contrast) and
    grained (each pixel keeping 60-100 % of its difference from the mean), as faint paper, a hard pencil or a worn
    print would be; the rest as it was."""
    import torch

    n = len(x)
    u = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    mean = x.mean((1, 2, 3), keepdim=True)
    keep = 0.4 + 0.6 * u(n, 1, 1, 1)
    grain = 1 - (0.4 * u(n, 1, 1, 1)) * u(n, 1, *x.shape[2:])
    worn = mean + (x - mean) * keep * grain
    return torch.where((u(n) < share)[:, None, None, None], worn, x)


def fit(recipe: Recipe, data: Pictures, log=print):
    """The training loop, top to bottom: draw a batch, make its plain renders look generated (some of them),
    jitter, one step of binary cross-entropy."""
    import torch
    import torch.nn.functional as F

    from judge.fit.train_counter import degrade, jitter

    torch.manual_seed(recipe.seed)
    g = torch.Generator().manual_seed(recipe.seed)
    net = LookNet()
    opt = torch.optim.AdamW(net.parameters(), recipe.lr, weight_decay=recipe.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, recipe.lr, total_steps=recipe.steps)
    net.train()
    for step in range(recipe.steps):
        idx = torch.multinomial(data.weight, recipe.batch, replacement=True, generator=g)
        x = data.x[idx].clone()
        generated = data.plain[idx] & (torch.rand(recipe.batch, generator=g) < recipe.degrade)
        if generated.any():
            x[generated] = degrade(x[generated], g)
        x = wear(x, recipe.wear, g)
        loss = F.binary_cross_entropy_with_logits(net(jitter(x, g)), data.other[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        if step % 250 == 0 or step == recipe.steps - 1:
            log(f"step {step}: loss {loss.item():.4f}")
    return net.eval()


def report(net, above: float) -> dict:
    """Share of pictures sent to the other looks' witnesses, per held-out set (the drawn styles' shares are
    measured with the judge on them: `python -m judge.fit.styles`)."""
    from judge.fit.validate import NO_HAND_KINDS, no_hand_images
    from judge.witnesses.silhouette import to_input
    from world.render import render_sample

    def share(images: list[np.ndarray]) -> float:
        return round(float(np.mean(probabilities(net, [to_input(im) for im in images]) > above)), 4)

    second = rated(first_batch=False)
    out: dict = {"raters_second_batch": {fam: share([im for im, f in second if f == fam])
                                         for fam in sorted({f for _, f in second})}}
    out["raters_second_batch"]["n"] = len(second)
    out["raters_second_batch_highest_p"] = round(float(probabilities(net, [im for im, _ in second]).max()), 4)
    out["validation_renders"] = share([render_sample(9303, i, SIZE).image for i in range(300)])
    out["no_hand"] = {kind: share(no_hand_images(kind, 50)) for kind in NO_HAND_KINDS}
    out["renders_in_other_looks"] = share(looked_renders(CHECK_SEED, 300))
    out["line_drawings"] = share(looked_renders(CHECK_SEED, 300, line_art=1.0))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fit the look net (which witnesses judge a picture).")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="the folder it is written to")
    parser.add_argument("--steps", type=int, default=Recipe.steps)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.steps < 1:
        print("error: --steps must be at least 1", file=sys.stderr)
        return 2
    if not args.weights.is_dir():
        print(f"error: no weights folder {args.weights}", file=sys.stderr)
        return 2
    import torch
    from safetensors.torch import save_file

    recipe = Recipe(steps=args.steps)
    torch.set_num_threads(recipe.threads)
    t0 = time.time()
    data = pictures(recipe)
    print(f"{len(data.x)} pictures, {int(data.other.sum())} in other looks ({time.time() - t0:.0f} s)", file=sys.stderr)
    net = fit(recipe, data, log=lambda line: print(line, file=sys.stderr, flush=True))
    save_file(net.state_dict(), str(args.weights / LOOK_NET_FILE))
    above = Calibration.of_folder(args.weights).other_look_above
    result = {"command": "python -m judge.fit.train_look", "recipe": asdict(recipe),
              "fitted_on": {"familiar": int((data.other == 0).sum()), "other_looks": int(data.other.sum())},
              "above": above, "sent_to_other_looks": report(net, above), "seconds": round(time.time() - t0, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
