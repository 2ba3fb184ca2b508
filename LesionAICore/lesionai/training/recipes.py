"""The training recipes ``lesionai train`` knows, and re-export of finished runs."""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import DependencyError, InputError
from ..training_names import RECIPE_MODULES
from . import common

TRAINING_PACKAGES = {"torch", "monai", "onnx", "onnxscript"}

RECIPES = RECIPE_MODULES


def recipe_module(name: str):
    if name not in RECIPES:
        raise InputError(f"Unknown recipe '{name}'; known recipes: {', '.join(sorted(RECIPES))}")
    try:
        return importlib.import_module(RECIPES[name])
    except ModuleNotFoundError as error:
        if error.name not in TRAINING_PACKAGES:
            raise
        raise DependencyError(f"Training needs {error.name}, which is not installed; "
                              "install the training extra: pip install -e '.[train]'") from error


def default_config(name: str) -> Path:
    recipe_module(name)
    return common.RECIPES_DIR / f"{name.replace('-', '_')}.yaml"


def train(name: str, config_path: Path | None, run_dir: Path, overrides: dict | None = None) -> dict:
    config = common.load_config(config_path or default_config(name), overrides)
    if config.get("recipe", name) != name:
        raise InputError(f"Config {config_path} is for recipe '{config['recipe']}', not '{name}'")
    return recipe_module(name).train(config, run_dir)


def export_run(run_dir: Path) -> Path:
    """Re-export a run's best checkpoint to ONNX (``<run_dir>/<onnx_name>``)."""
    run_dir = Path(run_dir)
    for needed in ("config.yaml", "best.pt"):
        if not (run_dir / needed).is_file():
            raise InputError(f"{run_dir} is not a finished training run: it has no {needed}")
    config = common.load_config(run_dir / "config.yaml")
    module = recipe_module(config["recipe"])
    import torch  # present: the recipe module imported it

    network = module.build_network(config)
    network.load_state_dict(torch.load(run_dir / "best.pt", map_location="cpu"))
    target = run_dir / config["onnx_name"]
    return common.export_onnx(network, module.example_inputs(config), target, module.INPUT_NAMES, module.OUTPUT_NAMES)
