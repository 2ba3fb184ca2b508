"""What is this scan? The check LesionSegmentation runs before segmenting a cord.

Four answers, each with probabilities:

* **anatomy**: ``spine`` / ``brain`` / ``other MR`` / ``CT`` / ``other`` (not a tomographic image:
  a radiograph, a photo, a 2D picture);
* **region** of a spinal scan: ``cervical`` / ``thoracic`` / ``lumbar`` (computed for every scan,
  meaningful for spine);
* **view**: ``sagittal`` / ``axial`` / ``coronal``, from the geometry (thick-slice axis and
  direction matrix, :mod:`lesionai.spine.scan_view`) combined with what the native slice looks like;
* **contrast**: ``T1w`` / ``T2w`` / ``T2*w`` / ``other`` (STIR, PSIR, DWI, ...).

One small multi-head network (registry id ``spine-scan-check``) gives anatomy, region, contrast and
the content view from three orthogonal mid-slices, the native mid-slice and a few grid and
intensity descriptors (:mod:`lesionai.spine.scan_inputs`). A scan counts as spine when its spine
probability reaches the registry's ``thresholds.spine`` (chosen on cross-validated predictions).
A DICOM header naming a projection technique (CR, DX, MG, ...) makes the anatomy ``other`` outright.

>>> check = ScanChecker().check(read_image("t2.nii.gz"))          # doctest: +SKIP
>>> check.is_spine, check.view["label"], check.contrast["label"]  # doctest: +SKIP
(True, 'sagittal', 'T2w')
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ModelError
from ..geometry import Image
from ..registry import ModelRegistry
from ..runtime import load_model
from .scan_inputs import scan_inputs
from .scan_view import VIEWS, acquisition_plane

MODEL_ID = "spine-scan-check"
ANATOMIES = ("spine", "brain", "other MR", "CT", "other")
REGIONS = ("cervical", "thoracic", "lumbar")
CONTRASTS = ("T1w", "T2w", "T2*w", "other")
HEADS = {"anatomy": ANATOMIES, "region": REGIONS, "view": VIEWS, "contrast": CONTRASTS}
OUTPUT_NAMES = tuple(f"{head}_logits" for head in HEADS)
CORD_MODEL_CONTRASTS = "T1w/T2w/T2*w/MT"
CORD_MODEL_REGION = "cervical"
VIEW_DISAGREEMENT = 0.8  # content probability of another view above which the header is doubted
# DICOM modalities that are never tomographic: radiographs, mammograms, angiograms, fluoroscopy,
# ultrasound, intra-oral and panoramic X-ray, endoscopy and photographs.
NON_TOMOGRAPHIC_MODALITIES = ("CR", "DX", "MG", "XA", "RF", "US", "IO", "PX", "ES", "XC", "OP")
CONFIDENT = 0.8  # region probability from which a region other than the cord model's is reported
_ANATOMY_WORDS = {"brain": "looks like a brain MRI", "other MR": "looks like an MRI of another body part",
                  "CT": "looks like a CT scan", "other": "not a tomographic scan: a radiograph, photo or 2D picture"}


@dataclass
class ScanCheck:
    """The answers for one scan. Each stage is ``{"label": str, "probabilities": {label: float}}``.

    ``spine_threshold`` is the spine probability from which the scan counts as spine. ``warnings``
    say what to know before trusting a cord segmentation of a spine scan; why a scan is not spine is
    in :attr:`reasons`.
    """

    anatomy: dict
    region: dict
    view: dict
    contrast: dict
    warnings: list[str] = field(default_factory=list)
    spine_threshold: float = 0.5

    @property
    def is_spine(self) -> bool:
        """True when the spine probability reaches the registry's threshold."""
        return self.anatomy["probabilities"]["spine"] >= self.spine_threshold

    @property
    def reasons(self) -> list[str]:
        """Why the scan is not a spinal MRI (empty when it is), e.g. ``["anatomy: brain (p=0.97, looks
        like a brain MRI), spine p=0.02 below the registry's threshold 0.5"]``."""
        return [] if self.is_spine else [_not_spine_reason(self)]

    def as_dict(self) -> dict:
        """``{"anatomy": {...}, "region": {...}, "view": {...}, "contrast": {...}}`` (JSON-ready)."""
        return {"anatomy": self.anatomy, "region": self.region, "view": self.view, "contrast": self.contrast}


