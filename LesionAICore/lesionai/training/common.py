"""Shared training plumbing: configs, seeding, run folders, logging, ONNX export."""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import yaml

RECIPES_DIR = Path(__file__).parent / "recipes"
REPO_ROOT = Path(__file__).resolve().parents[3]


def load_config(path: str | Path, overrides: dict | None = None) -> dict:
    """Read a YAML recipe config; ``overrides`` replaces top-level keys."""
    with open(path) as handle:
        config = yaml.safe_load(handle) or {}
    config.update(overrides or {})
    return config


def resolve_data_root(config: dict) -> Path:
    """``data_root`` from the config, relative paths taken from the repository root."""
    root = Path(config["data_root"])
    return root if root.is_absolute() else (REPO_ROOT / root).resolve()


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def training_device(config: dict):
    """The torch device named by the config's ``device``: ``auto`` (CUDA when PyTorch sees a GPU,
    else CPU, the default), ``cpu``, ``cuda`` or ``cuda:N``."""
    import torch

    from ..errors import InputError

    wanted = str(config.get("device", "auto"))
    if wanted == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device: {wanted} was asked for, but PyTorch sees no CUDA GPU; use device: auto or cpu")
    if wanted != "cpu" and not wanted.startswith("cuda"):
        raise InputError(f"device: {wanted} is not a training device; use auto, cpu, cuda or cuda:N")
    return torch.device(wanted)


def start_run(config: dict, run_dir: str | Path) -> tuple[Path, logging.Logger]:
    """Create the run folder, save the config in it and return a logger writing ``train.log``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir)
    logger = logging.getLogger(f"lesionai.train.{run_dir.name}")
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(run_dir / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(handler)
    return run_dir, logger


def save_config(config: dict, run_dir: Path) -> None:
    """``config.yaml`` of a run: what ``install_run`` and ``export_run`` read back."""
    (Path(run_dir) / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def train_epoch(network, optimizer, order, batch_size: int, batch_loss) -> float:
    """One optimisation pass over ``order`` (sample indices) in batches; returns the mean loss.

    ``batch_loss(indices)`` builds the augmented batch and returns its loss tensor.
    """
    network.train()
    losses = []
    for start in range(0, len(order), batch_size):
        loss = batch_loss(order[start:start + batch_size])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def cosine_schedule(epochs: int, warmup: int):
    """Learning-rate factor per epoch for ``LambdaLR``: linear warm-up, then cosine decay to 0."""
    def factor(epoch: int) -> float:
        if epoch < warmup:
            return (epoch + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (epoch - warmup) / max(1, epochs - warmup)))
    return factor


def save_metrics(run_dir: Path, metrics: dict) -> None:
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def export_onnx(model, example, path: Path, input_names: list[str], output_names: list[str]) -> Path:
    """Export ``model`` in eval mode with a dynamic batch axis (TorchScript-based exporter)."""
    import torch

    model.cpu().eval()
    axes = {name: {0: "batch"} for name in input_names + output_names}
    with torch.no_grad():
        torch.onnx.export(model, example, str(path), input_names=input_names, output_names=output_names,
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    return path


def today() -> str:
    return date.today().isoformat()


CXR_TRAINING_DATA = [
    {"name": "COVID-19 image data collection (Cohen et al., arXiv:2003.11597), frontal and lateral chest radiographs",
     "license": "per-image licences incl. CC BY, CC BY-NC-SA 4.0, CC BY-NC-ND 4.0; metadata CC BY-NC-SA 4.0",
     "url": "https://github.com/ieee8023/covid-chestxray-dataset"},
    {"name": "v7labs COVID-19 X-ray lung segmentation masks", "license": "CC BY 4.0",
     "url": "https://github.com/v7labs/covid-19-xray-dataset"},
]
BRIXIA_ANNOTATIONS = {
    "name": "BrixIA COVID-19 severity annotations (Signoroni et al., Medical Image Analysis 2021): Brixia zone "
            "scores of a senior and a junior radiologist for the public Cohen subset",
    "license": "CC BY-NC-SA 4.0", "url": "https://github.com/BrixIA/Brixia-score-COVID-19"}
WEIGHTS_LICENSE = "CC BY-NC-SA 4.0 (research use; trained on images under non-commercial licences)"


def registry_entry(config: dict, onnx_path: Path, metrics: dict) -> dict:
    """A registry record for a model exported by a recipe run (the ``model:`` block of its config)."""
    from ..registry import sha256_of

    model = config["model"]
    numbers = {key: float(value) for key, value in metrics.items() if isinstance(value, (int, float))}
    return {"id": model["id"], "task": model["task"], "version": model["version"], "file": onnx_path.name,
            "sha256": sha256_of(onnx_path), "size_bytes": onnx_path.stat().st_size, "license": WEIGHTS_LICENSE,
            "training_data": CXR_TRAINING_DATA + ([BRIXIA_ANNOTATIONS] if model.get("brixia_scores") else []),
            "input": model["input"], "output": model["output"],
            "metrics": numbers, "recipe": f"training/recipes/{config['recipe'].replace('-', '_')}.yaml",
            "created": today(), "description": model["description"]}


def install_run(run_dir: Path, registry_path: Path | None = None) -> dict:
    """Copy a run's ONNX model into the packaged models folder and register it with its metrics."""
    import json

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
