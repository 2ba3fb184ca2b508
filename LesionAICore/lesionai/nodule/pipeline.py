"""NoduleFusion pipeline on one CT: region -> CSN -> segmentation -> components -> features -> classifier.

Pure core: takes a :class:`~lesionai.geometry.Image` in HU (a nodule crop, or a chest CT with the
nodule's ``point`` in RAS mm) and returns a :class:`NoduleResult` whose label map is on the input's
grid. Models run in ONNX Runtime; nothing here needs torch, Qt or Slicer.

The HU the measurements use ("analysis HU") are the input's, plus the cross-scanner correction
(normalised region minus region, resampled onto the input grid) when ``csn`` is on, so components,
features and classifier all see one scanner-normalised image. The shipped classification task is
the LIDC proxy "malignancy suspicion >= 4 vs <= 2", not invasiveness.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..geometry import Geometry, Image
from ..registry import ModelRegistry
from ..runtime import load_model
from . import grids
from .classify import MODEL_ID as CLASSIFIER_MODEL
from .classify import TASK, NoduleClassifier
from .components import component_labels, consolidation_tumour_ratio
from .csn import CSN_MODEL, CrossScannerNormalizer
from .features import nodule_features
from .region import BASE_SPACING_MM, NoduleRegion, region_around_point, region_from_crop
from .segmentation import (SEGMENTATION_MODEL, crop_start_spacing, model_input, nodule_mask_on_input,
                           segment_with_growth, sigmoid)

Progress = Callable[[float, str], None]


@dataclass
class NoduleResult:
    """What the pipeline found for one nodule.

    ``labels``: uint8 on the input grid: 0 background, 1 ground-glass component, 2 solid component.
    ``probability``: fusion probability of the classifier's ``task`` (None without a classifier);
    ``branches``: {image, tabular, fusion} probabilities; ``texture``: {label, probabilities};
    ``features``: {name: {"value", "unit"}}; ``ctr``: consolidation-to-tumour ratio (0-1);
    ``center_ras``: the region's centre (mm); ``region_spacing_mm``: the region grid's spacing.
    """

    labels: Image
    probability: float | None
    task: str
    branches: dict
    texture: dict | None
    features: dict
    ctr: float
    warnings: list[str]
    models: dict[str, str]
    timing_s: float
    center_ras: list[float] = field(default_factory=list)
    region_spacing_mm: float = 0.0
    masked_features: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """JSON-ready task keys of ``result.json``."""
        return {"probability": _rounded(self.probability), "task": self.task,
                "branches": {k: _rounded(v) for k, v in self.branches.items()}, "texture": self.texture,
                "features": self.features, "ctr": round(self.ctr, 4), "masked_features": self.masked_features,
                "center_ras": [round(c, 3) for c in self.center_ras], "region_spacing_mm": round(self.region_spacing_mm, 4),
                "warnings": self.warnings, "models": self.models, "timing_s": round(self.timing_s, 4)}


@dataclass
class _Segmented:
    """Intermediate state: the region, its normalised HU and the nodule on the input block."""

    region: NoduleRegion
    normalized: np.ndarray
    block: tuple[slice, slice, slice]
    mask: np.ndarray


class NodulePipeline:
    """Runs the NoduleFusion models of ``registry`` on one nodule per image.

    ``point``: nodule centre (RAS mm) in a chest CT; None: the image is a crop around the nodule.
    ``age`` (years) and ``sex`` ("F"/"M") feed the tabular branch when given. ``csn``: apply the
    cross-scanner normalisation.

    >>> result = NodulePipeline(threads=1).run(read_image("nodule.nii.gz"))   # doctest: +SKIP
    """

    def __init__(self, registry: ModelRegistry | None = None, threads: int | None = None, point=None,
                 age: float | None = None, sex: str | None = None, csn: bool = True):
        self.registry = registry or ModelRegistry.load()
        self.threads = threads
        self.point = None if point is None else np.asarray(point, dtype=float)
        self.age, self.sex, self.csn = age, sex, csn
        self.normalizer = CrossScannerNormalizer(self.registry, threads) if csn else None

    def run(self, image: Image, progress: Progress | None = None) -> NoduleResult:
        """Segment, measure and classify the nodule of ``image``."""
        report = progress or (lambda fraction, message: None)
        started = time.perf_counter()
        report(0.05, "cutting the nodule region and segmenting the nodule")
        segmented = self.segmented(image)
        report(0.6, "measuring the nodule")
        hu, geometry = self.analysis_hu(image, segmented), _block_geometry(image.geometry, segmented.block)
        labels = component_labels(segmented.mask, hu)
        features = nodule_features(segmented.mask, hu, geometry, self.age, self.sex)
        report(0.8, "classifying the nodule")
        classified = self.classify(Image(hu, geometry), Image(segmented.mask.astype(np.uint8), geometry), features)
        result = self._result(image, segmented, labels, features, classified, started)
        report(1.0, "done")
        return result

    def segmented(self, image: Image) -> _Segmented:
        """The nodule on the covered input block, from the finest region that holds it."""
        normalized = {}

        def probability_of(region_hu: np.ndarray) -> np.ndarray:
            normalized["hu"] = self.normalized(region_hu)
            return self.nodule_probability(normalized["hu"])

        region, probability = segment_with_growth(self.cut_region(image), probability_of, self.start_spacing(image))
        block, mask = nodule_mask_on_input(region, probability)
        if not mask.any():
            where = "at the point" if self.point is not None else "at the centre of the crop"
            raise InputError(f"No nodule was found {where}; place the point on the nodule (or crop around it)")
        return _Segmented(region, normalized["hu"], block, mask)

    def cut_region(self, image: Image) -> Callable[[float], NoduleRegion]:
        if self.point is None:
            return lambda spacing: region_from_crop(image, spacing_mm=spacing)
        return lambda spacing: region_around_point(image, self.point, spacing_mm=spacing)

    def start_spacing(self, image: Image) -> float:
        """A crop's slices span its nodule, which sizes the first region; a point starts at the finest."""
        if self.point is not None:
            return BASE_SPACING_MM
        return crop_start_spacing(image.array.shape, image.geometry.spacing[::-1])

    def normalized(self, region_hu: np.ndarray) -> np.ndarray:
        if self.normalizer is None:
            return region_hu
        return self.normalizer.normalize(Image(region_hu)).array

    def nodule_probability(self, region_hu: np.ndarray) -> np.ndarray:
        model = load_model(self.registry, SEGMENTATION_MODEL, threads=self.threads)
        return sigmoid(model.run({"region": model_input(region_hu)})["nodule_logits"][0, 0])

    def analysis_hu(self, image: Image, segmented: _Segmented) -> np.ndarray:
        """Input HU on the block, plus the CSN correction resampled from the region (float32)."""
        hu = image.array[segmented.block].astype(np.float32)
        if self.normalizer is None:
            return hu
        correction = segmented.normalized - segmented.region.image.array
        return hu + segmented.region.to_input(correction, order=1)[1]

    def classify(self, hu: Image, mask: Image, features: dict) -> dict | None:
        if CLASSIFIER_MODEL not in self.registry:
            return None
        return NoduleClassifier(self.registry, self.threads).predict(hu, mask, features)

    def _result(self, image, segmented, labels, features, classified, started) -> NoduleResult:
        full = np.zeros(image.array.shape, dtype=np.uint8)
        full[segmented.block] = labels
        classified = classified or {}
        warnings = list(segmented.region.warnings) + ([] if classified else [
            f"classification skipped: model '{CLASSIFIER_MODEL}' is not in the model registry"])
        return NoduleResult(
            labels=image.with_array(full), probability=classified.get("probability"),
            task=classified.get("task", TASK), branches=classified.get("branches", {}),
            texture=classified.get("texture"), features=features,
            ctr=consolidation_tumour_ratio(labels, _block_geometry(image.geometry, segmented.block)),
            warnings=warnings, models={**self.model_versions(), **classified.get("models", {})},
            timing_s=time.perf_counter() - started, center_ras=[float(c) for c in segmented.region.center_ras],
            region_spacing_mm=segmented.region.spacing_mm, masked_features=classified.get("masked_features", []))

    def model_versions(self) -> dict[str, str]:
        used = [SEGMENTATION_MODEL] + ([CSN_MODEL] if self.csn else [])
        return {model_id: self.registry.get(model_id).version for model_id in used}


def _block_geometry(geometry: Geometry, block: tuple[slice, slice, slice]) -> Geometry:
    """Geometry of the sub-array ``block`` of a grid."""
    origin = grids.kji_to_ras(geometry, [part.start for part in block])
    return Geometry(spacing=geometry.spacing, origin=tuple(origin), direction=geometry.direction)


def _rounded(value):
    return None if value is None else round(float(value), 4)
