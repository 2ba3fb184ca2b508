"""LesionSegmentation pipeline on one spinal MRI volume: scan check, cord, lesions, measures.

Pure core: takes a :class:`~lesionai.geometry.Image` (``[k, j, i]``, any orientation, axial or
sagittal, or a 4D series ``[t, k, j, i]``), returns a :class:`SpineResult` whose label map lies on
the input's voxel grid. Networks run in ONNX Runtime on the canonical grid (:mod:`.grid`). A scan
the scan check says is not a spinal MRI raises RefusedInputError naming its reasons, unless forced.

>>> result = SpinePipeline(threads=2).run(read_image("t2.nii.gz"))   # doctest: +SKIP
>>> result.cord["csa_mm2_mean"], result.lesion_count                  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, ModelError, RefusedInputError
from ..geometry import Geometry, Image
from ..registry import ModelRegistry
from ..runtime import load_model
from .cord import CordSegmentation, cord_on_input
from .grid import bounding_box, check_volume, probability_on_input, reoriented
from .labels import CORD, LESION
from .lesions import drop_small, lesion_mask, lesion_probability
from .measures import cord_measures, lesion_measures, voxel_volume_mm3

CORD_MODEL = "spine-cord-unet"
LESION_MODEL = "spine-lesion-attention-unet"
SCAN_CHECK_MODEL = "spine-scan-check"
Progress = Callable[[float, str], None]
STRUCTURAL_CONTRASTS = ("T1w", "T2w", "T2*w", "STIR", "PD", "MT")
NOT_SPINE = "Not segmented: the scan check says this is not a spinal MRI"
# The Slicer words name the force checkbox of LesionSegmentation/LesionSegmentationLib/widget.py.
HOW_TO_FORCE = ("to segment it anyway, use --force (in Slicer: tick 'Process even if the scan check says it is "
                "not a spinal MRI')")


@dataclass
class SpineResult:
    """What the pipeline found in one volume.

    ``labels``: uint8 on the input's grid and geometry: 0 background, 1 spinal cord, 2 lesion.
    ``scan_check``: the scan check's ``as_dict()`` (anatomy/region/view/contrast) or None.
    ``cord``: ``volume_mm3``, ``length_mm``, ``csa_mm2_mean``, ``csa_mm2_per_slice`` (see
    :func:`~lesionai.spine.measures.cord_measures`; cord = labels 1 and 2).
    ``lesions``: one dict per lesion (see :func:`~lesionai.spine.measures.lesion_measures`).
    """

    labels: Image
    scan_check: dict | None
    cord: dict
    lesions: list[dict]
    warnings: list[str]
    models: dict[str, str]
    timing_s: float
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def lesion_count(self) -> int:
        return len(self.lesions)

    @property
    def lesion_volume_mm3(self) -> float:
        return float(sum(lesion["volume_mm3"] for lesion in self.lesions))

    def summary(self) -> dict:
        """JSON-ready task keys of ``result.json`` plus warnings, models and timing."""
        return {"scan_check": self.scan_check, "cord": self.cord, "lesions": self.lesions,
                "lesion_count": self.lesion_count, "lesion_volume_mm3": round(self.lesion_volume_mm3, 2),
                "warnings": self.warnings, "models": self.models, "timing_s": round(self.timing_s, 4)}


class SpinePipeline:
    """Runs the LesionSegmentation models registered in ``registry``.

    ``lesions=False`` segments the cord only. A scan the scan check says is not a spinal MRI raises
    RefusedInputError naming the check's reasons; ``force=True`` segments it anyway, the reasons
    becoming warnings. ``scan_checker``: an object with ``check(image) -> ScanCheck``; ``"auto"``
    uses :class:`lesionai.spine.scan_check.ScanChecker` when its model is registered; None skips
    the check (with a warning).
    """

    def __init__(self, registry: ModelRegistry | None = None, threads: int | None = None, lesions: bool = True,
                 force: bool = False, scan_checker="auto"):
        self.registry = registry or ModelRegistry.load()
        self.threads = threads
        self.segment_lesions = lesions
        self.force = force
        self.scan_checker = default_scan_checker(self.registry, threads) if scan_checker == "auto" else scan_checker
        self.packaged_check = scan_checker == "auto" and self.scan_checker is not None

    def predictor(self, model_id: str):
        """The registered network ``model_id`` as a predictor (``[N, 1, H, W]`` -> logits)."""
        model = load_model(self.registry, model_id, threads=self.threads)
        input_name, output_name = model.input_names[0], model.output_names[0]
        return lambda planes: model.run({input_name: planes})[output_name]

    def run(self, image: Image, progress: Progress | None = None) -> SpineResult:
        """Segment cord and lesions of ``image`` and measure them (see :class:`SpineResult`).

        Raises RefusedInputError, before any segmentation, when the scan check says ``image`` is not
        a spinal MRI and the pipeline is not forced."""
        report = progress or (lambda fraction, message: None)
        started, seconds = time.perf_counter(), {}
        report(0.05, "scan check")
        volume, scan_check, warnings = self.checked_volume(image)
        report(0.2, "spinal cord")
        lap = time.perf_counter()
        cord = cord_on_input(volume, self.predictor(CORD_MODEL))
        seconds["cord"] = time.perf_counter() - lap
        labels = cord.mask.astype(np.uint8) * CORD
        if self.segment_lesions and cord.mask.any():
            report(0.6, "lesions")
            lap = time.perf_counter()
            labels[self.lesions_on_input(volume, cord)] = LESION
            seconds["lesions"] = time.perf_counter() - lap
        warnings += cord_warnings(cord.mask)
        report(0.85, "measures")
        lap = time.perf_counter()
        label_image = Image(labels, volume.geometry, {})
        cord_record, lesion_records = measure(label_image)
        seconds["measures"] = time.perf_counter() - lap
        report(1.0, "done")
        return SpineResult(label_image, scan_check, cord_record, lesion_records, warnings, self.model_versions(),
                           time.perf_counter() - started, {k: round(v, 4) for k, v in seconds.items()})

    def lesions_on_input(self, volume: Image, cord: CordSegmentation) -> np.ndarray:
        """Boolean lesion mask on the input grid (empty when no lesion model is registered)."""
        if LESION_MODEL not in self.registry:
            return np.zeros(volume.array.shape, bool)
        cord_canonical = cord.probability >= 0.5
        spacing = cord.canonical.image.geometry.spacing[::-1]  # (S, A, R)
        probability = lesion_probability(cord.normalized, cord_canonical, self.predictor(LESION_MODEL), normalized=True)
        lesions = lesion_mask(probability, cord_canonical, spacing)
        on_input = probability_on_input(cord.canonical, lesions.astype(np.float32) * probability, volume) >= 0.5
        return drop_small(on_input, voxel_volume_mm3(volume.geometry))

    def checked_volume(self, image: Image) -> tuple[Image, dict | None, list[str]]:
        """(3D volume to segment, scan check record, warnings) of a 3D or 4D spinal MRI ``image``.

        A 4D series ``[t, k, j, i]`` gives its first volume, with a warning, when that volume's
        contrast is structural (scan check, else ``metadata["contrast"]``); otherwise InputError.
        RefusedInputError when the scan check says it is not a spinal MRI (see :meth:`check`).
        """
        first, warnings = first_volume(image)
        first, cleaning = finite_volume(first)
        scan_check, check_warnings = self.check(first)
        if image.array.ndim == 4:
            require_structural(image, scan_check)
        return first, scan_check, warnings + cleaning + check_warnings

    def check(self, image: Image) -> tuple[dict | None, list[str]]:
        """The scan check's record of ``image`` and its warnings.

        Not a spinal MRI: RefusedInputError naming the check's reasons, or, when forced, the reasons
        as warnings ("segmented anyway (force): anatomy: brain (p=0.97, ...)"). Without a scan
        checker: no record and a warning.
        """
        if self.scan_checker is None:
            return None, ["scan check not run: no scan-check model (is the image a spinal MRI?)"]
        check = self.scan_checker.check(image)
        if check.is_spine:
            return check.as_dict(), list(check.warnings)
        if not self.force:
            raise RefusedInputError(NOT_SPINE, check.reasons, HOW_TO_FORCE)
        forced = [f"segmented anyway (force): {reason}" for reason in check.reasons]
        return check.as_dict(), forced + list(check.warnings)

    def model_versions(self) -> dict[str, str]:
        wanted = ((SCAN_CHECK_MODEL,) if self.packaged_check else ()) + (CORD_MODEL,) + \
            ((LESION_MODEL,) if self.segment_lesions else ())
        return {model_id: self.registry.get(model_id).version for model_id in wanted if model_id in self.registry}


def default_scan_checker(registry: ModelRegistry, threads: int | None):
    """The scan checker of :mod:`lesionai.spine.scan_check` when it and its models are present, else None."""
    try:
        from .scan_check import ScanChecker
    except ImportError:
        return None
    try:
        return ScanChecker(registry=registry, threads=threads)
    except ModelError:  # its model is not in this registry: segment without the check, with a warning
        return None


def measure(labels: Image) -> tuple[dict, list[dict]]:
    """Cord and lesion measures of a label image (any orientation), computed on its axial slices."""
    axial = reoriented(cropped(labels))
    cord = axial.array >= CORD
    return cord_measures(cord, axial.geometry), lesion_measures(axial.array == LESION, cord, axial.geometry)


def cropped(labels: Image) -> Image:
    """The part of ``labels`` around its non-zero voxels (same world positions; one voxel margin)."""
    box = bounding_box(labels.array > 0, margin=1)
    if box is None:
        return labels
    corner = np.array([box[2].start, box[1].start, box[0].start, 1.0])
    origin = tuple((labels.geometry.ijk_to_ras() @ corner)[:3])
    geometry = Geometry(labels.geometry.spacing, origin, labels.geometry.direction)
    return Image(np.ascontiguousarray(labels.array[box]), geometry, {})


def first_volume(image: Image) -> tuple[Image, list[str]]:
    """``image`` itself (3D) or the first volume of a 4D series, with a warning; InputError otherwise."""
    array = image.array
    if array.ndim == 3:
        check_volume(image)
        return image, []
    if array.ndim != 4:
        raise InputError(f"Image array has {array.ndim} dimensions (shape {tuple(array.shape)}); "
                         "LesionSegmentation expects a 3D spinal MRI volume")
    first = Image(array[0], image.geometry, dict(image.metadata))
    check_volume(first)
    return first, [f"4D series of {array.shape[0]} volumes: segmented the first volume only"]


def require_structural(image: Image, scan_check: dict | None) -> None:
    """Raise InputError unless the 4D series' contrast is structural (T1w, T2w, T2*w, STIR, MT)."""
    contrast = scan_check["contrast"]["label"] if scan_check else str(image.metadata.get("contrast", ""))
    if not contrast.startswith(STRUCTURAL_CONTRASTS):
        raise InputError(f"Image is a 4D series of {image.array.shape[0]} volumes whose contrast is "
                         f"'{contrast or 'unknown'}' (DWI, fMRI, ...); LesionSegmentation segments one structural "
                         "volume (T1w, T2w, T2*w, STIR, MT): extract that volume and run again")


def finite_volume(image: Image) -> tuple[Image, list[str]]:
    """``image`` with NaN/inf voxels set to 0 (with a warning); InputError when nothing is left."""
    finite = np.isfinite(image.array)
    if not finite.any():
        raise InputError("Image holds no finite voxel values (all NaN or infinite); the file is damaged")
    values = image.array[finite]
    if float(values.max()) == float(values.min()):
        raise InputError(f"Image is constant (every voxel is {float(values.max()):g}); there is nothing to segment")
    if finite.all():
        return image, []
    cleaned = np.where(finite, image.array, 0).astype(np.float32)
    count = int((~finite).sum())
    return image.with_array(cleaned), [f"{count} voxels were NaN or infinite and were set to 0"]


def cord_warnings(cord: np.ndarray) -> list[str]:
    if not cord.any():
        return ["no spinal cord found; check that the image is a spinal MRI covering the cord"]
    return []
