"""One training loop for every recipe: :func:`fit` runs a :class:`~.contracts.TrainingRecipe`.

``fit(recipe, config, run_dir)``: prepares the config, seeds, sets the CPU threads, builds the
network, opens the run folder (``config.yaml``, ``train.log``), picks the device (``device: auto``
= CUDA when PyTorch sees a GPU), loads the data, trains epoch by epoch with the optimiser and
schedule of the config (a progress bar and one log line per epoch with the loss and the monitored
metric), keeps the best epoch's weights (``best.pt``; ``last.pt`` after every epoch), writes
``metrics.json`` and exports ONNX (``<run_dir>/<onnx_name>``).

Config blocks read here (flat ``learning_rate``, ``weight_decay`` and ``warmup_epochs`` of older
configs are read too)::

    optimizer: {name: adamw, lr: 0.002, weight_decay: 0.0001}   # adamw | adam | sgd (+ their keywords)
    schedule: {name: cosine, warmup_epochs: 2}   # cosine (linear warm-up, cosine to 0) | cosine-annealing | constant
"""

from __future__ import annotations

import copy
import logging
import math
import time

import numpy as np
import torch
from tqdm import tqdm

from ..errors import InputError
from .config import optimizer_settings, schedule_settings
from .contracts import Best, Run
from .device import seed_everything, set_threads, training_device
from .export import export_onnx
from .runs import close_log, save_metrics, start_run

OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}
SCHEDULES = ("cosine", "cosine-annealing", "constant")


def fit(recipe, config: dict, run_dir) -> dict:
    """Train ``recipe`` as ``config`` says into ``run_dir``; returns the metrics (also in ``metrics.json``)."""
    started = time.monotonic()
    config = _prepared(recipe, config)
    seed_everything(config["seed"])
    set_threads(config)
    network = recipe.build_network(config)  # a broken network setting is refused before the run folder exists
    run = open_run(config, run_dir, started)
    try:
        return _train_and_export(recipe, network.to(run.device), run)
    finally:
        close_log(run.log)


def open_run(config: dict, run_dir, started: float | None = None) -> Run:
    """The run folder with ``config.yaml`` and ``train.log``, on the config's device."""
    directory, log = start_run(config, run_dir)
    return Run(directory, log, training_device(config), config, started or time.monotonic())


def _prepared(recipe, config: dict) -> dict:
    prepare = getattr(recipe, "prepare_config", None)
    return prepare(config) if prepare else config


def _train_and_export(recipe, network, run: Run) -> dict:
    data = recipe.load_data(run)
    train_network = getattr(recipe, "train_network", None)
    best = train_network(network, data, run) if train_network else run_epochs(recipe, network, data, run)
    network.load_state_dict(best.state)
    torch.save(network.state_dict(), run.directory / "best.pt")
    metrics = {**recipe.final_metrics(network, data, run, best), "device": run.device.type}
    run.log.info("final %s", metrics)
    save_metrics(run.directory, metrics)
    export_onnx(network, recipe.example_inputs(run.config), run.directory / run.config["onnx_name"],
                recipe.INPUT_NAMES, recipe.OUTPUT_NAMES)
    return metrics


def fit_network(recipe, config: dict, data, run: Run | None = None, label: str | None = None):
    """A network trained on ``data`` without a run folder of its own, e.g. one fold of a
    cross-validation: seeded, built and trained by :func:`run_epochs` as :func:`fit` does, and
    returned in eval mode with the kept weights. ``run``: whose log gets the epoch lines (default: none)."""
    seed_everything(config["seed"])
    network = recipe.build_network(config)
    run = run or Run(None, logging.getLogger("lesionai.train.fold"), torch.device("cpu"), config)
    best = run_epochs(recipe, network, data, run, label=label, checkpoint=False)
    network.load_state_dict(best.state)
    return network.eval()


