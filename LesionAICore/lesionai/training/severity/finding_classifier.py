"""Recipe ``finding-classifier``: what a frontal chest radiograph shows, with attention kept on the lungs.

An image-level classifier (default classes: COVID-19 / other pneumonia / no finding) after the
localization-aware attention approach: besides the cross-entropy, an optional attention term
(``training/attention.py``) pushes the Grad-CAM of the sample's *true* class into the lung mask, for
abnormal samples that have a mask (classes in ``normal_classes`` have nothing to localise, and a
sample without a mask simply gets no attention term). Loss = ``lambda * CE + (1 - lambda) * (1 - r)``.

- Data: ``finding_data`` (class folders or ``cases.csv``); class imbalance by inverse-frequency
  weighted cross-entropy (``balance: loss``) or class-balanced sampling (``balance: sampler``).
  Augmentation: small affine jitter (image and mask together, no flips) and intensity changes.
- Backbones (``backbone``): ``resnet``, ``densenet`` or ``vit`` (``finding_backbones``), from scratch.
- Model selection: the epoch with the best validation macro AUC (one-vs-rest); its weights are
  ``best.pt`` and the ONNX export (input ``image`` (B, 1, H, W) in [0, 1], output
  ``finding_logits`` (B, C) in the order of the config's ``classes``).
- Metrics (val, and test when the source has it): per-class and macro AUC, F1, sensitivity,
  specificity, accuracy, confusion matrix, and the localization ratio: the mean share of the
  true-class Grad-CAM energy (above ``attention.threshold`` x its peak) inside the lungs, over abnormal
  samples with a lung mask. It is logged every epoch, with or without the attention term.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import InputError
from ..attention import AttentionSettings, attention_loss, combined_loss, grad_cam, localization_ratio, region_on_grid
from ..augment.planar import random_affine_pairs, random_intensity
from ..config import resolve_data_root
from ..loop import train_batches
from ..metrics.classification import classification_report
from .finding_backbones import build_backbone
from .finding_data import class_counts, load_samples, per_class_limit, resolve_classes, split_items

INPUT_NAMES, OUTPUT_NAMES = ["image"], ["finding_logits"]
NAME, MONITOR = "finding-classifier", "val_macro_auc"
SCHEDULE = {"name": "cosine-annealing"}
DEFAULT_NORMAL_CLASSES = ("no finding", "normal")


def build_network(config: dict) -> torch.nn.Module:
    """The configured backbone for ``len(config["classes"])`` classes."""
    backbone = config.get("backbone", "resnet")
    settings = (config.get("backbones") or {}).get(backbone)
    return build_backbone(backbone, len(config["classes"]), config["input_size"], settings)


def example_inputs(config: dict) -> tuple:
    return (torch.zeros(1, 1, *config["input_size"]),)


@dataclass
class SplitTensors:
    """One split on the training device: images (N, 1, H, W), labels (N,), lung_masks (N, 1, H, W)
    0/1, and ``applies`` (N,): the attention term counts (abnormal class and a lung mask)."""

    images: torch.Tensor
    labels: torch.Tensor
    lung_masks: torch.Tensor
    applies: torch.Tensor


def abnormal_classes(classes: list[str], normal_classes) -> torch.Tensor:
    """(C,) bool: True for classes that have something to localise (not a normal class)."""
    normal = {name.lower() for name in normal_classes}
    return torch.tensor([name.lower() not in normal for name in classes])


def class_weights(labels: torch.Tensor, class_count: int) -> torch.Tensor:
    """Inverse-frequency weights ``N / (C * count)`` (0 for a class without examples)."""
    counts = torch.bincount(labels, minlength=class_count).float()
    return torch.where(counts > 0, len(labels) / (class_count * counts.clamp(min=1)), torch.zeros_like(counts))


def true_class_cam(logits: torch.Tensor, activations: torch.Tensor, labels: torch.Tensor,
                   create_graph: bool = True) -> torch.Tensor:
    """Grad-CAM (B, h, w) of each sample's true-class logit on the activation map."""
    return grad_cam(activations, logits.gather(1, labels[:, None]).squeeze(1), create_graph=create_graph)


