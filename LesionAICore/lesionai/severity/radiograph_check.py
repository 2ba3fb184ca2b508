"""Is this a chest radiograph SeverityScoring can score? The check run before any zone is scored.

Three kinds of evidence, each of which can give reasons to refuse the image:

* **the image itself** (:func:`image_measures`): an aspect ratio no radiograph has (a 128 x 6000
  strip), pixels without spatial structure (noise; byte-swapped 16-bit data, whose low bits turn
  into the most significant ones), large saturated areas (half the image whited out);
* **the view model**: frontal probability under the registry's operating point (a lateral view,
  or not a chest radiograph at all; :func:`lesionai.severity.checks.view_warnings`);
* **the lungs found**: not two lungs, lungs covering an implausible share of the image
  (:func:`lesionai.severity.checks.lung_warnings`), lungs not side by side, or more than two
  lung-like regions.

The pipeline refuses an image with any reason (:class:`lesionai.errors.RefusedInputError`) unless
forced, in which case the reasons become warnings of the result.

>>> check = check_radiograph(plane, view, lung_labels, frontal_threshold=0.25)   # doctest: +SKIP
>>> check.passed, check.reasons                                                   # doctest: +SKIP
(False, ['the pixels look like noise, not anatomy: neighbouring pixels correlate at 0.01 ...', ...])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from . import checks
from .lungs import LEFT_LUNG, RIGHT_LUNG

MAX_ASPECT_RATIO = 3.0
"""Longer over shorter side. The frontal radiographs of the development train split reach 2.23 (a
wide crop of both lungs), most are under 1.4; detector formats are at most 17 x 14 in (1.2)."""
MIN_NEIGHBOUR_CORRELATION = 0.5
"""Correlation of horizontally (and vertically) adjacent pixels, the lower of the two. Anatomy is
smooth at the pixel scale: on the train split it is 0.92 at least (median 0.99); independent noise
gives about 0. Byte-swapped 16-bit data, whose noisy low bits become the high byte, gives about 0.5
(train-split radiographs, generated corpus of seed 0), hence its own check (:data:`BYTE_SWAP_GAIN`)."""
MAX_WHITE_FRACTION = 0.4
"""Share of the image at its brightest value. Burned-in labels and white frames reach 0.21 on the
train split; half the image whited out gives 0.5."""
MAX_BLACK_FRACTION = 0.65
"""Share of the image at its darkest value. Collimation and letterboxing are black and can be large
(a 2:1 picture padded to a square is half black; the train split reaches 0.22), so the limit lets
through a radiograph of up to about 2.9:1 padded to a square."""
BYTE_SWAP_GAIN = 0.2
"""An integer image (values 0-65535 above 255) whose neighbour correlation rises by more than this,
to at least :data:`SMOOTH_CORRELATION`, once its two bytes are swapped back was read with the wrong
byte order. The correlation of a correctly read radiograph can only fall when its bytes are swapped."""
SMOOTH_CORRELATION = 0.9
"""Neighbour correlation of anatomy (train split: 0.92 at least)."""
MIN_LUNG_ROW_OVERLAP = 0.5
"""The two lungs of a frontal radiograph lie side by side: the rows they share, over the taller
lung's height, are 0.70 at least on the train split (median 0.93). Patches of a radiograph put
back in another order give lungs at different heights."""
MAX_THIRD_LUNG_REGION = 0.1
"""Size of the third-largest region the lung model marks, over the second-largest (a lung). On the
train split it is 0.033 at most (99 % under 0.024): a radiograph has two lungs. Radiographs tiled
side by side or cut into shuffled patches give more lung-like regions of similar size."""
SATURATION_TOLERANCE = 0.005
"""Pixels within this share of the intensity range from the extreme count as saturated (JPEG and
resampling blur an area that was one value)."""
MEASURED_PIXELS = 1024
"""Neighbour correlation is measured on a central crop of at most this many native pixels a side,
saturation on a subsample of at most this many a side, which bounds the time on 8000 px images."""


@dataclass
class RadiographCheck:
    """The check's verdict on one image: ``reasons`` to refuse it (empty: it can be scored) and the
    ``measures`` they rest on (aspect ratio, neighbour correlation with and without a byte swap,
    white and black fractions, frontal probability, lungs found, the share of the image they cover,
    their shared rows and the relative size of a third lung-like region)."""

    reasons: list[str] = field(default_factory=list)
    measures: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.reasons

    def record(self) -> dict:
        """The verdict as kept in ``result.json``: ``passed``, ``reasons`` and ``measures``."""
        return {"passed": self.passed, "reasons": list(self.reasons), "measures": dict(self.measures)}


def check_radiograph(plane: np.ndarray, view: dict[str, float], lung_labels: np.ndarray, frontal_threshold: float,
                     lung_probability: np.ndarray | None = None) -> RadiographCheck:
    """Every reason the display-oriented ``plane`` (rows, cols) is not a chest radiograph this
    pipeline can score, given the view model's ``view`` probabilities, the right/left
    ``lung_labels`` found on it and (optional) the lung model's probability map they came from."""
    measures = image_measures(plane) | lung_measures(lung_labels)
    measures["third_lung_region"] = None if lung_probability is None else round(third_region_ratio(lung_probability >= 0.5), 4)
    measures["frontal_probability"] = round(float(view.get("frontal", 1.0)), 4)
    reasons = image_reasons(measures) + checks.view_warnings(view, frontal_threshold) + lung_reasons(measures, lung_labels)
    return RadiographCheck(reasons, measures)


