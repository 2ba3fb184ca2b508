"""The shipped nodule classifier: what it says it predicts, how it treats missing variables, and how
it ranks the LIDC validation nodules it never saw."""

import csv

import numpy as np
import pytest

from lesionai.imageio import read_image
from lesionai.nodule.classify import TASK, NoduleClassifier
from lesionai.nodule.features import feature_values
from lesionai.registry import ModelRegistry


@pytest.fixture(scope="module")
def classifier():
    return NoduleClassifier(threads=1)


def test_the_fusion_model_ships_with_the_package():
    registry = ModelRegistry.load()
    assert "nodule-fusion" in registry
    assert all(check.ok for check in registry.verify() if check.id == "nodule-fusion")


def measured(phantom):
    return feature_values(phantom.mask.array > 0, phantom.image.array, phantom.image.geometry)


def test_result_names_the_proxy_task_every_branch_and_the_texture(classifier, part_solid_phantom):
    result = classifier.predict(part_solid_phantom.image, part_solid_phantom.mask, measured(part_solid_phantom))
    assert result["task"] == TASK == "LIDC malignancy suspicion >= 4 vs <= 2 (radiologists' rating proxy; not invasiveness)"
    assert result["probability"] == result["branches"]["fusion"]
    assert set(result["branches"]) == {"image", "tabular", "fusion"}
    texture = result["texture"]["probabilities"]
    assert set(texture) == {"ground-glass", "part-solid", "solid"} and sum(texture.values()) == pytest.approx(1.0, abs=1e-5)
    assert result["texture"]["label"] == max(texture, key=texture.get)
    assert result["models"] == {"nodule-fusion": classifier.entry.version}


def test_age_and_sex_are_masked_because_lidc_has_none(classifier, ground_glass_phantom):
    features = measured(ground_glass_phantom)
    given = classifier.predict(ground_glass_phantom.image, ground_glass_phantom.mask, {**features, "Age": 70, "Gender": "M"})
    unknown = classifier.predict(ground_glass_phantom.image, ground_glass_phantom.mask, features)
    assert given["masked_features"] == unknown["masked_features"] == ["Gender", "Age"]
    assert given["branches"] == unknown["branches"]
    assert any("Gender and Age given but not used" in note for note in given["warnings"]) and not unknown["warnings"]


def test_a_nodule_beyond_the_field_of_view_is_reported(classifier):
    from lesionai.phantoms.nodule import generate_nodule_phantom

    large = generate_nodule_phantom(seed=2, kind="solid", shape=(40, 96, 96), diameter_mm=40.0)
    result = classifier.predict(large.image, large.mask, measured(large))
    assert any("exceeds the image branch's field of view" in note for note in result["warnings"])


def test_missing_image_variables_are_masked_not_zero(classifier, ground_glass_phantom):
    features = measured(ground_glass_phantom)
    without_volume = classifier.predict(ground_glass_phantom.image, ground_glass_phantom.mask, {**features, "Volume": None})
    zero_volume = classifier.predict(ground_glass_phantom.image, ground_glass_phantom.mask, {**features, "Volume": 0.0})
    assert "Volume" in without_volume["masked_features"] and "Volume" not in zero_volume["masked_features"]
    assert without_volume["branches"]["tabular"] != zero_volume["branches"]["tabular"]


@pytest.mark.realdata
def test_lidc_validation_nodules_are_ranked_by_suspicion(classifier, shared_data):
    pytest.importorskip("torch")  # the AUC helper lives with the training metrics
    from lesionai.training.metrics.classification import one_vs_rest_auc

    root = shared_data / "nodules"
    with open(root / "cases.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["dev_split"] == "val" and row["malignancy_value"] != "3"]
    probabilities, positive = [], []
    for row in rows:
        hu, mask = read_image(root / row["image"]), read_image(root / row["mask"])
        features = feature_values(mask.array > 0, hu.array, hu.geometry)
        probabilities.append(classifier.predict(hu, mask, features)["probability"])
        positive.append(int(row["malignancy_value"]) >= 4)
    assert one_vs_rest_auc(np.array(probabilities), np.array(positive)) >= 0.85
