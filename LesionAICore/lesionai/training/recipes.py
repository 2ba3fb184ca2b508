"""The training recipes ``lesionai train`` knows, and re-export of finished runs."""

from __future__ import annotations

import importlib
from pathlib import Path

from . import common

from ..training_names import RECIPE_NAMES

RECIPES = dict(zip(RECIPE_NAMES, ("lesionai.training.lung_segmentation", "lesionai.training.alignment",
                                  "lesionai.training.view")))


def recipe_module(name: str):
    if name not in RECIPES:
        from ..errors import InputError

        raise InputError(f"Unknown recipe '{name}'; known recipes: {', '.join(sorted(RECIPES))}")
    return importlib.import_module(RECIPES[name])


def default_config(name: str) -> Path:
    recipe_module(name)
    return common.RECIPES_DIR / f"{name.replace('-', '_')}.yaml"


def train(name: str, config_path: Path | None, run_dir: Path, overrides: dict | None = None) -> dict:
    config = common.load_config(config_path or default_config(name), overrides)
    if config.get("recipe", name) != name:
        from ..errors import InputError

        raise InputError(f"Config {config_path} is for recipe '{config['recipe']}', not '{name}'")
    return recipe_module(name).train(config, run_dir)


def export_run(run_dir: Path) -> Path:
    """Re-export a run's best checkpoint to ONNX (``<run_dir>/<onnx_name>``)."""
    import torch

    run_dir = Path(run_dir)
    config = common.load_config(run_dir / "config.yaml")
    module = recipe_module(config["recipe"])
    network = module.build_network(config)
    network.load_state_dict(torch.load(run_dir / "best.pt", map_location="cpu"))
    target = run_dir / config["onnx_name"]
    return common.export_onnx(network, module.example_inputs(config), target, module.INPUT_NAMES, module.OUTPUT_NAMES)
