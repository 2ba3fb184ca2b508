"""Labelled radiographs for the finding classifier, from one of two sources (config ``source``).

``folders``: ``data_root/{train,val,test}/<class>/*.png|jpg`` (``test`` optional; any class names,
class order from the config's ``classes`` or else the sorted folder names of ``train``). A lung mask
for ``train/<class>/<name>.png`` is read from ``data_root/masks/train/<class>/<name>.png`` when that
file exists (any non-zero pixel is lung).

``cases``: the chest X-ray collection's ``cases.csv`` (``finding``, ``split``, ``view``,
``has_lung_mask``). Lateral views and rows without a finding (blank or "todo") are skipped; the
config's ``findings`` maps a finding to a class and ``other_findings`` names the class of every
other finding (null: skip them). The lung mask is ``lung_masks/<stem>.png`` when
``has_lung_mask``; its ignore value 255 (a device or markup lying over the lung) counts as lung.

Images are read as 8-bit grey, resized to ``input_size`` and percentile-normalised exactly as the
pipeline prepares a radiograph (``severity.preprocess``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from ...errors import InputError
from ...severity.preprocess import normalize_percentile, resize_plane
from .cxr_data import load_plane, read_cases

SOURCES = ("cases", "folders")
SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
UNLABELLED_FINDINGS = {"", "todo"}
LATERAL_VIEW = "L"


@dataclass(frozen=True)
class LabelledImage:
    """One radiograph file, its class index and its lung mask file (None when it has none)."""

    image_path: Path
    label: int
    mask_path: Path | None


@dataclass
class FindingSamples:
    """One split as arrays at the network's input size.

    ``images`` (N, 1, H, W) float32 in [0, 1]; ``labels`` (N,) int64 class indices; ``lung_masks``
    (N, 1, H, W) int64 0/1 (all 0 where unknown); ``has_mask`` (N,) bool.
    """

    images: np.ndarray
    labels: np.ndarray
    lung_masks: np.ndarray
    has_mask: np.ndarray


def resolve_classes(config: dict, root: Path) -> list[str]:
    """The class names in logit order: the config's ``classes``, or the folder names of ``train``."""
    if config.get("classes"):
        return [str(name) for name in config["classes"]]
    if config.get("source") != "folders":
        raise InputError("The cases source needs a 'classes' list in the config (the classes the findings map to)")
    folders = sorted(p.name for p in (root / "train").iterdir() if p.is_dir()) if (root / "train").is_dir() else []
    if len(folders) < 2:
        raise InputError(f"{root / 'train'} needs at least two class folders (one per class) with images in them")
    return folders


def split_items(config: dict, root: Path, split: str, classes: list[str]) -> list[LabelledImage]:
    """The labelled images of ``split`` from the configured source (empty when the split is absent)."""
    source = config.get("source", "cases")
    if source == "folders":
        return folder_items(root, split, classes)
    if source == "cases":
        return case_items(root, split, classes, config.get("findings") or {}, config.get("other_findings"))
    raise InputError(f"Unknown data source '{source}'; use one of: {', '.join(SOURCES)}")


def folder_items(root: Path, split: str, classes: list[str]) -> list[LabelledImage]:
    """Images of ``root/split/<class>/``; unknown class folders are an error, not silently dropped."""
    split_dir = root / split
    if not split_dir.is_dir():
        return []
    unknown = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and p.name not in classes)
    if unknown:
        raise InputError(f"{split_dir} has class folders {unknown} that are not among the classes {classes}")
    return [LabelledImage(path, label, _sibling_mask(root, split, path))
            for label, name in enumerate(classes) for path in _images_in(split_dir / name)]


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []


def _sibling_mask(root: Path, split: str, image_path: Path) -> Path | None:
    mask = root / "masks" / split / image_path.parent.name / f"{image_path.stem}.png"
    return mask if mask.is_file() else None


def finding_class(finding: str, findings: dict, other_findings: str | None) -> str | None:
    """The class of a ``cases.csv`` finding, or None when the row is to be skipped.

    >>> finding_class("COVID-19, ARDS", {"COVID-19, ARDS": "COVID-19"}, "other pneumonia")
    'COVID-19'
    """
    finding = finding.strip()
    if finding.lower() in UNLABELLED_FINDINGS:
        return None
    return findings.get(finding, other_findings)


def case_items(root: Path, split: str, classes: list[str], findings: dict, other_findings: str | None) -> list[LabelledImage]:
    """Frontal, labelled rows of ``cases.csv`` in ``split``, mapped to ``classes``."""
    _check_mapping(classes, findings, other_findings)
    items = []
    for case in read_cases(root):
        name = finding_class(case.row.get("finding", ""), findings, other_findings)
        if case.split != split or case.view == LATERAL_VIEW or name is None:
            continue
        items.append(LabelledImage(case.image_path(root), classes.index(name),
                                   case.mask_path(root) if case.has_lung_mask else None))
    return items


def _check_mapping(classes: list[str], findings: dict, other_findings: str | None) -> None:
    targets = set(findings.values()) | ({other_findings} if other_findings else set())
    unknown = sorted(str(t) for t in targets - set(classes))
    if unknown:
        raise InputError(f"findings/other_findings map to {unknown}, which are not among the classes {classes}")


def per_class_limit(items: list[LabelledImage], limit: int | None) -> list[LabelledImage]:
    """At most ``limit`` images of each class (all when ``limit`` is unset): quick smoke runs."""
    if not limit:
        return items
    kept, seen = [], {}
    for item in items:
        seen[item.label] = seen.get(item.label, 0) + 1
        if seen[item.label] <= limit:
            kept.append(item)
    return kept


def load_samples(items: list[LabelledImage], shape: tuple[int, int]) -> FindingSamples:
    """Read, resize and normalise ``items`` (and their lung masks) at ``shape`` (rows, cols)."""
    images = [normalize_percentile(resize_plane(load_plane(item.image_path), shape)) for item in items]
    masks = [_lung_mask(item.mask_path, shape) for item in items]
    return FindingSamples(np.stack(images)[:, None].astype(np.float32), np.array([i.label for i in items], np.int64),
                          np.stack(masks)[:, None].astype(np.int64), np.array([i.mask_path is not None for i in items]))


def _lung_mask(path: Path | None, shape: tuple[int, int]) -> np.ndarray:
    if path is None:
        return np.zeros(shape, np.uint8)
    lung = np.asarray(PILImage.open(path).convert("L")) > 0
    return resize_plane(lung.astype(np.uint8), shape, nearest=True)


def class_counts(labels: np.ndarray, class_count: int) -> list[int]:
    return np.bincount(labels, minlength=class_count).tolist()
