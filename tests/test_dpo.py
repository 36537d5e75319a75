"""Learning from feedback (models.training.dpo, models.feedback_pairs): the DPO loss and its controls on a tiny UNet,
a run through `python -m models.train` that resumes and is served as the `feedback` variant, and pair sets whose
held-out pictures are never trained on. A tiny random reference stands in for the shipped model: seconds, not minutes.
"""

from __future__ import annotations

import json
import math

import numpy as np
import torch
from accelerate import Accelerator
from test_distill import weights  # noqa: F401  (the fixture, read through `request`: a tiny random diffusion/full)

from core.vocab import HandSpec
from feedback.store import Pair, Side, Store, new_pair_id
from models.base import GenerateOptions
from models.feedback_pairs import (
    PairSet,
    Preference,
    assemble,
    from_votes,
    graded_pairs,
    held_out,
    png_sha256,
)
from models.registry import FEEDBACK, Registry, family_record
from models.train import main as train_main
from models.training import dpo

SMALL_RUN = {"eval_every": 2, "eval_pairs": 4, "eval_draws": 2, "beta_probe_pairs": 4, "eval_chunk": 4, "warmup_steps": 1}
SPEC = HandSpec(gesture="peace")


def toy_pairs(n: int = 8, heldout: int = 4) -> PairSet:
    """n pairs over 2n random pictures, the last `heldout` of them held out: a smooth winner against a noisy loser."""
    gen = torch.Generator().manual_seed(1)
    smooth = torch.full((n, 3, 64, 64), 128, dtype=torch.uint8)
    noisy = torch.randint(0, 256, (n, 3, 64, 64), generator=gen, dtype=torch.uint8)
    return PairSet("raters", torch.cat([smooth, noisy]), torch.arange(n), torch.arange(n, 2 * n),
                   torch.tensor([[3, 2, 4, 5, 3]] * n), torch.arange(n) >= n - heldout, torch.ones(n),
                   {"counts": {"train": n - heldout, "heldout": heldout}})


def trainer(root, **overrides) -> dpo.PreferenceTrainer:
    config = dict(dpo.TRAIN_DEFAULTS, **SMALL_RUN, size=64, **overrides)
    reference = root / "diffusion" / "full"
    return dpo.PreferenceTrainer(reference, json.loads((reference / "training.json").read_text())["config"], config,
                                 Accelerator(mixed_precision="no", cpu=True))


def draw(t: dpo.PreferenceTrainer, pairs: PairSet, seed: int = 0):
    x_w, x_l, cond = dpo.batch_of(pairs, torch.arange(len(pairs)), "cpu")
    return (x_w, x_l, cond, *t.t_and_noise(len(pairs), torch.Generator().manual_seed(seed)))


def test_loss_at_init_is_log_2(request):
    """The trained copy starts as the reference: every logit is 0, the loss log 2, the held-out accuracy one half."""
    t = trainer(request.getfixturevalue("weights"))
    logit, _ = t.logits(*draw(t, toy_pairs()))
    loss = -torch.nn.functional.logsigmoid(t.beta * logit).mean()
    assert logit.abs().max().item() < 1e-6  # train mode's kernels differ from eval's in the last bit
    assert abs(loss.item() - math.log(2)) < 1e-6
    assert t.pair_accuracy(toy_pairs().part(True))["accuracy"] == 0.5


def test_one_step_moves_the_reward_toward_the_winner(request):
    """One DPO step on a pair, then the same (t, noise): the implicit reward now ranks the winner first; the
    shuffled-label placebo (here: every label swapped) moves it the other way."""
    root, pairs = request.getfixturevalue("weights"), toy_pairs(4, 0)
    for swap, sign in ((False, 1.0), (True, -1.0)):
        t = trainer(root, lr=1e-3, sft_weight=0.0)  # the DPO loss alone
        t.beta = 10.0
        seen = pairs.swapped(torch.full((len(pairs),), swap))
        stats = t.dpo_step(*dpo.batch_of(seen, torch.arange(len(seen)), "cpu"), 0, torch.Generator().manual_seed(5))
        assert abs(stats["loss"] - math.log(2)) < 1e-6  # the step's own loss, taken at the start
        logit, _ = t.logits(*draw(t, pairs, seed=5))
        assert sign * logit.mean().item() > 0, (swap, logit)


