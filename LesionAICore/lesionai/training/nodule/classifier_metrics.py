"""Metrics of the nodule classifier: AUC overall and on ground-glass-like nodules, patient-level
bootstrap confidence intervals, texture accuracy and macro F1, and stratified patient-grouped folds.
"""

from __future__ import annotations

import numpy as np

from ..metrics.classification import classification_report, one_vs_rest_auc
from .classifier_data import TEXTURE_CLASSES


def labelled_auc(probability: np.ndarray, target: np.ndarray, rows=None) -> float | None:
    """AUC of ``probability`` (N,) for ``target`` (N,) 1/0/NaN over labelled ``rows`` (mask; all when None)."""
    keep = ~np.isnan(target) if rows is None else (~np.isnan(target)) & rows
    return one_vs_rest_auc(probability[keep], target[keep] == 1)


def bootstrap_auc_interval(probability, target, patients, rows=None, draws: int = 2000, seed: int = 0):
    """(low, high) 95 % percentile interval of the AUC, resampling *patients* with replacement.

    Nodules of one patient are not independent, so the patient is the resampling unit. ``None``
    when fewer than two resamples have both classes.
    """
    keep = ~np.isnan(target) if rows is None else (~np.isnan(target)) & rows
    probability, target, patients = probability[keep], target[keep], patients[keep]
    unique, members = np.unique(patients, return_inverse=True)
    by_patient = [np.flatnonzero(members == index) for index in range(len(unique))]
    rng, values = np.random.default_rng(seed), []
    for _ in range(draws):
        rows_drawn = np.concatenate([by_patient[p] for p in rng.integers(len(unique), size=len(unique))])
        auc = one_vs_rest_auc(probability[rows_drawn], target[rows_drawn] == 1)
        if auc is not None:
            values.append(auc)
    return None if len(values) < 2 else (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))


def malignancy_summary(probability, target, patients, ggn_like, draws: int = 2000) -> dict:
    """AUC with patient-bootstrap 95 % CI, overall and on ground-glass-like nodules, with counts."""
    summary = {}
    for name, rows in (("all", None), ("ggn_like", ggn_like.astype(bool))):
        keep = ~np.isnan(target) if rows is None else (~np.isnan(target)) & rows
        summary[name] = {"auc": labelled_auc(probability, target, rows),
                         "auc_ci95": bootstrap_auc_interval(probability, target, patients, rows, draws),
                         "positives": int((target[keep] == 1).sum()), "negatives": int((target[keep] == 0).sum())}
    return summary


def texture_summary(texture_probabilities: np.ndarray, texture: np.ndarray) -> dict | None:
    """Accuracy, macro F1 and confusion matrix of (N, 3) texture probabilities over known classes."""
    known = texture >= 0
    if not known.any():
        return None
    report = classification_report(texture_probabilities[known], texture[known], list(TEXTURE_CLASSES))
    return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
            "confusion_matrix": report["confusion_matrix"], "classes": list(TEXTURE_CLASSES)}


def stratified_patient_folds(patients: np.ndarray, strata: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """(N,) fold index 0..folds-1; all nodules of a patient share a fold, strata balanced across folds.

    A stratified group k-fold (as scikit-learn's ``StratifiedGroupKFold``): patients, shuffled with
    ``seed`` and taken in order of decreasing stratum imbalance, each go to the fold that keeps the
    spread of every stratum's share across folds smallest (ties: the fold with fewest nodules).
    ``strata`` (N,) are small non-negative ints.
    """
    unique, members = np.unique(patients, return_inverse=True)
    counts = np.stack([np.bincount(members[strata == level], minlength=len(unique)) for level in np.unique(strata)], 1)
    totals = counts.sum(0)
    order = np.random.default_rng(seed).permutation(len(unique))
    order = order[np.argsort(-np.std(counts[order] / np.maximum(totals, 1), axis=1), kind="stable")]
    load, fold_of = np.zeros((folds, counts.shape[1])), np.zeros(len(unique), dtype=np.int64)
    for patient in order:
        fold_of[patient] = _best_fold(load, counts[patient], totals)
        load[fold_of[patient]] += counts[patient]
    return fold_of[members]


def _best_fold(load: np.ndarray, patient_counts: np.ndarray, totals: np.ndarray) -> int:
    """The fold whose taking ``patient_counts`` leaves the smallest mean spread of stratum shares."""
    spreads = []
    for fold in range(len(load)):
        trial = load.copy()
        trial[fold] += patient_counts
        spreads.append((np.std(trial / np.maximum(totals, 1), axis=0).mean(), trial[fold].sum()))
    return min(range(len(load)), key=lambda fold: spreads[fold])


def target_strata(target: np.ndarray, ggn_like: np.ndarray) -> np.ndarray:
    """Stratum per nodule: target (0, 1, unlabelled) x ground-glass-like, as 0..5."""
    label = np.where(np.isnan(target), 2, np.nan_to_num(target)).astype(np.int64)
    return label * 2 + ggn_like.astype(np.int64)
