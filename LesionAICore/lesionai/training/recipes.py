"""Running a recipe by name (``lesionai train``) and re-exporting a finished run (``lesionai export-onnx``)."""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import DependencyError, InputError
from .catalog import RECIPE_MODULES, config_file_name
from .config import RECIPES_DIR, apply_overrides, load_config

TRAINING_PACKAGES = ("torch", "monai", "onnx")

RECIPES = RECIPE_MODULES


def recipe_module(name: str):
    """The module of recipe ``name`` (a :class:`~.contracts.TrainingRecipe`)."""
    if name not in RECIPES:
        raise InputError(f"Unknown recipe '{name}'; known recipes: {', '.join(sorted(RECIPES))}")
    _require_training_packages()
    return importlib.import_module(RECIPES[name])


def _require_training_packages() -> None:
    for package in TRAINING_PACKAGES:
        try:
            importlib.import_module(package)
        except ModuleNotFoundError as error:
            raise DependencyError(f"Training needs {package}, which is not installed; "
                                  "install the training extra: pip install -e '.[train]'") from error


def default_config(name: str) -> Path:
    """The bundled YAML of recipe ``name``."""
    recipe_module(name)
    return RECIPES_DIR / config_file_name(name)


def recipe_config(name: str, config_path: Path | None = None, overrides: dict | None = None) -> dict:
    """The config of a run of ``name``: the YAML (default: the bundled one) with ``overrides``
    ({dotted key: value}; a top-level key the YAML lacks must be one the recipe or loop knows)."""
    module = recipe_module(name)
    config = load_config(config_path or default_config(name))
    config = apply_overrides(config, overrides or {}, getattr(module, "OPTIONAL_KEYS", ()))
    if config.get("recipe", name) != name:
        raise InputError(f"Config {config_path} is for recipe '{config['recipe']}', not '{name}'")
    return config


def train(name: str, config_path: Path | None, run_dir: Path, overrides: dict | None = None) -> dict:
    """Train recipe ``name`` into ``run_dir``; returns its metrics."""
    config, module = recipe_config(name, config_path, overrides), recipe_module(name)  # checks the packages first
    from .loop import fit

    return fit(module, config, run_dir)


def export_run(run_dir: Path) -> Path:
    """Re-export a run's best checkpoint to ONNX (``<run_dir>/<onnx_name>``)."""
    run_dir = Path(run_dir)
    for needed in ("config.yaml", "best.pt"):
        if not (run_dir / needed).is_file():
            raise InputError(f"{run_dir} is not a finished training run: it has no {needed}")
    config = load_config(run_dir / "config.yaml")
    module = recipe_module(config["recipe"])
    import torch

    from .export import export_onnx

    network = module.build_network(config)
    network.load_state_dict(torch.load(run_dir / "best.pt", map_location="cpu"))
    target = run_dir / config["onnx_name"]
    return export_onnx(network, module.example_inputs(config), target, module.INPUT_NAMES, module.OUTPUT_NAMES)
