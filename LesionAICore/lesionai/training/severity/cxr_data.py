"""The development chest X-ray collection (``cases.csv`` + ``images/`` + ``lung_masks/``).

Lung mask values: 0 background, 1 lung, 255 ignore (devices and markup over the lung).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from ...errors import InputError, LesionAIError
from ...severity.preprocess import normalize_percentile, resize_plane
from ...severity.zones import ZONE_LETTERS

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

    def zone_scores(self, rater: str) -> np.ndarray | None:
        """Brixia zone scores A-F (float64) by ``rater`` (``senior`` or ``junior``), or None if unscored."""
        values = [self.row.get(f"brixia_{rater}_{letter}", "") for letter in ZONE_LETTERS]
        return None if any(value in ("", None) for value in values) else np.array(values, dtype=np.float64)


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


def pipeline_zones(cases, root: Path, threads: int | None, log) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """stem -> (lung labels, zone labels), uint8 on the PNG's grid, found by the installed lung and
    alignment models exactly as the pipeline finds them (the PNGs are stored in display orientation).

    Radiographs the pipeline refuses are left out (and logged).
    """
    from ...imageio import read_image
    from ...severity.pipeline import SeverityPipeline, display_radiograph

    pipeline, found = SeverityPipeline(threads=threads), {}
    for case in cases:
        try:
            display = display_radiograph(read_image(case.image_path(root)))[0]
            lungs, zones, _, _ = pipeline.lungs_and_zones(display.array[0].astype(np.float32), display.geometry)
        except LesionAIError as error:
            log.info("zones of %s not found: %s", case.stem, error)
            continue
        found[case.stem] = (lungs.astype(np.uint8), zones.astype(np.uint8))
    return found



def write_phantom_collection(root: Path, counts: dict[str, int], size: tuple[int, int] = (256, 256),
                             laterals: int = 2, seed: int = 0, zone_scores: bool = False) -> Path:
    """Write generated radiographs in this collection's layout (``cases.csv``, ``images/``, ``lung_masks/``).

    ``counts`` maps split -> number of frontal phantoms (with lung masks); each split also gets
    ``laterals`` lateral phantoms without masks. Lets every recipe run where the development data
    is absent (tests, a first try of a GPU set-up). With ``zone_scores`` the frontal phantoms get
    random Brixia zone scores (senior and junior columns): labels for exercising the zone-severity
    recipe's plumbing, not anything a model could learn. Returns ``root``.
    """
    from ...phantoms.cxr import eight_bit, generate_cxr_phantom

    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "lung_masks").mkdir(exist_ok=True)
    rows, index = [], seed
    for split, count in counts.items():
        for view in ["PA"] * count + ["lateral"] * laterals:
            phantom = generate_cxr_phantom(seed=index, size=size, view=view)
            stem = f"phantom-{index:05d}"
            PILImage.fromarray(eight_bit(phantom.image.array[0])).save(root / "images" / f"{stem}.png")
            if view == "PA":
                PILImage.fromarray((phantom.lung_labels[0] > 0).astype(np.uint8)).save(root / "lung_masks" / f"{stem}.png")
            rows.append({"stem": stem, "split": split, "view": "PA" if view == "PA" else "L",
                         "has_lung_mask": "1" if view == "PA" else "0",
                         **(_random_zone_scores(index) if zone_scores and view == "PA" else {})})
            index += 1
    with open(root / "cases.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["stem", "split", "view", "has_lung_mask", *SCORE_COLUMNS], restval="")
        writer.writeheader()
        writer.writerows(rows)
    return root


SCORE_COLUMNS = tuple(f"brixia_{rater}_{letter}" for rater in ("senior", "junior") for letter in "ABCDEF")


def _random_zone_scores(seed: int) -> dict[str, str]:
    scores = np.random.default_rng(seed).integers(0, 4, len(SCORE_COLUMNS))
    return {column: str(score) for column, score in zip(SCORE_COLUMNS, scores)}
