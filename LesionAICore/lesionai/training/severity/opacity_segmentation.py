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

from ...severity.opacity import THRESHOLD_NAMES
from ..augment.planar import random_affine_pairs, random_intensity
from ..config import resolve_data_root
from ..loop import train_batches
from ..metrics.dice import dice_score
from ..runs import save_config
from .cxr_data import limited, load_segmentation_arrays, pipeline_zones, read_cases
from .opacities import add_synthetic_opacities
from .opacity_scorer import predicted_probability, scorer_metrics
from .opacity_supervision import TrainingSet, class_weights, painted_batch, training_set, weighted_loss, zone_hinge_loss
from .lung_segmentation import build_network, example_inputs  # noqa: F401 (the same 2-D U-Net, one definition)

INPUT_NAMES, OUTPUT_NAMES = ["image"], ["opacity_logits"]
NAME, MONITOR = "opacity-segmentation", "val_opacity_dice"
OPTIONAL_KEYS = ("opacities", "unknown_weight", "zone_loss_weight")
SCHEDULE = {"name": "cosine", "warmup_epochs": 2}


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


def validation_dice(network, validation) -> list[float]:
    images, opacities, lungs = validation
    probabilities = predicted_probability(network, images)
    return [opacity_dice(p >= 0.5, o, lung) for p, o, lung in zip(probabilities, opacities, lungs)]


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
