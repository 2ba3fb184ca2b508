"""The scans the scan-check recipe learns from, with their labels and subject groups.

Every source is a :class:`ScanSource`: a loader plus labels (anatomy, and for spinal MRI the region
and contrast) and the subject or patient it belongs to, so cross-validation keeps all scans of one
person on the same side. Sources (all under ``data_root``, each optional):

* ``spine/``: spinal cord MRI of about ten subjects; region ``cervical`` (the collection is
  cervical to upper thoracic), contrast from ``cases.csv`` (MT counted as T2*w: gradient echo;
  DWI and fMRI as ``other``; of 4D series the first volume);
* ``negatives/``: brain MRI (``brain``: FLAIR -> contrast ``other``, T1w templates -> ``T1w``) and
  torso/chest CT (``CT``);
* ``nodules/``: chest CT crops (``CT``), one per patient;
* ``cxr/``: chest radiographs (``other``: not a tomographic image), one per patient group;
* generated spine phantoms (cervical/thoracic/lumbar, sagittal/axial, T1w/T2w/T2*w/STIR) and generated
  2D pictures (noise, gradients, blobs: ``other``).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...geometry import Image, radiograph_geometry
from ...imageio import image_from_sitk, read_image
from ...phantoms.spine import generate_spine_phantom
from .data import read_cases

SPINE_CONTRASTS = {"T1w": "T1w", "T2w": "T2w", "T2*w": "T2*w", "MT": "T2*w"}
PHANTOM_CONTRASTS = {"T2w": "T2w", "T1w": "T1w", "T2*w": "T2*w", "STIR": "other"}  # phantom contrast -> label


@dataclass(frozen=True)
class ScanSource:
    """One scan and what it is. ``region``/``contrast`` are None where unknown or meaningless.

    ``cord_box`` (optional) loads a bool cord mask on the scan's grid; it lets augmentation keep
    the cord inside crops of spinal scans and cut crops without the spine ("other MR").
    """

    name: str
    group: str
    anatomy: str
    load: Callable[[], Image]
    region: str | None = None
    contrast: str | None = None
    real: bool = True
    cord_mask: Callable[[], np.ndarray] | None = None


def all_sources(root: Path, config: dict) -> list[ScanSource]:
    """Every available source under ``root`` (missing collections are skipped) plus generated ones."""
    root = Path(root)
    sources = []
    for collection, reader in (("spine", spine_sources), ("negatives", negative_sources),
                               ("nodules", nodule_sources), ("cxr", radiograph_sources)):
        if (root / collection / "cases.csv").is_file():
            sources += reader(root / collection, config)
    return sources + phantom_sources(config) + picture_sources(config)


def spine_sources(folder: Path, config: dict) -> list[ScanSource]:
    """Spinal MRI volumes (4D series: first volume), region cervical, contrast as listed."""
    sources = []
    for case in read_cases(folder):
        contrast = SPINE_CONTRASTS.get(case.contrast_group, "other")
        path = folder / case.path
        mask = (lambda p=folder / case.cord_path: _read_mask(p)) if case.cord_path else None
        sources.append(ScanSource(f"spine:{case.name}", f"spine:{case.subject}", "spine",
                                  lambda p=path: read_first_volume(p), "cervical", contrast, True, mask))
    return sources


def negative_sources(folder: Path, config: dict) -> list[ScanSource]:
    """Brain MRI (templates grouped together) and CT volumes; label maps are skipped."""
    sources = []
    for row in _rows(folder / "cases.csv"):
        modality, path = row["modality"], folder / row["path"]
        if modality == "CT":
            sources.append(ScanSource(f"ct:{path.name}", "ct:totalsegmentator", "CT", lambda p=path: read_image(p)))
        elif modality.startswith("MR brain"):
            contrast = "T1w" if "T1w" in modality else "other"
            group = "brain:templates" if "template" in row["notes"] else f"brain:{path.name}"
            sources.append(ScanSource(f"brain:{path.name}", group, "brain", lambda p=path: read_image(p), None, contrast))
    return sources


def nodule_sources(folder: Path, config: dict) -> list[ScanSource]:
    """One chest CT crop per patient (the first listed), at most ``config['max_per_collection']``."""
    chosen = {}
    for row in _rows(folder / "cases.csv"):
        chosen.setdefault(row["patient_id"], folder / row["image"])
    patients = sorted(chosen)[: config.get("max_per_collection", 80)]
    return [ScanSource(f"nodule:{p}", f"lidc:{p}", "CT", lambda path=chosen[p]: read_image(path)) for p in patients]


def radiograph_sources(folder: Path, config: dict) -> list[ScanSource]:
    """One chest radiograph per patient group, at most ``config['max_per_collection']``."""
    chosen = {}
    for row in _rows(folder / "cases.csv"):
        chosen.setdefault(row["patient_group"], folder / "images" / f"{row['stem']}.png")
    groups = sorted(chosen)[: config.get("max_per_collection", 80)]
    return [ScanSource(f"cxr:{g}", f"cxr:{g}", "other", lambda p=chosen[g]: read_image(p)) for g in groups]


def phantom_sources(config: dict) -> list[ScanSource]:
    """Generated spinal MRI: every region x view x contrast (STIR labelled ``other``),
    ``config['phantoms_per_kind']`` seeds each."""
    sources, seed = [], 1000
    for region in ("cervical", "thoracic", "lumbar"):
        for view in ("sagittal", "axial"):
            for contrast, label in PHANTOM_CONTRASTS.items():
                for _ in range(config.get("phantoms_per_kind", 3)):
                    seed += 1
                    load = _phantom_loader(seed, view, contrast, region)
                    sources.append(ScanSource(f"phantom:{seed}", f"phantom:{seed}", "spine", lambda f=load: f()[0],
                                              region, label, False, lambda f=load: f()[1]))
    return sources


def picture_sources(config: dict) -> list[ScanSource]:
    """Generated 2D pictures that are not scans: noise, gradients, stripes, blobs, flat fields."""
    count = config.get("pictures", 40)
    return [ScanSource(f"picture:{n}", f"picture:{n}", "other", lambda n=n: synthetic_picture(n), real=False)
            for n in range(count)]


def synthetic_picture(seed: int) -> Image:
    """A 2D picture without anatomy, 8-bit range, as a single-slice image without known spacing."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(128, 512, 2))
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    makers = [lambda: rng.random(shape),
              lambda: np.cos(rows * rng.uniform(2, 40)) * np.sin(cols * rng.uniform(2, 40)),
              lambda: rng.uniform(-1, 1) * rows + rng.uniform(-1, 1) * cols,
              lambda: ndimage.gaussian_filter(rng.random(shape), rng.uniform(2, 12))]
    picture = makers[seed % len(makers)]()
    picture = 255 * (picture - picture.min()) / max(np.ptp(picture), 1e-6)
    return Image(picture[np.newaxis].astype(np.float32), radiograph_geometry(), {"pixel_spacing_known": False})


def read_first_volume(path: Path) -> Image:
    """A 3D image; of a 4D series (DWI, fMRI) the first volume."""
    import SimpleITK as sitk

    image = sitk.ReadImage(str(path))
    if image.GetDimension() == 4:
        size = list(image.GetSize())
        image = sitk.Extract(image, size[:3] + [0], [0, 0, 0, 0])
    result = image_from_sitk(image, {"source_path": str(path), "pixel_spacing_known": True})
    result.array = result.array.astype(np.float32)
    return result


def _phantom_loader(seed: int, view: str, contrast: str, region: str):
    shape, spacing = ((12, 192, 192), (1.2, 1.2, 3.5)) if view == "sagittal" else ((12, 192, 192), (0.8, 0.8, 5.0))

    def load():
        phantom = generate_spine_phantom(seed, shape, spacing, view, contrast, region)
        return phantom.image, phantom.cord_mask
    return load


def _read_mask(path: Path) -> np.ndarray:
    return read_first_volume(path).array > 0.5


def _rows(table: Path) -> list[dict]:
    with open(table, newline="") as handle:
        return list(csv.DictReader(handle))

