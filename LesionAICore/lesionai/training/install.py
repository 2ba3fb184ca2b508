"""Installing a finished run: its ONNX file into the packaged models folder and its entry into the registry.

The entry is built from the run's ``config.yaml``: the ``model:`` block (``id``, ``task``,
``version``, ``description``, ``license``, ``training_data``, ``input``, ``output``) plus the file's
size and sha256, the numeric metrics of ``metrics.json`` and the recipe's YAML.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..errors import InputError
from .config import load_config
from .runs import today

MODEL_KEYS = ("id", "task", "version", "description", "license", "training_data", "input", "output")


def registry_entry(config: dict, onnx_path: Path, metrics: dict) -> dict:
    """A registry record for a model exported by a recipe run (the ``model:`` block of its config)."""
    from ..registry import sha256_of

    model = config["model"]
    missing = [key for key in MODEL_KEYS if key not in model]
    if missing:
        raise InputError(f"The run's config has no model.{', model.'.join(missing)}; add them to its config.yaml "
                         "(the recipe's YAML in lesionai/training/recipes/ shows them)")
    numbers = {key: float(value) for key, value in metrics.items() if isinstance(value, (int, float))}
    return {"id": model["id"], "task": model["task"], "version": model["version"], "file": onnx_path.name,
            "sha256": sha256_of(onnx_path), "size_bytes": onnx_path.stat().st_size, "license": model["license"],
            "training_data": model["training_data"], "input": model["input"], "output": model["output"],
            "metrics": numbers, "recipe": f"training/recipes/{config['recipe'].replace('-', '_')}.yaml",
            "created": today(), "description": model["description"]}


def install_run(run_dir: Path, registry_path: Path | None = None) -> dict:
    """Copy a run's ONNX model into the packaged models folder and register it with its metrics."""
    from ..registry import ModelRegistry, register_model, validate_document

    config = load_config(Path(run_dir) / "config.yaml")
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    registry_path = Path(registry_path) if registry_path else Path(ModelRegistry.load().source)
    source, target = Path(run_dir) / config["onnx_name"], registry_path.parent / config["onnx_name"]
    entry = registry_entry(config, source, metrics)
    validate_document({"schema_version": 1, "models": [entry]}, f"entry for {entry['id']}")  # before any change
    _replace_then_register(source, target, lambda: register_model(registry_path, entry))
    return entry


def _replace_then_register(source: Path, target: Path, register) -> None:
    """Put ``source`` in place of ``target`` atomically, then ``register()``; if registering fails,
    the previous model file is put back, so the registry and the file never disagree for long."""
    incoming, previous = target.with_name(f".{target.name}.incoming"), target.with_name(f".{target.name}.previous")
    had_previous = target.exists()
    shutil.copyfile(source, incoming)
    if had_previous:
        shutil.copyfile(target, previous)
    try:
        incoming.replace(target)
        register()
    except BaseException:
        if had_previous:
            previous.replace(target)
        else:
            target.unlink(missing_ok=True)
        raise
    finally:
        incoming.unlink(missing_ok=True)
        previous.unlink(missing_ok=True)
