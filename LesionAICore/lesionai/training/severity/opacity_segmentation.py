"""Recipe ``opacity-segmentation``: a 2D U-Net (MONAI) for lung opacities, and the zone score built on it.

Two-stage opacity score (after the Scientific Reports 2022 workflow): the pipeline finds the lungs
and the Brixia zones; this model finds the opacities inside the lungs; each zone is scored 0-3 from
the share of its area they cover.

No public collection outlines its opacities, so the model learns from synthetic ground-glass and
consolidation opacities painted into the real radiographs of the ``train`` split inside their real
lung masks (:mod:`.opacities`). Most of those radiographs already show real opacities that nobody
outlined, so the lung outside the painted lesions is only a weak negative (weight
``unknown_weight``), except in zones the senior radiologist scored 0 (opacity-free: full negative
weight); zones he scored above 0 carry no negative loss. Pixels marked ignore in the lung masks
(devices) carry no loss. A weak zone-level hinge loss (weight ``zone_loss_weight``) asks the mean
opacity probability of each scored zone to reach a floor that grows with the senior's score, and to
stay near 0 in zones he scored 0.

After training the recipe tunes the three fraction thresholds of the zone score on the train split's
Brixia-scored radiographs (senior radiologist), measures the zone MAE on the val split's, together
with the junior radiologist's MAE on the same images, and stores the thresholds in the run's
``config.yaml`` (``model.output.thresholds``), from where ``--install`` registers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...severity.opacity import (
    THRESHOLD_NAMES,
    opacity_fractions,
    opacity_mask,
    opacity_scores,
    tune_thresholds,
    zone_mae,
)
from ...severity.preprocess import model_input, resize_plane
from ...severity.zones import ZONE_LETTERS
from ..augment.planar import random_affine_pairs, random_intensity
from ..config import resolve_data_root
from ..loop import train_batches
from ..metrics.dice import dice_score
from ..runs import save_config
from .cxr_data import IGNORE, limited, load_plane, load_segmentation_arrays, pipeline_zones, read_cases
from .opacities import add_synthetic_opacities

OUTSIDE, CLEAR, UNKNOWN, OPACITY, SCORED_ABNORMAL = 0, 1, 2, 3, 4  # supervision classes of a lung pixel
INPUT_NAMES, OUTPUT_NAMES = ["image"], ["opacity_logits"]
NAME, MONITOR = "opacity-segmentation", "val_opacity_dice"
OPTIONAL_KEYS = ("opacities", "unknown_weight", "zone_loss_weight")
SCHEDULE = {"name": "cosine", "warmup_epochs": 2}


def build_network(config: dict) -> torch.nn.Module:
    from monai.networks.nets import UNet

    return UNet(spatial_dims=2, in_channels=1, out_channels=1, channels=tuple(config["channels"]),
                strides=tuple([2] * (len(config["channels"]) - 1)), num_res_units=config["res_units"])


def example_inputs(config: dict) -> tuple:
    return (torch.zeros(1, 1, *config["input_size"]),)


def supervision_map(mask: np.ndarray, zones: np.ndarray | None, senior: np.ndarray | None) -> np.ndarray:
    """Supervision classes (uint8, mask's shape) of a radiograph before any lesion is painted.

    ``mask``: 0 background, 1 lung, 255 ignore. ``zones`` (1..6 = A..F, same shape) and ``senior``
    (6 scores) refine the lung: a zone scored 0 is CLEAR, a zone scored above 0 SCORED_ABNORMAL.
    """
    classes = np.where(mask == 1, UNKNOWN, OUTSIDE).astype(np.uint8)
    if zones is not None and senior is not None:
        for index, score in enumerate(senior):
            classes[(mask == 1) & (zones == index + 1)] = CLEAR if score == 0 else SCORED_ABNORMAL
    classes[mask == IGNORE] = IGNORE
    return classes


@dataclass
class TrainingSet:
    """Train-split radiographs at the network's input size.

    ``images`` (N, 1, H, W) normalised; ``lungs`` (N, H, W) bool lung masks (ignore pixels included);
    ``classes`` (N, H, W) supervision classes; ``zones`` (N, H, W) zones 1..6 of scored radiographs
    (0 elsewhere); ``senior`` (N, 6) senior zone scores, -1 where unscored.
    """

    images: np.ndarray
    lungs: np.ndarray
    classes: np.ndarray
    zones: np.ndarray
    senior: np.ndarray


def training_set(cases, root: Path, shape: tuple[int, int], zones_by_stem: dict) -> TrainingSet:
    images, masks = load_segmentation_arrays(cases, root, shape)
    classes, zone_maps, senior = [], [], []
    for case, mask in zip(cases, masks[:, 0]):
        scores = case.zone_scores("senior")
        zones = zones_by_stem.get(case.stem, (None, None))[1] if scores is not None else None
        zones = None if zones is None else resize_plane(zones, shape, nearest=True)
        classes.append(supervision_map(mask, zones, scores))
        zone_maps.append(np.zeros(shape, np.uint8) if zones is None else zones)
        senior.append(np.full(len(ZONE_LETTERS), -1.0) if zones is None else scores)
    return TrainingSet(images, masks[:, 0] > 0, np.stack(classes), np.stack(zone_maps), np.stack(senior))


def painted_batch(data: TrainingSet, indices, rng, settings) -> tuple[torch.Tensor, torch.Tensor]:
    """Radiographs with synthetic opacities (B, 1, H, W), and (B, 2, H, W) their supervision classes
    (channel 0) and zones (channel 1)."""
    painted, targets = [], []
    for index in indices:
        image, opacity = add_synthetic_opacities(data.images[index, 0], data.lungs[index], rng, settings)
        paintable = np.isin(data.classes[index], (CLEAR, UNKNOWN, SCORED_ABNORMAL))
        painted.append(image)
        targets.append([np.where(opacity & paintable, OPACITY, data.classes[index]), data.zones[index]])
    return torch.from_numpy(np.stack(painted)[:, None]), torch.from_numpy(np.stack(targets).astype(np.int64))


def class_weights(unknown_weight: float, device) -> torch.Tensor:
    """Loss weight of each supervision class value (0-255)."""
    weights = torch.zeros(256, device=device)
    weights[CLEAR], weights[UNKNOWN], weights[OPACITY] = 1.0, unknown_weight, 1.0
    return weights


def weighted_loss(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted BCE + batch soft Dice; ``targets`` holds supervision classes, ``weights`` their weights."""
    weight = weights[targets]
    positive = (targets == OPACITY).float()
    bce = F.binary_cross_entropy_with_logits(logits, positive, weight=weight, reduction="sum") / weight.sum().clamp(min=1)
    probability = torch.sigmoid(logits) * weight
    dice = (2 * (probability * positive).sum() + 1) / (probability.sum() + (positive * weight).sum() + 1)
    return bce + (1 - dice)


ZONE_FLOOR = (0.0, 0.1, 0.25, 0.5)  # least opacity share expected in a zone of senior score 0-3
CLEAR_ZONE_CEILING = 0.05           # most opacity share tolerated in a zone of senior score 0


def zone_hinge_loss(logits: torch.Tensor, targets: torch.Tensor, senior: torch.Tensor) -> torch.Tensor:
    """Weak zone-level supervision from the senior's scores.

    The mean opacity probability over a scored zone's unpainted lung pixels should reach
    ``ZONE_FLOOR[score]`` and, in a zone scored 0, stay under ``CLEAR_ZONE_CEILING``; only shortfalls
    and excesses cost. ``targets``: (B, 2, H, W) classes and zones; ``senior``: (B, 6), -1 unscored.
    """
    letters = torch.arange(1, len(ZONE_LETTERS) + 1, device=targets.device)[None, :, None, None]
    unpainted = ((targets[:, :1] != OPACITY) & (targets[:, :1] != IGNORE) & (targets[:, :1] != OUTSIDE))
    members = ((targets[:, 1:2] == letters) & unpainted).float()
    counts = members.sum(dim=(2, 3))
    share = (torch.sigmoid(logits) * members).sum(dim=(2, 3)) / counts.clamp(min=1)
    valid = (senior >= 0) & (counts >= 16)
    floor = torch.tensor(ZONE_FLOOR, device=logits.device)[senior.clamp(min=0).long()]
    ceiling = torch.where(senior == 0, CLEAR_ZONE_CEILING, 1.0)
    penalty = F.relu(floor - share) + F.relu(share - ceiling)
    return (penalty * valid).sum() / valid.sum().clamp(min=1)


def opacity_dice(prediction: np.ndarray, opacity: np.ndarray, lung: np.ndarray) -> float:
    """Dice of predicted against painted opacity, both taken inside ``lung``; 1 when both are empty."""
    return dice_score(prediction, opacity, lung)


def validation_set(cases, root, shape, config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Val radiographs with synthetic opacities painted with a fixed seed (every one gets some):
    images (N, 1, H, W), opacity (N, H, W) and scored lung (mask == 1) (N, H, W)."""
    images, masks = load_segmentation_arrays(cases, root, shape)
    rng = np.random.default_rng(config["seed"] + 1)
    settings = {**config.get("opacities", {}), "empty_rate": 0.0}
    painted = [add_synthetic_opacities(image[0], mask[0] > 0, rng, settings) for image, mask in zip(images, masks)]
    return np.stack([p[0] for p in painted])[:, None], np.stack([p[1] for p in painted]), masks[:, 0] == 1


@torch.no_grad()
def predicted_probability(network, images: np.ndarray, batch: int = 16) -> np.ndarray:
    """Opacity probability (N, H, W) of normalised images (N, 1, H, W)."""
    network.eval()
    device = next(network.parameters()).device
    chunks = [torch.sigmoid(network(torch.from_numpy(images[start:start + batch]).to(device))).cpu().numpy()[:, 0]
              for start in range(0, len(images), batch)]
    return np.concatenate(chunks)


def validation_dice(network, validation) -> list[float]:
    images, opacities, lungs = validation
    probabilities = predicted_probability(network, images)
    return [opacity_dice(p >= 0.5, o, lung) for p, o, lung in zip(probabilities, opacities, lungs)]


def zone_fractions(network, cases, root, shape, zones_by_stem) -> tuple[list, np.ndarray]:
    """Cases with zones and their opacity fractions (cases, 6), measured as inference measures them."""
    kept, fractions = [], []
    for case in cases:
        if case.stem not in zones_by_stem:
            continue
        lungs, zones = zones_by_stem[case.stem]
        plane = load_plane(case.image_path(root))
        probability = predicted_probability(network, model_input(plane, shape))[0]
        found = opacity_fractions(opacity_mask(probability, lungs), zones)
        kept.append(case)
        fractions.append([found[letter] for letter in ZONE_LETTERS])
    return kept, np.array(fractions, dtype=np.float64).reshape(-1, len(ZONE_LETTERS))


def scorer_metrics(network, train_scored, val_scored, root, shape, zones_by_stem) -> tuple[dict, dict | None]:
    """Thresholds tuned on the train split's senior scores, and zone MAEs on train and val.

    Returns (metrics, thresholds); thresholds is None when the train split has no scored radiograph.
    """
    train_cases, train_fractions = zone_fractions(network, train_scored, root, shape, zones_by_stem)
    if not train_cases:
        return {}, None
    train_senior = np.stack([c.zone_scores("senior") for c in train_cases])
    thresholds, train_mae = tune_thresholds(train_fractions, train_senior)
    constant = int(np.argmin([zone_mae(np.full_like(train_senior, score), train_senior) for score in range(4)]))
    metrics = {"train_zone_mae_opacity": train_mae, "train_scored_cases": len(train_cases),
               "train_zone_spearman_opacity": _spearman(train_fractions, train_senior)}
    val_cases, val_fractions = zone_fractions(network, val_scored, root, shape, zones_by_stem)
    if val_cases:
        metrics.update(_val_scorer_metrics(val_cases, val_fractions, thresholds, constant))
    return metrics, thresholds


def _val_scorer_metrics(cases, fractions: np.ndarray, thresholds: dict, constant: int) -> dict:
    """Zone and global MAEs against the senior on val: the opacity score, the junior radiologist, and
    the one score (``constant``) that fits the train split best, as the floor any scorer must beat."""
    senior = np.stack([c.zone_scores("senior") for c in cases])
    predicted = np.array([list(opacity_scores(dict(zip(ZONE_LETTERS, row)), thresholds).values()) for row in fractions])
    metrics = {"val_zone_mae_opacity": zone_mae(predicted, senior), "val_scored_cases": len(cases),
               "val_zone_mae_constant": zone_mae(np.full_like(senior, constant), senior),
               "val_global_mae_opacity": zone_mae(predicted.sum(axis=1), senior.sum(axis=1)),
               "val_zone_spearman_opacity": _spearman(fractions, senior)}
    junior = [c.zone_scores("junior") for c in cases]
    if all(scores is not None for scores in junior):
        metrics["val_zone_mae_junior"] = zone_mae(np.stack(junior), senior)
        metrics["val_global_mae_junior"] = zone_mae(np.stack(junior).sum(axis=1), senior.sum(axis=1))
    return metrics


def _spearman(fractions: np.ndarray, scores: np.ndarray) -> float:
    from scipy.stats import spearmanr

    value = spearmanr(fractions.ravel(), scores.ravel()).statistic
    return float(value) if np.isfinite(value) else 0.0


@dataclass
class OpacityData:
    """What a run trains and measures on: the painted-opacity ``training`` set, the ``validation``
    set (images, opacities, lungs), the supervision class weights, the painting generator, the
    Brixia-scored cases per split with their pipeline zones, and the case lists."""

    training: TrainingSet
    validation: tuple
    weights: torch.Tensor
    rng: np.random.Generator
    scored: dict
    zones_by_stem: dict
    train_cases: list
    val_cases: list
    root: Path


def load_data(run) -> OpacityData:
    config = run.config
    root, shape = resolve_data_root(config), tuple(config["input_size"])
    cases = read_cases(root)
    train_cases = limited([c for c in cases if c.split == "train" and c.has_lung_mask], config)
    val_cases = limited([c for c in cases if c.split == "val" and c.has_lung_mask], config)
    scored = {split: limited([c for c in cases if c.split == split and c.zone_scores("senior") is not None], config)
              for split in ("train", "val")}
    zones_by_stem = pipeline_zones(scored["train"] + scored["val"], root, config.get("threads", torch.get_num_threads()),
                                   run.log)
    return OpacityData(training_set(train_cases, root, shape, zones_by_stem), validation_set(val_cases, root, shape, config),
                       class_weights(config["unknown_weight"], run.device), np.random.default_rng(config["seed"]),
                       scored, zones_by_stem, train_cases, val_cases, root)


def train_epoch(network, optimizer, data: OpacityData, run, epoch: int) -> float:
    config, device = run.config, run.device
    senior = torch.from_numpy(data.training.senior).to(device)

    def batch_loss(batch):
        painted, targets = painted_batch(data.training, batch.numpy(), data.rng, config.get("opacities", {}))
        painted, targets = random_affine_pairs(painted.to(device), targets.to(device), config["augment"])
        logits = network(random_intensity(painted, config["augment"]))
        zone_loss = zone_hinge_loss(logits, targets, senior[batch.to(device)])
        return weighted_loss(logits, targets[:, :1], data.weights) + config.get("zone_loss_weight", 0.0) * zone_loss

    order = torch.randperm(len(data.training.images))
    return train_batches(network, optimizer, order, config["batch_size"], batch_loss)


def validate(network, data: OpacityData, run, epoch: int) -> dict:
    return {MONITOR: float(np.mean(validation_dice(network, data.validation)))}


def final_metrics(network, data: OpacityData, run, best) -> dict:
    """Dice of the kept weights on the painted val set, and the zone scorer's thresholds (saved in
    the run's config) and MAEs."""
    dice_scores = validation_dice(network, data.validation)
    metrics = {MONITOR: float(np.mean(dice_scores)), "val_opacity_dice_median": float(np.median(dice_scores)),
               "val_cases": len(data.val_cases), "train_cases": len(data.train_cases), "best_epoch": best.epoch}
    shape = tuple(run.config["input_size"])
    scorer, thresholds = scorer_metrics(network, data.scored["train"], data.scored["val"], data.root, shape,
                                        data.zones_by_stem)
    metrics.update(scorer)
    if thresholds is not None:
        _save_thresholds(run.config, run.directory, thresholds)
    run.log.info("thresholds %s", thresholds)
    return metrics
def _save_thresholds(config: dict, run_dir: Path, thresholds: dict) -> None:
    """Put the tuned thresholds into the run's saved config, where installing the run reads them."""
    config["model"]["output"]["thresholds"] = {name: thresholds[name] for name in THRESHOLD_NAMES}
    save_config(config, run_dir)
