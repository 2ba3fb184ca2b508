"""What a training recipe provides to :func:`lesionai.training.loop.fit`, and what it gets back.

A recipe is usually a module: module-level constants and functions satisfy :class:`TrainingRecipe`
structurally. A minimal one (the loop does the run folder, seed, device, optimiser, schedule,
progress bar, log, best/last checkpoints, ``metrics.json`` and the ONNX export)::

    NAME, INPUT_NAMES, OUTPUT_NAMES, MONITOR = "toy-segmentation", ["image"], ["logits"], "val_dice"

    def build_network(config):            return UNet(...)
    def example_inputs(config):           return (torch.zeros(1, 1, *config["input_size"]),)
    def load_data(run):                   return Splits(train=..., val=...)      # run.config, run.device
    def train_epoch(network, optimizer, data, run, epoch):
        return train_batches(network, optimizer, torch.randperm(n), run.config["batch_size"], batch_loss)
    def validate(network, data, run, epoch):  return {"val_dice": ...}
    def final_metrics(network, data, run, best):  return {"val_dice": ..., "best_epoch": best.epoch}

and its YAML (``training/recipes/toy_segmentation.yaml``) has ``recipe``, ``seed``, ``epochs``,
``batch_size``, ``optimizer: {name: adamw, lr: 0.002, weight_decay: 0.0001}``, ``schedule: {name:
cosine, warmup_epochs: 2}``, ``onnx_name`` and the ``model:`` block of the registry entry.

Optional, read with ``getattr``: ``prepare_config(config) -> config`` (fill in derived keys before
the run starts), ``train_network(network, data, run) -> Best`` (replaces the epoch loop, e.g. for an
ensemble; it may call :func:`~lesionai.training.loop.run_epochs` per member), ``OPTIMIZER`` and
``SCHEDULE`` (defaults under the config's blocks), ``OPTIONAL_KEYS`` (top-level config keys the
recipe understands without its YAML naming them) and ``MONITOR_MODE`` (``"max"``, the default, or
``"min"``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch


@dataclass
class Run:
    """One training run: its folder (``config.yaml``, ``train.log``, checkpoints, metrics, ONNX),
    its logger, its torch device and its config (after ``prepare_config``)."""

    directory: Path
    log: logging.Logger
    device: Any
    config: dict
    started: float = field(default_factory=time.monotonic)


@dataclass
class Best:
    """The kept weights: ``state`` of epoch ``epoch`` (0-based), where the monitored metric reached
    ``score`` (None when the recipe monitors nothing and the last epoch is kept)."""

    score: float | None
    state: dict
    epoch: int


@runtime_checkable
class TrainingRecipe(Protocol):
    """The hooks :func:`~lesionai.training.loop.fit` calls on every recipe (see the module docstring).

    The epochs themselves come from :class:`EpochRecipe`'s ``train_epoch`` and ``validate``, or from
    the recipe's own ``train_network(network, data, run) -> Best``.
    """

    NAME: str
    INPUT_NAMES: list[str]
    OUTPUT_NAMES: list[str]
    MONITOR: str | None  # key of validate()'s dict whose best epoch is kept; None: keep the last epoch

    def build_network(self, config: dict) -> torch.nn.Module:
        """The untrained network (also rebuilt by ``export-onnx`` to load ``best.pt``)."""

    def example_inputs(self, config: dict) -> tuple:
        """One example tensor per name of ``INPUT_NAMES`` (batch 1), for the ONNX export."""

    def load_data(self, run: Run) -> Any:
        """Whatever the epochs and ``final_metrics`` need (training and validation sets)."""

    def final_metrics(self, network, data, run: Run, best: Best) -> dict:
        """The run's metrics (``metrics.json``), measured with the kept weights loaded in ``network``."""


@runtime_checkable
class EpochRecipe(TrainingRecipe, Protocol):
    """A recipe whose epochs the shared loop runs (:func:`~lesionai.training.loop.run_epochs`)."""

    def train_epoch(self, network, optimizer, data, run: Run, epoch: int) -> float | dict:
        """One pass over the training data; the mean loss, or a dict with ``loss`` and other terms to log."""

    def validate(self, network, data, run: Run, epoch: int) -> dict:
        """Validation numbers of this epoch, including ``MONITOR``."""


def runs_on_the_loop(recipe) -> bool:
    """True when ``fit`` can run ``recipe``: the common hooks plus its epochs or its own ``train_network``."""
    return isinstance(recipe, EpochRecipe) or (isinstance(recipe, TrainingRecipe) and hasattr(recipe, "train_network"))
