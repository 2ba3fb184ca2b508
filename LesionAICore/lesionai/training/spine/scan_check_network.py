"""The scan-check network: two small CNN encoders and a descriptor MLP feeding four heads.

Inputs (batch B): ``planes`` (B, 3, 64, 64) RAS mid-slices, ``native`` (B, 1, 64, 64) the stored
mid-slice, ``descriptors`` (B, F) grid and intensity numbers (:mod:`lesionai.spine.scan_inputs`).
Outputs: ``anatomy_logits`` (B, 5), ``region_logits`` (B, 3), ``view_logits`` (B, 3),
``contrast_logits`` (B, 4). The view head sees the native slice only, so it judges the plane from
image content, independently of the geometry that the pipeline compares it with.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...spine.scan_check import ANATOMIES, CONTRASTS, REGIONS
from ...spine.scan_inputs import DESCRIPTOR_COUNT, INPUT_SIZE
from ...spine.scan_view import VIEWS


def _encoder(channels: int, width: int) -> nn.Sequential:
    """Four conv-BN-ReLU-maxpool blocks (64 -> 4 px), then global average pooling to 4 x width."""
    layers = []
    for out in (width, 2 * width, 4 * width, 4 * width):
        layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(), nn.MaxPool2d(2)]
        channels = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())


class ScanCheckNet(nn.Module):
    def __init__(self, width: int = 16, descriptor_width: int = 32, dropout: float = 0.3):
        super().__init__()
        self.planes = _encoder(3, width)
        self.native = _encoder(1, width)
        self.descriptors = nn.Sequential(nn.Linear(DESCRIPTOR_COUNT, descriptor_width), nn.ReLU())
        self.trunk = nn.Sequential(nn.Linear(8 * width + descriptor_width, 64), nn.ReLU(), nn.Dropout(dropout))
        self.anatomy = nn.Linear(64, len(ANATOMIES))
        self.region = nn.Linear(64, len(REGIONS))
        self.contrast = nn.Linear(64, len(CONTRASTS))
        self.view = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * width, len(VIEWS)))

    def forward(self, planes: torch.Tensor, native: torch.Tensor, descriptors: torch.Tensor):
        native_features = self.native(native)
        joint = torch.cat([self.planes(planes), native_features, self.descriptors(descriptors)], dim=1)
        shared = self.trunk(joint)
        return self.anatomy(shared), self.region(shared), self.view(native_features), self.contrast(shared)


def head_losses(outputs, labels: dict[str, torch.Tensor], anatomy_weights: torch.Tensor) -> dict[str, torch.Tensor]:
    """Cross-entropy of each head over the examples that carry its label (-1 = none)."""
    anatomy, region, view, contrast = outputs
    losses = {"anatomy": F.cross_entropy(anatomy, labels["anatomy"], weight=anatomy_weights)}
    for name, logits in (("region", region), ("view", view), ("contrast", contrast)):
        known = labels[name] >= 0
        losses[name] = F.cross_entropy(logits[known], labels[name][known]) if known.any() else logits.sum() * 0
    return losses


def example_inputs(batch: int = 1) -> tuple[torch.Tensor, ...]:
    return (torch.zeros(batch, 3, INPUT_SIZE, INPUT_SIZE), torch.zeros(batch, 1, INPUT_SIZE, INPUT_SIZE),
            torch.zeros(batch, DESCRIPTOR_COUNT))
