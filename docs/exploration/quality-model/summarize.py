"""Metrics of every saved held-out prediction file (pred_*.npz)."""
import glob
import os
import numpy as np
from data import fmt_metrics, load, metrics

def main(out_dir: str = "runs/quality") -> None:
    rs = load(images=False)
    for f in sorted(glob.glob(f"{out_dir}/pred_*.npz")):
        p = np.load(f)
        m = metrics(rs, p["q"], p["p_hand"], p["p_hand"] > 0.5, p["fingers"])
        b1 = metrics(rs, p["q"], p["p_hand"], p["p_hand"] > 0.5, p["fingers"], rs.generated & (rs.ids < 768))
        print(f"{os.path.basename(f)[5:-4]:22s} {fmt_metrics(m)} | b1 rho={b1['spearman_quality']:.3f}")


if __name__ == "__main__":
    main()
