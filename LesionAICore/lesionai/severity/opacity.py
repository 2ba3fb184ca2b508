"""Two-stage opacity score: opacities segmented inside the lungs, then each Brixia zone scored from
the share of its area they cover.

The opacity model (``cxr-opacity-unet``) gives an opacity probability at its input resolution; the
helpers here bring it onto the radiograph's grid, keep it inside the lungs, measure the covered
fraction of each zone and turn fractions into 0-3 scores with three increasing thresholds, which are
tuned on the training split against a radiologist's zone scores (:func:`tune_thresholds`) and stored
in the model's registry entry (``output.thresholds``: ``score_1``, ``score_2``, ``score_3``).

numpy only: these run inside the pipeline, where torch is not installed.

>>> zones = np.array([[1, 1, 4, 4]], dtype=np.uint8)
>>> fractions = opacity_fractions(np.array([[True, False, False, False]]), zones)
>>> fractions["A"], fractions["D"]
(0.5, 0.0)
>>> opacity_scores(fractions, {"score_1": 0.1, "score_2": 0.4, "score_3": 0.7})["A"]
2
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .preprocess import resize_plane
from .zones import ZONE_LETTERS

OPACITY_MODEL = "cxr-opacity-unet"
THRESHOLD_NAMES = ("score_1", "score_2", "score_3")
MAX_SCORE = len(THRESHOLD_NAMES)
DEFAULT_GRID = np.linspace(0.0, 1.0, 101) ** 2  # fine steps for the small fractions most zones have


def opacity_mask(probability: np.ndarray, lung_labels: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Opacity on the radiograph's grid: bool (rows, cols) of ``lung_labels``, inside the lungs only.

    ``probability``: float (h, w) at the model's resolution, bilinearly resized to the labels' grid
    before the ``threshold``. ``lung_labels``: uint8 (rows, cols), any non-zero value is lung.
    """
    probability = np.asarray(probability, dtype=np.float32)
    if probability.ndim != 2 or np.ndim(lung_labels) != 2:
        raise InputError(f"Opacity mask needs a 2D probability and 2D lung labels; "
                         f"got {probability.shape} and {np.shape(lung_labels)}")
    return (resize_plane(probability, np.shape(lung_labels)) >= threshold) & (np.asarray(lung_labels) > 0)


def opacity_fractions(opacity: np.ndarray, zone_labels: np.ndarray) -> dict[str, float]:
    """Share of each zone's pixels covered by ``opacity``: letter A-F -> fraction in [0, 1].

    ``zone_labels``: uint8 (rows, cols), 1..6 for zones A..F, 0 outside the lungs. A zone with no
    pixels gets 0.
    """
    if np.shape(opacity) != np.shape(zone_labels):
        raise InputError(f"Opacity {np.shape(opacity)} and zone labels {np.shape(zone_labels)} are on different grids")
    zones = np.asarray(zone_labels).ravel()
    counts = np.bincount(2 * zones.astype(np.intp) + np.asarray(opacity, dtype=bool).ravel(),
                         minlength=2 * (MAX_SCORE * 2 + 1)).reshape(-1, 2)  # [zone, covered?]
    areas, covered = counts.sum(axis=1), counts[:, 1]
    return {letter: float(covered[index + 1] / areas[index + 1]) if areas[index + 1] else 0.0
            for index, letter in enumerate(ZONE_LETTERS)}


def opacity_scores(fractions: dict[str, float], thresholds: dict[str, float]) -> dict[str, int]:
    """Zone scores 0-3: how many of the thresholds ``score_1`` <= ``score_2`` <= ``score_3`` the
    zone's opacity fraction reaches."""
    levels = threshold_levels(thresholds)
    return {letter: int(np.sum(fraction >= levels)) for letter, fraction in fractions.items()}