def image_measures(plane: np.ndarray) -> dict[str, float]:
    """Aspect ratio, neighbour correlation and white/black (saturated) fractions of a 2D plane."""
    plane = np.asarray(plane, dtype=np.float64)
    white, black = saturated_fractions(plane)
    crop = central_crop(plane, MEASURED_PIXELS)
    return {"aspect_ratio": round(max(plane.shape) / min(plane.shape), 3),
            "neighbour_correlation": round(neighbour_correlation(crop), 4),
            "byte_swapped_correlation": _rounded(byte_swapped_correlation(crop)),
            "white_fraction": round(white, 4), "black_fraction": round(black, 4)}


def image_reasons(measures: dict[str, float]) -> list[str]:
    """Reasons, from :func:`image_measures`, that the image is not a radiograph."""
    reasons = []
    if measures["aspect_ratio"] > MAX_ASPECT_RATIO:
        reasons.append(f"the image is {measures['aspect_ratio']:.1f} times longer than wide "
                       f"(radiographs: under {MAX_ASPECT_RATIO:.0f})")
    if measures["neighbour_correlation"] < MIN_NEIGHBOUR_CORRELATION:
        reasons.append(f"the pixels look like noise, not anatomy: neighbouring pixels correlate at "
                       f"{measures['neighbour_correlation']:.2f} (radiographs: over 0.9); a 16-bit image read "
                       "with the wrong byte order looks like this too")
    if _reads_as_byte_swapped(measures):
        reasons.append(f"the image looks like 16-bit data read with the wrong byte order: with its two bytes swapped "
                       f"back, neighbouring pixels correlate at {measures['byte_swapped_correlation']:.2f} instead of "
                       f"{measures['neighbour_correlation']:.2f}; check how the file was written")
    for colour, limit in (("white", MAX_WHITE_FRACTION), ("black", MAX_BLACK_FRACTION)):
        if measures[f"{colour}_fraction"] > limit:
            reasons.append(f"{measures[f'{colour}_fraction']:.0%} of the image is saturated {colour} "
                           f"(expected under {limit:.0%}): part of it is missing or blanked out")
    return reasons


def _reads_as_byte_swapped(measures: dict[str, float]) -> bool:
    swapped = measures["byte_swapped_correlation"]
    return swapped is not None and swapped >= SMOOTH_CORRELATION and \
        swapped - measures["neighbour_correlation"] > BYTE_SWAP_GAIN


