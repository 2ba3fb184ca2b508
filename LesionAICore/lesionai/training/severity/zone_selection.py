"""Model selection of the zone-severity recipe on out-of-fold predictions: patient-grouped folds, the
score rule and the low-confidence threshold."""

from __future__ import annotations

import numpy as np

from ...severity.scoring import SCORE_RULES, scores_from_probabilities
from .zone_evaluation import zone_mae


def group_folds(groups: list[str], count: int, seed: int) -> list[np.ndarray]:
    """Indices of ``count`` folds that keep each patient group in one fold."""
    unique = sorted(set(groups))
    np.random.default_rng(seed).shuffle(unique)
    fold_of = {group: index % count for index, group in enumerate(unique)}
    return [np.array([i for i, g in enumerate(groups) if fold_of[g] == fold]) for fold in range(count)]



def choose_rule(probabilities: np.ndarray, targets: np.ndarray) -> str:
    return min(SCORE_RULES, key=lambda rule: zone_mae(probabilities, targets, rule))



def low_confidence_threshold(probabilities: np.ndarray, targets: np.ndarray, rule: str) -> float:
    """The confidence under which a zone is flagged, chosen on out-of-fold predictions: the flag is
    a detector of wrong scores, and the threshold (on a 0.05 grid) maximises Youden's J, the share
    of wrong scores flagged minus the share of right scores flagged."""
    scores = scores_from_probabilities(probabilities, rule)
    confidence = np.take_along_axis(probabilities, scores[..., None], -1)[..., 0].ravel()
    wrong = (scores != targets).ravel()
    if wrong.all() or not wrong.any():
        return 0.5
    grid = np.round(np.arange(0.25, 0.96, 0.05), 2)
    youden = [(confidence[wrong] < t).mean() - (confidence[~wrong] < t).mean() for t in grid]
    return float(grid[int(np.argmax(youden))])
