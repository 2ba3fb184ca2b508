"""Recipe ``spine-scan-check``: what is this scan (anatomy, spine region, view, contrast)?

Trains :class:`~.scan_check_network.ScanCheckNet` on augmented scans of every collection under
``data_root`` plus generated spine phantoms and pictures (:mod:`.scan_check_data`,
:mod:`.scan_check_examples`). The shipped model trains on everything; its accuracy comes from the
subject-grouped cross-validation of :mod:`.scan_check_cv` (``cv_run`` names that run's folder, and
the registry's ``thresholds.spine`` was chosen on its out-of-fold predictions).

Sampling balances the anatomy classes; each head's loss uses only the examples that carry its label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...errors import InputError
from ...spine.scan_check import HEADS, OUTPUT_NAMES
from ..config import resolve_data_root
from ..loop import train_batches
from ..runs import read_stored_run, stored_run_path
from .scan_check_data import all_sources
from .scan_check_examples import source_examples
from .scan_check_network import ScanCheckNet, head_losses
from .scan_check_network import example_inputs as network_inputs

NAME = "spine-scan-check"
INPUT_NAMES = ["planes", "native", "descriptors"]
OUTPUT_NAMES = list(OUTPUT_NAMES)
MONITOR = None
OPTIONAL_KEYS = ("cv_run",)
LABEL_KEYS = tuple(HEADS)


@dataclass
class ScanTensors:
    """Stacked examples: ``inputs`` (planes, native, descriptors), ``labels`` head -> (N,) long, and
    per example ``groups``, ``names``, ``original`` and ``real`` flags (numpy)."""

    inputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    labels: dict[str, torch.Tensor]
    groups: np.ndarray
    names: np.ndarray
    original: np.ndarray
    real: np.ndarray

    def subset(self, chosen: np.ndarray) -> ScanTensors:
        index = torch.from_numpy(np.flatnonzero(chosen))
        return ScanTensors(tuple(t[index] for t in self.inputs), {k: v[index] for k, v in self.labels.items()},
                           self.groups[chosen], self.names[chosen], self.original[chosen], self.real[chosen])

    def to(self, device) -> ScanTensors:
        return ScanTensors(tuple(t.to(device) for t in self.inputs), {k: v.to(device) for k, v in self.labels.items()},
                           self.groups, self.names, self.original, self.real)


def prepare_config(config: dict) -> dict:
    """Refuse, before training, a ``cv_run`` whose metrics are missing (they go into the registry)."""
    if config.get("cv_run") and not (stored_run_path(config["cv_run"]) / "metrics.json").is_file():
        raise InputError(f"cv_run {config['cv_run']} has no metrics.json: run benchmarks/evaluate_scan_check.py "
                         f"--run-dir {config['cv_run']} first, or train with --set cv_run=null")
    return config


def build_network(config: dict) -> ScanCheckNet:
    return ScanCheckNet(config["width"], config.get("descriptor_width", 32), config.get("dropout", 0.3))


def example_inputs(config: dict) -> tuple:
    return network_inputs()


def load_data(run) -> ScanTensors:
    return build_examples(run.config, run.log).to(run.device)


def build_examples(config: dict, log=None) -> ScanTensors:
    """Examples of every source (originals and augmented variants), stacked."""
    rng = np.random.default_rng(config["seed"])
    examples = []
    for source in all_sources(resolve_data_root(config), config["sources"]):
        variants = config["variants"].get(_kind(source), config["variants"]["default"])
        examples += source_examples(source, variants, config["variants"].get("other_mr_crops", 0), rng)
    if log:
        log.info("scan-check examples: %d from %d scans", len(examples), sum(e["original"] for e in examples))
    return stack_examples(examples)


def stack_examples(examples: list[dict]) -> ScanTensors:
    inputs = tuple(torch.from_numpy(np.stack([e[key] for e in examples])) for key in ("planes", "native", "descriptors"))
    labels = {key: torch.tensor([e[key] for e in examples], dtype=torch.long) for key in LABEL_KEYS}
    column = lambda key, dtype=object: np.array([e[key] for e in examples], dtype=dtype)  # noqa: E731
    return ScanTensors(inputs, labels, column("group"), column("name"), column("original", bool), column("real", bool))


def train_epoch(network, optimizer, data: ScanTensors, run, epoch: int) -> dict:
    weights = _anatomy_weights(data.labels["anatomy"])
    order = torch.multinomial(weights[data.labels["anatomy"]], len(data.groups), replacement=True)
    generator = torch.Generator().manual_seed(run.config["seed"] + epoch)

    def batch_loss(batch):
        inputs = augment_batch([t[batch] for t in data.inputs], run.config["augment"], generator)
        losses = head_losses(network(*inputs), {k: v[batch] for k, v in data.labels.items()}, None)
        return sum(run.config["loss_weights"][name] * value for name, value in losses.items())

    return train_batches(network, optimizer, order, run.config["batch_size"], batch_loss)


def augment_batch(inputs, settings: dict, generator) -> list[torch.Tensor]:
    """Per batch: gamma and noise on the slices, and one of the 8 square symmetries of the native
    slice (scans are stored in any in-plane orientation)."""
    planes, native, descriptors = inputs
    gamma = torch.exp(torch.empty(len(planes), 1, 1, 1).uniform_(-settings["gamma"], settings["gamma"], generator=generator))
    gamma = gamma.to(planes.device)
    planes, native = planes.clamp(min=0) ** gamma, native.clamp(min=0) ** gamma
    noise = settings["noise"]
    planes = planes + noise * torch.randn(planes.shape, generator=generator).to(planes.device) * (planes > 0)
    native = native + noise * torch.randn(native.shape, generator=generator).to(native.device) * (native > 0)
    turns, flip = int(torch.randint(0, 4, (1,), generator=generator)), bool(torch.randint(0, 2, (1,), generator=generator))
    native = torch.rot90(native, turns, dims=(2, 3))
    return [planes, native.flip(3) if flip else native, descriptors]


@torch.no_grad()
def predict(network, data: ScanTensors, batch_size: int = 256) -> dict[str, np.ndarray]:
    """Softmax probabilities per head, (N, classes) numpy."""
    network.eval()
    chunks = {name: [] for name in LABEL_KEYS}
    for start in range(0, len(data.groups), batch_size):
        outputs = network(*(t[start:start + batch_size] for t in data.inputs))
        for name, logits in zip(LABEL_KEYS, outputs):
            chunks[name].append(torch.softmax(logits, 1).cpu().numpy())
    return {name: np.concatenate(parts) for name, parts in chunks.items()}


def validate(network, data: ScanTensors, run, epoch: int) -> dict:
    """Training-set accuracy of the original scans (a sanity check; the honest numbers are the CV's)."""
    originals = data.subset(data.original)
    probabilities = predict(network, originals)
    return {f"train_{name}_accuracy": _accuracy(probabilities[name], originals.labels[name].cpu().numpy())
            for name in LABEL_KEYS}


def final_metrics(network, data: ScanTensors, run, best) -> dict:
    metrics = validate(network, data, run, best.epoch)
    metrics["train_examples"] = len(data.groups)
    metrics["train_scans"] = int(data.original.sum())
    if run.config.get("cv_run"):
        metrics.update(read_stored_run(run.config["cv_run"], "metrics.json"))
    return metrics


def _accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    known = labels >= 0
    return float((probabilities[known].argmax(1) == labels[known]).mean()) if known.any() else float("nan")


def _anatomy_weights(anatomy: torch.Tensor) -> torch.Tensor:
    counts = torch.bincount(anatomy, minlength=len(HEADS["anatomy"])).float()
    return 1.0 / counts.clamp(min=1)


def _kind(source) -> str:
    if not source.real:
        return "generated"
    return source.group.split(":")[0]
