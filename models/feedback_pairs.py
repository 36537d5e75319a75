"""Preference pairs for learning from feedback (`models.training.dpo`): one file per source, a split fixed before training.

A pair is two 64 px pictures drawn for one condition (the structured hand spec): the one preferred and the other.
The three sources are never mixed, so each is reported on its own (issue 17, part 3):
- `raters`: the rater set's diffusion pictures, same prompt, rater quality at least a point apart (built in
  `bench.feedback_pairs`: the labels live with the judge, which this room may not import);
- `votes`: the arena's votes (`feedback.Store`: "left" or "right" only, careless sessions and check pairs left out),
  both pictures drawn again from what the store kept and checked against its SHA-256 (`from_votes`, here);
- `judge`: diffusion/full's own pictures, several seeds per condition, whose Hand Scores are clearly apart: "AI
  feedback", a stand-in for people (`bench.feedback_pairs`).

The held-out split is by picture: each picture's unit (a rater picture's id, a vote's pair id, a generated
picture's seed and index) is hashed with SPLIT_SALT and HELD_OUT_FRACTION of the units are held out. A pair is
held out when both its pictures are, trained on when neither is, and dropped when it straddles the two: no
held-out picture is ever seen in training, and the split never depends on a run's seed or on what was trained.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from core.settings import REPO_ROOT
from core.vocab import SPEC_FIELDS, HandSpec, condition_indices
from models.base import GenerateOptions
from models.registry import BackendUnavailable

SOURCES: tuple[str, ...] = ("raters", "votes", "judge")
HELD_OUT_FRACTION = 0.2
SPLIT_SALT = "issue-17-pairs-v1"  # changing it changes every split: never, once a run has been reported
PREFERRED = ("left", "right")  # the votes that name a winner ("tie" and "both_bad" do not)


@dataclass(frozen=True)
class Preference:
    """One preference before the split: the pictures (H x W x 3 uint8), their condition, how far apart they were
    judged (rater points, Hand Score points, 1 for a vote) and the unit of each picture for the split."""

    winner: np.ndarray
    loser: np.ndarray
    spec: HandSpec
    gap: float
    units: tuple[str, str]


@dataclass
class PairSet:
    """Pairs of one source as tensors: each distinct picture once (pictures: (M, 3, H, W) uint8), each pair as the
    indices of its winner and loser (N,), its condition (N, 5), whether it is held out (N,) and its gap (N,);
    `info` says how they were made and how many of each kind there are."""

    source: str
    pictures: torch.Tensor
    winner: torch.Tensor
    loser: torch.Tensor
    cond: torch.Tensor
    heldout: torch.Tensor
    gap: torch.Tensor
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.cond)

    def take(self, idx: torch.Tensor) -> PairSet:
        """The pairs at `idx` (indices or a mask), over the same pictures."""
        return PairSet(self.source, self.pictures, self.winner[idx], self.loser[idx], self.cond[idx], self.heldout[idx],
                       self.gap[idx], self.info)

    def part(self, heldout: bool) -> PairSet:
        """The training pairs (False) or the held-out ones (True)."""
        return self.take(self.heldout == heldout)

    def swapped(self, swap: torch.Tensor) -> PairSet:
        """The same pairs with winner and loser exchanged where `swap` (N,) is true."""
        return PairSet(self.source, self.pictures, torch.where(swap, self.loser, self.winner),
                       torch.where(swap, self.winner, self.loser), self.cond, self.heldout, self.gap, self.info)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {"pictures": self.pictures, "winner": self.winner, "loser": self.loser, "cond": self.cond,
                   "heldout": self.heldout.to(torch.uint8), "gap": self.gap}
        tmp = path.with_suffix(".tmp")
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp),
                  metadata={"source": self.source, "info": json.dumps(self.info)})
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> PairSet:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata()
        t = load_file(str(path))
        return cls(meta["source"], t["pictures"], t["winner"], t["loser"], t["cond"], t["heldout"].bool(), t["gap"],
                   json.loads(meta["info"]))


def pairs_file(source: str, root: Path | None = None) -> Path:
    """Where a source's pairs are kept (runs/feedback/, not committed: rebuilt by `python -m bench.feedback_pairs`)."""
    return (root or REPO_ROOT / "runs" / "feedback") / f"pairs-{source}.safetensors"