class ScanChecker:
    """Runs the scan-check network of a model registry (default: the packaged one).

    ``threads``: ONNX Runtime intra-op threads (None: ``$LESIONAI_THREADS`` or all cores).
    Raises ModelError when the registry lacks the model or its labels differ from this code's.
    """

    def __init__(self, registry: ModelRegistry | None = None, threads: int | None = None):
        self.registry = registry or ModelRegistry.load()
        self._model = load_model(self.registry, MODEL_ID, threads=threads)
        contract = self.registry.get(MODEL_ID).output
        _check_contract(contract)
        self.spine_threshold = float(contract.thresholds.get("spine", 0.5))

    def check(self, image: Image) -> ScanCheck:
        """Anatomy, region, view and contrast of ``image`` (array ``[k, j, i]``, any geometry)."""
        inputs = scan_inputs(image)
        outputs = self._model.run({name: array[np.newaxis] for name, array in inputs.items()})
        content = {head: _probabilities(outputs[f"{head}_logits"][0], labels) for head, labels in HEADS.items()}
        plane = acquisition_plane(image.geometry, image.array.shape)
        stages = {head: _stage(content[head]) for head in ("anatomy", "region", "contrast")}
        stages["anatomy"] = _header_anatomy(image) or _anatomy_stage(content["anatomy"], self.spine_threshold)
        stages["view"] = _view_stage(plane.probabilities, content["view"])
        result = ScanCheck(**stages, spine_threshold=self.spine_threshold)
        result.warnings = scan_warnings(result, plane.view, content["view"])
        return result


def scan_warnings(check: ScanCheck, header_view: str, content_view: dict[str, float]) -> list[str]:
    """What a researcher should know before trusting a cord segmentation of this scan (a scan that
    is not spine gets only the orientation warning: its verdict is :attr:`ScanCheck.reasons`)."""
    orientation = _view_warnings(header_view, content_view)
    if not check.is_spine:
        return orientation
    warnings = []
    contrast, p = check.contrast["label"], check.contrast["probabilities"][check.contrast["label"]]
    if contrast == "other":
        warnings.append(f"Contrast looks like STIR/other (p={p:.2f}); the cord model was trained on "
                        f"{CORD_MODEL_CONTRASTS}; check the result.")
    region, p = check.region["label"], check.region["probabilities"][check.region["label"]]
    if region != CORD_MODEL_REGION and p >= CONFIDENT:
        warnings.append(f"This looks like a {region} spine scan (p={p:.2f}); the cord model was trained mostly on "
                        f"{CORD_MODEL_REGION} scans; check the result.")
    return warnings + orientation


def _not_spine_reason(check: ScanCheck) -> str:
    label = check.anatomy["label"]
    words = _ANATOMY_WORDS.get(label, "not a spine scan")
    if "source" in check.anatomy:
        return f"anatomy: {label} ({check.anatomy['source']}: {words})"
    p, spine = check.anatomy["probabilities"][label], check.anatomy["probabilities"]["spine"]
    return (f"anatomy: {label} (p={p:.2f}, {words}), spine p={spine:.2f} below the registry's threshold "
            f"{check.spine_threshold:g}")


def _view_warnings(header_view: str, content_view: dict[str, float]) -> list[str]:
    seen = max(content_view, key=content_view.get)
    if seen == header_view or content_view[seen] < VIEW_DISAGREEMENT:
        return []
    return [f"The image content looks {seen} (p={content_view[seen]:.2f}) but the file's geometry says {header_view}; "
            "check the orientation stored in the file."]


def _header_anatomy(image: Image) -> dict | None:
    """Anatomy ``other`` (probability 1) when the DICOM modality names a projection or photographic
    technique (radiograph, mammogram, angiogram, ultrasound, photo); None otherwise."""
    modality = str(image.metadata.get("modality", "")).upper()
    if modality not in NON_TOMOGRAPHIC_MODALITIES:
        return None
    return {"label": "other", "probabilities": {label: float(label == "other") for label in ANATOMIES},
            "source": f"DICOM modality {modality}"}


def _anatomy_stage(probabilities: dict[str, float], spine_threshold: float) -> dict:
    """Spine when its probability reaches the threshold, else the most probable other anatomy."""
    if probabilities["spine"] >= spine_threshold:
        return {"label": "spine", "probabilities": probabilities}
    others = {label: p for label, p in probabilities.items() if label != "spine"}
    return {"label": max(others, key=others.get), "probabilities": probabilities}


def _view_stage(geometry: dict[str, float], content: dict[str, float]) -> dict:
    """Geometry and content probabilities multiplied and renormalised (independent evidence)."""
    joint = {view: geometry[view] * content[view] for view in VIEWS}
    total = sum(joint.values()) or 1.0
    combined = {view: joint[view] / total for view in VIEWS}
    return _stage(combined) | {"geometry": geometry, "content": content}


def _stage(probabilities: dict[str, float]) -> dict:
    return {"label": max(probabilities, key=probabilities.get), "probabilities": probabilities}


def _probabilities(logits: np.ndarray, labels: tuple[str, ...]) -> dict[str, float]:
    shifted = np.exp(logits - logits.max())
    return {label: round(float(p), 4) for label, p in zip(labels, shifted / shifted.sum())}


def _check_contract(contract) -> None:
    names = tuple(contract.names)
    labels = tuple(contract.labels[index] for index in sorted(contract.labels))
    if names != OUTPUT_NAMES or labels != ANATOMIES:
        raise ModelError(f"Model {MODEL_ID} has outputs {names} and anatomy labels {labels}; this LesionAI expects "
                         f"{OUTPUT_NAMES} and {ANATOMIES}. Update LesionAI or reinstall the model.")
