"""The run folder: ``config.yaml`` (what ``export-onnx`` and ``--install`` read back), ``train.log``
and ``metrics.json``."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import yaml


def start_run(config: dict, run_dir: str | Path) -> tuple[Path, logging.Logger]:
    """Create the run folder, save the config in it and return a logger writing ``train.log``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir)
    logger = logging.getLogger(f"lesionai.train.{run_dir.resolve()}")
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(run_dir / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(handler)
    return run_dir, logger


def close_log(logger: logging.Logger) -> None:
    """Close the logger's files (``train.log``)."""
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


def save_config(config: dict, run_dir: Path) -> None:
    """``config.yaml`` of a run."""
    (Path(run_dir) / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def save_metrics(run_dir: Path, metrics: dict) -> None:
    """``metrics.json`` of a run (keys sorted)."""
    (Path(run_dir) / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def today() -> str:
    return date.today().isoformat()


def stored_run_path(run_dir: str | Path) -> Path:
    """A stored run's folder (e.g. a config's ``cv_run``): relative paths start at the repository root."""
    from .config import REPO_ROOT

    path = Path(run_dir)
    return path if path.is_absolute() else REPO_ROOT / path


def read_stored_run(run_dir: str | Path, file_name: str):
    """The JSON document ``file_name`` (``metrics.json``, ``cv_results.json``, ...) of a stored run."""
    return json.loads((stored_run_path(run_dir) / file_name).read_text())