def held_out(unit: str) -> bool:
    """Whether a picture's unit is in the held-out part: a fixed hash, the same in every run and process."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < HELD_OUT_FRACTION


def assemble(source: str, preferences: Iterable[Preference], info: dict) -> PairSet:
    """Split the preferences by their pictures' units, keep each distinct picture once, and stack; the counts go
    into `info`."""
    kept, heldout, dropped = [], [], 0
    for p in preferences:
        sides = {held_out(u) for u in p.units}
        if len(sides) > 1:
            dropped += 1
            continue
        kept.append(p)
        heldout.append(sides.pop())
    index: dict[bytes, int] = {}
    pictures: list[np.ndarray] = []

    def picture_index(picture: np.ndarray) -> int:
        key = hashlib.sha256(picture.tobytes()).digest()
        if key not in index:
            index[key] = len(pictures)
            pictures.append(picture)
        return index[key]

    ends = torch.tensor([[picture_index(p.winner), picture_index(p.loser)] for p in kept], dtype=torch.long).reshape(-1, 2)
    stacked = torch.from_numpy(np.stack(pictures)).permute(0, 3, 1, 2).contiguous() if pictures else torch.zeros(
        (0, 3, 64, 64), dtype=torch.uint8)
    counts = {"train": len(kept) - sum(heldout), "heldout": sum(heldout), "dropped_straddling": dropped,
              "pictures": len(pictures)}
    return PairSet(source, stacked, ends[:, 0], ends[:, 1],
                   torch.tensor([condition_indices(p.spec) for p in kept], dtype=torch.long).reshape(-1, len(SPEC_FIELDS)),
                   torch.tensor(heldout, dtype=torch.bool), torch.tensor([p.gap for p in kept], dtype=torch.float32),
                   {**info, "counts": counts, "held_out_fraction": HELD_OUT_FRACTION, "split_salt": SPLIT_SALT})


def graded_pairs(items: list[tuple[np.ndarray, HandSpec, float, str]], group_of: list[str], min_gap: float) -> list[Preference]:
    """Every two pictures of one group (the same prompt or condition) whose grades differ by `min_gap` or more;
    the better graded wins. `items`: (picture, spec, grade, unit)."""
    out = []
    for group in dict.fromkeys(group_of):
        members = [item for item, g in zip(items, group_of) if g == group]
        for a, b in combinations(members, 2):
            if abs(a[2] - b[2]) >= min_gap:
                win, lose = (a, b) if a[2] > b[2] else (b, a)
                out.append(Preference(win[0], lose[0], win[1], abs(a[2] - b[2]), (win[3], lose[3])))
    return out


def spec_from_store(spec: dict) -> HandSpec:
    """The HandSpec a stored pair was drawn for (the store keeps `HandSpec.to_dict()`, with derived keys too)."""
    return HandSpec(**{name: spec.get(name) for name in SPEC_FIELDS})


def png_sha256(image: Image.Image) -> str:
    """As the arena hashes a picture it serves: SHA-256 of the PNG bytes PIL writes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def redraw(registry, side, spec: HandSpec) -> Image.Image | None:
    """A vote's picture drawn again from what the store kept; None when it cannot be (weights gone or retrained, or
    a different picture: another machine, device or thread count), so a person's vote never trains on a picture
    they did not see."""
    if registry.trained_steps(side.family, side.variant) != side.trained_steps:
        return None
    try:
        generator = registry.load(side.family, side.variant)
    except BackendUnavailable:  # weights gone or damaged: the vote is skipped, and counted
        return None
    image = generator.generate(spec, side.index + 1, side.seed, GenerateOptions(**side.options)).images[side.index]
    return image if png_sha256(image) == side.sha256 else None


def from_votes(store, registry) -> PairSet:
    """The arena's decisive votes as pairs (the unit of both pictures: the vote's pair id). Skipped, and counted:
    ties, "both bad", and pictures that cannot be drawn again byte for byte."""
    voted, skipped = voted_pictures(store, registry)
    preferences = [Preference(np.asarray(v.winner.convert("RGB")), np.asarray(v.loser.convert("RGB")), v.spec, 1.0,
                              (v.pair_id, v.pair_id)) for v in voted]
    return assemble("votes", preferences, {"skipped": skipped, "families": "any (a vote is a preference between pictures)"})


@dataclass(frozen=True)
class Voted:
    """One decisive vote with both its pictures drawn again: the preferred one, the other, and what was voted on."""

    winner: Image.Image
    loser: Image.Image
    spec: HandSpec
    prompt: str  # as the voter typed it (or the arena chose it)
    pair_id: str
    session: str  # the anonymous session that voted


def voted_pictures(store, registry) -> tuple[list[Voted], dict[str, int]]:
    """Every decisive vote of a careful session on a model pair (not a known-answer pair), its pictures drawn again;
    and what was skipped: ties, "both bad", pictures that cannot be drawn again byte for byte (`redraw`)."""
    voted, skipped = [], {"tie": 0, "both_bad": 0, "not_reproduced": 0}
    for vote, pair in store.votes(include_careless=False, include_known=False):
        if vote.answer not in PREFERRED:
            skipped[vote.answer] += 1
            continue
        spec = spec_from_store(pair.spec)
        sides = (pair.left, pair.right) if vote.answer == "left" else (pair.right, pair.left)
        pictures = [redraw(registry, side, spec) for side in sides]
        if any(picture is None for picture in pictures):
            skipped["not_reproduced"] += 1
            continue
        voted.append(Voted(pictures[0], pictures[1], spec, pair.prompt, pair.pair_id, vote.session))
    return voted, skipped