def test_the_renders_anchor_replaces_the_winners(request):
    """dpo-renders: the step's loss is the DPO loss plus beta/4 x the anchor pictures' v-MSE, drawn after the pair's
    (t, noise) from the same generator; the winners' own error no longer enters it."""
    t = trainer(request.getfixturevalue("weights"))
    t.beta = 8.0
    pairs = toy_pairs(4, 0)
    x_w, x_l, cond = dpo.batch_of(pairs, torch.arange(len(pairs)), "cpu")
    anchor = (torch.rand(3, 3, 64, 64) * 2 - 1, torch.tensor([[1, 0, 2, 3, 1]] * 3))
    gen = torch.Generator().manual_seed(9)
    t.t_and_noise(len(cond), gen)  # the pair's draw
    with torch.no_grad():
        expected = math.log(2) + t.beta / 4 * t.v_mse(t.unet, t.conditioner, *anchor, *t.t_and_noise(3, gen)).mean().item()
        winners = t.v_mse(t.unet, t.conditioner, x_w, cond, *t.t_and_noise(len(cond), torch.Generator().manual_seed(9)))
    stats = t.dpo_step(x_w, x_l, cond, 0, torch.Generator().manual_seed(9), anchor)
    assert abs(stats["loss"] - expected) < 1e-4 * expected
    assert abs(stats["loss"] - (math.log(2) + t.beta / 4 * winners.mean().item())) > 1e-3


def test_shuffled_labels_swap_a_fixed_half():
    pairs = toy_pairs(200, 0)
    once, again = dpo.shuffled_labels(pairs, 23), dpo.shuffled_labels(pairs, 23)
    swapped = once.winner != pairs.winner
    assert torch.equal(once.winner, again.winner) and 70 < int(swapped.sum()) < 130
    assert torch.equal(once.winner[swapped], pairs.loser[swapped]) and torch.equal(once.loser[~swapped], pairs.loser[~swapped])


