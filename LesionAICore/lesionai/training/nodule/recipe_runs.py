"""What the three nodule-classifier recipes share when :func:`lesionai.training.loop.fit` runs them:
the cohort split into train and val, the optional cross-scanner normalisation, flat metrics."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import InputError
from ..device import seed_everything, set_threads
from .classifier_data import NoduleSet, load_nodule_set

# Top-level config keys the recipes read without every YAML naming them.
OPTIONAL_KEYS = ("csn_options", "cohort", "val_fraction", "image_run", "tabular_run", "image_overrides",
                 "tabular_overrides", "max_cases")


@dataclass
class CohortSplits:
    """The cohort's ``train`` and ``val`` nodules."""

    train: NoduleSet
    val: NoduleSet


def crop_transform(config: dict):
    """The transform applied to every CT crop before cropping: cross-scanner normalisation when
    ``csn: true`` (``lesionai.nodule.csn``), else None."""
    if not config.get("csn", False):
        return None
    from ...nodule.csn import CrossScannerNormalizer

    return CrossScannerNormalizer(**(config.get("csn_options") or {})).normalize


def prepare(config: dict) -> None:
    """Seed every generator and set the CPU thread count (``threads``), as the loop does."""
    seed_everything(config["seed"])
    set_threads(config)


def load_splits(run, config: dict | None = None) -> CohortSplits:
    """The cohort of ``config`` (default: the run's) as train and val splits; :class:`InputError`
    when either is empty."""
    config = config or run.config
    nodules = load_nodule_set(config, crop_transform(config))
    splits = CohortSplits(nodules.subset(nodules.splits == "train"), nodules.subset(nodules.splits == "val"))
    for name in ("train", "val"):
        if len(getattr(splits, name)) == 0:
            raise InputError(f"The cohort has no '{name}' nodules; give a split column (train/val) or enough "
                             "patients for val_fraction")
    return splits


def flat_numbers(metrics: dict, prefix: str = "") -> dict:
    """Every number of nested ``metrics`` under a joined key (``val_fusion_all_auc``), for the registry;
    a confidence interval ``..._ci95`` becomes ``..._ci95_low`` and ``..._ci95_high``."""
    numbers = {}
    for key, value in metrics.items():
        name = f"{prefix}_{key}" if prefix else str(key)
        if isinstance(value, dict):
            numbers.update(flat_numbers(value, name))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers[name] = value
        elif isinstance(value, (list, tuple)) and name.endswith("_ci95") and len(value) == 2:
            numbers[f"{name}_low"], numbers[f"{name}_high"] = value
    return numbers
