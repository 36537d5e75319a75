"""Domain randomisation (world.styles), the held-out drawn styles (world.style2d) and the rule
that keeps those styles out of every witness's training."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.vocab import GESTURE_DIGITS
from world import styles
from world.render import render_sample
from world.style2d import MALFORMATIONS, draw_hand

ROOT = Path(__file__).resolve().parent.parent
TRAINING = ("judge/fit/train_silhouette.py", "judge/fit/train_defect.py", "judge/fit/calibrate.py", "judge/fit/train_look.py",
            "world/styles.py")


def _render(i: int = 3):
    r = render_sample(7, i, 64)
    return r.image, r.mask[None].astype(np.uint8)


def test_randomise_is_deterministic_per_seed():
    image, masks = _render()
    pts = np.array([[20.0, 30.0]])
    a = styles.randomise(np.random.default_rng(5), image, masks, pts)
    b = styles.randomise(np.random.default_rng(5), image, masks, pts)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    looks = {styles.randomise(np.random.default_rng(s), image, masks, pts)[0].tobytes() for s in range(6)}
    assert len(looks) == 6


def test_plain_style_leaves_the_picture_alone():
    image, masks = _render()
    pts = np.array([[10.0, 12.0, 2.0]])
    out, m, p = styles.warp(styles.PLAIN, image, masks, pts)
    assert out is image and m is masks and p is pts
    assert np.array_equal(styles.paint(styles.PLAIN, image, masks[0]), image)


def test_rotation_and_scale_move_the_targets_with_the_picture():
    """A disc around a target point: after the warp, the moved point sits at the moved disc's centre."""
    ys, xs = np.mgrid[0:64, 0:64] + 0.5
    point = np.array([[22.0, 40.0, 7.0]])  # x, y, heat channel
    disc = ((xs - 22) ** 2 + (ys - 40) ** 2 <= 16).astype(np.uint8)
    hand = np.zeros((64, 64), np.uint8)
    hand[10:54, 12:50] = 1
    image = np.dstack([hand * 200] * 3).astype(np.uint8)
    style = styles.Style(angle=63.0, scale=0.8, shift=(0.2, 0.9))
    _, moved, pts = styles.warp(style, image, np.stack([hand, disc]), point)
    ys2, xs2 = np.nonzero(moved[1])
    assert abs(xs2.mean() + 0.5 - pts[0, 0]) < 0.3 and abs(ys2.mean() + 0.5 - pts[0, 1]) < 0.3
    assert pts[0, 2] == 7.0  # the channel is not a coordinate
    assert moved[0].sum() == pytest.approx(hand.sum() * 0.64, rel=0.1)  # scaled by 0.8 in each direction
    assert not np.array_equal(moved[1], disc)


