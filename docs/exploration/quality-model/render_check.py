"""Do held-out predictions rank renders sensibly? All 120 renders (clean + 5 malformations) held
out together, the model fitted on generated pictures only (+ synthetic negatives)."""
import os
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
import numpy as np
from scipy.stats import spearmanr

from data import load
from final import fit_heads, predict_heads
from mlp import table_T

if __name__ == "__main__":
    rs = load(images=False)
    X, neg = table_T(), np.load("runs/quality/synth.npz")["X"]
    g = rs.generated
    tr, te = np.flatnonzero(g), np.flatnonzero(~g)
    Xt = np.vstack([X[tr], neg])
    q = np.concatenate([rs.quality[tr], np.ones(len(neg))])
    h = np.concatenate([rs.hand[tr], np.zeros(len(neg))])
    f = np.concatenate([rs.finger_target[tr], -np.ones(len(neg), int)])
    p = predict_heads(fit_heads(Xt, q, h, f), X[te])
    src = np.asarray(rs.sources)[te]
    for s in sorted(set(src), key=lambda s: -rs.quality[te][src == s].mean()):
        m = src == s
        print(f"{s:24s} n={m.sum():3d} rater q {rs.quality[te][m].mean():.2f}  predicted q {p['q'][m].mean():.2f}"
              f"  P(hand) {p['p_hand'][m].mean():.3f}")
    print("Spearman within renders:", spearmanr(p["q"], rs.quality[te])[0])
    clean = src == "render"
    from data import _auroc
    print("AUROC predicted q: clean vs malformed renders", _auroc(clean.astype(int), p["q"]),
          "| rater q same AUROC", _auroc(clean.astype(int), rs.quality[te]))
    fing = [p["fingers"][k] in rs.fingers[i] for k, i in enumerate(te) if rs.fingers[i]]
    print("finger acc on renders", np.mean(fing), len(fing))
