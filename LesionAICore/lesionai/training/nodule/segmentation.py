"""Recipe ``nodule-segmentation``: a small 3D U-Net (MONAI) for the nodule in a region.

Trains on LIDC crops cut into regions exactly as the pipeline cuts a crop (``region_from_crop``),
with random spacing, centre shift, context texture, flips and HU scale/offset/noise, through the
shared loop (:func:`lesionai.training.loop.fit`). The model of the last epoch is kept (no epoch is
chosen on the reported cases); :func:`cross_validate` runs the same schedule per patient-grouped fold. Dice is measured on the input crop's
own grid after the pipeline's post-processing (resampling back, threshold, component at the seed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...nodule.region import region_from_crop
from ...nodule.segmentation import (crop_start_spacing, dice, model_input, nodule_mask_on_input,
                                    segment_with_growth, sigmoid)
from ..config import resolve_data_root
from ..device import seed_everything, set_threads
from ..loop import run_epochs, train_batches
from .data import load_pair, patient_folds, read_cases, training_region

NAME = "nodule-segmentation"
INPUT_NAMES, OUTPUT_NAMES = ["region"], ["nodule_logits"]
MONITOR = None
OPTIONAL_KEYS = ("cv_folds",)


def build_network(config: dict) -> torch.nn.Module:
    from monai.networks.nets import UNet

    channels = tuple(config["channels"])
    return UNet(spatial_dims=3, in_channels=1, out_channels=1, channels=channels,
                strides=tuple([2] * (len(channels) - 1)), num_res_units=config["res_units"])


def example_inputs(config: dict) -> tuple:
    return (torch.zeros(1, 1, *config["region_shape"]),)


def dice_bce_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE + soft Dice per region, averaged over the batch."""
    probability = torch.sigmoid(logits)
    intersection = (probability * target).flatten(1).sum(1)
    union = probability.flatten(1).sum(1) + target.flatten(1).sum(1)
    soft_dice = (2 * intersection + 1) / (union + 1)
    return F.binary_cross_entropy_with_logits(logits, target) + (1 - soft_dice).mean()