def test_a_new_background_keeps_the_hand_and_replaces_the_rest():
    image, masks = _render()
    hand = masks[0].astype(bool)
    out = styles.paint(styles.Style(background="busy", seed=3), image, hand)
    import cv2

    core = cv2.erode(hand.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    far = ~cv2.dilate(hand.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert np.abs(out[core].astype(int) - image[core]).max() <= 1
    assert np.abs(out[far].astype(int) - image[far]).mean() > 10


def test_flat_skin_and_an_outline():
    image, masks = _render()
    hand = masks[0].astype(bool)
    style = styles.Style(skin="flat", skin_colour=(250.0, 210.0, 80.0), outline=1.0, ink=(0.0, 0.0, 0.0))
    out = styles.paint(style, image, hand)
    import cv2

    core = cv2.erode(hand.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    ring = cv2.dilate(hand.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~hand
    assert np.abs(out[core].astype(int) - [250, 210, 80]).max() <= 1
    assert out[ring].mean() < 40


def test_an_outline_can_reach_into_the_hand_as_drawn_lines_do():
    image, masks = _render()
    hand = masks[0].astype(bool)
    import cv2

    edge = hand & ~cv2.erode(hand.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    outside = styles.Style(skin="flat", skin_colour=(250.0, 210.0, 80.0), outline=1.0, ink=(0.0, 0.0, 0.0))
    inside = replace(outside, ink_inside=1.0)
    assert styles.paint(outside, image, hand)[edge].mean() > 100  # the hand's own edge pixels stay skin
    assert styles.paint(inside, image, hand)[edge].mean() < 60  # inked


def test_drawing_ink_inside_leaves_every_other_draw_of_a_style_alone():
    """Looks drawn without it (the validation renders' and the fits' looks) stay as they were."""
    for s in range(40):
        plain, inked = (styles.sample_style(np.random.default_rng(s), 0.15, share) for share in (0.0, 1.0))
        assert plain.ink_inside == 0.0
        assert replace(inked, ink_inside=0.0) == plain
        assert (inked.ink_inside > 0) == (inked.outline > 0)


def test_a_line_drawing_leaves_the_hand_unfilled_in_an_ink_that_stands_out():
    image, masks = _render()
    hand = masks[0].astype(bool)
    import cv2

    core = cv2.erode(hand.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    edge = hand & ~cv2.erode(hand.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    for background, ink_is_light in (("dark", True), ("bright", False)):
        style = styles.line_drawing(styles.Style(background=background, seed=5, ink=(10.0, 10.0, 10.0)),
                                    np.random.default_rng(0))
        out = styles.paint(style, image, hand).astype(float)
        far = out[~cv2.dilate(hand.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)].mean(0)
        # the inside of the hand is mostly the background again, and its edge is inked against it
        assert np.median(np.abs(out[core] - far).sum(1)) < 40
        assert (out[edge].mean() > far.mean() + 60) if ink_is_light else (out[edge].mean() < far.mean() - 60)


def test_drawing_line_art_leaves_every_other_draw_of_a_style_alone():
    for s in range(40):
        plain, drawn = (styles.sample_style(np.random.default_rng(s), 0.15, line_art=share) for share in (0.0, 1.0))
        assert plain.skin != "line"
        if drawn.skin == "line":
            assert drawn.background != "busy" and drawn.outline > 0 and drawn.inner_lines
            assert (drawn.angle, drawn.scale, drawn.seed, drawn.jpeg) == (plain.angle, plain.scale, plain.seed, plain.jpeg)
        else:  # the plain looks (15 %) stay plain
            assert drawn == plain


def test_flat_skin_turns_two_tone_when_a_fingertip_lies_inside_the_hand():
    hand = np.zeros((64, 64), bool)
    hand[10:50, 10:50] = True
    flat = styles.Style(skin="flat")
    assert styles.legible(flat, hand, np.array([[30.0, 30.0]])).skin == "toon"
    assert styles.legible(flat, hand, np.array([[10.5, 30.0]])).skin == "flat"


def test_sampled_styles_cover_every_background_and_skin():
    drawn = [styles.sample_style(np.random.default_rng(s)) for s in range(300)]
    assert {s.background for s in drawn} == set(styles.BACKGROUNDS)
    assert {s.skin for s in drawn} == set(styles.SKINS)
    assert any(s.outline for s in drawn) and any(s.jpeg for s in drawn) and any(s.geometric for s in drawn)


def test_cartoon_hands_are_deterministic_and_carry_their_truth():
    a, b = draw_hand(11, 4), draw_hand(11, 4)
    assert np.array_equal(a.image, b.image) and a.image.shape == (64, 64, 3) and a.image.dtype == np.uint8
    assert a.label["extended_count"] == len(GESTURE_DIGITS[a.label["gesture"]]) and a.label["malformation"] is None
    ink = (a.image.astype(int).sum(2) < 150).mean()
    assert 0.01 < ink < 0.3  # an outlined drawing, not a blank or a blot


@pytest.mark.parametrize("look", ["chalk", "pencil", "watercolour", "shadow"])
def test_a_drawn_look_is_the_same_hand_with_the_same_truth(look):
    cartoon, drawn = draw_hand(11, 4), draw_hand(11, 4, look=look)
    assert np.array_equal(drawn.image, draw_hand(11, 4, look=look).image)
    assert drawn.label["style"] == look
    assert {k: v for k, v in drawn.label.items() if k != "style"} == {k: v for k, v in cartoon.label.items() if k != "style"}


def test_chalk_is_light_lines_on_a_dark_board_and_pencil_dark_lines_on_paper():
    chalk = draw_hand(11, 4, look="chalk").image.astype(float).mean(2)
    assert np.median(chalk) < 70 and 0.01 < (chalk > 120).mean() < 0.25  # not filled in
    pencil = draw_hand(11, 4, look="pencil").image.astype(float).mean(2)
    assert np.median(pencil) > 200 and 0.01 < (pencil < np.median(pencil) - 40).mean() < 0.2
    with pytest.raises(ValueError, match="unknown look"):
        draw_hand(11, 4, look="oil")


def test_a_shadow_hand_is_one_solid_dark_shape_on_paper():
    grey = draw_hand(11, 4, look="shadow").image.astype(float).mean(2)
    dark, paper = grey < 80, grey > 180
    assert 0.05 < dark.mean() < 0.5 and (dark | paper).mean() > 0.93  # hardly a tone between ink and paper


def test_watercolour_is_a_soft_skin_wash_without_dark_ink():
    wash = draw_hand(11, 4, look="watercolour").image.astype(float)
    cartoon = draw_hand(11, 4).image.astype(float)
    grey = wash.mean(2)
    assert np.median(grey) > 200  # paper
    assert 0.05 < (grey < np.median(grey) - 30).mean() < 0.5  # the hand is filled in
    assert (grey < 60).mean() < 0.005 < (cartoon.mean(2) < 60).mean()  # no dark ink line, as the cartoon has
    soft = lambda im: np.abs(np.diff(im.mean(2), axis=1)).max()  # noqa: E731
    assert soft(wash) < soft(cartoon)  # softer edges than the cartoon's


@pytest.mark.parametrize("kind", MALFORMATIONS)
def test_cartoon_malformations_change_the_count(kind):
    for i in range(4):
        c = draw_hand(11, i, malformation=kind)
        change = 1 if kind == "extra_finger" else -1
        assert c.label["extended_count"] == c.label["asked_count"] + change
        assert c.label["malformation"] == kind


def test_no_witness_trains_on_the_cartoon_style():
    """The 2D style is held out: no training or calibration module names it or imports it."""
    for path in TRAINING:
        assert "style2d" not in (ROOT / path).read_text(), path
    modules = [p.removesuffix(".py").replace("/", ".") for p in TRAINING]
    code = f"import sys; import {', '.join(modules)}; print('world.style2d' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_checkpoint_round_trip(tmp_path):
    import torch

    from judge.fit.train_silhouette import load_checkpoint, save_checkpoint

    net = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    net(torch.ones(4, 3)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "c.safetensors", net, opt, {"epoch": 2, "rng": np.random.default_rng(1).bit_generator.state})
    net2 = torch.nn.Linear(3, 2)
    opt2 = torch.optim.AdamW(net2.parameters(), lr=1e-2)
    meta = load_checkpoint(tmp_path / "c.safetensors", net2, opt2)
    assert meta["epoch"] == 2 and torch.equal(net.weight, net2.weight)
    assert torch.equal(opt.state_dict()["state"][0]["exp_avg"], opt2.state_dict()["state"][0]["exp_avg"])


def test_randomised_training_resumes(tmp_path, monkeypatch):
    """Two randomised epochs in two runs: the second resumes from the first's checkpoint."""
    from judge.fit import train_silhouette

    monkeypatch.setenv("HANDS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "s.safetensors"
    args = ["--count", "16", "--batch", "8", "--threads", "1", "--randomise", "--out", str(out), "--dir", str(tmp_path)]
    assert train_silhouette.main([*args, "--epochs", "1"]) == 0
    result = train_silhouette.train(16, 2, 8, out, 1, randomise=True, resume=True)
    assert [e["epoch"] for e in result["log"]] == [1, 2] and out.exists()


def test_styles_cli_refuses_bad_counts(capsys):
    from judge.fit import styles as fit_styles

    assert fit_styles.main(["--per-gesture", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