def test_run_resumes_exports_the_best_and_is_served(request, tmp_path, monkeypatch):
    """Steps 1-2, then 3-4 resumed from the checkpoint; the best state by held-out pair accuracy exported with its
    card; shipped as diffusion/feedback it loads in the registry at the family's defaults. Bad pairs: one line."""
    tiny_reference = request.getfixturevalue("weights")
    for key, value in SMALL_RUN.items():
        monkeypatch.setitem(dpo.TRAIN_DEFAULTS, key, value)
    pairs_path = tmp_path / "pairs.safetensors"
    toy_pairs().save(pairs_path)
    run, export = tmp_path / "run", tiny_reference / "diffusion" / FEEDBACK
    common = ["diffusion", "--variant", FEEDBACK, "--pairs-file", str(pairs_path), "--batch", "2", "--lr", "1e-3",
              "--run-dir", str(run), "--export", str(export), "--log-every", "1", "--threads", "1", "--mixed-precision", "no"]
    assert train_main(common + ["--steps", "2"]) == 0
    assert train_main(common + ["--steps", "4"]) == 0

    rows = (run / "train_log.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    assert all(np.isfinite(float(r.split(",")[header.index("loss")])) for r in rows[1:])
    info = json.loads((export / "training.json").read_text())
    fb = info["feedback"]
    assert fb["steps_run"] == 4 and [h[0] for h in fb["heldout_history"]] == [0, 2, 4] and fb["beta"] > 0
    assert fb["heldout_accuracy"] == max(h[1] for h in fb["heldout_history"]) and info["final"]
    assert "preference pairs from **raters**" in (export / "MODEL_CARD.md").read_text()
    assert sorted(p.name for p in (run / "evals").iterdir()) == ["step-000002", "step-000004"]  # every measured state

    served = Registry(tiny_reference).load("diffusion", FEEDBACK)
    assert served.variant == FEEDBACK and family_record("diffusion").defaults_for(FEEDBACK) == served.defaults
    assert len(served.generate(SPEC, 1, 0).images) == 1

    PairSet("raters", *(getattr(toy_pairs(), k) for k in ("pictures", "winner", "loser", "cond")),
            torch.zeros(8, dtype=torch.bool), torch.ones(8), {}).save(pairs_path)  # no held-out pair
    assert train_main(common + ["--run-dir", str(tmp_path / "other"), "--steps", "1"]) == 2


def preference(unit_w: str, unit_l: str, value: int) -> Preference:
    return Preference(np.full((64, 64, 3), value, np.uint8), np.full((64, 64, 3), value + 1, np.uint8), SPEC, 1.0,
                      (unit_w, unit_l))


def test_split_keeps_held_out_pictures_out_of_training():
    """Pairs are held out only with both pictures held out; straddling pairs are dropped; the split is a fixed hash."""
    units = [f"rater:{i}" for i in range(200)]
    assert held_out("rater:7") == held_out("rater:7") and 20 < sum(map(held_out, units)) < 60
    prefs = [preference(units[i], units[i + 1], i) for i in range(0, 198)]
    pairs = assemble("raters", prefs, {})
    train, test = pairs.part(False), pairs.part(True)
    seen = set(train.winner.tolist()) | set(train.loser.tolist())
    assert len(test) > 0 and not seen & (set(test.winner.tolist()) | set(test.loser.tolist()))
    counts = pairs.info["counts"]
    assert counts["train"] + counts["heldout"] + counts["dropped_straddling"] == len(prefs)
    assert counts["dropped_straddling"] == sum(held_out(units[i]) != held_out(units[i + 1]) for i in range(198))


def test_graded_pairs_pair_within_a_group_by_the_gap():
    items = [(np.zeros((64, 64, 3), np.uint8), SPEC, q, f"u{i}") for i, q in enumerate([1.0, 2.0, 2.5, 4.0])]
    pairs = graded_pairs(items, ["a", "a", "a", "b"], 1.0)
    assert sorted(p.units for p in pairs) == [("u1", "u0"), ("u2", "u0")]  # u3 is alone in its group; 2.0 vs 2.5 too close


def test_votes_become_pairs_only_when_their_pictures_come_back(request, tmp_path):
    """A decisive vote gives a pair (the winner drawn again byte for byte); a tie, and a picture whose hash does not
    match what was served, give none."""
    tiny_reference = request.getfixturevalue("weights")
    registry, store = Registry(tiny_reference), Store(tmp_path / "votes", clock=iter(range(0, 1000, 10)).__next__)
    generator = registry.load("diffusion", "full")
    options = {"steps": 2, "guidance": 2.5, "sampler": "dpm++"}

    def side(seed: int, sha: str | None = None) -> Side:
        image = generator.generate(SPEC, 1, seed, GenerateOptions(**options)).images[0]
        return Side("diffusion", "full", seed, sha or png_sha256(image), options=options,
                    trained_steps=registry.trained_steps("diffusion", "full"))

    for answer, right in (("right", side(2)), ("tie", side(3)), ("left", side(4, sha="0" * 64))):
        pair = store.serve(Pair(new_pair_id(), "s", "seeds", "a peace sign", SPEC.to_dict(), {}, side(1), right))
        store.vote(pair.pair_id, "s", answer)
    pairs = from_votes(store, registry)
    assert len(pairs) == 1 and pairs.info["skipped"] == {"tie": 1, "both_bad": 0, "not_reproduced": 1}
    winner = generator.generate(SPEC, 1, 2, GenerateOptions(**options)).images[0]
    assert np.array_equal(pairs.pictures[pairs.winner[0]].permute(1, 2, 0).numpy(), np.asarray(winner))


def test_every_control_runs_on_the_same_pairs(request, tmp_path, monkeypatch):
    """sft-winners, the shuffled placebo, continued training and DPO anchored on renders (16 renders) run through the same
    CLI and say so."""
    request.getfixturevalue("weights")  # the tiny reference, as HANDS_WEIGHTS
    for key, value in SMALL_RUN.items():
        monkeypatch.setitem(dpo.TRAIN_DEFAULTS, key, value)
    monkeypatch.setenv("HANDS_CACHE", str(tmp_path / "cache"))
    toy_pairs().save(tmp_path / "pairs.safetensors")
    for objective in ("sft-winners", "dpo-shuffled", "continued", "dpo-renders", "dpo-renders-shuffled"):
        export = tmp_path / objective / "best"
        assert train_main(["diffusion", "--variant", FEEDBACK, "--pairs-file", str(tmp_path / "pairs.safetensors"),
                           "--objective", objective, "--steps", "2", "--batch", "2", "--data-size", "16",
                           "--run-dir", str(tmp_path / objective), "--export", str(export), "--threads", "1",
                           "--mixed-precision", "no"]) == 0
        info = json.loads((export / "training.json").read_text())
        assert info["feedback"]["objective"] == objective and info["feedback"]["steps_run"] == 2
