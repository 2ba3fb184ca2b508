"""The development chest X-ray collection (``cases.csv`` + ``images/`` + ``lung_masks/``).

Lung mask values: 0 background, 1 lung, 255 ignore (devices and markup over the lung).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from ..errors import InputError
from ..severity.preprocess import normalize_percentile, resize_plane

IGNORE = 255
FRONTAL_VIEWS = {"PA", "AP", "AP Supine"}


@dataclass(frozen=True)
class Case:
    stem: str
    split: str
    view: str
    has_lung_mask: bool
    row: dict

    def image_path(self, root: Path) -> Path:
        return root / "images" / f"{self.stem}.png"

    def mask_path(self, root: Path) -> Path:
        return root / "lung_masks" / f"{self.stem}.png"


def read_cases(root: Path) -> list[Case]:
    """All rows of ``cases.csv`` under ``root``."""
    table = Path(root) / "cases.csv"
    if not table.is_file():
        raise InputError(f"No cases.csv in {root}; set data_root to the chest X-ray folder")
    with open(table, newline="") as handle:
        return [_case(row) for row in csv.DictReader(handle)]


def limited(cases: list[Case], config: dict) -> list[Case]:
    """The first ``config["max_cases"]`` cases (all when unset): for quick smoke runs."""
    return cases[: config["max_cases"]] if config.get("max_cases") else cases


def _case(row: dict) -> Case:
    return Case(row["stem"], row["split"], row["view"], row["has_lung_mask"] == "1", row)


def load_plane(path: Path) -> np.ndarray:
    """An 8-bit PNG as a float32 (rows, cols) plane."""
    return np.asarray(PILImage.open(path).convert("L"), dtype=np.float32)


def load_mask(path: Path) -> np.ndarray:
    return np.asarray(PILImage.open(path), dtype=np.uint8)


def load_segmentation_arrays(cases: list[Case], root: Path, shape: tuple[int, int]):
    """Stacked (N, 1, H, W) normalised images and (N, 1, H, W) masks (0, 1, 255) at ``shape``."""
    images = [normalize_percentile(resize_plane(load_plane(c.image_path(root)), shape)) for c in cases]
    masks = [resize_plane(load_mask(c.mask_path(root)), shape, nearest=True) for c in cases]
    return np.stack(images)[:, None], np.stack(masks)[:, None]