def batch_losses(network, images, labels, lung_masks, applies, weights=None, threshold: float | None = 0.5):
    """(cross-entropy, attention term) of one batch; the attention term is None when ``threshold`` is None.

    ``lung_masks`` (B, 1, H, W) 0/1 at the image size; the attention term is the mean ``1 - r`` over
    the samples where ``applies`` and is differentiable in the network's weights.
    """
    logits, activations = network.logits_and_activations(images)
    task = F.cross_entropy(logits, labels, weight=weights)
    if threshold is None:
        return task, None
    cam = true_class_cam(logits, activations, labels, create_graph=True)
    return task, attention_loss(cam, region_on_grid(lung_masks[:, 0], tuple(cam.shape[-2:])), applies, threshold)


def _augment(images, lung_masks, settings: dict):
    warped, warped_masks = random_affine_pairs(images, lung_masks, settings)
    return random_intensity(warped, settings), warped_masks


def _epoch_order(data: SplitTensors, balance: str) -> torch.Tensor:
    if balance == "sampler":
        per_sample = 1.0 / torch.bincount(data.labels).float()[data.labels]
        return torch.multinomial(per_sample, len(data.labels), replacement=True)
    return torch.randperm(len(data.labels), device=data.labels.device)


def train_epoch(network, optimizer, data: FindingData, run, epoch: int) -> dict:
    """One training pass; returns the mean combined loss, the mean task and attention terms and lambda."""
    config, attention = run.config, data.attention
    parts = {"task": [], "attention": []}
    weight = attention.weight(epoch)

    def batch_loss(batch):
        split = data.train
        images, masks = _augment(split.images[batch], split.lung_masks[batch], config["augment"])
        task, attend = batch_losses(network, images, split.labels[batch], masks, split.applies[batch], data.weights,
                                    attention.threshold if attention.enabled else None)
        parts["task"].append(task.item())
        if attend is None:
            return task
        parts["attention"].append(attend.item())
        return combined_loss(task, attend, weight)

    loss = train_batches(network, optimizer, _epoch_order(data.train, config.get("balance", "loss")),
                         config["batch_size"], batch_loss)
    means = {key: float(np.mean(values)) for key, values in parts.items() if values}
    return {"loss": loss, "lambda": weight, **means}


@torch.no_grad()
def predict(network, images: torch.Tensor, batch_size: int) -> np.ndarray:
    """(N, C) class probabilities in eval mode."""
    network.eval()
    chunks = [torch.softmax(network(images[start:start + batch_size]), 1) for start in range(0, len(images), batch_size)]
    return torch.cat(chunks).cpu().numpy()


def localization_ratios(network, data: SplitTensors, threshold: float, batch_size: int) -> np.ndarray:
    """Localization ratio of the true-class Grad-CAM of each sample where ``data.applies`` (eval mode)."""
    network.eval()
    ratios = []
    for start in range(0, len(data.images), batch_size):
        chunk = slice(start, start + batch_size)
        if not data.applies[chunk].any():
            continue
        with torch.enable_grad():
            logits, activations = network.logits_and_activations(data.images[chunk])
            cam = true_class_cam(logits, activations, data.labels[chunk], create_graph=False).detach()
        ratio = localization_ratio(cam, region_on_grid(data.lung_masks[chunk, 0], tuple(cam.shape[-2:])), threshold)
        ratios.append(ratio[data.applies[chunk]].cpu().numpy())
    return np.concatenate(ratios) if ratios else np.zeros(0)


def evaluate(network, data: SplitTensors, classes: list[str], threshold: float, batch_size: int) -> dict:
    """``classification_report`` of the split plus ``localization_ratio`` (None without masked abnormal samples)."""
    report = classification_report(predict(network, data.images, batch_size), data.labels.cpu().numpy(), classes)
    ratios = localization_ratios(network, data, threshold, batch_size)
    report["localization_ratio"] = float(ratios.mean()) if len(ratios) else None
    return report


