"""The judge: everything that judges a picture of a hand, and nothing else.

It knows the shared vocabulary (`core`), the prompt's `HandSpec`, and the hand world (`world`: the
clean renders it is calibrated and compared on); never the generators it judges.

    from judge import Judge
    judge = Judge.load()
    report = judge.score(image, spec)        # HandReport: hand_score, flags, breakdown, ...

CLI: python -m judge IMAGE... [--prompt TEXT] [--overlay DIR]   (one JSON line per image)
"""

from judge.calibration import Calibration
from judge.judge import Judge
from judge.report import HandReport, Penalty, SetReport

__all__ = ["Calibration", "HandReport", "Judge", "Penalty", "SetReport"]