def threshold_levels(thresholds: dict[str, float]) -> np.ndarray:
    """The three thresholds as an increasing array; refuses missing or decreasing ones."""
    missing = [name for name in THRESHOLD_NAMES if name not in thresholds]
    if missing:
        raise InputError(f"Opacity score thresholds {sorted(thresholds)} lack {missing}")
    levels = np.array([thresholds[name] for name in THRESHOLD_NAMES], dtype=np.float64)
    if np.any(np.diff(levels) < 0):
        raise InputError(f"Opacity score thresholds must increase (score_1 <= score_2 <= score_3); got {thresholds}")
    return levels


def zone_mae(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute difference of two arrays of zone scores of the same shape."""
    predicted, truth = np.asarray(predicted, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if predicted.shape != truth.shape or predicted.size == 0:
        raise InputError(f"Zone scores to compare have shapes {predicted.shape} and {truth.shape}")
    return float(np.mean(np.abs(predicted - truth)))


def tune_thresholds(fractions: np.ndarray, senior_scores: np.ndarray,
                    grid: np.ndarray | None = None) -> tuple[dict[str, float], float]:
    """Thresholds minimising the zone MAE of :func:`opacity_scores` against ``senior_scores``.

    ``fractions`` and ``senior_scores`` (0-3) have the same shape, e.g. (images, 6 zones). Every
    increasing triple of ``grid`` values (default :data:`DEFAULT_GRID`) is tried; among equally good
    triples, each threshold is moved to the middle of its run of equally good values, so that it lies
    between the classes it separates rather than on one of them. Returns ``({"score_1": t1,
    "score_2": t2, "score_3": t3}, mae)``.
    """
    fractions, truth = _paired(fractions, senior_scores)
    grid = DEFAULT_GRID if grid is None else np.sort(np.asarray(grid, dtype=np.float64))
    errors = _error_table((fractions[None, :] >= grid[:, None]).astype(np.int8), truth.astype(np.int8))
    best = _plateau_centre(errors, np.unravel_index(int(np.argmin(errors)), errors.shape))
    thresholds = {name: round(float(grid[index]), 6) for name, index in zip(THRESHOLD_NAMES, best)}
    return thresholds, float(errors[best]) / truth.size


def _paired(fractions, senior_scores) -> tuple[np.ndarray, np.ndarray]:
    fractions = np.asarray(fractions, dtype=np.float64).ravel()
    truth = np.asarray(senior_scores, dtype=np.float64).ravel()
    if fractions.shape != truth.shape or fractions.size == 0:
        raise InputError(f"Threshold tuning needs as many zone fractions as scores; got {np.shape(fractions)} "
                         f"and {np.shape(senior_scores)}")
    if not np.all(np.isfinite(fractions)) or not np.all(np.isin(truth, np.arange(MAX_SCORE + 1))):
        raise InputError("Threshold tuning needs finite fractions and zone scores 0-3; drop unscored zones first")
    return fractions, truth


def _error_table(reached: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(G, G, G) summed absolute error of every threshold triple (grid indices i <= j <= k), inf
    elsewhere. ``reached``: (G, zones) 0/1, whether each zone's fraction reaches each grid value."""
    size = len(reached)
    table = np.full((size,) * 3, np.inf)
    upper = np.triu(np.ones((size, size), dtype=bool))
    for first in range(size):
        scores = reached[first] + reached[first:, None, :] + reached[None, first:, :]
        errors = np.abs(scores - truth).sum(axis=2, dtype=np.int64)
        table[first, first:, first:] = np.where(upper[first:, first:], errors, np.inf)
    return table


def _plateau_centre(errors: np.ndarray, best: tuple) -> tuple:
    """Move each index of ``best`` in turn to the middle of its run of minimal ``errors``."""
    best, minimum = list(best), errors[tuple(best)]
    for axis in range(errors.ndim):
        line = errors[tuple(best[:axis]) + (slice(None),) + tuple(best[axis + 1:])]
        low = high = best[axis]
        while low > 0 and line[low - 1] == minimum:
            low -= 1
        while high < len(line) - 1 and line[high + 1] == minimum:
            high += 1
        best[axis] = (low + high) // 2
    return tuple(best)
