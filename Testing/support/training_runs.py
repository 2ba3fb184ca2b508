"""Quick training runs shared by the recipe tests (needs the training extra: torch, MONAI)."""

import json

import numpy as np
import torch
import yaml

from lesionai import cli
from lesionai.runtime import OnnxModel
from lesionai.training import recipes
from lesionai.training.config import load_config
from lesionai.training.device import training_device

QUICK = {
    "lung-segmentation": {"epochs": 1, "max_cases": 6, "input_size": [64, 64], "channels": [4, 8, 16], "batch_size": 4},
    "lung-alignment": {"epochs": 1, "max_cases": 6, "input_size": [128, 128], "width": 4, "batch_size": 4},
    "view-check": {"epochs": 1, "max_cases": 6, "input_size": [64, 64], "width": 4, "batch_size": 8},
    "opacity-segmentation": {"epochs": 1, "max_cases": 6, "input_size": [64, 64], "channels": [4, 8, 16], "batch_size": 4},
}


def quick_config(recipe: str, tmp_path, data_root) -> str:
    config = load_config(recipes.default_config(recipe), QUICK[recipe])
    config["data_root"] = str(data_root)
    path = tmp_path / f"{recipe}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)



def train_and_check_export(recipe, tmp_path, data_root):
    """Train quickly, check the saved config, log and metrics, and that ONNX matches the checkpoint."""
    run_dir = tmp_path / "run"
    assert cli.main(["train", recipe, "--config", quick_config(recipe, tmp_path, data_root), "--run-dir", str(run_dir)]) == 0
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["recipe"] == recipe and saved["seed"] == 20261123
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["device"] == training_device(saved).type and "epoch 0" in (run_dir / "train.log").read_text()

    module = recipes.recipe_module(recipe)
    network = module.build_network(saved)
    network.load_state_dict(torch.load(run_dir / "best.pt", map_location="cpu"))
    network.eval()
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.rand(2, *example.shape[1:], generator=generator) for example in module.example_inputs(saved)]
    with torch.no_grad():
        expected = network(*inputs).numpy()
    onnx_model = OnnxModel(run_dir / saved["onnx_name"])
    actual = onnx_model.run(dict(zip(module.INPUT_NAMES, (i.numpy() for i in inputs))))[module.OUTPUT_NAMES[0]]
    np.testing.assert_allclose(actual, expected, rtol=1e-3, atol=1e-4)
    return metrics
