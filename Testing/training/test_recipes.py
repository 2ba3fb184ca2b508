"""Running recipes by name: unknown recipes, configs for another recipe and typo'd overrides are
refused before anything is written; dotted overrides reach the run's config."""

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("monai")

from training_runs import quick_config  # noqa: E402

from lesionai import cli  # noqa: E402
from lesionai.errors import InputError  # noqa: E402
from lesionai.training import recipes  # noqa: E402


def test_unknown_recipe_and_mismatched_config_are_refused(tmp_path):
    with pytest.raises(InputError, match="Unknown recipe"):
        recipes.recipe_module("brain-tumour")
    config = tmp_path / "wrong.yaml"
    config.write_text("recipe: view-check\n")
    with pytest.raises(InputError, match="is for recipe 'view-check'"):
        recipes.train("lung-alignment", config, tmp_path / "run")


def test_set_reaches_nested_keys_of_the_run_config(tmp_path, phantom_collection):
    run_dir = tmp_path / "run"
    arguments = ["train", "lung-segmentation", "--config", quick_config("lung-segmentation", tmp_path, phantom_collection),
                 "--run-dir", str(run_dir), "--set", "channels=[4, 8]", "--set", "optimizer.lr=0.001",
                 "--set", "augment.noise=0.0", "--set", "phantoms=0"]
    assert cli.main(arguments) == 0
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["channels"] == [4, 8] and saved["optimizer"]["lr"] == 0.001 and saved["augment"]["noise"] == 0.0
    assert saved["optimizer"]["weight_decay"] == 0.0001  # the rest of the block is kept


def test_a_typo_in_set_is_refused_with_the_known_keys(tmp_path, capsys):
    arguments = ["train", "view-check", "--run-dir", str(tmp_path / "run"), "--set", "epoch=2"]
    assert cli.main(arguments) == 1
    error = capsys.readouterr().err
    assert "Unknown config key 'epoch'" in error and "epochs" in error
    assert not (tmp_path / "run").exists()
