"""Nodule cohorts for the classifier recipes: the LIDC development set or a user's own cohort.

Both become one :class:`NoduleSet`: per nodule, the classifier crops at every training size, the
published variables with their missing-value mask, the binary target, the texture class and the
patient it belongs to. Crops are computed once and cached (``cache_dir``), keyed by everything that
changes them.

LIDC (``source: lidc``, ``data_root`` holding ``cases.csv``, ``images/``, ``masks/``): target = the
radiologists' majority malignancy suspicion, positive when >= ``positive_min`` (4), negative when
<= ``negative_max`` (2), left out (NaN) in between; texture class from the texture rating
(1-2 ground-glass, 3 part-solid, 4-5 solid). LIDC has no age or sex: both are always missing.
The user cohort (``source: cohort``) is read by :mod:`.cohort`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...nodule.classifier_input import classifier_crop, feature_vector
from ...nodule.features import feature_values
from ..config import REPO_ROOT, resolve_data_root
from .data import load_pair, read_cases

TEXTURE_CLASSES = ("ground-glass", "part-solid", "solid")
CACHE_VERSION = 2


@dataclass
class NoduleSet:
    """A cohort as arrays; N nodules.

    ``crops``: {(D, H, W): (N, 2, D, H, W) float16}; ``features``/``missing``: (N, F) float32;
    ``target``: (N,) float32 1/0 or NaN (not labelled); ``texture``: (N,) int64 class index or -1
    (unknown); ``ggn_like``: (N,) bool; ``ids``, ``patients``, ``splits``: (N,) str.
    """

    ids: np.ndarray
    patients: np.ndarray
    splits: np.ndarray
    crops: dict
    features: np.ndarray
    missing: np.ndarray
    target: np.ndarray
    texture: np.ndarray
    ggn_like: np.ndarray

    def subset(self, rows: np.ndarray) -> NoduleSet:
        """The nodules at ``rows`` (indices or a boolean mask)."""
        return NoduleSet(self.ids[rows], self.patients[rows], self.splits[rows],
                         {shape: crops[rows] for shape, crops in self.crops.items()}, self.features[rows],
                         self.missing[rows], self.target[rows], self.texture[rows], self.ggn_like[rows])

    def __len__(self) -> int:
        return len(self.ids)


def grid_sizes(config: dict) -> list[tuple[tuple[int, int, int], tuple[float, float, float]]]:
    """[(shape, spacing_kji mm)] of every training stage; all stages share ``field_of_view_mm``."""
    field_mm = np.asarray(config["field_of_view_mm"], dtype=float)
    return [(tuple(int(n) for n in shape), tuple(float(f) for f in field_mm / np.asarray(shape)))
            for shape in config["stages_shape"]]


def texture_class(texture_rating: int) -> int:
    """LIDC texture rating 1-5 -> class index: 1-2 ground-glass (0), 3 part-solid (1), 4-5 solid (2)."""
    return 0 if texture_rating <= 2 else 1 if texture_rating == 3 else 2


def malignancy_target(rating: int, positive_min: int = 4, negative_max: int = 2) -> float:
    """1.0 for suspicion >= ``positive_min``, 0.0 for <= ``negative_max``, NaN (left out) otherwise."""
    return 1.0 if rating >= positive_min else 0.0 if rating <= negative_max else float("nan")


def load_nodule_set(config: dict, transform=None) -> NoduleSet:
    """The configured cohort, from the cache when present. ``transform(region_hu) -> Image`` (e.g.
    cross-scanner normalisation) is applied to each CT crop first; ``config["csn"]`` names it in the
    cache key."""
    if config.get("source", "lidc") == "cohort":
        from .cohort import load_cohort

        return load_cohort(config, transform)
    return cached(config, _lidc_key(config), lambda: _read_lidc(config, transform))


def _lidc_key(config: dict) -> dict:
    return {"source": "lidc", "data_root": str(resolve_data_root(config)), "stages": grid_sizes(config),
            "positive_min": config.get("positive_min", 4), "negative_max": config.get("negative_max", 2),
            "csn": bool(config.get("csn", False)), "version": CACHE_VERSION}


def _read_lidc(config: dict, transform) -> NoduleSet:
    root, sizes = resolve_data_root(config), grid_sizes(config)
    records = [_lidc_record(root, case, sizes, config, transform) for case in read_cases(root)]
    return stack_records(records, sizes)


def _lidc_record(root: Path, case, sizes, config: dict, transform) -> dict:
    hu, mask = load_pair(root, case)
    target = malignancy_target(case.malignancy, config.get("positive_min", 4), config.get("negative_max", 2))
    return nodule_record(hu, mask, sizes, transform, id=case.id, patient=case.patient, split=case.split,
                         target=target, texture=texture_class(case.texture), ggn_like=case.texture <= 3)


def nodule_record(hu, mask, sizes, transform, clinical: dict | None = None, **labels) -> dict:
    """One nodule's crops at every size and its variables: those measured on the image, and the
    ``clinical`` ones ({name: value or None}, e.g. Age, Gender) where given."""
    if transform is not None:
        hu = transform(hu)
    measured = feature_values(np.asarray(mask.array) > 0, hu.array, hu.geometry)
    values, missing = feature_vector({**measured, **{k: v for k, v in (clinical or {}).items() if v is not None}})
    crops = [classifier_crop(hu, mask, shape, spacing).astype(np.float16) for shape, spacing in sizes]
    return {"crops": crops, "features": values, "missing": missing, **labels}


def stack_records(records: list[dict], sizes) -> NoduleSet:
    """A :class:`NoduleSet` of :func:`nodule_record` dicts (with id, patient, split, target, texture, ggn_like)."""
    def column(key, dtype=None):
        return np.asarray([record[key] for record in records], dtype=dtype)

    crops = {shape: np.stack([record["crops"][index] for record in records]) for index, (shape, _) in enumerate(sizes)}
    return NoduleSet(column("id", str), column("patient", str), column("split", str), crops,
                     column("features", np.float32), column("missing", np.float32), column("target", np.float32),
                     column("texture", np.int64), column("ggn_like", bool))


def cached(config: dict, key: dict, build) -> NoduleSet:
    """The set for ``key`` from ``cache_dir`` (one .npz per key), building and saving it when absent."""
    cache_dir = config.get("cache_dir")
    if not cache_dir:
        return build()
    cache_dir = Path(cache_dir) if Path(cache_dir).is_absolute() else REPO_ROOT / cache_dir
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir / f"nodules-{digest}.npz"
    if path.is_file():
        return _read_cache(path)
    nodules = build()
    _write_cache(path, nodules)
    return nodules


def _write_cache(path: Path, nodules: NoduleSet) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"crops_{'x'.join(map(str, shape))}": crops for shape, crops in nodules.crops.items()}
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez(partial, ids=nodules.ids, patients=nodules.patients, splits=nodules.splits, features=nodules.features,
             missing=nodules.missing, target=nodules.target, texture=nodules.texture, ggn_like=nodules.ggn_like,
             **arrays)
    partial.replace(path)


def _read_cache(path: Path) -> NoduleSet:
    with np.load(path) as stored:
        crops = {tuple(int(n) for n in key[len("crops_"):].split("x")): stored[key]
                 for key in stored.files if key.startswith("crops_")}
        return NoduleSet(stored["ids"], stored["patients"], stored["splits"], crops, stored["features"],
                         stored["missing"], stored["target"], stored["texture"], stored["ggn_like"])
