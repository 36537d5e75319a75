"""Training checkpoints in safetensors only (models, optimizers, extra tensors) — no pickles.

An optimizer's state dict is nested; we flatten its tensors into safetensors keys and keep the
rest (step counters as numbers, param_groups) in the file's JSON metadata.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def save(path: Path, modules: dict[str, torch.nn.Module], optimizers: dict[str, torch.optim.Optimizer],
         extra: dict[str, torch.Tensor] | None = None, meta: dict | None = None) -> None:
    """Write atomically (tmp + rename), so a kill mid-write never leaves a broken checkpoint."""
    tensors: dict[str, torch.Tensor] = {}
    info: dict = {"meta": meta or {}, "optimizers": {}}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"model.{name}.{key}"] = value.detach().cpu().contiguous()
    for name, opt in optimizers.items():
        state = opt.state_dict()
        scalars: dict = {}
        for idx, slots in state["state"].items():
            for slot, value in slots.items():
                if torch.is_tensor(value) and value.dim() > 0:
                    tensors[f"optim.{name}.{idx}.{slot}"] = value.detach().cpu().contiguous()
                else:
                    scalars[f"{idx}.{slot}"] = float(value)
        info["optimizers"][name] = {"param_groups": state["param_groups"], "scalars": scalars}
    for key, value in (extra or {}).items():
        tensors[f"extra.{key}"] = value.detach().cpu().contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"info": json.dumps(info)})
    os.replace(tmp, path)


def load(path: Path, modules: dict[str, torch.nn.Module], optimizers: dict[str, torch.optim.Optimizer]) -> tuple[dict, dict]:
    """Restore in place; returns (extra tensors, meta)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        info = json.loads(f.metadata()["info"])
    tensors = load_file(str(path))
    for name, module in modules.items():
        prefix = f"model.{name}."
        module.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    for name, opt in optimizers.items():
        saved = info["optimizers"][name]
        state: dict = {}
        prefix = f"optim.{name}."
        for key, value in tensors.items():
            if key.startswith(prefix):
                idx, slot = key[len(prefix):].split(".", 1)
                state.setdefault(int(idx), {})[slot] = value
        for key, value in saved["scalars"].items():
            idx, slot = key.split(".", 1)
            state.setdefault(int(idx), {})[slot] = torch.tensor(value)
        opt.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
    extra = {k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")}
    return extra, info["meta"]
