"""The current judge (reports in scores_before.json) under the same metrics: the number to beat."""
import json, sys
import numpy as np
from data import load, metrics, fmt_metrics

def baseline(path="runs/quality/scores_before.json"):
    rs = load(images=False)
    d = json.load(open(path))
    reps = [d["rater/" + f][0] for f in rs.files]
    score = np.array([r["hand_score"] for r in reps])
    found = np.array([r["hand_found"] for r in reps])
    # P(hand) for AUROC: the score itself (0 when no hand) -- plus found as a tiebreak
    p = score + 100 * found
    fing = np.array([r["extended_count"] if r["hand_found"] else 0 for r in reps])
    return rs, score, p, found, fing

if __name__ == "__main__":
    rs, score, p, found, fing = baseline()
    b1 = rs.generated & (rs.ids < 768)
    print("batch1 generated:", fmt_metrics(metrics(rs, score, p, found, fing, b1)))
    print("all generated:   ", fmt_metrics(metrics(rs, score, p, found, fing)))
    print("all:             ", fmt_metrics(metrics(rs, score, p, found, fing, np.ones(len(score), bool))))
    print("AUROC w/ presence only:", fmt_metrics(metrics(rs, score, np.array([json.load(open('runs/quality/scores_before.json'))["rater/"+f][0]["presence"] or 0 for f in rs.files]), found, fing)))
