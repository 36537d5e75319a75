"""The look head: P(a picture is drawn in a look unlike the renders and the generators' pictures), so that the
judge can send it to witnesses trained on many looks (`judge/weights/other_looks`).

Why: the witnesses read by the quality model were trained on one look (shaded renders on calm backgrounds) and the
trees were fitted to people on the generators' pictures, which share that look. Retrained with domain randomisation
they count clip-art hands far better but agree less with people on the generators' pictures (hand AUROC 0.948
against 0.952, finger counts 56 % against 62 %: `judge/fit/candidates/randomised/README.md`). So each picture goes
to the witnesses made for its look. The head (`judge.witnesses.look`) reads the pooled features of the silhouette net
the judge runs anyway and ten statistics of the picture, so routing costs well under a millisecond.

What it is fitted on (never the cartoon style, which stays held out, nor a validation seed):
- the renderers' and the generators' look (0): plain renders, synthetic generator failures, pictures with no
  hand, and the rated pictures of the raters' first batch (ids below `FIRST_BATCH_END`: all three families);
- another look (1): renders in a random look of `world.styles` that changes the drawing itself (a background
  swapped, flat or toon skin, ink outlines, a line drawing), not only colour, blur, noise or JPEG (generators do
  those too).

Reported on pictures it never saw: the raters' second batch, the validation renders (seed 9303) and no-hand
pictures, and renders in random looks of another seed; `python -m judge.fit.styles` reports how many of the held-out
cartoon hands go to the other looks' witnesses.

    python -m judge.fit.train_look                         # writes judge/weights/look_head.safetensors
    python -m judge.fit.train_look --weights DIR --out results/judge_look.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from core.settings import REPO_ROOT
from judge.calibration import Calibration
from judge.judge import DEFAULT_WEIGHTS
from judge.witnesses.look import LOOK_HEAD_FILE, LookHead, look_features
from judge.witnesses.silhouette import SIZE, WEIGHTS_FILE, load_net, predict_batch, to_input

FIT_SEED = 7401  # renders, failures and looks of the fit (not a training, calibration or validation seed)
CHECK_SEED = 7402  # renders in random looks for the report
FIRST_BATCH_END = 768  # the raters' first batch: ids below this
OUT = REPO_ROOT / "results" / "judge_look.json"


def other_look(style) -> bool:
    """Does this `world.styles` look change the drawing, not only its colour, sharpness or noise?"""
    return style.background != "keep" or style.skin != "shaded" or style.outline > 0


def looked_renders(seed: int, count: int, line_art: float = 0.0) -> list[np.ndarray]:
    """`count` renders, each in a random look that changes the drawing (`other_look`), `line_art` of them line
    drawings; renders that hold an object keep their background (the hand mask does not cover the object)."""
    from world import styles
    from world.render import render_sample

    out, i = [], 0
    while len(out) < count:
        r = render_sample(seed, i, SIZE)
        style = styles.for_render(styles.sample_style(np.random.default_rng([seed, i]), plain=0.0, line_art=line_art),
                                  r.label["object"] != "none")
        i += 1
        if other_look(style):
            out.append(styles.restyle(style, r.image, r.mask))
    return out


def familiar(seed: int, renders: int, failures: int, empty: int) -> list[np.ndarray]:
    """The renderer's look: plain renders, synthetic generator failures and pictures with no hand."""
    from judge.fit.train_silhouette import negative
    from world import failures as fail
    from world.render import render_sample

    rng = np.random.default_rng(seed)
    return ([render_sample(seed, i, SIZE).image for i in range(renders)] + fail.failures(failures, seed + 1)[0]
            + [negative(rng) for _ in range(empty)])


def rated(first_batch: bool) -> list[tuple[np.ndarray, str]]:
    """(picture, family) of the raters' first or second batch."""
    from PIL import Image

    from judge.fit import raters

    return [(np.asarray(Image.open(p.path).convert("RGB")), p.family) for p in raters.load()
            if (p.id < FIRST_BATCH_END) == first_batch]


def features(net, images: list[np.ndarray]) -> np.ndarray:
    """The look head's input for each picture, as the judge computes it."""
    small = [to_input(im) for im in images]
    return np.stack([look_features(s, m.features) for s, m in zip(small, predict_batch(net, small), strict=True)])


def fit(x: np.ndarray, y: np.ndarray) -> tuple[LookHead, float]:
    """A one-hidden-layer head (32 units) on standardised features, as the count head is fitted, and its
    training accuracy."""
    from judge.fit.train_silhouette import _fit, _standardise

    z, norm = _standardise(x)
    result = _fit(z, y.astype(np.int64), 1, 32, 1e-2)
    return LookHead({**result["weights"], **norm}), result["accuracy"]


def report(net, head: LookHead, above: float) -> dict:
    """Share of pictures sent to the other looks' witnesses, per held-out set (the held-out cartoon style's share
    is measured with the judge on it: `python -m judge.fit.styles`)."""
    from judge.fit.validate import NO_HAND_KINDS, no_hand_images
    from world.render import render_sample

    def share(images: list[np.ndarray]) -> float:
        small = [to_input(im) for im in images]
        sent = [head.probability(x, m.features) > above for x, m in zip(small, predict_batch(net, small), strict=True)]
        return round(float(np.mean(sent)), 4)

    second = rated(first_batch=False)
    out: dict = {"raters_second_batch": {fam: share([im for im, f in second if f == fam])
                                         for fam in sorted({f for _, f in second})}}
    out["raters_second_batch"]["n"] = len(second)
    out["validation_renders"] = share([render_sample(9303, i, SIZE).image for i in range(300)])
    out["no_hand"] = {kind: share(no_hand_images(kind, 50)) for kind in NO_HAND_KINDS}
    out["renders_in_other_looks"] = share(looked_renders(CHECK_SEED, 300))
    out["line_drawings"] = share(looked_renders(CHECK_SEED, 300, line_art=1.0))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fit the look head (which witnesses judge a picture).")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="the folder whose silhouette net it reads")
    parser.add_argument("--renders", type=int, default=1500, help="plain renders (and looked renders)")
    parser.add_argument("--line-art", type=float, default=0.3,
                        help="the share of the other looks drawn as line drawings (world.styles.line_drawing)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.renders < 10:
        print("error: --renders must be at least 10", file=sys.stderr)
        return 2
    import torch
    from safetensors.numpy import save_file

    torch.set_num_threads(2)
    t0 = time.time()
    net = load_net(args.weights / WEIGHTS_FILE)
    ours = familiar(FIT_SEED, args.renders, args.renders // 3, args.renders // 5) + [im for im, _ in rated(True)]
    theirs = looked_renders(FIT_SEED, args.renders, args.line_art)
    x = np.concatenate([features(net, ours), features(net, theirs)])
    y = np.r_[np.zeros(len(ours)), np.ones(len(theirs))]
    head, accuracy = fit(x, y)
    save_file({k: np.ascontiguousarray(v, np.float32) for k, v in head.weights.items()}, str(args.weights / LOOK_HEAD_FILE))
    above = Calibration.of_folder(args.weights).other_look_above
    result = {"command": "python -m judge.fit.train_look", "line_art": args.line_art,
              "fitted_on": {"familiar": len(ours), "other_looks": len(theirs)},
              "train_accuracy": accuracy, "above": above, "sent_to_other_looks": report(net, head, above),
              "seconds": round(time.time() - t0, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