def augmented_batch(pairs, indices, rng: np.random.Generator, augment: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Network inputs and masks ``[B, 1, k, j, i]`` for ``indices`` of ``pairs``."""
    images, masks = [], []
    for index in indices:
        region, mask = training_region(*pairs[index], rng, augment)
        region = _intensity(region, rng, augment)
        flips = [axis for axis in range(3) if rng.random() < 0.5]
        images.append(np.flip(model_input(region)[0], [a + 1 for a in flips]))
        masks.append(np.flip(mask, flips)[np.newaxis])
    return torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(np.ascontiguousarray(masks))


def _intensity(region: np.ndarray, rng: np.random.Generator, augment: dict) -> np.ndarray:
    """HU scale about -1000, offset and Gaussian noise (scanner and kernel differences)."""
    scale = 1 + rng.uniform(-1, 1) * augment.get("hu_scale", 0.0)
    offset = rng.uniform(-1, 1) * augment.get("hu_offset", 0.0)
    noise = rng.standard_normal(region.shape).astype(np.float32) * rng.uniform(0, augment.get("noise_hu", 0.0))
    return (region + 1000) * scale - 1000 + offset + noise


@torch.no_grad()
def region_probability(network: torch.nn.Module, region_hu: np.ndarray) -> np.ndarray:
    """Nodule probability on the region grid from a torch network."""
    network.eval()
    logits = network(torch.from_numpy(model_input(region_hu)))
    return sigmoid(logits[0, 0].numpy())


def crop_dice(probability_of, image, mask) -> float:
    """Dice on the crop's own grid of the pipeline's mask for a crop (``probability_of(region_hu)``)."""
    start = crop_start_spacing(image.array.shape, image.geometry.spacing[::-1])
    region, probability = segment_with_growth(lambda spacing: region_from_crop(image, spacing_mm=spacing),
                                              probability_of, start)
    block, predicted = nodule_mask_on_input(region, probability)
    full = np.zeros(image.array.shape, dtype=bool)
    full[block] = predicted
    return dice(full, mask.array > 0)


@dataclass
class SegmentationData:
    """Crops (image, mask) to train on and to score, and the augmentation generator."""

    train_pairs: list
    val_pairs: list
    rng: np.random.Generator


def load_data(run) -> SegmentationData:
    """The ``train`` and ``val`` splits' crops (``max_cases`` of each when set)."""
    root = resolve_data_root(run.config)
    cases = read_cases(root)
    limit = run.config.get("max_cases") or None
    pairs = {split: [load_pair(root, c) for c in cases if c.split == split][:limit] for split in ("train", "val")}
    return SegmentationData(pairs["train"], pairs["val"], np.random.default_rng(run.config["seed"]))


def train_epoch(network, optimizer, data: SegmentationData, run, epoch: int) -> float:
    order = data.rng.permutation(len(data.train_pairs))
    batch_loss = lambda batch: dice_bce_loss(*_forward(network, data, batch, run))
    return train_batches(network, optimizer, order, run.config["batch_size"], batch_loss)


def _forward(network, data: SegmentationData, batch, run):
    images, masks = augmented_batch(data.train_pairs, batch, data.rng, run.config["augment"])
    return network(images.to(run.device)), masks.to(run.device)


def validate(network, data: SegmentationData, run, epoch: int) -> dict:
    """Nothing: the last epoch is kept, so no epoch is chosen on the cases that are reported."""
    return {}


def final_metrics(network, data: SegmentationData, run, best) -> dict:
    network.cpu()
    return {**dice_summary(evaluate(network, data.val_pairs), "val"), "train_cases": len(data.train_pairs),
            "epoch_chosen": best.epoch}


def evaluate(network: torch.nn.Module, pairs: list) -> list[float]:
    """Per-case Dice on the crops' own grids."""
    return [crop_dice(lambda region: region_probability(network, region), image, mask) for image, mask in pairs]


def dice_summary(scores: list[float], prefix: str) -> dict:
    return {f"{prefix}_dice": float(np.mean(scores)), f"{prefix}_dice_median": float(np.median(scores)),
            f"{prefix}_cases": len(scores)}


def cross_validate(config: dict, run_dir, folds: list[int] | None = None) -> dict:
    """Patient-grouped ``cv_folds``-fold cross-validation over all cases (train and val splits).

    Each fold's network trains on the other folds with the recipe's schedule and is scored on the
    held-out fold; ``fold_<n>.json`` holds its per-case Dice. ``folds`` runs a subset;
    ``cv_metrics.json`` pools the folds finished so far (:func:`summarize_folds`).
    """
    from ..loop import open_run

    set_threads(config)
    run = open_run(config, run_dir)
    root = resolve_data_root(config)
    cases = read_cases(root)[: config.get("max_cases") or None]
    fold_of = patient_folds(cases, config["cv_folds"], config["seed"])
    for fold in folds if folds is not None else range(config["cv_folds"]):
        _run_fold(run, root, cases, fold_of, fold)
    return summarize_folds(run.directory, config["cv_folds"])


def _run_fold(run, root, cases, fold_of, fold: int) -> None:
    import sys

    seed_everything(run.config["seed"] + fold)
    held_out = [c for c, f in zip(cases, fold_of) if f == fold]
    data = SegmentationData([load_pair(root, c) for c, f in zip(cases, fold_of) if f != fold],
                            [load_pair(root, c) for c in held_out], np.random.default_rng(run.config["seed"] + fold))
    network = build_network(run.config).to(run.device)
    run_epochs(sys.modules[__name__], network, data, run, label=f"fold {fold}", checkpoint=False)
    scores = evaluate(network.cpu(), data.val_pairs)
    torch.save(network.state_dict(), run.directory / f"fold_{fold}.pt")
    record = {"fold": fold, "cases": {c.id: s for c, s in zip(held_out, scores)},
              "patients": sorted({c.patient for c in held_out})}
    (run.directory / f"fold_{fold}.json").write_text(json.dumps(record, indent=1) + "\n")
    run.log.info("fold %d dice %.4f (%d cases)", fold, float(np.mean(scores)), len(scores))


def summarize_folds(run_dir, folds: int) -> dict:
    """Pooled and per-fold Dice of the finished ``fold_<n>.json`` files (``cv_metrics.json``)."""
    run_dir = Path(run_dir)
    records = [json.loads(p.read_text()) for p in sorted(run_dir.glob("fold_*.json"))]
    scores = [s for r in records for s in r["cases"].values()]
    fold_means = [float(np.mean(list(r["cases"].values()))) for r in records]
    summary = {**dice_summary(scores, "cv"), "cv_fold_dice": fold_means, "cv_folds_done": len(records),
               "cv_folds": folds}
    (run_dir / "cv_metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
