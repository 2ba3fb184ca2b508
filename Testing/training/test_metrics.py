"""Validation metrics: MONAI's Dice with ignore labels, and image-level classification metrics on
hand-made predictions."""

import doctest

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("monai")

from lesionai.training.metrics import classification, dice  # noqa: E402
from lesionai.training.metrics.classification import (  # noqa: E402
    class_rates,
    classification_report,
    confusion_matrix,
    one_vs_rest_auc,
)
from lesionai.training.metrics.dice import batch_dice, dice_score, labelled_dice  # noqa: E402


def test_dice_of_hand_made_masks():
    prediction = np.zeros((8, 8), bool)
    truth = np.zeros((8, 8), bool)
    prediction[:4], truth[2:6] = True, True
    assert dice_score(prediction, truth) == pytest.approx(0.5)
    assert dice_score(prediction, prediction) == 1.0 and dice_score(prediction, ~prediction) == 0.0
    assert dice_score(np.zeros((4, 4), bool), np.zeros((4, 4), bool)) == 1.0  # nothing to find, nothing found


def test_ignore_pixels_count_for_neither_side():
    labels = np.array([[1, 1, 255, 0]], np.uint8)
    assert labelled_dice(np.array([[1, 1, 1, 0]], bool), labels) == 1.0  # the prediction on the device is not wrong
    assert labelled_dice(np.array([[1, 0, 0, 0]], bool), labels) == pytest.approx(2 / 3)
    assert labelled_dice(np.array([[0, 0, 1, 0]], bool), np.array([[0, 0, 255, 0]], np.uint8)) == 1.0


def test_dice_inside_a_region_and_for_a_batch():
    lung = np.array([True, True, False, False])
    assert dice_score(np.array([1, 0, 1, 0], bool), np.array([1, 0, 0, 1], bool), lung) == 1.0
    predictions = torch.tensor([[[1, 1, 0, 0]], [[0, 0, 0, 0]]], dtype=torch.bool)
    truths = torch.tensor([[[1, 0, 0, 0]], [[0, 0, 0, 0]]], dtype=torch.bool)
    assert batch_dice(predictions, truths).tolist() == pytest.approx([2 / 3, 1.0])


def test_module_examples_run():
    for module in (dice, classification):
        assert doctest.testmod(module).failed == 0


def test_auc_of_hand_made_scores():
    positive = np.array([False, False, True, True])
    assert one_vs_rest_auc(np.array([0.1, 0.2, 0.8, 0.9]), positive) == 1.0
    assert one_vs_rest_auc(np.array([0.9, 0.8, 0.2, 0.1]), positive) == 0.0
    assert one_vs_rest_auc(np.array([0.1, 0.4, 0.35, 0.8]), positive) == 0.75
    assert one_vs_rest_auc(np.full(4, 0.5), positive) == 0.5  # ties count one half
    assert one_vs_rest_auc(np.array([0.1, 0.2]), np.array([True, True])) is None


def test_rates_of_a_known_confusion_matrix():
    labels = np.array([0] * 60 + [1] * 40)
    predicted = np.array([0] * 50 + [1] * 10 + [0] * 5 + [1] * 35)
    confusion = confusion_matrix(labels, predicted, 2)
    assert confusion.tolist() == [[50, 10], [5, 35]]
    rates = class_rates(confusion, 1)
    assert rates["sensitivity"] == 35 / 40 and rates["specificity"] == 50 / 60
    assert rates["precision"] == 35 / 45 and rates["f1"] == pytest.approx(70 / 85)


def test_report_of_three_classes_with_an_absent_class():
    probabilities = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1]])
    report = classification_report(probabilities, np.array([0, 0, 1, 1]), ["a", "b", "c"])
    assert report["confusion_matrix"] == [[2, 0, 0], [1, 1, 0], [0, 0, 0]]
    assert report["accuracy"] == 0.75
    assert report["per_class"]["a"]["auc"] == 1.0 and report["per_class"]["b"]["auc"] == 1.0
    assert report["per_class"]["c"]["auc"] is None and report["per_class"]["c"]["sensitivity"] is None
    assert report["per_class"]["a"]["f1"] == pytest.approx(0.8) and report["per_class"]["b"]["f1"] == pytest.approx(2 / 3)
    assert report["macro_auc"] == 1.0  # over the classes present
    assert report["macro_sensitivity"] == 0.75 and report["macro_specificity"] == 0.75
