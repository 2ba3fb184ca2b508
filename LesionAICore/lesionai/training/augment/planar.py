"""2-D batch augmentation on tensors: anatomically sane affine jitter and detector-like intensity changes."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine_matrices(count: int, settings: dict, device=None) -> torch.Tensor:
    """(count, 2, 3) affine sampling matrices: rotation, isotropic+anisotropic scale, shift.

    No flips: the left/right anatomy of a frontal radiograph must survive augmentation.
    """
    angle = (torch.rand(count, device=device) * 2 - 1) * math.radians(settings.get("rotate_deg", 10))
    scale = 1 + (torch.rand(count, device=device) * 2 - 1) * settings.get("scale", 0.15)
    aspect = 1 + (torch.rand(count, device=device) * 2 - 1) * settings.get("aspect", 0.08)
    shift = (torch.rand(count, 2, device=device) * 2 - 1) * settings.get("shift", 0.08)
    cos, sin = torch.cos(angle), torch.sin(angle)
    sx, sy = scale * aspect, scale / aspect
    return torch.stack([torch.stack([cos * sx, -sin * sy, shift[:, 0]], 1),
                        torch.stack([sin * sx, cos * sy, shift[:, 1]], 1)], 1)


def random_affine_pairs(images: torch.Tensor, masks: torch.Tensor, settings: dict):
    """Apply the same random affine to images (bilinear, border padding) and integer masks (nearest)."""
    theta = random_affine_matrices(len(images), settings, images.device)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    warped_images = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    warped_masks = F.grid_sample(masks.float(), grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return warped_images, warped_masks.long()


def random_intensity(images: torch.Tensor, settings: dict) -> torch.Tensor:
    """Random gamma, contrast/brightness and Gaussian noise on [0, 1] images."""
    shape = (len(images), 1, 1, 1)
    device = images.device
    gamma = torch.exp((torch.rand(shape, device=device) * 2 - 1) * settings.get("gamma", 0.3))
    contrast = 1 + (torch.rand(shape, device=device) * 2 - 1) * settings.get("contrast", 0.2)
    brightness = (torch.rand(shape, device=device) * 2 - 1) * settings.get("brightness", 0.1)
    noise = torch.randn_like(images) * settings.get("noise", 0.02) * torch.rand(shape, device=device)
    adjusted = images.clamp(0, 1) ** gamma * contrast + brightness + noise
    return adjusted.clamp(0, 1)
