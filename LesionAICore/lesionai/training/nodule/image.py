"""Recipe ``nodule-image``: depthwise-separable 3-D ResNet-18 on the nodule's bounding box.

Two heads: the binary target (LIDC: malignancy suspicion >= 4 vs <= 2, a radiologists' rating
proxy, not invasiveness) and the texture class (ground-glass / part-solid / solid). Trained at
progressive sizes: every stage (``stages_shape``, ``stages_epochs``) sees the same field of view
(``field_of_view_mm``) on a finer grid, continuing from the previous stage's weights. 3-D
augmentation (``augment``, :mod:`lesionai.training.augment.volume`): flips, in-plane rotations,
small scaling, HU noise. Loss = BCE on labelled
nodules + ``texture_weight`` x class-weighted cross-entropy on nodules with a known texture.

The last epoch's weights are kept (no selection on the validation split, whose figures are
reported). ONNX: input ``crop`` (B, 2, D, H, W) at the last stage's size; outputs
``malignancy_logit`` (B,) and ``texture_logits`` (B, 3).
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..augment.volume import augment_batch
from ..contracts import Best
from ..loop import cosine_schedule, train_batches
from .classifier_data import NoduleSet, grid_sizes
from .classifier_metrics import malignancy_summary, texture_summary
from .classifier_networks import SeparableResNet3d
from .recipe_runs import OPTIONAL_KEYS, CohortSplits, flat_numbers, load_splits  # noqa: F401

NAME, MONITOR = "nodule-image", None
INPUT_NAMES, OUTPUT_NAMES = ["crop"], ["malignancy_logit", "texture_logits"]


def build_network(config: dict) -> SeparableResNet3d:
    return SeparableResNet3d(in_channels=2, width=config.get("width", 16), layers=tuple(config.get("layers", (2, 2, 2, 2))))


def example_inputs(config: dict) -> tuple:
    return (torch.zeros(1, 2, *config["stages_shape"][-1]),)


def texture_weights(texture: np.ndarray, classes: int = 3) -> torch.Tensor:
    """Inverse-frequency weights of the known texture classes (0 for an absent class)."""
    counts = np.bincount(texture[texture >= 0], minlength=classes).astype(float)
    weights = np.where(counts > 0, counts.sum() / (classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


def branch_loss(logit, texture_logits, target, texture, weights, texture_weight: float) -> torch.Tensor:
    """BCE over labelled samples (target not NaN) + ``texture_weight`` x weighted CE over known textures."""
    labelled, known = ~torch.isnan(target), texture >= 0
    loss = logit.sum() * 0
    if labelled.any():
        loss = loss + F.binary_cross_entropy_with_logits(logit[labelled], target[labelled])
    if known.any() and texture_weight > 0:
        loss = loss + texture_weight * F.cross_entropy(texture_logits[known], texture[known], weight=weights)
    return loss


def augmented_crops(crops: torch.Tensor, settings: dict, rng: np.random.Generator) -> torch.Tensor:
    """A random 3-D augmentation of (B, 2, D, H, W) crops; the mask channel moves with the HU channel."""
    images, masks = augment_batch(crops[:, :1].float().numpy(), (crops[:, 1].numpy() > 0.5).astype(np.uint8), settings, rng)
    return torch.from_numpy(np.concatenate([images, masks[:, np.newaxis].astype(np.float32)], 1))


def trainable_rows(nodules: NoduleSet) -> np.ndarray:
    """Indices of nodules with a target or a known texture."""
    return np.flatnonzero(~np.isnan(nodules.target) | (nodules.texture >= 0))


def fit_image_branch(network, nodules: NoduleSet, config: dict, log=None) -> SeparableResNet3d:
    """Train ``network`` on ``nodules`` through every progressive stage; returns it in eval mode."""
    rows = trainable_rows(nodules)
    target, texture = torch.from_numpy(nodules.target[rows]), torch.from_numpy(nodules.texture[rows])
    weights, rng = texture_weights(nodules.texture[rows]), np.random.default_rng(config["seed"])
    for (shape, _), epochs in zip(grid_sizes(config), config["stages_epochs"]):
        crops = torch.from_numpy(nodules.crops[shape][rows])
        _fit_stage(network, (crops, target, texture, weights), epochs, config, log, shape, rng)
    return network.eval()


def _fit_stage(network, tensors, epochs: int, config: dict, log, shape, rng) -> None:
    crops, target, texture, weights = tensors
    optimizer = torch.optim.AdamW(network.parameters(), lr=config["learning_rate"],
                                  weight_decay=config.get("weight_decay", 1e-4))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine_schedule(epochs, config.get("warmup", 1)))

    def batch_loss(batch):
        logit, texture_logits = network(augmented_crops(crops[batch], config.get("augment", {}), rng))
        return branch_loss(logit, texture_logits, target[batch], texture[batch], weights, config["texture_weight"])

    for epoch in tqdm(range(epochs), desc=f"nodule-image {'x'.join(map(str, shape))}", unit="epoch", leave=False):
        started = time.monotonic()
        loss = train_batches(network, optimizer, torch.randperm(len(crops)), config["batch_size"], batch_loss)
        scheduler.step()
        if log:
            log.info("stage %s epoch %d loss %.4f seconds %.1f", shape, epoch, loss, time.monotonic() - started)


@torch.no_grad()
def image_outputs(network, crops: np.ndarray, batch_size: int = 32) -> dict:
    """Eval-mode outputs for (N, 2, D, H, W) crops: ``probability`` (N,), ``texture`` (N, 3)
    probabilities and ``representation`` (N, R)."""
    network.eval()
    parts = {"probability": [], "texture": [], "representation": []}
    for start in range(0, len(crops), batch_size):
        batch = torch.from_numpy(np.asarray(crops[start:start + batch_size], dtype=np.float32))
        representation = network.encode(batch)
        parts["representation"].append(representation)
        parts["probability"].append(torch.sigmoid(network.malignancy_head(representation).squeeze(1)))
        parts["texture"].append(torch.softmax(network.texture_head(representation), 1))
    return {key: torch.cat(values).numpy() for key, values in parts.items()}


def evaluation(outputs: dict, nodules: NoduleSet, prefix: str) -> dict:
    """Malignancy AUCs (all / ggn-like, patient-bootstrap CI) and texture figures of one split."""
    return {f"{prefix}_malignancy": malignancy_summary(outputs["probability"], nodules.target, nodules.patients,
                                                       nodules.ggn_like),
            f"{prefix}_texture": texture_summary(outputs["texture"], nodules.texture)}


def load_data(run) -> CohortSplits:
    return load_splits(run)


def train_network(network, data: CohortSplits, run) -> Best:
    """Every progressive stage on the train split; the last epoch's weights are kept."""
    fit_image_branch(network, data.train, run.config, run.log)
    return Best(None, copy.deepcopy(network.state_dict()), sum(run.config["stages_epochs"]) - 1)


def final_metrics(network, data: CohortSplits, run, best: Best) -> dict:
    """Val-split AUCs (all / ggn-like) and texture figures, nested and flat."""
    shape = grid_sizes(run.config)[-1][0]
    metrics = evaluation(image_outputs(network, data.val.crops[shape]), data.val, "val")
    return {**metrics, **flat_numbers(metrics), "train_nodules": len(data.train), "val_nodules": len(data.val),
            "seed": run.config["seed"]}
