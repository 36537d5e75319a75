"""Latency and size of the recommended model in its shipped form (trees.py arrays)."""
import os
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"): os.environ.setdefault(_v, "1")
import time, numpy as np
from data import load
from final import fit_heads
from mlp import table_T
from trees import export, raw_predict, n_params
rs = load(images=False); X = table_T()
heads = fit_heads(X, rs.quality, rs.hand, rs.finger_target)
arrs = [export(h) for h in heads]
print("params per head", [n_params(a) for a in arrs], "total", sum(n_params(a) for a in arrs), "depth", [int(a['depth'][0]) for a in arrs])
i = 7
print("check q", raw_predict(arrs[0], X[i]), heads[0].predict(X[i:i+1]))
print("check hand", 1/(1+np.exp(-raw_predict(arrs[1], X[i]))), heads[1].predict_proba(X[i:i+1])[:, 1])
z = raw_predict(arrs[2], X[i]); print("check fingers", np.exp(z)/np.exp(z).sum(), heads[2].predict_proba(X[i:i+1]))
ts = []
for k in range(300):
    x = X[k % len(X)]
    t = time.perf_counter(); [raw_predict(a, x) for a in arrs]; ts.append(time.perf_counter() - t)
print("3 heads vectorised numpy: median %.3f ms p90 %.3f ms" % (1000*np.median(ts), 1000*np.percentile(ts, 90)))