def prepare_config(config: dict) -> dict:
    """The config with its class list fixed (folder names when it has none) and the model block to match."""
    config = copy.deepcopy(config)
    config["classes"] = resolve_classes(config, resolve_data_root(config))
    if "model" in config:
        config["model"].setdefault("output", {})["labels"] = dict(enumerate(config["classes"]))
        config["model"].setdefault("input", {})["shape"] = [1, *config["input_size"]]
    AttentionSettings(config.get("attention"))  # refuses a broken attention block before any work
    if config.get("balance", "loss") not in ("loss", "sampler"):
        raise InputError(f"balance must be 'loss' or 'sampler', not {config['balance']!r}")
    return config


def load_split(config: dict, split: str, abnormal: torch.Tensor, device) -> SplitTensors | None:
    """A split of the configured source as tensors on ``device``; None when the split has no images."""
    root, shape = resolve_data_root(config), tuple(config["input_size"])
    items = per_class_limit(split_items(config, root, split, config["classes"]), config.get("max_cases"))
    if not items:
        return None
    samples = load_samples(items, shape)
    labels = torch.from_numpy(samples.labels)
    applies = torch.from_numpy(samples.has_mask) & abnormal[labels]
    tensors = (torch.from_numpy(samples.images), labels, torch.from_numpy(samples.lung_masks), applies)
    return SplitTensors(*(tensor.to(device) for tensor in tensors))


def _required_split(config, split, abnormal, device) -> SplitTensors:
    data = load_split(config, split, abnormal, device)
    if data is None:
        raise InputError(f"No labelled images for the '{split}' split in {config['data_root']} "
                         f"(source: {config.get('source', 'cases')}); the recipe needs train and val images")
    return data


def _split_metrics(prefix: str, report: dict) -> dict:
    return {f"{prefix}_{key}": value for key, value in report.items()}


@dataclass
class FindingData:
    """The train, val and (optional) test splits, the class weights of the loss (None with
    ``balance: sampler``) and the attention settings."""

    train: SplitTensors
    val: SplitTensors
    test: SplitTensors | None
    weights: torch.Tensor | None
    attention: AttentionSettings


def load_data(run) -> FindingData:
    config = run.config
    abnormal = abnormal_classes(config["classes"], config.get("normal_classes", DEFAULT_NORMAL_CLASSES))
    train_data, val_data = (_required_split(config, split, abnormal, run.device) for split in ("train", "val"))
    test_data = load_split(config, "test", abnormal, run.device)
    balanced_by_loss = config.get("balance", "loss") == "loss"
    weights = class_weights(train_data.labels, len(config["classes"])) if balanced_by_loss else None
    return FindingData(train_data, val_data, test_data, weights, AttentionSettings(config.get("attention")))


def validate(network, data: FindingData, run, epoch: int) -> dict:
    """Val macro AUC, accuracy and localization ratio (None where undefined)."""
    report = evaluate(network, data.val, run.config["classes"], data.attention.threshold, run.config["batch_size"])
    return {f"val_{key}": report[key] for key in ("macro_auc", "accuracy", "localization_ratio")}


def final_metrics(network, data: FindingData, run, best) -> dict:
    import time

    metrics = _final_metrics(network, run.config, data.train, data.val, data.test)
    metrics.update({"best_epoch": best.epoch, "seconds": round(time.monotonic() - run.started, 1)})
    return metrics


def _final_metrics(network, config, train_data, val_data, test_data) -> dict:
    threshold = AttentionSettings(config.get("attention")).threshold
    classes, batch_size = config["classes"], config["batch_size"]
    metrics = {"classes": classes, "backbone": config.get("backbone", "resnet"), "seed": config["seed"],
               "epochs": config["epochs"], "attention": AttentionSettings(config.get("attention")).enabled,
               "train_counts": class_counts(train_data.labels.cpu().numpy(), len(classes)),
               "val_counts": class_counts(val_data.labels.cpu().numpy(), len(classes))}
    metrics.update(_split_metrics("val", evaluate(network, val_data, classes, threshold, batch_size)))
    if test_data is not None:
        metrics.update(_split_metrics("test", evaluate(network, test_data, classes, threshold, batch_size)))
    return metrics
