"""A finished run re-exports to ONNX and installs into the registry; a refused registration changes nothing."""

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("monai")

from training_runs import quick_config  # noqa: E402

from lesionai import cli  # noqa: E402
from lesionai.errors import InputError, ModelError  # noqa: E402
from lesionai.registry import ModelRegistry  # noqa: E402
from lesionai.training import recipes  # noqa: E402
from lesionai.training.install import install_run  # noqa: E402


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
    entry = install_run(run_dir, registry_path)

    registry = ModelRegistry.load(registry_path)
    assert registry.get("cxr-view-check").metrics["accuracy"] == pytest.approx(entry["metrics"]["accuracy"])
    assert registry.path("cxr-view-check").is_file()
    assert entry["license"].startswith("CC BY-NC-SA 4.0") and entry["recipe"] == "training/recipes/view_check.yaml"
    assert [source["url"] for source in entry["training_data"]] == [
        "https://github.com/ieee8023/covid-chestxray-dataset", "https://github.com/v7labs/covid-19-xray-dataset"]


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

    with pytest.raises(ModelError, match="invalid"):
        install_run(run_dir, registry_path)
    assert (models / "cxr_view_check.onnx").read_bytes() == b"the model users have now"
    assert sorted(p.name for p in models.iterdir()) == ["cxr_view_check.onnx", "registry.json"]
    assert registry_path.read_text() == existing


def test_a_run_config_without_licence_or_credits_is_refused_before_any_change(tmp_path, phantom_collection):
    run_dir = tmp_path / "run"
    assert cli.main(["train", "view-check", "--config", quick_config("view-check", tmp_path, phantom_collection),
                     "--run-dir", str(run_dir)]) == 0
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    del config["model"]["license"], config["model"]["training_data"]
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    registry_path = tmp_path / "registry.json"
    with pytest.raises(InputError, match="no model.license, model.training_data"):
        install_run(run_dir, registry_path)
    assert not registry_path.exists()
