"""The look net sends pictures drawn in another look to the witnesses trained on many looks, and keeps the
generators' pictures and the renders with the witnesses the quality model was fitted on."""

from __future__ import annotations

import numpy as np
from PIL import Image

from judge.calibration import Calibration
from judge.fit import raters
from judge.fit.train_look import FIRST_BATCH_END, looked_renders, other_look
from judge.judge import DEFAULT_WEIGHTS, Judge
from judge.witnesses.look import LOOK_NET_FILE, OTHER_LOOKS_DIR, load_net, probabilities
from world import styles
from world.render import render_sample
from world.style2d import draw_hand

JUDGE = Judge.load()
OTHER = "judged by witnesses trained on many looks"


def test_the_shipped_judge_has_witnesses_for_other_looks():
    assert (DEFAULT_WEIGHTS / LOOK_NET_FILE).is_file()
    assert JUDGE.other_looks is not None
    assert JUDGE.other_looks.weights_dir == DEFAULT_WEIGHTS / OTHER_LOOKS_DIR
    assert JUDGE.other_looks.other_looks is None


def test_the_look_net_has_no_side_and_tells_a_drawing_from_a_render():
    net = load_net(DEFAULT_WEIGHTS / LOOK_NET_FILE)
    cartoon = draw_hand(9998, 0, gesture="peace").image
    render = render_sample(5, 0, 64).image
    p = probabilities(net, [cartoon, render, cartoon[:, ::-1].copy()])
    assert ((p >= 0) & (p <= 1)).all()
    assert abs(p[0] - p[2]) < 1e-5  # a mirrored picture is in the same look
    assert p[0] > 0.5 > p[1]


def test_a_cartoon_hand_goes_to_the_other_looks_and_says_so():
    cartoon = draw_hand(9999, 0, gesture="open_palm").image  # not a seed the report uses
    report = JUDGE.score(cartoon)
    assert JUDGE.in_other_look(JUDGE.gather(cartoon))
    assert any(OTHER in note for note in report.notes)
    assert report.quality is None  # the model fitted to people did not judge it


def test_renders_and_the_raters_second_batch_stay_with_the_fitted_witnesses():
    renders = [render_sample(9303, i, 64).image for i in range(40)]
    second = [p for p in raters.load() if p.id >= FIRST_BATCH_END and p.generated][::5]
    pictures = renders + [np.asarray(Image.open(p.path).convert("RGB")) for p in second]
    sent = [JUDGE.in_other_look(JUDGE.gather(im, use_landmarks=False)) for im in pictures]
    assert len(second) >= 80
    assert np.mean(sent) <= 0.03
    assert not any(OTHER in note for note in JUDGE.score(renders[0]).notes)


def test_many_renders_in_another_look_go_to_the_other_looks():
    pictures = looked_renders(7403, 30)  # a seed neither the fit nor its report uses
    sent = [JUDGE.in_other_look(JUDGE.gather(im, use_landmarks=False)) for im in pictures]
    assert np.mean(sent) >= 0.5  # 71 % of 300 in the fit's report


def test_only_looks_that_change_the_drawing_count_as_other():
    assert not other_look(styles.PLAIN)
    assert not other_look(styles.Style(blur=1.0, noise=10.0, jpeg=30))
    assert other_look(styles.Style(background="busy"))
    assert other_look(styles.Style(skin="flat"))
    assert other_look(styles.Style(outline=1.5))


def test_a_judge_without_other_looks_never_sends(tmp_path):
    for f in DEFAULT_WEIGHTS.glob("*.*"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    judge = Judge.load(tmp_path)
    assert judge.other_looks is None
    assert not judge.in_other_look(judge.gather(draw_hand(9999, 0, gesture="open_palm").image))


def test_the_threshold_round_trips_through_the_calibration_file():
    cal = Calibration(other_look_above=0.7)
    assert Calibration.from_json(cal.to_json()).other_look_above == 0.7
    assert Calibration.from_json({}).other_look_above == Calibration().other_look_above


def test_most_line_drawings_go_to_the_other_looks():
    pictures = looked_renders(7403, 30, line_art=1.0)
    sent = [JUDGE.in_other_look(JUDGE.gather(im, use_landmarks=False)) for im in pictures]
    assert np.mean(sent) >= 0.8  # 94 % of 300 in the fit's report


def test_look_check_refuses_bad_input(tmp_path, capsys):
    from bench import look_check

    assert look_check.main(["--per-prompt", "0"]) == 2
    assert look_check.main(["--weights", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("error:") == 2


def test_wear_fades_and_grains_some_pictures_and_leaves_the_rest():
    import torch

    from judge.fit.train_look import wear

    x = torch.rand(64, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    assert torch.equal(wear(x, 0.0, torch.Generator().manual_seed(2)), x)
    worn = wear(x, 1.0, torch.Generator().manual_seed(2))
    assert torch.allclose(worn.mean((1, 2, 3)), x.mean((1, 2, 3)), atol=0.02)  # faded towards its own mean
    assert (worn.std((1, 2, 3)) < x.std((1, 2, 3))).all()  # less contrast, every picture
    half = wear(x, 0.5, torch.Generator().manual_seed(2))
    changed = [not torch.equal(a, b) for a, b in zip(half, x)]
    assert 16 < sum(changed) < 48
