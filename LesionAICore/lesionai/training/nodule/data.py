"""The LIDC nodule development set: cases, patient-grouped folds and training regions.

``<data_root>/cases.csv`` lists one nodule per row (``id``, ``patient_id``, ``dev_split``,
``image``, ``mask``, ``diameter_mm``, ratings); images are crops in HU, masks 0/1 on the same grid.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...geometry import Image
from ...imageio import read_image
from ...nodule import grids
from ...nodule.region import BASE_SPACING_MM, REGION_SHAPE, region_from_crop


@dataclass(frozen=True)
class NoduleCase:
    """One row of ``cases.csv``."""

    id: str
    patient: str
    split: str
    image: str
    mask: str
    diameter_mm: float
    texture: int
    malignancy: int


def read_cases(root: Path) -> list[NoduleCase]:
    """Every nodule of ``root/cases.csv`` in file order."""
    table = Path(root) / "cases.csv"
    if not table.is_file():
        raise InputError(f"{table} not found; set data_root to the LIDC nodule folder (with cases.csv)")
    with open(table, newline="") as handle:
        return [_case(row) for row in csv.DictReader(handle)]


def _case(row: dict) -> NoduleCase:
    return NoduleCase(row["id"], row["patient_id"], row["dev_split"], row["image"], row["mask"],
                      float(row["diameter_mm"]), int(row["texture_value"]), int(row["malignancy_value"]))


def patient_folds(cases: list[NoduleCase], folds: int, seed: int) -> list[int]:
    """Fold index (0..folds-1) of every case; all nodules of a patient share a fold.

    Patients are shuffled with ``seed`` and dealt to the fold with the fewest nodules so far.
    """
    patients = sorted({case.patient for case in cases})
    np.random.default_rng(seed).shuffle(patients)
    counts = {p: sum(case.patient == p for case in cases) for p in patients}
    load, fold_of = [0] * folds, {}
    for patient in sorted(patients, key=lambda p: -counts[p]):
        fold_of[patient] = int(np.argmin(load))
        load[fold_of[patient]] += counts[patient]
    return [fold_of[case.patient] for case in cases]


def load_pair(root: Path, case: NoduleCase) -> tuple[Image, Image]:
    """(CT crop in HU, 0/1 mask) of one case."""
    return read_image(Path(root) / case.image), read_image(Path(root) / case.mask)


def training_region(image: Image, mask: Image, rng: np.random.Generator, augment: dict) -> tuple[np.ndarray, np.ndarray]:
    """(region HU, region mask 0/1) of a crop, with random spacing, centre shift and context seed.

    The spacing makes the nodule fill at most ``fill`` of the cube (as the pipeline's growing region
    does), times a random factor. ``augment``: ``spacing_scale`` (max relative change), ``shift_mm``
    (max centre shift per axis), ``fill``.
    """
    fitted = max(BASE_SPACING_MM, nodule_extent_mm(mask) / (REGION_SHAPE[0] * augment.get("fill", 0.75)))
    spacing = fitted * float(np.exp(rng.uniform(-1, 1) * np.log1p(augment.get("spacing_scale", 0.0))))
    shift = rng.uniform(-1, 1, size=3) * augment.get("shift_mm", 0.0)
    region = region_from_crop(image, spacing_mm=spacing, center_shift_mm=shift, seed=int(rng.integers(1 << 30)))
    region_mask = grids.sample(mask.array, mask.geometry, region.image.geometry, region.image.array.shape, cval=0.0)
    return region.image.array, (region_mask >= 0.5).astype(np.float32)


def nodule_extent_mm(mask: Image) -> float:
    """Largest side (mm) of the mask's bounding box along the voxel axes."""
    present = [np.flatnonzero(mask.array.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
    if any(p.size == 0 for p in present):
        return 0.0
    sizes = [(p[-1] - p[0] + 1) * s for p, s in zip(present, mask.geometry.spacing[::-1])]
    return float(max(sizes))
