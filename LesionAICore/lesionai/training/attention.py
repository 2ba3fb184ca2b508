"""Localization-aware attention loss: a differentiable Grad-CAM kept inside a target region.

For a class score ``y`` and activations ``A`` (K channels on an h x w grid) Grad-CAM is
``cam = relu(sum_k alpha_k A_k)`` with ``alpha_k = mean_ij dy/dA_k(i, j)``. Here the gradients are
taken with ``create_graph=True``, so the map -- and any loss built on it -- stays differentiable
with respect to the network's weights: the attention term really trains the network.

The attention term of a sample is ``1 - r``, where ``r`` is the share of the map's energy above
a threshold (relative to the map's maximum) that falls inside the target region (for example the
lungs, or the lung area of one Brixia zone). The training loss is
``lambda * task_loss + (1 - lambda) * attention_loss``, with ``lambda`` fixed or adaptive,
``max(0.2, 1 - 0.023 * epoch)``, and the attention term counted only where it applies (abnormal
samples: a normal zone has nothing to localise).

Every recipe takes the same config block::

    attention:
      enabled: true
      lambda: adaptive      # or a number in (0, 1]
      threshold: 0.5        # share of the map's maximum above which activation energy is counted
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import InputError

ADAPTIVE_FLOOR, ADAPTIVE_SLOPE = 0.2, 0.023


def grad_cam(activations: torch.Tensor, scores: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
    """Grad-CAM maps (B, h, w) of ``scores`` (B,) with respect to ``activations`` (B, K, h, w).

    ``activations`` must be part of the graph that produced ``scores``. Each sample's map depends
    only on its own score, as the scores of different samples do not interact.
    """
    gradients, = torch.autograd.grad(scores.sum(), activations, create_graph=create_graph)
    weights = gradients.mean(dim=(2, 3), keepdim=True)
    return F.relu((weights * activations).sum(dim=1))


def region_on_grid(region: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """A (B, H, W) region in [0, 1] averaged onto a (B, h, w) grid (share of each cell inside)."""
    return F.adaptive_avg_pool2d(region.float().unsqueeze(1), grid).squeeze(1)


def localization_ratio(cam: torch.Tensor, region: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Share ``r`` (B,) of each map's energy above ``threshold`` x its maximum that lies in ``region``.

    ``cam`` (B, h, w) >= 0; ``region`` (B, h, w) in [0, 1] on the same grid. The threshold mask is
    a selection, not a function to differentiate; ``r`` is differentiable in the map's values.
    A map that is zero everywhere has ``r = 1`` (no misplaced attention).
    """
    peak = cam.flatten(1).max(dim=1).values.detach().view(-1, 1, 1)
    counted = cam * (cam >= threshold * peak).float() * (peak > 0).float()
    total = counted.flatten(1).sum(1)
    inside = (counted * region).flatten(1).sum(1)
    return torch.where(total > 0, inside / total.clamp(min=1e-12), torch.ones_like(total))


def attention_loss(cam: torch.Tensor, region: torch.Tensor, applies: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Mean of ``1 - r`` over the samples where ``applies`` (B,) is true; 0 when none does."""
    applies = applies.bool()
    if not applies.any():
        return cam.sum() * 0.0
    return (1 - localization_ratio(cam[applies], region[applies], threshold)).mean()


def combined_loss(task_loss: torch.Tensor, attention: torch.Tensor, weight: float) -> torch.Tensor:
    """``weight * task_loss + (1 - weight) * attention``."""
    return weight * task_loss + (1 - weight) * attention


class AttentionSettings:
    """The ``attention`` block of a recipe config (absent or ``enabled: false``: no attention term)."""

    def __init__(self, block: dict | None):
        block = dict(block or {})
        self.enabled = bool(block.get("enabled", False))
        self.threshold = float(block.get("threshold", 0.5))
        self.schedule = block.get("lambda", "adaptive")
        if self.schedule != "adaptive" and not (isinstance(self.schedule, (int, float)) and 0 < self.schedule <= 1):
            raise InputError(f"attention.lambda must be 'adaptive' or a number in (0, 1], not {self.schedule!r}")
        if not 0 <= self.threshold < 1:
            raise InputError(f"attention.threshold must be in [0, 1), not {self.threshold}")

    def weight(self, epoch: int) -> float:
        """lambda for ``epoch`` (0-based): the task loss's share of the combined loss."""
        if not self.enabled:
            return 1.0
        if self.schedule == "adaptive":
            return max(ADAPTIVE_FLOOR, 1 - ADAPTIVE_SLOPE * epoch)
        return float(self.schedule)
