"""Recipe ``lung-alignment``: an affine spatial transformer that maps a radiograph and its lung
mask into a canonical frame.

No hand-made target masks are needed: the canonical lung template is the mean of the training
masks after each was mapped onto a fixed canonical box by its own lung bounding box. The STN is
trained so that the warped lung mask overlaps that template (soft Dice + MSE), from inputs
jittered by random affines so that it learns to undo pose, scale and rotation.

The network outputs ``theta`` (batch, 2, 3): the sampling matrix of ``torch.nn.functional.affine_grid``
(align_corners=False), i.e. canonical normalised coordinates (x, y in [-1, 1]) -> input normalised
coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..augment.planar import random_affine_pairs, random_intensity
from ..config import resolve_data_root
from ..loop import train_batches
from ..metrics.dice import batch_dice
from .cxr_data import limited, load_segmentation_arrays, read_cases

NAME, MONITOR = "lung-alignment", "val_perturbed_template_dice_after"
SCHEDULE = {"name": "cosine-annealing"}

CANONICAL_BOX = (-0.8, 0.8, -0.75, 0.85)  # x0, x1, y0, y1 of the lungs' bounding box in the canonical frame


class AffineSTN(nn.Module):
    """Localisation CNN on (image, lung mask) -> bounded affine parameters -> theta (B, 2, 3)."""

    def __init__(self, width: int = 16):
        super().__init__()
        layers, channels = [], 2
        for out in (width, width * 2, width * 4, width * 8, width * 8):
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(), nn.MaxPool2d(2)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * 16, 64), nn.ReLU(), nn.Linear(64, 7))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, image: torch.Tensor, lung_mask: torch.Tensor) -> torch.Tensor:
        pooled = F.adaptive_avg_pool2d(self.features(torch.cat([image, lung_mask], 1)), 4)
        return parameters_to_theta(self.head(pooled))


def build_network(config: dict) -> AffineSTN:
    return AffineSTN(config["width"])


def example_inputs(config: dict) -> tuple:
    shape = tuple(config["input_size"])
    return torch.zeros(1, 1, *shape), torch.zeros(1, 1, *shape)


INPUT_NAMES, OUTPUT_NAMES = ["image", "lung_mask"], ["theta"]


def parameters_to_theta(raw: torch.Tensor) -> torch.Tensor:
    """Bounded rotation (±30°), log-scales (±0.5), shear (±0.3) and shift (±0.5) -> theta."""
    angle = 0.52 * torch.tanh(raw[:, 0])
    scale_x, scale_y = torch.exp(0.5 * torch.tanh(raw[:, 1])), torch.exp(0.5 * torch.tanh(raw[:, 2]))
    shear = 0.3 * torch.tanh(raw[:, 3])
    shift_x, shift_y = 0.5 * torch.tanh(raw[:, 4]), 0.5 * torch.tanh(raw[:, 5])
    cos, sin = torch.cos(angle), torch.sin(angle)
    a11, a12 = cos * scale_x, (cos * shear - sin) * scale_y
    a21, a22 = sin * scale_x, (sin * shear + cos) * scale_y
    return torch.stack([torch.stack([a11, a12, shift_x], 1), torch.stack([a21, a22, shift_y], 1)], 1)


def bounding_box_theta(mask: np.ndarray) -> np.ndarray:
    """theta (2, 3) that maps the mask's lung bounding box onto CANONICAL_BOX."""
    rows, cols = np.nonzero(mask)
    height, width = mask.shape
    x0, x1 = (2 * cols.min() + 1) / width - 1, (2 * cols.max() + 1) / width - 1
    y0, y1 = (2 * rows.min() + 1) / height - 1, (2 * rows.max() + 1) / height - 1
    cx0, cx1, cy0, cy1 = CANONICAL_BOX
    sx, sy = (x1 - x0) / (cx1 - cx0), (y1 - y0) / (cy1 - cy0)
    return np.array([[sx, 0, x0 - sx * cx0], [0, sy, y0 - sy * cy0]], dtype=np.float32)