def lung_reasons(measures: dict[str, float], lung_labels: np.ndarray) -> list[str]:
    """Reasons in the lungs found: too few, too small or large (:func:`checks.lung_warnings`), or
    not side by side (:data:`MIN_LUNG_ROW_OVERLAP`)."""
    reasons = checks.lung_warnings(lung_labels)
    overlap, third = measures["lung_row_overlap"], measures.get("third_lung_region")
    if not reasons and overlap < MIN_LUNG_ROW_OVERLAP:
        reasons.append(f"the two lungs found are not side by side (they share {overlap:.0%} of their height; "
                       f"frontal radiographs: over {MIN_LUNG_ROW_OVERLAP:.0%})")
    if third is not None and third > MAX_THIRD_LUNG_REGION:
        reasons.append(f"more than two lung-like regions were found (the third is {third:.0%} the size of the second): "
                       "several radiographs side by side, or a picture cut up?")
    return reasons


def third_region_ratio(mask: np.ndarray) -> float:
    """Size of the third-largest 8-connected region of ``mask`` over the second-largest (0 with fewer)."""
    labelled, found = ndimage.label(mask, structure=np.ones((3, 3)))
    if found < 3:
        return 0.0
    sizes = np.sort(ndimage.sum_labels(mask, labelled, index=np.arange(1, found + 1)))[::-1]
    return float(sizes[2] / sizes[1])


def lung_measures(lung_labels: np.ndarray) -> dict[str, float]:
    """How many lungs (right, left) were found, the share of the image they cover and the share of
    the taller one's rows they have in common (0 when fewer than two)."""
    rows = [np.flatnonzero((lung_labels == side).any(axis=1)) for side in (RIGHT_LUNG, LEFT_LUNG)]
    found = [side_rows for side_rows in rows if side_rows.size]
    overlap = 0.0
    if len(found) == 2:
        shared = min(rows[0][-1], rows[1][-1]) - max(rows[0][0], rows[1][0]) + 1
        overlap = max(0, shared) / max(len(rows[0]), len(rows[1]))
    return {"lungs_found": len(found), "lung_fraction": round(float((lung_labels > 0).mean()), 4),
            "lung_row_overlap": round(float(overlap), 4)}


def neighbour_correlation(plane: np.ndarray) -> float:
    """The lower of the horizontal and vertical lag-1 correlations of ``plane`` (1.0 when flat)."""
    return min(_correlation(plane[:, 1:], plane[:, :-1]), _correlation(plane[1:], plane[:-1]))


def byte_swapped_correlation(plane: np.ndarray) -> float | None:
    """Neighbour correlation of ``plane`` with the two bytes of each value swapped; None unless the
    values are integers in 0-65535 with some above 255 (the only data a swap can concern)."""
    if plane.max() <= 255 or plane.min() < 0 or plane.max() > 65535 or not np.all(plane == np.rint(plane)):
        return None
    return neighbour_correlation(plane.astype(np.uint16).byteswap().astype(np.float64))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _correlation(first: np.ndarray, second: np.ndarray) -> float:
    first, second = first - first.mean(), second - second.mean()
    scale = np.sqrt((first * first).sum() * (second * second).sum())
    return float((first * second).sum() / scale) if scale > 0 else 1.0


def saturated_fractions(plane: np.ndarray) -> tuple[float, float]:
    """Shares of ``plane`` (subsampled to :data:`MEASURED_PIXELS` a side) at its brightest and at
    its darkest value, within :data:`SATURATION_TOLERANCE` of the range."""
    step = max(1, int(np.ceil(max(plane.shape) / MEASURED_PIXELS)))
    sample = plane[::step, ::step]
    low, high = float(sample.min()), float(sample.max())
    tolerance = SATURATION_TOLERANCE * (high - low)
    return float((sample >= high - tolerance).mean()), float((sample <= low + tolerance).mean())


def central_crop(plane: np.ndarray, size: int) -> np.ndarray:
    """The central ``size`` x ``size`` pixels of ``plane`` (less along a shorter side)."""
    starts = [max(0, (length - size) // 2) for length in plane.shape]
    return plane[starts[0]:starts[0] + size, starts[1]:starts[1] + size]
