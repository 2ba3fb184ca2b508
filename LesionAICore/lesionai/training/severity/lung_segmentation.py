"""Recipe ``lung-segmentation``: a 2D U-Net (MONAI) for the lung fields of frontal chest radiographs.

Trains on the ``train`` split of the chest X-ray collection (binary lung masks, ignore pixels
excluded from the loss), optionally mixed with generated phantoms, selects the epoch with the best
validation Dice and reports the final Dice at the original image resolution after the same
post-processing the pipeline applies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ...geometry import radiograph_geometry
from ...severity.lungs import lung_labels_from_probability
from ...severity.preprocess import model_input, normalize_percentile, resize_plane
from ..augment.planar import random_affine_pairs, random_intensity
from ..config import resolve_data_root
from ..loop import train_batches
from ..metrics.dice import labelled_dice
from .cxr_data import IGNORE, limited, load_mask, load_plane, load_segmentation_arrays, read_cases

NAME, MONITOR = "lung-segmentation", "val_dice_at_input_size"
INPUT_NAMES, OUTPUT_NAMES = ["image"], ["lung_logits"]
OPTIONAL_KEYS = ("phantoms",)
SCHEDULE = {"name": "cosine", "warmup_epochs": 2}


def build_network(config: dict) -> torch.nn.Module:
    from monai.networks.nets import UNet

    return UNet(spatial_dims=2, in_channels=1, out_channels=1, channels=tuple(config["channels"]),
                strides=tuple([2] * (len(config["channels"]) - 1)), num_res_units=config["res_units"])


def example_inputs(config: dict) -> tuple:
    return (torch.zeros(1, 1, *config["input_size"]),)


def masked_loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """BCE + soft Dice over pixels that are not marked ignore."""
    valid = (masks != IGNORE).float()
    target = (masks == 1).float()
    bce = F.binary_cross_entropy_with_logits(logits, target, weight=valid)
    probability = torch.sigmoid(logits) * valid
    intersection = (probability * target).sum(dim=(1, 2, 3))
    union = probability.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    dice = (2 * intersection + 1) / (union + 1)
    return bce + (1 - dice).mean()


def dice(prediction: np.ndarray, mask: np.ndarray) -> float:
    """Dice of a boolean prediction against a 0/1/255 mask, ignoring 255 pixels."""
    return labelled_dice(prediction, mask, IGNORE)


def _phantom_arrays(count: int, shape: tuple[int, int], seed: int):
    from ...phantoms.cxr import generate_cxr_phantom

    images, masks = [], []
    for index in range(count):
        phantom = generate_cxr_phantom(seed=seed + index, size=(512, 512))
        images.append(normalize_percentile(resize_plane(phantom.image.array[0], shape)))
        masks.append(resize_plane((phantom.lung_labels[0] > 0).astype(np.uint8), shape, nearest=True))
    return np.stack(images)[:, None], np.stack(masks)[:, None]


def _training_arrays(config, root, cases, shape):
    images, masks = load_segmentation_arrays(cases, root, shape)
    phantom_count = config.get("phantoms", 0)
    if phantom_count:
        extra_images, extra_masks = _phantom_arrays(phantom_count, shape, config["seed"] + 100000)
        images, masks = np.concatenate([images, extra_images]), np.concatenate([masks, extra_masks])
    return torch.from_numpy(images), torch.from_numpy(masks.astype(np.int64))


def _device_of(network: torch.nn.Module) -> torch.device:
    return next(network.parameters()).device


@dataclass
class LungData:
    """Train images and masks (N, 1, H, W) (phantoms included), val images and masks on the
    training device, and the val cases with their data root (for the full-resolution Dice)."""

    images: torch.Tensor
    masks: torch.Tensor
    val_images: torch.Tensor
    val_masks: torch.Tensor
    train_cases: list
    val_cases: list
    root: object


def load_data(run) -> LungData:
    config = run.config
    root, shape = resolve_data_root(config), tuple(config["input_size"])
    cases = [c for c in read_cases(root) if c.has_lung_mask]
    train_cases = limited([c for c in cases if c.split == "train"], config)
    val_cases = limited([c for c in cases if c.split == "val"], config)
    images, masks = (a.to(run.device) for a in _training_arrays(config, root, train_cases, shape))
    val_images, val_masks = (torch.from_numpy(a).to(run.device) for a in load_segmentation_arrays(val_cases, root, shape))
    return LungData(images, masks, val_images, val_masks, train_cases, val_cases, root)


def train_epoch(network, optimizer, data: LungData, run, epoch: int) -> float:
    augment = run.config["augment"]

    def batch_loss(batch):
        batch_images, batch_masks = random_affine_pairs(data.images[batch], data.masks[batch], augment)
        return masked_loss(network(random_intensity(batch_images, augment)), batch_masks)

    return train_batches(network, optimizer, torch.randperm(len(data.images)), run.config["batch_size"], batch_loss)


@torch.no_grad()
def validate(network, data: LungData, run, epoch: int) -> dict:
    """Mean val Dice at the network's input size (threshold 0.5)."""
    network.eval()
    scores = []
    for start in range(0, len(data.val_images), 16):
        probabilities = torch.sigmoid(network(data.val_images[start:start + 16])).cpu().numpy()
        for probability, mask in zip(probabilities, data.val_masks[start:start + 16].cpu().numpy()):
            scores.append(dice(probability[0] >= 0.5, mask[0]))
    return {MONITOR: float(np.mean(scores))}


@torch.no_grad()
def full_resolution_dice(network, cases, root, shape) -> list[float]:
    """Dice at each case's stored resolution after the pipeline's post-processing."""
    network.eval()
    scores = []
    for case in cases:
        plane = load_plane(case.image_path(root))
        logits = network(torch.from_numpy(model_input(plane, shape)).to(_device_of(network)))
        probability = torch.sigmoid(logits)[0, 0].cpu().numpy()
        labels = lung_labels_from_probability(probability, radiograph_geometry(), plane.shape)
        scores.append(dice(labels > 0, load_mask(case.mask_path(root))))
    return scores


def final_metrics(network, data: LungData, run, best) -> dict:
    scores = full_resolution_dice(network, data.val_cases, data.root, tuple(run.config["input_size"]))
    return {"val_dice": float(np.mean(scores)), "val_dice_median": float(np.median(scores)),
            "val_dice_min": float(np.min(scores)), "val_cases": len(scores), "train_cases": len(data.train_cases),
            "phantoms": run.config.get("phantoms", 0), "best_epoch": best.epoch, "val_dice_at_input_size": best.score}
