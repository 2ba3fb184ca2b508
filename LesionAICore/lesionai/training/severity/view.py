"""Recipe ``view-check``: is this a frontal chest radiograph, a lateral one, or something else?

Classes: 0 frontal (PA/AP/AP supine), 1 lateral, 2 other. Frontal and lateral examples come from
the chest X-ray collection's ``view`` column; "other" examples are slices of the spinal MRI and
DICOM sample collections (when present) plus generated non-radiograph pictures (noise, gradients,
shapes, inverted and rotated radiographs are *not* used: an inverted radiograph is still a chest).
Lateral examples are few, so classes are re-weighted and augmentation is strong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ...severity.preprocess import normalize_percentile, resize_plane
from ..augment.planar import random_affine_pairs, random_intensity
from ..config import resolve_data_root
from ..loop import train_batches
from .cxr_data import FRONTAL_VIEWS, limited, load_plane, read_cases

CLASSES = ("frontal", "lateral", "other")
NAME, MONITOR = "view-check", "val_balanced_accuracy"
OPTIMIZER, SCHEDULE = {"weight_decay": 1e-3}, {"name": "constant"}


class ViewNet(nn.Module):
    """Small CNN: (B, 1, 128, 128) in [0, 1] -> (B, 3) logits."""

    def __init__(self, width: int = 16):
        super().__init__()
        layers, channels = [], 1
        for out in (width, width * 2, width * 4, width * 8):
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(), nn.MaxPool2d(2)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(channels, len(CLASSES)))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(F.adaptive_avg_pool2d(self.features(image), 1).flatten(1))


def build_network(config: dict) -> ViewNet:
    return ViewNet(config["width"])


def example_inputs(config: dict) -> tuple:
    return (torch.zeros(1, 1, *config["input_size"]),)


INPUT_NAMES, OUTPUT_NAMES = ["image"], ["view_logits"]


def _view_class(view: str) -> int | None:
    if view in FRONTAL_VIEWS:
        return 0
    return 1 if view == "L" else None


def radiograph_examples(root, split: str, shape, config: dict) -> tuple[np.ndarray, np.ndarray]:
    cases = [c for c in read_cases(root) if c.split == split and _view_class(c.view) is not None]
    laterals = [c for c in cases if _view_class(c.view) == 1]
    cases = limited([c for c in cases if _view_class(c.view) == 0], config) + limited(laterals, config)
    images = [normalize_percentile(resize_plane(load_plane(c.image_path(root)), shape)) for c in cases]
    return np.stack(images), np.array([_view_class(c.view) for c in cases])


def synthetic_others(count: int, shape, seed: int) -> np.ndarray:
    """Generated pictures that are not radiographs: noise, gradients, blobs, stripes, flat fields."""
    generator = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    makers = [
        lambda: generator.random(shape),
        lambda: np.cos(rows * generator.uniform(2, 40)) * np.sin(cols * generator.uniform(2, 40)),
        lambda: generator.uniform(-1, 1) * rows + generator.uniform(-1, 1) * cols + 0.01 * generator.random(shape),
        lambda: _blobs(generator, shape),
        lambda: np.full(shape, generator.uniform()) + 0.001 * generator.random(shape),
    ]
    return np.stack([normalize_percentile(makers[i % len(makers)]()) for i in range(count)]).astype(np.float32)


def _blobs(generator, shape) -> np.ndarray:
    from scipy import ndimage

    return ndimage.gaussian_filter(generator.random(shape), generator.uniform(2, 12))


def medical_others(data_root, shape, part: int) -> np.ndarray:
    """Axial, coronal and sagittal slices of the spinal MRI and DICOM sample volumes (half by ``part``)."""
    shared = data_root.parent
    paths = sorted(shared.glob("spine/**/*.nii.gz")) + sorted(shared.glob("dicom/**/*.dcm"))
    if not paths:
        return np.zeros((0, *shape), np.float32)
    import SimpleITK as sitk

    planes = []
    for path in paths[part::2]:
        try:
            volume = sitk.GetArrayFromImage(sitk.ReadImage(str(path))).astype(np.float32)
        except RuntimeError:
            continue
        planes += [p for p in _middle_slices(volume) if min(p.shape) >= 16]
    return np.stack([normalize_percentile(resize_plane(p, shape)) for p in planes]) if planes else np.zeros((0, *shape), np.float32)


def _middle_slices(volume: np.ndarray) -> list[np.ndarray]:
    while volume.ndim > 3:  # 4D series (diffusion, fMRI): the first volume
        volume = volume[0]
    if volume.ndim == 2:
        return [volume]
    return [np.take(volume, volume.shape[axis] // 2, axis=axis) for axis in range(3)]


def _dataset(root, split, shape, seed, part, config):
    images, labels = radiograph_examples(root, split, shape, config)
    others = np.concatenate([medical_others(root, shape, part), synthetic_others(60 if split == "train" else 30, shape, seed)])
    images = np.concatenate([images, others])
    labels = np.concatenate([labels, np.full(len(others), 2)])
    return torch.from_numpy(images[:, None].astype(np.float32)), torch.from_numpy(labels)


def _augment(images, config):
    flipped = torch.where(torch.rand(len(images), 1, 1, 1, device=images.device) < 0.5, images.flip(-1), images)
    warped, _ = random_affine_pairs(flipped, torch.zeros_like(flipped, dtype=torch.long), config["augment"])
    return random_intensity(warped, config["augment"])


def train_epoch(network, optimizer, data: ViewData, run, epoch: int) -> float:
    def batch_loss(batch):
        return F.cross_entropy(network(_augment(data.images[batch], run.config)), data.labels[batch])

    balanced_order = torch.multinomial(data.weights[data.labels], len(data.labels), replacement=True)
    return train_batches(network, optimizer, balanced_order, run.config["batch_size"], batch_loss)


@torch.no_grad()
def evaluate(network, images, labels, frontal_threshold: float | None = None) -> dict:
    """Accuracy and recalls at the argmax; with ``frontal_threshold``, how often each class is flagged
    (frontal probability under the threshold), as the pipeline's warning does."""
    network.eval()
    logits = network(images)
    predicted = logits.argmax(1)
    flagged = None if frontal_threshold is None else torch.softmax(logits, 1)[:, 0] < frontal_threshold
    metrics = {"accuracy": float((predicted == labels).float().mean()),
               "frontal_flagged_rate": float((predicted[labels == 0] != 0).float().mean())}
    for index, name in enumerate(CLASSES):
        chosen = labels == index
        metrics[f"recall_{name}"] = float((predicted[chosen] == index).float().mean()) if chosen.any() else float("nan")
        if flagged is not None and chosen.any():
            metrics[f"val_{name}_flagged_rate_at_threshold"] = float(flagged[chosen].float().mean())
    return metrics


