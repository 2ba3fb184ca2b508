"""Losses of the zone-severity recipe: weighted soft-label cross-entropy with an ordinal term, and the
zone attention term (Grad-CAM of the true score kept inside the zone)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..attention import attention_loss, grad_cam, region_on_grid
from .zone_network import SCORE_COUNT, ZONE_COUNT


def class_weights(scores: np.ndarray) -> torch.Tensor:
    """Inverse square root of each score's frequency, normalised to mean 1."""
    counts = np.bincount(scores.ravel(), minlength=SCORE_COUNT).astype(np.float64) + 1
    weights = counts ** -0.5
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)



def target_distribution(senior: torch.Tensor, junior: torch.Tensor, junior_weight: float) -> torch.Tensor:
    """(B, 6, 4) soft targets: the senior's score, with ``junior_weight`` of the mass moved to the
    junior's score where the junior scored the zone (a second reading softens label noise)."""
    senior_one_hot = F.one_hot(senior, SCORE_COUNT).float()
    if not junior_weight:
        return senior_one_hot
    scored = (junior >= 0).unsqueeze(-1).float()
    junior_one_hot = F.one_hot(junior.clamp(min=0), SCORE_COUNT).float()
    return senior_one_hot * (1 - junior_weight * scored) + junior_one_hot * junior_weight * scored



def task_loss(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, ordinal_weight: float) -> torch.Tensor:
    """Weighted cross-entropy of the (B, 6, 4) logits against (B, 6, 4) target distributions, plus
    ordinal_weight x |expected score - target's expected score|."""
    flat_logits, flat_targets = logits.reshape(-1, SCORE_COUNT), targets.reshape(-1, SCORE_COUNT)
    loss = F.cross_entropy(flat_logits, flat_targets, weight=weights.to(logits.device))
    if ordinal_weight:
        scores = torch.arange(SCORE_COUNT, dtype=logits.dtype, device=logits.device)
        loss = loss + ordinal_weight * (torch.softmax(flat_logits, dim=1) @ scores - flat_targets @ scores).abs().mean()
    return loss



def zone_attention_loss(logits, features, zones, targets, threshold: float) -> torch.Tensor:
    """Mean ``1 - r`` over abnormal zones: Grad-CAM of the true score's logit inside the zone."""
    grid = features.shape[-2:]
    losses, counts = [], []
    for zone in range(ZONE_COUNT):
        applies = targets[:, zone] > 0
        if not applies.any():
            continue
        scores = logits[:, zone].gather(1, targets[:, zone:zone + 1]).squeeze(1)
        cam = grad_cam(features, scores)
        region = region_on_grid((zones[:, 0] == zone + 1).float(), grid)
        losses.append(attention_loss(cam, region, applies, threshold) * applies.sum())
        counts.append(applies.sum())
    if not losses:
        return logits.sum() * 0.0
    return torch.stack(losses).sum() / torch.stack(counts).sum()
