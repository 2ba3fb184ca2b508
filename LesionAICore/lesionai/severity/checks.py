"""Input checks and the warnings SeverityScoring attaches to a result."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..geometry import Image
from .lungs import LEFT_LUNG, RIGHT_LUNG

MIN_SIZE_PX = 128
LUNG_FRACTION_RANGE = (0.1, 0.75)
"""Share of the image the lungs found may cover. On the frontal radiographs of the development train
split it is 0.19-0.64 (median 0.36); outside these limits the lungs (or the image) are implausible:
a lung missed or cut off, or something else segmented as lung."""


def validate_radiograph(image: Image) -> None:
    """Raise :class:`InputError` unless ``image`` is one non-empty 2D plane of at least 128 px."""
    array = image.array
    if array.ndim != 3 or array.size == 0:
        raise InputError(f"Input array has shape {array.shape}; SeverityScoring expects a single 2D chest radiograph")
    if array.shape[0] != 1:
        raise InputError(f"Input has {array.shape[0]} slices; SeverityScoring expects a single 2D chest radiograph")
    rows, cols = array.shape[1:]
    if min(rows, cols) < MIN_SIZE_PX:
        raise InputError(f"Input is {cols}x{rows} pixels; SeverityScoring needs at least "
                         f"{MIN_SIZE_PX} pixels on each side of a chest radiograph")
    if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise InputError("Input contains non-numeric or non-finite pixel values; it is not a usable image")
    if float(array.max()) == float(array.min()):
        raise InputError("Input image is blank (every pixel has the same value)")


def view_warnings(view: dict[str, float], frontal_threshold: float) -> list[str]:
    """Warnings when the frontal probability is under ``frontal_threshold`` (the view model's
    operating point in the registry, chosen on the train split)."""
    if view.get("frontal", 1.0) >= frontal_threshold:
        return []
    if view.get("lateral", 0.0) >= view.get("other", 0.0):
        return [f"looks like a lateral view (p={view['lateral']:.2f}); zones and scores assume a frontal (PA/AP) radiograph"]
    return [f"does not look like a frontal chest radiograph (p={view.get('frontal', 0.0):.2f} frontal); check the input"]


def lung_warnings(lung_labels: np.ndarray) -> list[str]:
    found = [side for side, value in (("right", RIGHT_LUNG), ("left", LEFT_LUNG)) if (lung_labels == value).any()]
    if len(found) < 2:
        return [f"found {len(found)} lung(s) instead of 2; zones are incomplete"]
    fraction = float((lung_labels > 0).mean())
    low, high = LUNG_FRACTION_RANGE
    if not low <= fraction <= high:
        return [f"lungs cover {fraction:.0%} of the image (expected {low:.0%}-{high:.0%}); check the segmentation"]
    return []


def spacing_warnings(image: Image) -> list[str]:
    if image.metadata.get("pixel_spacing_known", True):
        return []
    return ["pixel spacing unknown (no DICOM spacing); areas assume 1 mm pixels"]