def warp(masks: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    grid = F.affine_grid(theta, list(masks.shape), align_corners=False)
    return F.grid_sample(masks, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def build_template(lung_masks: torch.Tensor) -> torch.Tensor:
    """Mean (1, 1, H, W) of bounding-box-normalised binary lung masks."""
    thetas = torch.from_numpy(np.stack([bounding_box_theta(m[0].cpu().numpy() > 0) for m in lung_masks]))
    thetas = thetas.to(lung_masks.device)
    return warp(lung_masks, thetas).mean(0, keepdim=True)


def overlap_loss(warped: torch.Tensor, template: torch.Tensor) -> torch.Tensor:
    intersection = (warped * template).sum(dim=(1, 2, 3))
    union = warped.sum(dim=(1, 2, 3)) + template.sum(dim=(1, 2, 3))
    return (1 - 2 * intersection / union.clamp(min=1e-6)).mean() + F.mse_loss(warped, template.expand_as(warped))


def template_dice(masks: torch.Tensor, template: torch.Tensor) -> np.ndarray:
    """Hard Dice of each (thresholded) mask against the thresholded template."""
    binary = masks >= 0.5
    return batch_dice(binary, (template >= 0.5).expand_as(binary)).float().cpu().numpy()


def _lung_only(masks: torch.Tensor) -> torch.Tensor:
    return (masks == 1).float()


def train_epoch(network, optimizer, data: AlignmentData, run, epoch: int) -> float:
    augment = run.config["augment"]

    def batch_loss(batch):
        batch_images, batch_masks = random_affine_pairs(data.images[batch], data.masks[batch], augment)
        batch_images, lung_masks = random_intensity(batch_images, augment), _lung_only(batch_masks)
        return overlap_loss(warp(lung_masks, network(batch_images, lung_masks)), data.template)

    return train_batches(network, optimizer, torch.randperm(len(data.images)), run.config["batch_size"], batch_loss)


@torch.no_grad()
def evaluate(network, images, masks, template, augment: dict | None = None, seed: int = 0) -> dict:
    """Template Dice before and after alignment (optionally on affinely perturbed inputs)."""
    network.eval()
    if augment:
        torch.manual_seed(seed)
        images, masks = random_affine_pairs(images, masks, augment)
    lung_masks = _lung_only(masks)
    after = warp(lung_masks, network(images, lung_masks))
    return {"before": float(template_dice(lung_masks, template).mean()),
            "after": float(template_dice(after, template).mean())}


def _split_arrays(cases, split: str, root, shape, config: dict, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 1, H, W) float images and masks (0, 1, 255) of one split, on the training device."""
    arrays = load_segmentation_arrays(limited([c for c in cases if c.split == split], config), root, shape)
    return tuple(torch.from_numpy(a.astype(np.float32)).to(device) for a in arrays)


@dataclass
class AlignmentData:
    """Train and val images and masks (N, 1, H, W) on the training device, and the canonical
    lung template (1, 1, H, W) built from the train masks."""

    images: torch.Tensor
    masks: torch.Tensor
    val_images: torch.Tensor
    val_masks: torch.Tensor
    template: torch.Tensor


def load_data(run) -> AlignmentData:
    """The splits, and the template (also saved as ``template.npy`` in the run folder)."""
    config = run.config
    root, shape = resolve_data_root(config), tuple(config["input_size"])
    cases = [c for c in read_cases(root) if c.has_lung_mask]
    images, masks = _split_arrays(cases, "train", root, shape, config, run.device)
    val_images, val_masks = _split_arrays(cases, "val", root, shape, config, run.device)
    template = build_template(_lung_only(masks))
    np.save(run.directory / "template.npy", template[0, 0].cpu().numpy())
    return AlignmentData(images, masks, val_images, val_masks, template)


def validate(network, data: AlignmentData, run, epoch: int) -> dict:
    """Template Dice before and after alignment of val inputs perturbed with seed ``epoch``."""
    scores = evaluate(network, data.val_images, data.val_masks, data.template, run.config["augment"], seed=epoch)
    return {"val_perturbed_template_dice_before": scores["before"], MONITOR: scores["after"]}


def final_metrics(network, data: AlignmentData, run, best) -> dict:
    plain = evaluate(network, data.val_images, data.val_masks, data.template)
    perturbed = evaluate(network, data.val_images, data.val_masks, data.template, run.config["augment"], seed=12345)
    return {"val_template_dice_before": plain["before"], "val_template_dice_after": plain["after"],
            "val_perturbed_template_dice_before": perturbed["before"],
            "val_perturbed_template_dice_after": perturbed["after"], "val_cases": len(data.val_images)}
