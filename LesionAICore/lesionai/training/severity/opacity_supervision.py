"""Supervision of the opacity model: which lung pixels count as opacity, clear, unknown or scored
abnormal, the painted training batches, and the pixel and zone-level losses built on them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...severity.preprocess import resize_plane
from ...severity.zones import ZONE_LETTERS
from .cxr_data import IGNORE, load_segmentation_arrays
from .opacities import add_synthetic_opacities

OUTSIDE, CLEAR, UNKNOWN, OPACITY, SCORED_ABNORMAL = 0, 1, 2, 3, 4  # supervision classes of a lung pixel


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
