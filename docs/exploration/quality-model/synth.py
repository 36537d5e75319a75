"""Synthetic "not a hand" pictures with all tabular features, for adding to the quality model's
training set (quality 1, hand 0, no finger target). Made from fresh clean renders (a seed no
rater picture uses), so no held-out source leaks in: heavy blur, 8 px tile shuffle, noise on a
blurred base, soft skin-coloured blobs (`cnn.synthetic_negatives`).

Needs the judge package on the path (PYTHONPATH=<checkout>).
    python synth.py [N]   -> runs/quality/synth.npz (features in mlp.table_T's column order)
"""

from __future__ import annotations

import json
import sys

import numpy as np


def make(n: int = 400, seed: int = 99000, out: str = "runs/quality/synth.npz", labels: str = "judge/fit/raters"):
    import torch

    torch.set_num_threads(1)
    from countfeat import count_features
    from judge.score import score
    from maps import silhouette_maps
    from prompt.spec import parse
    from world.render import render_sample

    import cnn
    from features import expected_counts, image_stats, report_features, witness_features

    renders = np.stack([render_sample(seed, i, 64).image for i in range(n)])
    imgs = cnn.synthetic_negatives(renders, n, seed)
    rows = [json.loads(line) for line in open(f"{labels}/labels.jsonl")]
    pool = sorted({r["prompt"] for r in rows if r["family"] != "render"})
    rng = np.random.default_rng(seed)
    prompts = [pool[i] for i in rng.integers(len(pool), size=n)]
    specs = {p: parse(p) for p in pool}
    rep = np.stack([report_features(score(im, specs[p]).to_dict()) for im, p in zip(imgs, prompts)])
    ims = np.stack([image_stats(x) for x in imgs])
    wit = witness_features(imgs)
    exp = expected_counts(prompts)
    prompt = np.stack([exp, exp < 0] + [exp == k for k in range(6)], 1).astype(np.float32)
    cf = count_features(silhouette_maps(imgs))
    X = np.hstack([rep, ims, wit[:, 116:], cf]).astype(np.float32)  # = mlp.table_T layout
    np.savez_compressed(out, X=X, images=imgs, prompts=np.array(prompts), kind=np.arange(n) % 4)
    print("saved", out, X.shape, "judge found a hand on", float(rep[:, 1].mean()))


if __name__ == "__main__":
    make(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
