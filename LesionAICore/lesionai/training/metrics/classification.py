"""Image-level classification metrics: one-vs-rest AUC (MONAI's :func:`~monai.metrics.compute_roc_auc`),
confusion matrix, sensitivity, specificity, F1, checked on hand-made predictions. A value that is not
defined for the data (AUC of a class with no positive or no negative example, sensitivity of a
class absent from the labels) is ``None``; macro averages are taken over the classes present in the
labels whose value is defined.

>>> one_vs_rest_auc(np.array([0.9, 0.8, 0.3, 0.1]), np.array([True, True, False, False]))
1.0
"""

from __future__ import annotations

import numpy as np
import torch
from monai.metrics import compute_roc_auc


def one_vs_rest_auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve of ``scores`` (N,) for the boolean ``positive`` (N,) labels.

    The probability that a random positive scores above a random negative, ties counting one half.
    ``None`` when either group is empty (MONAI would warn and return NaN).
    """
    positive = np.asarray(positive, dtype=bool)
    if positive.all() or not positive.any():
        return None
    return float(compute_roc_auc(torch.from_numpy(np.asarray(scores, dtype=np.float64)), torch.from_numpy(positive)))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, class_count: int) -> np.ndarray:
    """(class_count, class_count) counts: row = true class, column = predicted class."""
    matrix = np.zeros((class_count, class_count), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return matrix


def class_rates(confusion: np.ndarray, index: int) -> dict:
    """Sensitivity, specificity, precision and F1 of class ``index`` against all others."""
    true_positive = int(confusion[index, index])
    false_negative = int(confusion[index].sum()) - true_positive
    false_positive = int(confusion[:, index].sum()) - true_positive
    true_negative = int(confusion.sum()) - true_positive - false_negative - false_positive
    return {"sensitivity": _ratio(true_positive, true_positive + false_negative),
            "specificity": _ratio(true_negative, true_negative + false_positive),
            "precision": _ratio(true_positive, true_positive + false_positive),
            "f1": _ratio(2 * true_positive, 2 * true_positive + false_positive + false_negative),
            "count": true_positive + false_negative}


def classification_report(probabilities: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict:
    """Per-class and macro metrics of (N, C) class probabilities against (N,) true class indices.

    Decisions are the argmax. Returns ``per_class`` ({class: {auc, sensitivity, specificity,
    precision, f1, count}}), ``macro_auc``, ``macro_f1``, ``macro_sensitivity``,
    ``macro_specificity``, ``accuracy`` and ``confusion_matrix`` (rows true, columns predicted).
    """
    probabilities, labels = np.asarray(probabilities), np.asarray(labels, dtype=np.int64)
    confusion = confusion_matrix(labels, probabilities.argmax(1), len(classes))
    per_class = {}
    for index, name in enumerate(classes):
        per_class[name] = {"auc": one_vs_rest_auc(probabilities[:, index], labels == index), **class_rates(confusion, index)}
    report = {f"macro_{key}": _mean_defined(per_class, key) for key in ("auc", "f1", "sensitivity", "specificity")}
    report.update({"accuracy": _ratio(int(np.trace(confusion)), int(confusion.sum())), "per_class": per_class,
                   "confusion_matrix": confusion.tolist()})
    return report


def _ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def _mean_defined(per_class: dict, key: str) -> float | None:
    values = [scores[key] for scores in per_class.values() if scores[key] is not None and scores["count"] > 0]
    return float(np.mean(values)) if values else None
