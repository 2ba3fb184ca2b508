"""2D augmentation of axial slice batches so one cord network serves T1w, T2w, T2*w and MT scans.

Spatial (image and mask together): rotation, isotropic scale, left-right flip. Intensity (image
only): contrast inversion (T2w <-> T1w-like), a random smooth intensity remapping (tissue contrasts
reshuffled, as in contrast-agnostic training), gamma, multiplicative bias field, blur by a lower
acquisition resolution, Gaussian noise. Batches are torch tensors ``[B, 1, H, W]`` in [0, 1.5].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def spatial(images: torch.Tensor, masks: torch.Tensor, settings: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Same random rotation/scale/flip applied to images and (soft) masks."""
    count = images.shape[0]
    angle = (torch.rand(count) * 2 - 1) * math.radians(settings.get("rotate_deg", 20))
    scale = torch.exp((torch.rand(count) * 2 - 1) * settings.get("log_scale", 0.2))
    flip = torch.where(torch.rand(count) < 0.5, -1.0, 1.0)
    theta = torch.zeros(count, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = torch.cos(angle) / scale * flip, -torch.sin(angle) / scale
    theta[:, 1, 0], theta[:, 1, 1] = torch.sin(angle) / scale * flip, torch.cos(angle) / scale
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    warped = F.grid_sample(torch.cat([images, masks], 1), grid, align_corners=False)
    return warped[:, :1], warped[:, 1:]


def intensity(images: torch.Tensor, settings: dict) -> torch.Tensor:
    """Random inversion, gamma, bias field, resolution loss and noise; output clipped to [0, 1.5]."""
    images = images.clamp(0, 1.5) / 1.5
    images = _invert(images, settings.get("invert_p", 0.3))
    images = _remap(images, settings.get("remap_p", 0.0))
    images = images ** torch.exp(torch.randn(images.shape[0], 1, 1, 1) * settings.get("gamma", 0.3))
    images = images * _bias_field(images, settings.get("bias", 0.3))
    images = _lower_resolution(images, settings.get("blur_p", 0.3))
    images = images + torch.randn_like(images) * torch.rand(images.shape[0], 1, 1, 1) * settings.get("noise", 0.05)
    return (images * 1.5).clamp(0, 1.5)


def _invert(images: torch.Tensor, probability: float) -> torch.Tensor:
    """1 - x inside the body (x > 0.02), so the zero background stays dark as in real T1w scans."""
    chosen = (torch.rand(images.shape[0], 1, 1, 1) < probability).float()
    inside = (images > 0.02).float()
    return images * (1 - chosen) + chosen * inside * (1 - images)


def _remap(images: torch.Tensor, probability: float, knots: int = 6) -> torch.Tensor:
    """Intensities (0-1) of chosen images passed through a random piecewise-linear curve (not monotonic)."""
    chosen = torch.rand(images.shape[0]) < probability
    if not chosen.any():
        return images
    values = torch.rand(int(chosen.sum()), knots)
    position = images[chosen].clamp(0, 1) * (knots - 1)
    low = position.floor().long().clamp(max=knots - 2)
    weight = position - low
    flat_values = values[:, None, None, :].expand(-1, *images.shape[2:], -1)
    start = torch.gather(flat_values, -1, low[:, 0, ..., None])[..., 0]
    end = torch.gather(flat_values, -1, (low + 1)[:, 0, ..., None])[..., 0]
    remapped = images.clone()
    remapped[chosen] = (start + (end - start) * weight[:, 0])[:, None]
    return remapped


def _bias_field(images: torch.Tensor, strength: float) -> torch.Tensor:
    coarse = torch.randn(images.shape[0], 1, 3, 3) * strength
    return torch.exp(F.interpolate(coarse, size=images.shape[-2:], mode="bicubic", align_corners=True))


def _lower_resolution(images: torch.Tensor, probability: float) -> torch.Tensor:
    if torch.rand(()) >= probability:
        return images
    factor = float(torch.empty(()).uniform_(1.2, 2.5))
    size = [max(8, int(s / factor)) for s in images.shape[-2:]]
    small = F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)
    return F.interpolate(small, size=images.shape[-2:], mode="bilinear", align_corners=False)
