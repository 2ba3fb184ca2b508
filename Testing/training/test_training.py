"""Training recipes run headless, save their config and metrics, and export ONNX that matches torch."""

import json

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")
pytest.importorskip("monai")

from lesionai import cli  # noqa: E402
from lesionai.errors import InputError  # noqa: E402
from lesionai.runtime import OnnxModel  # noqa: E402
from lesionai.training import common, recipes  # noqa: E402
from lesionai.training.cxr_data import write_phantom_collection  # noqa: E402
from training_runs import QUICK, quick_config, train_and_check_export  # noqa: E402

@pytest.fixture(scope="module")
def phantom_collection(tmp_path_factory):
    """Generated radiographs in the development collection's layout: the recipes run without the data."""
    return write_phantom_collection(tmp_path_factory.mktemp("phantom-cxr"), {"train": 6, "val": 3}, size=(160, 160))


@pytest.mark.parametrize("recipe", sorted(QUICK))
def test_recipe_trains_on_phantoms_and_exports(recipe, tmp_path, phantom_collection):
    metrics = train_and_check_export(recipe, tmp_path, phantom_collection)
    if recipe == "lung-segmentation":
        assert metrics["val_cases"] == 3 and metrics["train_cases"] == 6
    if recipe == "view-check":  # rates at the recipe's operating point, as the pipeline warns
        assert 0 <= metrics["val_lateral_flagged_rate_at_threshold"] <= 1


@pytest.mark.realdata
@pytest.mark.parametrize("recipe", sorted(QUICK))
def test_recipe_trains_on_real_radiographs_and_exports(recipe, tmp_path, shared_data):
    train_and_check_export(recipe, tmp_path, shared_data / "cxr")


def test_export_and_install_registers_the_model(tmp_path, phantom_collection):
    run_dir = tmp_path / "run"
    recipe = "view-check"
    assert cli.main(["train", recipe, "--config", quick_config(recipe, tmp_path, phantom_collection),
                     "--run-dir", str(run_dir)]) == 0
    registry_path = tmp_path / "models" / "registry.json"
    registry_path.parent.mkdir()
    registry_path.write_text('{"models": [], "schema_version": 1}\n')
    (run_dir / "cxr_view_check.onnx").unlink()
    recipes.export_run(run_dir)
    entry = common.install_run(run_dir, registry_path)
    from lesionai.registry import ModelRegistry

    registry = ModelRegistry.load(registry_path)
    assert registry.get("cxr-view-check").metrics["accuracy"] == pytest.approx(entry["metrics"]["accuracy"])
    assert registry.path("cxr-view-check").is_file()


def test_unknown_recipe_and_mismatched_config_are_refused(tmp_path):
    with pytest.raises(InputError, match="Unknown recipe"):
        recipes.recipe_module("brain-tumour")
    config = tmp_path / "wrong.yaml"
    config.write_text("recipe: view-check\n")
    with pytest.raises(InputError, match="is for recipe 'view-check'"):
        recipes.train("lung-alignment", config, tmp_path / "run")


def test_training_device_follows_the_config():
    assert common.training_device({"device": "cpu"}).type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert common.training_device({}).type == expected
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="sees no CUDA GPU"):
            common.training_device({"device": "cuda"})
    with pytest.raises(InputError, match="not a training device"):
        common.training_device({"device": "tpu"})


@pytest.mark.parametrize("broken", ["new entry", "existing registry"])
def test_a_refused_registration_leaves_the_installed_model_alone(tmp_path, phantom_collection, broken):
    run_dir = tmp_path / "run"
    recipe = "view-check"
    assert cli.main(["train", recipe, "--config", quick_config(recipe, tmp_path, phantom_collection),
                     "--run-dir", str(run_dir)]) == 0
    if broken == "new entry":  # refused before anything changes
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        config["model"]["id"] = "Not A Valid Id!"
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    models = tmp_path / "models"
    models.mkdir()
    registry_path = models / "registry.json"
    existing = '{"models": [{"id": "half-written"}], "schema_version": 1}\n' if broken == "existing registry" else \
        '{"models": [], "schema_version": 1}\n'
    registry_path.write_text(existing)  # an invalid existing registry is refused after the file was replaced
    (models / "cxr_view_check.onnx").write_bytes(b"the model users have now")
    from lesionai.errors import ModelError

    with pytest.raises(ModelError, match="invalid"):
        common.install_run(run_dir, registry_path)
    assert (models / "cxr_view_check.onnx").read_bytes() == b"the model users have now"
    assert sorted(p.name for p in models.iterdir()) == ["cxr_view_check.onnx", "registry.json"]
    assert registry_path.read_text() == existing
