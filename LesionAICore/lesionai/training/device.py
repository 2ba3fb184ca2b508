"""Where and how reproducibly a run trains: the torch device, the seeds and the CPU threads."""

from __future__ import annotations

import random

import numpy as np

from ..errors import InputError


def training_device(config: dict):
    """The torch device named by the config's ``device``: ``auto`` (CUDA when PyTorch sees a GPU,
    else CPU, the default), ``cpu``, ``cuda`` or ``cuda:N``."""
    import torch

    wanted = str(config.get("device", "auto"))
    if wanted == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device: {wanted} was asked for, but PyTorch sees no CUDA GPU; use device: auto or cpu")
    if wanted != "cpu" and not wanted.startswith("cuda"):
        raise InputError(f"device: {wanted} is not a training device; use auto, cpu, cuda or cuda:N")
    return torch.device(wanted)


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's global and torch's random generators."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def set_threads(config: dict) -> None:
    """Limit torch's CPU threads to the config's ``threads`` (unset: leave torch's choice)."""
    import torch

    torch.set_num_threads(config.get("threads", torch.get_num_threads()))
