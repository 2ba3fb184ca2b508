"""A user's own nodule cohort for the classifier recipes (``source: cohort``).

``cohort`` (a CSV, relative to ``data_root``) has one row per nodule:

* ``case_id``, ``label`` (1 = the positive class the config's ``task`` names, e.g. invasive
  adenocarcinoma; 0 = negative, e.g. pre-invasive), optional ``patient_id`` (default: the case),
  ``split`` (train / val; default: patients drawn at random, ``val_fraction`` of them to val) and
  ``texture`` (ground-glass / part-solid / solid; default unknown);
* clinical variables named as in :data:`~lesionai.nodule.features.FEATURE_NAMES` (``Age`` in
  years, ``Gender`` F/M); empty cells are missing and masked;
* the images, either ``image`` and ``mask`` (a NIfTI/NRRD crop in HU and its nodule mask on the
  same grid), or ``ct``, ``mask`` and ``x``, ``y``, ``z`` (a whole CT, a nodule mask on its grid
  and the nodule's centre in RAS mm: the mask component at, or else nearest to, that point).

Image paths are relative to the CSV's folder.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from scipy import ndimage

from ...errors import InputError
from ...geometry import Image
from ...imageio import read_image
from ...nodule.classifier_input import FEATURE_NAMES, box_image, mask_box
from ...nodule.grids import ras_to_kji
from ..config import resolve_data_root
from .classifier_data import TEXTURE_CLASSES, cached, grid_sizes, nodule_record, stack_records

BOX_MARGIN = 2  # voxels kept around a component cut from a whole CT (the crop itself has none)


def cohort_table(config: dict) -> Path:
    if not config.get("cohort"):
        raise InputError("source: cohort needs `cohort:`, the CSV listing the cohort's nodules (relative to data_root)")
    table = resolve_data_root(config) / config["cohort"]
    if not table.is_file():
        raise InputError(f"Cohort table {table} not found; check data_root and cohort in the config")
    return table


def read_rows(table: Path) -> list[dict]:
    """The CSV's rows; :class:`InputError` when required columns are missing."""
    with open(table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = set(rows[0]) if rows else set()
    needed = {"case_id", "label"} | ({"ct", "mask", "x", "y", "z"} if "ct" in columns else {"image", "mask"})
    if not rows or not needed <= columns:
        raise InputError(f"Cohort table {table} needs the columns {', '.join(sorted(needed))}; it has "
                         f"{', '.join(sorted(columns)) or 'no rows'}")
    return rows


def load_cohort(config: dict, transform=None):
    """The cohort as a :class:`~.classifier_data.NoduleSet` (cached like the LIDC set)."""
    table = cohort_table(config)
    key = {"source": "cohort", "table": str(table), "modified": table.stat().st_mtime_ns,
           "stages": grid_sizes(config), "csn": bool(config.get("csn", False)),
           "val_fraction": config.get("val_fraction", 0.2), "seed": config["seed"]}
    return cached(config, key, lambda: _read_cohort(table, config, transform))


def _read_cohort(table: Path, config: dict, transform):
    rows, sizes = read_rows(table), grid_sizes(config)
    splits = row_splits(rows, config.get("val_fraction", 0.2), config["seed"])
    records = [_record(row, table.parent, sizes, transform, split) for row, split in zip(rows, splits)]
    return stack_records(records, sizes)


def row_splits(rows: list[dict], val_fraction: float, seed: int) -> list[str]:
    """Each row's ``split`` when given, else by patient: ``val_fraction`` of the patients to val."""
    patients = sorted({_patient(row) for row in rows})
    drawn = np.random.default_rng(seed).permutation(len(patients))[:max(1, round(val_fraction * len(patients)))]
    val_patients = {patients[index] for index in drawn}
    return [(row.get("split") or "").strip().lower() or ("val" if _patient(row) in val_patients else "train")
            for row in rows]


def _patient(row: dict) -> str:
    return (row.get("patient_id") or "").strip() or row["case_id"]


def _record(row: dict, folder: Path, sizes, transform, split: str) -> dict:
    hu, mask = _images(row, folder)
    texture = texture_index(row.get("texture"), row["case_id"])
    clinical = {name: row[name] for name in FEATURE_NAMES if (row.get(name) or "").strip()}
    return nodule_record(hu, mask, sizes, transform, clinical, id=row["case_id"], patient=_patient(row), split=split,
                         target=label_value(row), texture=texture, ggn_like=0 <= texture <= 1)


def label_value(row: dict) -> float:
    """The row's label as 1.0 / 0.0; :class:`InputError` otherwise."""
    text = (row.get("label") or "").strip()
    if text not in ("0", "1", "0.0", "1.0"):
        raise InputError(f"Case {row['case_id']}: label {text!r} must be 1 (positive) or 0 (negative)")
    return float(text)


def texture_index(text: str | None, case_id: str) -> int:
    """Class index of a texture name (``ground-glass``, ``part-solid``, ``solid``), -1 when empty."""
    name = (text or "").strip().lower()
    if not name:
        return -1
    if name not in TEXTURE_CLASSES:
        raise InputError(f"Case {case_id}: texture {text!r} is not one of {', '.join(TEXTURE_CLASSES)} (or empty)")
    return TEXTURE_CLASSES.index(name)


def _images(row: dict, folder: Path) -> tuple[Image, Image]:
    if (row.get("ct") or "").strip():
        ct, mask = read_image(folder / row["ct"]), read_image(folder / row["mask"])
        return nodule_around_point(ct, mask, _point(row))
    hu, mask = read_image(folder / row["image"]), read_image(folder / row["mask"])
    if hu.array.shape != mask.array.shape:
        raise InputError(f"Case {row['case_id']}: image {hu.array.shape} and mask {mask.array.shape} differ in shape")
    return hu, mask


def _point(row: dict) -> tuple[float, float, float]:
    try:
        return float(row["x"]), float(row["y"]), float(row["z"])
    except ValueError:
        raise InputError(f"Case {row['case_id']}: x, y, z must be the nodule centre in RAS millimetres") from None


def nodule_around_point(ct: Image, mask: Image, point_ras) -> tuple[Image, Image]:
    """(CT box, mask box) of the mask component at ``point_ras`` (else the nearest one), with a margin."""
    if ct.array.shape != mask.array.shape:
        raise InputError(f"The nodule mask {mask.array.shape} is not on the CT grid {ct.array.shape}")
    components, count = ndimage.label(np.asarray(mask.array) > 0)
    if count == 0:
        raise InputError("The nodule mask is empty; it must mark the nodule")
    chosen = _component_at(components, count, ras_to_kji(ct.geometry, point_ras))
    box = tuple(slice(max(0, part.start - BOX_MARGIN), part.stop + BOX_MARGIN) for part in mask_box(components == chosen))
    return box_image(ct, box), box_image(Image((components == chosen).astype(np.uint8), ct.geometry), box)


def _component_at(components: np.ndarray, count: int, kji: np.ndarray) -> int:
    index = tuple(np.round(kji).astype(int))
    if all(0 <= i < n for i, n in zip(index, components.shape)) and components[index] > 0:
        return int(components[index])
    centres = np.asarray(ndimage.center_of_mass(components > 0, components, range(1, count + 1)))
    return int(np.argmin(np.linalg.norm(centres - kji, axis=1))) + 1
