"""Recipe configs: reading the YAML, overriding keys by dotted path, and the settings every run shares.

A config is one YAML mapping. Overrides name a key by its dotted path (``epochs``,
``optimizer.lr``, ``augment.gamma``); the top-level key must already be in the config or be one the
loop or the recipe declares optional (:data:`LOOP_OPTIONAL_KEYS`, a recipe's ``OPTIONAL_KEYS``), so a
typo is refused instead of silently training with the default. Below the top level new keys may be
added (blocks such as ``opacities`` are merged with the recipe's own defaults).

>>> apply_overrides({"epochs": 40, "optimizer": {"lr": 0.002}}, {"optimizer.lr": 0.001})
{'epochs': 40, 'optimizer': {'lr': 0.001}}
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from ..errors import InputError

RECIPES_DIR = Path(__file__).parent / "recipes"
REPO_ROOT = Path(__file__).resolve().parents[3]

# Keys every recipe understands without its YAML naming them.
LOOP_OPTIONAL_KEYS = frozenset({"device", "threads", "max_cases", "optimizer", "schedule", "learning_rate",
                                "weight_decay", "warmup_epochs"})
DEFAULT_OPTIMIZER = {"name": "adamw", "weight_decay": 1e-4}
DEFAULT_SCHEDULE = {"name": "cosine", "warmup_epochs": 0}


def load_config(path: str | Path, overrides: dict | None = None, optional_keys=()) -> dict:
    """The YAML config at ``path`` with ``overrides`` ({dotted key: value}) applied."""
    with open(path) as handle:
        config = yaml.safe_load(handle) or {}
    return apply_overrides(config, overrides or {}, optional_keys)


def apply_overrides(config: dict, overrides: dict, optional_keys=()) -> dict:
    """A copy of ``config`` with each ``{dotted.key: value}`` of ``overrides`` set.

    Raises :class:`InputError` for a top-level key the config lacks (unless in ``optional_keys`` or
    :data:`LOOP_OPTIONAL_KEYS`) and for a path that runs through a value that is not a mapping.
    """
    config = copy.deepcopy(config)
    known = set(config) | LOOP_OPTIONAL_KEYS | set(optional_keys)
    for dotted, value in overrides.items():
        path = str(dotted).split(".")
        if path[0] not in known:
            raise InputError(f"Unknown config key '{path[0]}' in override '{dotted}'; "
                             f"known keys: {', '.join(sorted(known))}")
        _set_path(config, path, copy.deepcopy(value), dotted)
    return config


def _set_path(config: dict, path: list[str], value, dotted: str) -> None:
    node = config
    for depth, key in enumerate(path[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            where = ".".join(path[:depth + 1])
            raise InputError(f"Cannot set '{dotted}': '{where}' is {child!r}, not a block of keys")
        node = child
    node[path[-1]] = value


def resolve_data_root(config: dict) -> Path:
    """``data_root`` from the config, relative paths taken from the repository root."""
    root = Path(config["data_root"])
    return root if root.is_absolute() else (REPO_ROOT / root).resolve()


def optimizer_settings(config: dict, defaults: dict | None = None) -> dict:
    """The ``optimizer`` block (``name``, ``lr``, ``weight_decay``, ...) over ``defaults``.

    The flat keys of older configs, ``learning_rate`` and ``weight_decay``, are read too; giving the
    same setting both ways with different values is an :class:`InputError`.
    """
    block = {**DEFAULT_OPTIMIZER, **(defaults or {})}
    nested = dict(config.get("optimizer") or {})
    for flat, key in (("learning_rate", "lr"), ("weight_decay", "weight_decay")):
        _merge_flat(block, nested, config, flat, key, "optimizer")
    block.update(nested)
    if "lr" not in block:
        raise InputError("The config sets no learning rate; add optimizer: {lr: ...}")
    return block


def schedule_settings(config: dict, defaults: dict | None = None) -> dict:
    """The ``schedule`` block (``name``, ``warmup_epochs``) over ``defaults``; reads the flat
    ``warmup_epochs`` of older configs."""
    block = {**DEFAULT_SCHEDULE, **(defaults or {})}
    nested = dict(config.get("schedule") or {})
    _merge_flat(block, nested, config, "warmup_epochs", "warmup_epochs", "schedule")
    block.update(nested)
    return block


def _merge_flat(block: dict, nested: dict, config: dict, flat: str, key: str, section: str) -> None:
    if flat not in config:
        return
    if key in nested and nested[key] != config[flat]:
        raise InputError(f"The config sets {flat}: {config[flat]} and {section}.{key}: {nested[key]}; "
                         f"keep only {section}.{key}")
    block[key] = config[flat]