def run_epochs(recipe, network, data, run: Run, label: str | None = None, checkpoint: bool = True) -> Best:
    """``run.config["epochs"]`` epochs of ``recipe.train_epoch`` then ``recipe.validate``; returns the
    weights of the best epoch by ``recipe.MONITOR`` (the last epoch when it is None).

    ``label`` names the progress bar (default: the recipe's name); ``checkpoint`` writes ``last.pt``
    after every epoch.
    """
    if run.config["epochs"] < 1:
        raise InputError(f"epochs is {run.config['epochs']}; a run trains for at least 1 epoch")
    optimizer = build_optimizer(network, run.config, getattr(recipe, "OPTIMIZER", None))
    scheduler = build_schedule(optimizer, run.config, getattr(recipe, "SCHEDULE", None))
    monitor, best = recipe.MONITOR, None
    progress = tqdm(range(run.config["epochs"]), desc=label or recipe.NAME, unit="epoch", leave=label is None)
    for epoch in progress:
        started = time.monotonic()
        losses = _as_losses(recipe.train_epoch(network, optimizer, data, run, epoch))
        if scheduler is not None:
            scheduler.step()
        scores = recipe.validate(network, data, run, epoch)
        report_epoch(run, progress, epoch, {**losses, **scores, "seconds": time.monotonic() - started}, monitor)
        best = _kept(best, scores, epoch, network, monitor, getattr(recipe, "MONITOR_MODE", "max"))
        if checkpoint:
            torch.save(network.state_dict(), run.directory / "last.pt")
    return best if monitor else Best(None, copy.deepcopy(network.state_dict()), run.config["epochs"] - 1)


def _as_losses(result) -> dict:
    return dict(result) if isinstance(result, dict) else {"loss": float(result)}


def _kept(best: Best | None, scores: dict, epoch: int, network, monitor: str | None, mode: str) -> Best | None:
    """The better of ``best`` and this epoch (the first epoch is always kept; ties keep the earlier)."""
    if not monitor:
        return None
    score = _score(scores.get(monitor), mode)
    if best is None or score > best.score:
        return Best(score, copy.deepcopy(network.state_dict()), epoch)
    return best


def _score(value, mode: str) -> float:
    """The monitored value as a number to maximise (None or NaN: -inf)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return float("-inf")
    return float(value) if mode == "max" else -float(value)


def report_epoch(run: Run, progress, epoch: int, numbers: dict, monitor: str | None) -> None:
    """One ``train.log`` line (``epoch N loss ... <monitor> ... seconds ...``) and the progress bar's postfix."""
    shown = {key: value for key, value in numbers.items() if _is_number(value)}
    run.log.info("epoch %d %s", epoch, " ".join(f"{key} {_shown(value)}" for key, value in shown.items()))
    postfix = {"loss": _shown(numbers.get("loss"))}
    if monitor:
        postfix[monitor] = _shown(numbers.get(monitor))
    progress.set_postfix(postfix)


def _is_number(value) -> bool:
    return value is None or (isinstance(value, (int, float, np.number)) and not isinstance(value, bool))


def _shown(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def build_optimizer(network, config: dict, defaults: dict | None = None):
    """The optimiser of the config's ``optimizer`` block over ``network``'s parameters."""
    settings = optimizer_settings(config, defaults)
    name = settings.pop("name")
    if name not in OPTIMIZERS:
        raise InputError(f"optimizer.name '{name}' is unknown; use one of: {', '.join(OPTIMIZERS)}")
    try:
        return OPTIMIZERS[name](network.parameters(), **settings)
    except TypeError as error:
        raise InputError(f"optimizer settings {settings} do not fit {name}: {error}") from error


def build_schedule(optimizer, config: dict, defaults: dict | None = None):
    """The learning-rate schedule of the config's ``schedule`` block (None for ``constant``), stepped once per epoch."""
    settings = schedule_settings(config, defaults)
    name, epochs = settings["name"], config["epochs"]
    if name == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, cosine_schedule(epochs, settings["warmup_epochs"]))
    if name == "cosine-annealing":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, epochs))
    if name == "constant":
        return None
    raise InputError(f"schedule.name '{name}' is unknown; use one of: {', '.join(SCHEDULES)}")


def cosine_schedule(epochs: int, warmup: int):
    """Learning-rate factor per epoch for ``LambdaLR``: linear warm-up, then cosine decay to 0."""
    def factor(epoch: int) -> float:
        if epoch < warmup:
            return (epoch + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (epoch - warmup) / max(1, epochs - warmup)))
    return factor


def train_batches(network, optimizer, order, batch_size: int, batch_loss) -> float:
    """One optimisation pass over ``order`` (sample indices) in batches; returns the mean loss.

    ``batch_loss(indices)`` builds the (augmented) batch and returns its loss tensor.
    """
    network.train()
    losses = []
    for start in range(0, len(order), batch_size):
        loss = batch_loss(order[start:start + batch_size])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))
