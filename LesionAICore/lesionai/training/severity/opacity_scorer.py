"""The zone score built on the opacity model: thresholds tuned on the train split's senior Brixia
scores, and zone MAEs on train and val (with the junior radiologist and a constant score as references)."""

from __future__ import annotations

import numpy as np
import torch

from ...severity.opacity import opacity_fractions, opacity_mask, opacity_scores, tune_thresholds, zone_mae
from ...severity.preprocess import model_input
from ...severity.zones import ZONE_LETTERS
from .cxr_data import load_plane


@torch.no_grad()
def predicted_probability(network, images: np.ndarray, batch: int = 16) -> np.ndarray:
    """Opacity probability (N, H, W) of normalised images (N, 1, H, W)."""
    network.eval()
    device = next(network.parameters()).device
    chunks = [torch.sigmoid(network(torch.from_numpy(images[start:start + batch]).to(device))).cpu().numpy()[:, 0]
              for start in range(0, len(images), batch)]
    return np.concatenate(chunks)


def zone_fractions(network, cases, root, shape, zones_by_stem) -> tuple[list, np.ndarray]:
    """Cases with zones and their opacity fractions (cases, 6), measured as inference measures them."""
    kept, fractions = [], []
    for case in cases:
        if case.stem not in zones_by_stem:
            continue
        lungs, zones = zones_by_stem[case.stem]
        plane = load_plane(case.image_path(root))
        probability = predicted_probability(network, model_input(plane, shape))[0]
        found = opacity_fractions(opacity_mask(probability, lungs), zones)
        kept.append(case)
        fractions.append([found[letter] for letter in ZONE_LETTERS])
    return kept, np.array(fractions, dtype=np.float64).reshape(-1, len(ZONE_LETTERS))


def scorer_metrics(network, train_scored, val_scored, root, shape, zones_by_stem) -> tuple[dict, dict | None]:
    """Thresholds tuned on the train split's senior scores, and zone MAEs on train and val.

    Returns (metrics, thresholds); thresholds is None when the train split has no scored radiograph.
    """
    train_cases, train_fractions = zone_fractions(network, train_scored, root, shape, zones_by_stem)
    if not train_cases:
        return {}, None
    train_senior = np.stack([c.zone_scores("senior") for c in train_cases])
    thresholds, train_mae = tune_thresholds(train_fractions, train_senior)
    constant = int(np.argmin([zone_mae(np.full_like(train_senior, score), train_senior) for score in range(4)]))
    metrics = {"train_zone_mae_opacity": train_mae, "train_scored_cases": len(train_cases),
               "train_zone_spearman_opacity": _spearman(train_fractions, train_senior)}
    val_cases, val_fractions = zone_fractions(network, val_scored, root, shape, zones_by_stem)
    if val_cases:
        metrics.update(_val_scorer_metrics(val_cases, val_fractions, thresholds, constant))
    return metrics, thresholds


def _val_scorer_metrics(cases, fractions: np.ndarray, thresholds: dict, constant: int) -> dict:
    """Zone and global MAEs against the senior on val: the opacity score, the junior radiologist, and
    the one score (``constant``) that fits the train split best, as the floor any scorer must beat."""
    senior = np.stack([c.zone_scores("senior") for c in cases])
    predicted = np.array([list(opacity_scores(dict(zip(ZONE_LETTERS, row)), thresholds).values()) for row in fractions])
    metrics = {"val_zone_mae_opacity": zone_mae(predicted, senior), "val_scored_cases": len(cases),
               "val_zone_mae_constant": zone_mae(np.full_like(senior, constant), senior),
               "val_global_mae_opacity": zone_mae(predicted.sum(axis=1), senior.sum(axis=1)),
               "val_zone_spearman_opacity": _spearman(fractions, senior)}
    junior = [c.zone_scores("junior") for c in cases]
    if all(scores is not None for scores in junior):
        metrics["val_zone_mae_junior"] = zone_mae(np.stack(junior), senior)
        metrics["val_global_mae_junior"] = zone_mae(np.stack(junior).sum(axis=1), senior.sum(axis=1))
    return metrics


def _spearman(fractions: np.ndarray, scores: np.ndarray) -> float:
    from scipy.stats import spearmanr

    value = spearmanr(fractions.ravel(), scores.ravel()).statistic
    return float(value) if np.isfinite(value) else 0.0
