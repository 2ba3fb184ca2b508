"""The chest radiograph recipes run headless, save their config and metrics, and export ONNX that matches torch."""

import pytest

pytest.importorskip("torch")
pytest.importorskip("monai")

from training_runs import QUICK, train_and_check_export


@pytest.mark.parametrize("recipe", sorted(QUICK))
def test_recipe_trains_on_phantoms_and_exports(recipe, tmp_path, phantom_collection):
    metrics = train_and_check_export(recipe, tmp_path, phantom_collection)
    if recipe == "lung-segmentation":
        assert metrics["val_cases"] == 3 and metrics["train_cases"] == 6
    if recipe == "view-check":  # rates at the recipe's operating point, over the 3 frontal and 2 lateral val phantoms
        frontal_flagged = metrics["val_frontal_flagged_rate_at_threshold"] * 3
        assert frontal_flagged == pytest.approx(round(frontal_flagged), abs=1e-6)
        assert metrics["val_lateral_flagged_rate_at_threshold"] in (0.0, 0.5, 1.0)


@pytest.mark.realdata
@pytest.mark.parametrize("recipe", sorted(QUICK))
def test_recipe_trains_on_real_radiographs_and_exports(recipe, tmp_path, shared_data):
    train_and_check_export(recipe, tmp_path, shared_data / "cxr")
