"""Learn from feedback: Diffusion-DPO (Wallace et al. 2023, arXiv 2311.12908) on the shipped diffusion/full, and its controls.

    python -m models.train diffusion --variant feedback --pairs raters --objective dpo --steps 500 --threads 1
    python -m bench.feedback_pairs raters --train dpo,sft-winners,dpo-shuffled,continued --steps 500   # all four

Method. A frozen reference (the shipped diffusion/full, its EMA weights) and a trained copy initialised from it.
For a pair (winner w, loser l, one condition c) draw one timestep t and one noise e, shared by both pictures; noise
both; take each network's denoising error on each picture *in the model's own parameterisation*, v-prediction
(v = sqrt(abar) e - sqrt(1 - abar) x0; the paper writes it for e, the loss is the same with v in e's place):
    err(net, x) = mean over pixels of (v(x, e, t) - net(z_t(x, e), t, c))^2
    logit = -1/2 [(err(theta, w) - err(ref, w)) - (err(theta, l) - err(ref, l))]
    loss  = -log sigmoid(beta * logit)
so the model is pushed to denoise the winner better, and the loser worse, than the reference does. Plain v-MSE, no
Min-SNR weighting inside the logit (the paper's loss is the unweighted model loss); at any noise level
v-MSE = x0-MSE / (1 - abar), e-MSE = x0-MSE * SNR, so v weighs the noisy timesteps more than e would.

beta. At the start the trained copy *is* the reference, so every logit is 0 and beta * |logit| ~ 1 cannot be read off
the logits. What the logit measures is how far the model has moved its winner-minus-loser error difference
d = err(w) - err(l) away from the reference's; the natural scale of that difference is its spread across pairs, noise
and timesteps under the reference. So beta = 2 / median |d_ref| over `beta_probe_pairs` training pairs (one draw
each): a model that moves d by one typical reference difference reaches beta * |logit| = 1. Measured once at the
start of a run, kept in its checkpoint, the same for every objective (the probe does not read the labels' sign).

Controls, at the same number of steps, batch, seed and pair order (`--objective`):
- `dpo`: the loss above + `sft_weight` x beta/4 x the winners' v-MSE (beta/4 is the DPO loss's own pull on a winner's
  error at the start, so weight 1 pulls the winner down twice as hard as the loser up). Without it DPO lowers its
  loss by letting every error grow, the loser's more: 40 steps on the rater pairs (lr 1e-5, batch 16) moved the
  winners' error +0.0034 and the losers' +0.0077 above the reference's (the errors are ~0.04); with weight 1,
  -0.00045 and +0.00095: the winner better than the reference, the loser worse, as DPO means. `sft_weight` 0 is the
  paper's pure loss;
- `sft-winners`: the trainer's own loss (Min-SNR v-prediction) on the winners of the same pairs, losers unused;
- `dpo-shuffled`: DPO with each training pair's labels swapped at random (a fixed coin per pair): a placebo;
- `continued`: plain continued training on the original renders (`--data-size`, the full run's 20,000 by default).
- `dpo-renders`: DPO whose anchor is the renders' v-MSE (a batch of the original renders each step) instead of the
  winners': the same pull towards denoising well, spent on the 20,000 pictures the model learnt from rather than on a
  few hundred rated ones. Why: on the rater pairs DPO and its placebo both raised near-duplicates by ~8 points while
  plain continued training raised them 1.6, so the lost variety came from anchoring on the few rated pictures;
- `dpo-renders-shuffled`: its placebo, `dpo-renders` with the labels shuffled as in `dpo-shuffled`.

Checkpoint selection: every `eval_every` steps, the implicit reward of the EMA weights on the held-out pairs (pairs
whose pictures the fit never saw, `models.feedback_pairs`): the logit above averaged over `eval_draws` fixed
(t, noise) draws per pair, t stratified over the schedule; pair accuracy = share of held-out pairs with logit > 0
(ties count half: the start is exactly 0.5). The best state by held-out pair accuracy is what is exported (never the
training loss, which can stay flat while the win rate moves); the run's last state stays in its checkpoint.

Every objective is measured the same way. Read the pair accuracy only against the placebo's at the same step, never
against 0.5: winners and losers differ in their image statistics (a rater pair often sets one sampler setting or
training stage against another), so a change that carries no preference at all still moves their errors apart.
Measured (`python -m bench.feedback_pairs raters --null-check 128`, 128 held-out rater pairs, no training): the
reference 0.50; its output layer scaled by 1.01, 0.77; by 0.99, 0.25; weights jittered by 1e-3, 0.53 (the reference
alone denoises the winner better on 0.74). The accuracy mostly reads whether errors grew or shrank, so DPO can lower
its loss by letting every error grow (see `sft_weight` above), and the controls, which lower
errors, read below 0.5 and would be "chosen" at their start. Hence every measured state is also kept (fp16, as
shipped) under <run dir>/evals/step-N: compare the controls with DPO at DPO's chosen step (`python -m bench.feedback
--path <run dir>/evals/step-N`), and choose again on the margin over the placebo if it disagrees.

Condition dropout as in training (`models.train.drop_conditions`, the same for a pair's two pictures), so the
classifier-free guidance branch moves with the conditional one. Checkpoints (safetensors) every `--checkpoint-minutes`; rerunning resumes.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F

from core import settings
from models.card import card
from models.diffusion import load_pipeline
from models.feedback_pairs import PairSet, pairs_file
from models.training import checkpoint
from models.training.diffusion import Trainer

# ---------------------------------------------------------------------------------------------
# The configuration (one block; `--batch` and `--lr` override what they name)
# ---------------------------------------------------------------------------------------------

OBJECTIVES: tuple[str, ...] = ("dpo", "sft-winners", "dpo-shuffled", "continued", "dpo-renders", "dpo-renders-shuffled")
SHUFFLED = frozenset({"dpo-shuffled", "dpo-renders-shuffled"})  # the placebos: labels swapped by a fixed coin
RENDERS_ANCHORED = frozenset({"dpo-renders", "dpo-renders-shuffled"})  # DPO anchored on the renders, not the winners
TRAIN_DEFAULTS: dict = {
    "reference": "full",  # the shipped variant fine-tuned, and the frozen reference (models/weights/diffusion/<reference>)
    "batch": 16,  # pairs per step (sft-winners: their 16 winners; continued: 16 renders)
    "lr": 1e-5,  # AdamW; a tenth of the last stretch of the full run's
    "weight_decay": 0.0,
    "warmup_steps": 25,
    "grad_clip": 1.0,
    "beta": None,  # None: measured at the start (module docstring); a number fixes it
    "beta_probe_pairs": 256,
    "sft_weight": 1.0,  # dpo, dpo-shuffled: + this x beta/4 x the winners' v-MSE (module docstring); 0: pure DPO
    "ema_decay": 0.99,  # a short EMA: a few hundred steps must be able to move it
    "ema_power": 0.75,
    "eval_every": 50,  # steps between held-out pair accuracies (and the best state's export)
    "eval_pairs": 256,  # held-out pairs scored (the first ones; all when fewer)
    "eval_draws": 4,  # fixed (t, noise) draws per held-out pair, t stratified in as many bands
    "eval_seed": 17,
    "eval_chunk": 32,  # pairs per forward when measuring
    "flip_seed": 23,  # dpo-shuffled: which training pairs have their labels swapped
    "keep_evals": True,  # every measured state kept under <run dir>/evals/ (fp16, 9.5 MB each), to choose again later
}


# ---------------------------------------------------------------------------------------------
# The trainer
# ---------------------------------------------------------------------------------------------


class PreferenceTrainer(Trainer):
    """The diffusion Trainer (AdamW, warm-up, EMA, export, checkpointed state) started from the reference's weights,
    beside a frozen copy of the reference, with the DPO logit, its held-out pair accuracy and the controls' steps."""

    def __init__(self, reference_dir: Path, reference_config: dict, config: dict, accelerator) -> None:
        super().__init__({**reference_config, **config}, accelerator)  # the reference's network, this run's optimiser
        self.warm_start(reference_dir, 0)
        self.reference_config = reference_config
        self.reference = load_pipeline(reference_dir, str(accelerator.device))
        self.reference.unet.requires_grad_(False)
        self.reference.conditioner.requires_grad_(False)
        self.beta = 1.0
        self._reference_cache: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}

    def errors(self, unet, conditioner, x_w: torch.Tensor, x_l: torch.Tensor, cond: torch.Tensor, t: torch.Tensor,
               noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-pair v-MSE of one network on the winners and the losers, both noised with the same (t, noise)."""
        both = self.v_mse(unet, conditioner, torch.cat([x_w, x_l]), torch.cat([cond, cond]), torch.cat([t, t]),
                          torch.cat([noise, noise]))
        return both.chunk(2)

    def v_mse(self, unet, conditioner, x: torch.Tensor, cond: torch.Tensor, t: torch.Tensor,
              noise: torch.Tensor) -> torch.Tensor:
        """Per-picture plain v-MSE of one network on pictures in [-1, 1] noised with (t, noise): the DPO logit's unit."""
        patch = self.config["patch"]
        x0 = F.pixel_unshuffle(x, patch) if patch > 1 else x
        target = self.scheduler.get_velocity(x0, noise, t)
        with self.accelerator.autocast():
            pred = unet(self.scheduler.add_noise(x0, noise, t), t, class_labels=conditioner(cond)).sample
        return (pred.float() - target).square().mean(dim=(1, 2, 3))

    def reference_errors(self, *batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            return self.errors(self.reference.unet, self.reference.conditioner, *batch)

    def logits(self, *batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The DPO logit per pair (module docstring), and the policy's errors relative to the reference's."""
        pw, pl = self.errors(self.unet, self.conditioner, *batch)
        rw, rl = self.reference_errors(*batch)
        logit = -0.5 * ((pw - rw) - (pl - rl))
        return logit, {"winner_mse": pw, "winner_vs_ref": pw - rw, "loser_vs_ref": pl - rl}

    def t_and_noise(self, n: int, gen: torch.Generator, bands: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(timesteps, noise in unet space) for n pairs, from `gen`; `bands` = (k, K): t in the k-th of K equal bands."""
        total = self.scheduler.config.num_train_timesteps
        lo, hi = (0, total) if bands is None else (bands[0] * total // bands[1], (bands[0] + 1) * total // bands[1])
        t = torch.randint(lo, hi, (n,), generator=gen)
        channels, size = self.reference.unet.config.in_channels, self.reference.unet.config.sample_size
        noise = torch.randn((n, channels, size, size), generator=gen)
        device = self.accelerator.device
        return t.to(device), noise.to(device)

    def dpo_step(self, x_w: torch.Tensor, x_l: torch.Tensor, cond: torch.Tensor, step: int,
                 gen: torch.Generator, anchor: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, float]:
        """One DPO update; its anchor is the winners' v-MSE, or that of `anchor` (pictures, conditions) when given."""
        t, noise = self.t_and_noise(len(cond), gen)
        logit, parts = self.logits(x_w, x_l, cond, t, noise)
        loss = -F.logsigmoid(self.beta * logit).mean()
        if self.config["sft_weight"]:  # beta / 4: DPO's own pull on a winner's error at the start, per pair
            anchored = parts["winner_mse"] if anchor is None else self.v_mse(
                self.unet, self.conditioner, *anchor, *self.t_and_noise(len(anchor[1]), gen))
            loss = loss + self.config["sft_weight"] * self.beta / 4 * anchored.mean()
        stats = self.optimise(loss, step)
        return {**stats, "logit": logit.mean().item(), "train_accuracy": (logit > 0).float().mean().item(),
                "winner_vs_ref": parts["winner_vs_ref"].mean().item(), "loser_vs_ref": parts["loser_vs_ref"].mean().item()}

    @torch.no_grad()
    def measure_beta(self, pairs: PairSet, n: int, seed: int) -> tuple[float, float]:
        """(beta, median |d_ref|) from the reference's winner-minus-loser errors on up to n pairs (module docstring)."""
        gen = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(pairs), generator=gen)[:n]
        diffs = []
        for chunk in idx.split(self.config["eval_chunk"]):
            x_w, x_l, cond = batch_of(pairs, chunk, self.accelerator.device)
            rw, rl = self.reference_errors(x_w, x_l, cond, *self.t_and_noise(len(chunk), gen))
            diffs.append((rw - rl).abs().cpu())
        scale = float(torch.cat(diffs).median())
        return 2.0 / scale, scale

    @torch.no_grad()
    def heldout_errors(self, pairs: PairSet) -> tuple[torch.Tensor, torch.Tensor]:
        """(policy, reference) v-MSE on the held-out pairs, each (n, draws, 2: winner, loser), on fixed draws; the policy
        is the EMA weights rounded to fp16, as exported and served (a few hundred small steps can be below fp16's
        resolution: what is measured must be what ships)."""
        config, draws = self.config, self.config["eval_draws"]
        self.ema.store(self._params())
        self.ema.copy_to(self._params())
        for p in self._params():
            p.copy_(p.half().float())
        self.unet.eval()  # as the reference runs (train mode's kernels differ in the last bit: the start would not tie)
        policy, reference = torch.zeros(len(pairs), draws, 2), torch.zeros(len(pairs), draws, 2)
        try:
            for i, chunk in enumerate(torch.arange(len(pairs)).split(config["eval_chunk"])):
                x_w, x_l, cond = batch_of(pairs, chunk, self.accelerator.device)
                for k in range(draws):
                    gen = torch.Generator().manual_seed(config["eval_seed"] * 1_000_003 + i * 101 + k)
                    draw = (x_w, x_l, cond, *self.t_and_noise(len(chunk), gen, (k, draws)))
                    if (i, k) not in self._reference_cache:
                        self._reference_cache[i, k] = torch.stack(self.reference_errors(*draw), 1).cpu()
                    reference[chunk, k] = self._reference_cache[i, k]
                    policy[chunk, k] = torch.stack(self.errors(self.unet, self.conditioner, *draw), 1).cpu()
        finally:
            self.ema.restore(self._params())
            self.unet.train()
        return policy, reference

    def pair_accuracy(self, pairs: PairSet) -> dict[str, float]:
        return pair_stats(*self.heldout_errors(pairs))


def pair_stats(policy: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
    """From held-out errors (n, draws, 2: winner, loser): the pair accuracy (the logit averaged over the draws > 0;
    ties, |logit| within float noise of the errors, count half, so the start is 0.5), the mean logit, and how often
    the reference alone denoises the winner better (its own likelihood ranking, fixed for a run)."""
    change = policy.double() - reference.double()
    logits = (-0.5 * (change[..., 0] - change[..., 1])).mean(1)
    tie = 1e-9 * float(reference.abs().mean())
    accuracy = (logits > tie).double().mean() + 0.5 * (logits.abs() <= tie).double().mean()
    ref_d = (reference[..., 0] - reference[..., 1]).double().mean(1)
    return {"accuracy": float(accuracy), "mean_logit": float(logits.mean()),
            "reference_prefers_winner": float((ref_d < 0).double().mean())}


def batch_of(pairs: PairSet, idx: torch.Tensor, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(winners, losers) in [-1, 1] and their conditions, for the pairs at `idx`."""
    scale = lambda ends: pairs.pictures[ends[idx]].float().to(device) / 127.5 - 1.0
    return scale(pairs.winner), scale(pairs.loser), pairs.cond[idx].to(device)


def shuffled_labels(pairs: PairSet, seed: int) -> PairSet:
    """The placebo's pairs: each pair's winner and loser swapped by a fixed coin (about half of them)."""
    return pairs.swapped(torch.rand(len(pairs), generator=torch.Generator().manual_seed(seed)) < 0.5)


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def export_best(run, trainer: PreferenceTrainer, state: dict, pairs: PairSet, hardware: str) -> None:
    """The state just measured best on the held-out pairs: its weights, and what describes them."""
    trainer.export(run.export_dir)
    describe(run, trainer, state, pairs, hardware)


def describe(run, trainer: PreferenceTrainer, state: dict, pairs: PairSet, hardware: str) -> None:
    """training.json, the loss log and the model card of the exported state, as of the run's `state`.

    training.json's config is the reference's (the architecture the card and the parameter budget read), with this
    run's under "feedback"; "feedback" at the top says what it learned from and how much (models.card reads it).
    """
    args, config = run.args, run.config
    counts = pairs.info.get("counts", {})
    info = {
        "family": "diffusion", "variant": args.variant, "reference": f"diffusion/{config['reference']}",
        "method": f"{args.objective} on {args.pairs} pairs (models.training.dpo)",
        "data_size": counts.get("train", 0), "data_seed": args.seed, "image_size": args.size,
        "steps": state["best"]["step"], "batch": config["batch"], "images_seen": state["best"]["step"] * config["batch"],
        "wall_s": round(state["wall_s"], 1), "hardware": hardware, "mixed_precision": run.precision,
        "num_parameters": trainer.num_parameters, "config": {**trainer.reference_config, "feedback": config},
        "final": state["final"],
        "feedback": {"pairs": args.pairs, "objective": args.objective, "pair_counts": counts,
                     "pair_info": {k: v for k, v in pairs.info.items() if k != "counts"},
                     "beta": state["beta"], "beta_scale": state["beta_scale"], "steps_run": state["step"],
                     "selected_step": state["best"]["step"], "heldout_accuracy": state["best"]["accuracy"],
                     "heldout_history": state["history"]},
        "reproduce": f"python -m models.train diffusion --variant {args.variant} --pairs {args.pairs} --objective "
                     f"{args.objective} --steps {state['step']} --seed {args.seed}",
    }
    (run.export_dir / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    if (run.run_dir / "train_log.csv").exists():
        (run.export_dir / "train_log.csv").write_text((run.run_dir / "train_log.csv").read_text())
    (run.export_dir / "MODEL_CARD.md").write_text(card(run.export_dir))


def load_pairs(run) -> PairSet | str:
    """The run's pairs, or a one-line reason it has none to learn from."""
    path = run.args.pairs_file or pairs_file(run.args.pairs)
    if not path.exists():
        return f"no {run.args.pairs} pairs at {path.name}: build them first (python -m bench.feedback_pairs {run.args.pairs})"
    pairs = PairSet.load(path)
    if len(pairs.part(False)) == 0 or len(pairs.part(True)) == 0:
        return f"{path.name} has {len(pairs.part(False))} training and {len(pairs.part(True))} held-out pairs: need both"
    return pairs


def main(run, accelerator, log, hardware: str, renders: Callable[[], Iterator], drop: Callable) -> int:
    """One run of one objective on one source of pairs. From `models.train`: `run` (its Run), `log` (its LossLog),
    `renders` (the rendered training set as endless batches, for `continued`), `drop` (its drop_conditions).

    Long because it is the training loop, kept in one piece to be read top to bottom (nanoGPT style).
    """
    args, config = run.args, run.config
    pairs = load_pairs(run)
    if isinstance(pairs, str):
        print(f"error: {pairs}", file=sys.stderr)
        return 2
    train, heldout = pairs.part(False), pairs.part(True)
    heldout = heldout.take(torch.arange(min(len(heldout), config["eval_pairs"])))
    reference_dir = settings.weights_root() / "diffusion" / config["reference"]
    reference_config = json.loads((reference_dir / "training.json").read_text())["config"]
    trainer = PreferenceTrainer(reference_dir, reference_config, config, accelerator)

    # where the run left off: its checkpoint, else a fresh start (beta measured, the start's accuracy, exported)
    path = run.run_dir / "checkpoint.safetensors"
    if path.exists():
        extra, state = checkpoint.load(path, trainer.modules, trainer.optimizers)
        trainer.load_extra_state(extra)
        run.say(f"resumed {args.objective} on {args.pairs} pairs at step {state['step']}")
    else:
        beta, scale = (config["beta"], None) if config["beta"] else trainer.measure_beta(train, config["beta_probe_pairs"], args.seed)
        start = trainer.pair_accuracy(heldout)
        state = {"step": 0, "wall_s": 0.0, "beta": beta, "beta_scale": scale, "final": False,
                 "best": {"step": 0, **start}, "history": [[0, start["accuracy"], start["mean_logit"]]]}
        export_best(run, trainer, state, pairs, hardware)
        run.say(f"beta {beta:.4g} (median |d_ref| {scale}); held-out pair accuracy at the start {start['accuracy']:.3f} "
                f"(the reference alone prefers the winner on {start['reference_prefers_winner']:.3f})")
    trainer.beta = state["beta"]
    if args.objective in SHUFFLED:
        train = shuffled_labels(train, config["flip_seed"])
    batches = renders() if args.objective == "continued" or args.objective in RENDERS_ANCHORED else None

    # the loop: pairs drawn in the same order for every objective (same seed), so the controls see the same winners
    started = last_checkpoint = time.perf_counter()
    wall_before = state["wall_s"]
    wall = lambda: wall_before + time.perf_counter() - started
    step = state["step"]
    gen = torch.Generator().manual_seed(args.seed * 1_000_003 + step)
    device = accelerator.device
    while step < args.steps:
        x_w, x_l, cond = batch_of(train, torch.randint(len(train), (config["batch"],), generator=gen), device)
        cond = drop(cond, gen)
        if args.objective in ("dpo", "dpo-shuffled"):
            losses = trainer.dpo_step(x_w, x_l, cond, step, gen)
        elif args.objective in RENDERS_ANCHORED:
            raw, render_cond = next(batches)
            losses = trainer.dpo_step(x_w, x_l, cond, step, gen, (raw.float().to(device) / 127.5 - 1.0, drop(render_cond, gen).to(device)))
        elif args.objective == "sft-winners":
            losses = trainer.step(x_w, cond, step)
        else:
            raw, render_cond = next(batches)
            losses = trainer.step(raw.float() / 127.5 - 1.0, drop(render_cond, gen), step)
        step += 1
        if step % config["eval_every"] == 0 or step == args.steps:
            measured = trainer.pair_accuracy(heldout)
            state["history"].append([step, measured["accuracy"], measured["mean_logit"]])
            if config["keep_evals"]:
                trainer.snapshot(run.run_dir / "evals" / f"step-{step:06d}")
            if measured["accuracy"] > state["best"]["accuracy"]:
                state["best"] = {"step": step, **measured}
                state.update(step=step, wall_s=wall(), final=step == args.steps)
                export_best(run, trainer, state, pairs, hardware)
        if step % args.log_every == 0 or step == args.steps:
            log.write({"step": step, "wall_s": round(wall(), 1), **{k: round(v, 5) for k, v in losses.items()},
                       "heldout_accuracy": state["history"][-1][1], "beta": round(state["beta"], 4)})
        if time.perf_counter() - last_checkpoint > args.checkpoint_minutes * 60 or step == args.steps:
            state.update(step=step, wall_s=wall(), final=step == args.steps)
            checkpoint.save(path, trainer.modules, trainer.optimizers, trainer.extra_state(), state)
            run.say(f"checkpoint at step {step} ({wall():.0f} s); best held-out pair accuracy "
                    f"{state['best']['accuracy']:.3f} at step {state['best']['step']}")
            last_checkpoint = time.perf_counter()
    describe(run, trainer, state, pairs, hardware)  # the exported best state, told how the whole run went
    print(json.dumps({"family": "diffusion", "variant": args.variant, "objective": args.objective, "pairs": args.pairs,
                      "steps": step, "best": state["best"], "run_dir": str(run.run_dir)}))
    return 0
