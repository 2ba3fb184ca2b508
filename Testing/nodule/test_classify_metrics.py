"""Cross-validation folds by patient and the AUC summaries of the nodule classifier."""

import numpy as np
import pytest

pytest.importorskip("torch")

from lesionai.training.nodule.classifier_metrics import (
    bootstrap_auc_interval,
    labelled_auc,
    malignancy_summary,
    stratified_patient_folds,
    target_strata,
    texture_summary,
)


def cohort(seed=0, patients=60):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 4, patients)
    patient_ids = np.repeat([f"P{p:03d}" for p in range(patients)], counts)
    target = rng.choice([0.0, 1.0, np.nan], len(patient_ids), p=[0.45, 0.35, 0.2])
    ggn_like = rng.random(len(patient_ids)) < 0.2
    return patient_ids, target, ggn_like


def test_no_patient_is_in_two_folds_and_classes_are_spread():
    patients, target, ggn_like = cohort()
    folds = stratified_patient_folds(patients, target_strata(target, ggn_like), 5, seed=3)
    for patient in np.unique(patients):
        assert len(set(folds[patients == patient])) == 1
    positives = [int((target[folds == k] == 1).sum()) for k in range(5)]
    assert set(folds) == set(range(5)) and max(positives) - min(positives) <= 3


def test_auc_leaves_out_unlabelled_nodules():
    target = np.array([1.0, 0.0, np.nan, 1.0, 0.0])
    probability = np.array([0.9, 0.1, 0.0, 0.8, 0.2])
    assert labelled_auc(probability, target) == 1.0
    assert labelled_auc(probability, target, np.array([True, False, True, True, False])) is None  # no negatives


def test_bootstrap_interval_brackets_the_auc():
    patients, target, ggn_like = cohort(seed=1, patients=120)
    rng = np.random.default_rng(2)
    probability = np.nan_to_num(target, nan=0.5) * 0.6 + rng.random(len(target))  # overlapping classes
    summary = malignancy_summary(probability, target, patients, ggn_like, draws=300)
    low, high = summary["all"]["auc_ci95"]
    assert low < summary["all"]["auc"] < high
    assert summary["all"]["positives"] == int((target == 1).sum())
    assert bootstrap_auc_interval(probability, target, patients, draws=300) == pytest.approx((low, high), abs=1e-9)


def test_texture_summary_counts_known_classes_only():
    probabilities = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    summary = texture_summary(probabilities, np.array([0, 2, 2, -1]))
    assert summary["accuracy"] == pytest.approx(2 / 3)
    assert summary["confusion_matrix"][2][1] == 1