@dataclass
class ViewData:
    """Train and val images (N, 1, H, W) and classes (N,) on the training device, the train class
    counts and the sampling weight of each class (inverse count)."""

    images: torch.Tensor
    labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    counts: torch.Tensor
    weights: torch.Tensor


def load_data(run) -> ViewData:
    config = run.config
    root, shape, seed = resolve_data_root(config), tuple(config["input_size"]), config["seed"]
    images, labels = (a.to(run.device) for a in _dataset(root, "train", shape, seed, 0, config))
    val_images, val_labels = (a.to(run.device) for a in _dataset(root, "val", shape, seed + 1, 1, config))
    counts = torch.bincount(labels, minlength=len(CLASSES)).float()
    return ViewData(images, labels, val_images, val_labels, counts, 1.0 / counts.clamp(min=1))


def validate(network, data: ViewData, run, epoch: int) -> dict:
    """Val accuracy, recalls and their mean over the classes (the balanced accuracy)."""
    scores = evaluate(network, data.val_images, data.val_labels)
    return {**scores, MONITOR: float(np.nanmean([scores[f"recall_{name}"] for name in CLASSES]))}


def final_metrics(network, data: ViewData, run, best) -> dict:
    """Val scores of the kept weights, with the flag rates at the configured frontal threshold."""
    threshold = run.config["model"]["output"].get("thresholds", {}).get("frontal")
    metrics = evaluate(network, data.val_images, data.val_labels, threshold)
    metrics.update({MONITOR: best.score, "train_counts": data.counts.int().tolist(),
                    "val_counts": torch.bincount(data.val_labels, minlength=3).tolist()})
    return metrics
