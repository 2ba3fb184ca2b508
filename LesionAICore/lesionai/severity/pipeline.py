"""SeverityScoring pipeline on one radiograph: radiograph check, lungs, STN alignment, Brixia zones.

Pure core: takes a :class:`~lesionai.geometry.Image`, returns a :class:`SeverityResult` on the
same voxel grid. Models run in ONNX Runtime; nothing here needs torch, Qt or Slicer.

Radiographs up to 2048 pixels on the longer side are worked on pixel for pixel. Larger ones are first
averaged into blocks (:mod:`lesionai.working_grid`: an 8000 x 8000 image becomes 2000 x 2000) before
any float copy of the whole image is made; label maps and the heat map found there are given back
on the input's grid, each input pixel taking its block's value, and areas are measured on the
working grid (each working pixel counts the millimetres of its block).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from ..errors import InputError, RefusedInputError
from ..geometry import Image, radiograph_geometry
from ..orientation import DisplayTransform, from_display_orientation, to_display_orientation
from ..registry import ModelRegistry
from ..runtime import load_model
from ..working_grid import WorkingGrid, working_grid
from . import checks
from .lungs import OPACITY, lung_labels_from_probability
from .opacity import OPACITY_MODEL, opacity_fractions, opacity_mask, opacity_scores
from .preprocess import model_input, resize_plane
from .radiograph_check import RadiographCheck, check_radiograph
from .scoring import heat_map, softmax, zone_cams, zone_score_table
from .zones import ZONES, zone_areas_mm2, zone_labels

LUNG_MODEL = "cxr-lung-unet"
ALIGNMENT_MODEL = "cxr-lung-stn"
VIEW_MODEL = "cxr-view-check"
ZONE_MODEL = "cxr-zone-severity"
MODELS = (VIEW_MODEL, LUNG_MODEL, ALIGNMENT_MODEL, ZONE_MODEL, OPACITY_MODEL)
Progress = Callable[[float, str], None]
HOW_TO_FORCE = "to score it anyway, use --force (in Slicer: tick 'Score anyway' under Advanced)"


@dataclass
class SeverityResult:
    """Everything the pipeline found for one radiograph (labelmaps on the input's grid; see the
    module docstring for inputs over 2048 pixels).

    ``lung_labels``: 0 background, 1 right lung, 2 left lung, 3 opacity (inside either lung).
    ``zones``: letter A-F -> {"area_mm2", "lung", "level", "score" (int 0-3), "probabilities"
    (4 floats, scores 0-3), "confidence" (probability of the chosen score), "low_confidence" (bool),
    "opacity_fraction" (0-1 of the zone's area), "opacity_score" (int 0-3)}.
    ``heatmap``: float32 Grad-CAM map on the input's grid, 0-1, or None.
    ``radiograph_check``: {"passed" (bool), "reasons" (why it would be refused; a scored result has
    some only when forced), "measures" (what the verdict rests on)}; empty in results from before it.
    """

    lung_labels: Image
    zone_labels: Image
    zones: dict[str, dict]
    alignment: dict
    warnings: list[str]
    models: dict[str, str]
    timing_s: float
    view_probabilities: dict[str, float] = field(default_factory=dict)
    global_score: int | None = None
    opacity_global_score: int | None = None
    heatmap: Image | None = None
    radiograph_check: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-ready fields of ``result.json`` that do not depend on file names."""
        return {"global_score": self.global_score, "opacity_global_score": self.opacity_global_score,
                "zones": self.zones, "alignment": self.alignment, "warnings": self.warnings,
                "view": self.view_probabilities, "radiograph_check": self.radiograph_check, "models": self.models,
                "timing_s": round(self.timing_s, 4)}


class SeverityPipeline:
    """Runs the SeverityScoring models registered in ``registry`` on single radiographs.

    Before any zone is scored, the radiograph check (:mod:`.radiograph_check`) decides whether the
    image is a frontal chest radiograph that can be scored; an image it refuses raises
    RefusedInputError naming the reasons, unless ``force`` is True, which scores it with the
    reasons as warnings.

    >>> pipeline = SeverityPipeline(threads=2)        # doctest: +SKIP
    >>> result = pipeline.run(read_image("cxr.png"))  # doctest: +SKIP
    """

    def __init__(self, registry: ModelRegistry | None = None, threads: int | None = None, force: bool = False):
        self.registry = registry or ModelRegistry.load()
        self.threads = threads
        self.force = force  # score even when the radiograph check refuses the image (reasons become warnings)
        self._sessions = {}
        self._inputs_of = (None, {})  # (weak reference to a plane, its network inputs by shape and window)

    def model(self, model_id: str):
        if model_id not in self._sessions:
            self._sessions[model_id] = load_model(self.registry, model_id, threads=self.threads)
        return self._sessions[model_id]

    def prepared(self, model_id: str, plane: np.ndarray) -> np.ndarray:
        """``plane`` resized and normalised as the model's registered input contract says.

        Models with the same input size and window get the same (read-only) array: the five models
        of a radiograph need only two resizes of its plane, not five.
        """
        normalization = self.registry.get(model_id).input.normalization
        key = (self.input_shape(model_id), normalization["low"], normalization["high"])
        reference, inputs = self._inputs_of
        if reference is None or reference() is not plane:
            inputs = {}
            self._inputs_of = (weakref.ref(plane), inputs)
        if key not in inputs:
            inputs[key] = model_input(plane, *key)
            inputs[key].flags.writeable = False
        return inputs[key]

    def input_shape(self, model_id: str) -> tuple[int, int]:
        return tuple(self.registry.get(model_id).input.shape[-2:])

    def run(self, image: Image, progress: Progress | None = None) -> SeverityResult:
        """Segment, align, zone and score one frontal chest radiograph."""
        report = progress or (lambda fraction, message: None)
        started = time.perf_counter()
        checks.validate_radiograph(image)
        display, orientation, orientation_warnings = display_radiograph(image)
        plane, display, grid = working_plane(display)
        report(0.1, "checking the view")
        view = self.view_probabilities(plane)
        report(0.3, "segmenting the lungs and aligning them to the canonical frame")
        probability = self.lung_probability(plane)
        lungs, zones, theta, cuts = self.lungs_and_zones(plane, display.geometry, probability)
        verdict = check_radiograph(plane, view, lungs, self.frontal_threshold, probability)
        checked = self.refused_unless_forced(verdict)
        report(0.55, "scoring the zones")
        zone_scores, heat = self.zone_scores(plane, zones) if ZONE_MODEL in self.registry else (None, None)
        report(0.75, "segmenting opacities")
        opacity = self.opacity(plane, lungs) if OPACITY_MODEL in self.registry else np.zeros(lungs.shape, bool)
        warnings = orientation_warnings + checked + checks.spacing_warnings(image) + self.missing_model_warnings()
        opacity_table = self.opacity_table(opacity, zones) if OPACITY_MODEL in self.registry else None
        table = _merged(_zone_table(zones, display), zone_scores, opacity_table)
        unscored = unscorable_zones(table)
        table, warnings = without_scores(table, unscored), warnings + unscored_zone_warnings(unscored)
        on_input = partial(_on_input_grid, image, orientation, grid)
        result = SeverityResult(
            lung_labels=on_input(np.where(opacity, OPACITY, lungs).astype(np.uint8)), zone_labels=on_input(zones),
            zones=table, alignment=_alignment_record(theta, cuts, grid.covered_shape),
            warnings=warnings, models=self.model_versions(), timing_s=time.perf_counter() - started,
            view_probabilities=view, global_score=_total(zone_scores and table, "score"),
            opacity_global_score=_total(opacity_table and table, "opacity_score"),
            heatmap=None if heat is None else on_input(heat), radiograph_check=verdict.record())
        report(1.0, "done")
        return result

    def lungs_and_zones(self, plane: np.ndarray, geometry,
                        probability: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
        """Right/left lung labels, zone labels (1-6), STN theta and zone cuts of a display-oriented
        plane whose grid ``geometry`` describes (``probability``: its lung probability, when known)."""
        probability = self.lung_probability(plane) if probability is None else probability
        lungs = lung_labels_from_probability(probability, geometry, plane.shape)
        theta = self.alignment(plane, lungs > 0)
        zones, cuts = zone_labels(lungs, theta)
        return lungs, zones, theta, cuts

    def check(self, image: Image) -> RadiographCheck:
        """The radiograph check of :meth:`run` alone (view and lungs, no scoring): whether ``image``
        would be scored, and the measures its verdict rests on."""
        checks.validate_radiograph(image)
        plane, display, _ = working_plane(display_radiograph(image)[0])
        probability = self.lung_probability(plane)
        lungs = lung_labels_from_probability(probability, display.geometry, plane.shape)
        return check_radiograph(plane, self.view_probabilities(plane), lungs, self.frontal_threshold, probability)

    def refused_unless_forced(self, check: RadiographCheck) -> list[str]:
        """The check's reasons as warnings of a forced run; RefusedInputError when the check failed
        and the pipeline is not forced."""
        if check.passed:
            return []
        if not self.force:
            raise RefusedInputError("Not scored: this does not look like a frontal chest radiograph SeverityScoring "
                                    "can score", check.reasons, HOW_TO_FORCE)
        return [f"scored anyway (force): {reason}" for reason in check.reasons]

    def missing_model_warnings(self) -> list[str]:
        """The scoring stages a registry without their models skips (lungs and zones still run)."""
        return [f"{stage} skipped: model '{model_id}' is not in the model registry"
                for model_id, stage in ((ZONE_MODEL, "zone scores"), (OPACITY_MODEL, "opacity score"))
                if model_id not in self.registry]

    @property
    def frontal_threshold(self) -> float:
        """Frontal probability under which a radiograph is flagged (registry operating point; 0.5 if none)."""
        return self.registry.get(VIEW_MODEL).output.thresholds.get("frontal", 0.5)

    def view_probabilities(self, plane: np.ndarray) -> dict[str, float]:
        classes = self.registry.get(VIEW_MODEL).output.labels
        logits = self.model(VIEW_MODEL).run({"image": self.prepared(VIEW_MODEL, plane)})["view_logits"][0]
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        return {classes[index]: float(p) for index, p in enumerate(probabilities)}

    def lung_probability(self, plane: np.ndarray) -> np.ndarray:
        """Lung probability at the model's input resolution."""
        logits = self.model(LUNG_MODEL).run({"image": self.prepared(LUNG_MODEL, plane)})["lung_logits"]
        return 1.0 / (1.0 + np.exp(-logits[0, 0]))

    def alignment(self, plane: np.ndarray, lung_mask: np.ndarray) -> np.ndarray:
        """STN affine theta (2, 3): canonical normalised -> image normalised coordinates."""
        shape = self.input_shape(ALIGNMENT_MODEL)
        mask = resize_plane(lung_mask.astype(np.uint8), shape, nearest=True).astype(np.float32)
        inputs = {"image": self.prepared(ALIGNMENT_MODEL, plane), "lung_mask": mask[np.newaxis, np.newaxis]}
        return self.model(ALIGNMENT_MODEL).run(inputs)["theta"][0].astype(float)

    def zone_scores(self, plane: np.ndarray, zones: np.ndarray) -> tuple[dict[str, dict], np.ndarray]:
        """Per-zone scores (see :func:`zone_score_table`) and the Grad-CAM heat map (display grid)."""
        contract = self.registry.get(ZONE_MODEL).output
        zone_input = resize_plane(zones, self.input_shape(ZONE_MODEL), nearest=True).astype(np.float32)
        outputs = self.model(ZONE_MODEL).run({"image": self.prepared(ZONE_MODEL, plane),
                                              "zones": zone_input[np.newaxis, np.newaxis]})
        probabilities = softmax(outputs["zone_logits"][0].astype(np.float64))
        table = zone_score_table(probabilities, contract.score_rule or "argmax",
                                 contract.thresholds.get("low_confidence", 0.5))
        cams = zone_cams(outputs["features"][0].astype(np.float64), outputs["head_weight"][0].astype(np.float64), probabilities)
        return table, heat_map(cams, zones)

    def opacity(self, plane: np.ndarray, lungs: np.ndarray) -> np.ndarray:
        """Boolean opacity mask inside the lungs on the display grid."""
        logits = self.model(OPACITY_MODEL).run({"image": self.prepared(OPACITY_MODEL, plane)})["opacity_logits"]
        return opacity_mask(1.0 / (1.0 + np.exp(-logits[0, 0])), lungs)

    def opacity_table(self, opacity: np.ndarray, zones: np.ndarray) -> dict[str, dict]:
        """letter -> {"opacity_fraction", "opacity_score"} with the registry's tuned thresholds."""
        fractions = opacity_fractions(opacity, zones)
        scores = opacity_scores(fractions, dict(self.registry.get(OPACITY_MODEL).output.thresholds))
        return {letter: {"opacity_fraction": round(fractions[letter], 4), "opacity_score": scores[letter]}
                for letter in fractions}

    def model_versions(self) -> dict[str, str]:
        return {model_id: self.registry.get(model_id).version for model_id in MODELS if model_id in self.registry}


def display_radiograph(image: Image) -> tuple[Image, DisplayTransform, list[str]]:
    """The radiograph in standard display, how to map results back, and any orientation warning.

    An image whose geometry is not that of a radiograph (e.g. a PNG loaded into Slicer, which gets
    an axial placement) is taken as stored: head at the top, patient's right on the image left.
    """
    try:
        display, transform = to_display_orientation(image)
        return display, transform, []
    except InputError:
        row_mm, col_mm = image.geometry.spacing[1], image.geometry.spacing[0]
        assumed = Image(image.array, radiograph_geometry((row_mm, col_mm)), dict(image.metadata))
        warning = ("image geometry is not that of a radiograph; assumed the standard display "
                   "(head at the top, patient's right on the image left)")
        return assumed, DisplayTransform(), [warning]


def _zone_table(zones: np.ndarray, display: Image) -> dict[str, dict]:
    spacing = display.geometry.spacing
    areas = zone_areas_mm2(zones, spacing[0] * spacing[1])
    return {zone.letter: {"area_mm2": round(areas[zone.letter], 2), "lung": zone.lung, "level": zone.level}
            for zone in ZONES}


def working_plane(display: Image) -> tuple[np.ndarray, Image, WorkingGrid]:
    """The display-oriented radiograph as a float32 plane on its bounded working grid (the whole
    plane when its longer side is at most :data:`~lesionai.working_grid.MAX_WORKING_SIDE`, else
    block means; see :mod:`lesionai.working_grid`), that plane as an image with its geometry, and the grid."""
    grid = working_grid(display.array.shape[-2:])
    plane = grid.shrink(display.array[0])
    return plane, Image(plane[np.newaxis], grid.geometry(display.geometry), display.metadata), grid


def _on_input_grid(image: Image, orientation: DisplayTransform, grid: WorkingGrid, display_plane: np.ndarray) -> Image:
    """A plane of the working display grid back on the input image's grid and geometry."""
    return image.with_array(from_display_orientation(grid.expand(display_plane)[np.newaxis], orientation))


def _merged(*tables: dict[str, dict] | None) -> dict[str, dict]:
    """Zone tables (letter -> fields) joined zone by zone; None tables are left out."""
    present = [table for table in tables if table is not None]
    return {letter: {key: value for table in present for key, value in table[letter].items()} for letter in present[0]}


def _total(table: dict[str, dict] | None, key: str) -> int | None:
    """Sum of the zones' ``key`` scores, zones without one left out; None when no zone has one."""
    scores = [zone[key] for zone in (table or {}).values() if zone.get(key) is not None]
    return sum(scores) if scores else None


MIN_ZONE_SHARE = 0.02
"""A zone under this share of the lungs' area (an average zone has 1/6) was not really found: a lung
missing or cut off. The network would still give it a score, from its bias alone."""
SCORE_KEYS = ("score", "probabilities", "confidence", "low_confidence", "opacity_fraction", "opacity_score")


def unscorable_zones(table: dict[str, dict]) -> list[str]:
    """Letters of the zones that are empty or implausibly small (see :data:`MIN_ZONE_SHARE`)."""
    total = sum(zone["area_mm2"] for zone in table.values())
    return [letter for letter, zone in table.items() if zone["area_mm2"] <= MIN_ZONE_SHARE * total]


def without_scores(table: dict[str, dict], letters: list[str]) -> dict[str, dict]:
    """``table`` with no score (None) in the zones ``letters``."""
    return {letter: {key: (None if letter in letters and key in SCORE_KEYS else value) for key, value in zone.items()}
            for letter, zone in table.items()}


def unscored_zone_warnings(letters: list[str]) -> list[str]:
    if not letters:
        return []
    return [f"zone{'s' if len(letters) > 1 else ''} {', '.join(letters)} hold no or too little lung to be scored "
            "(a lung missing or cut off?): not scored and left out of the global scores"]


def _alignment_record(theta: np.ndarray, cuts: dict, shape: tuple[int, int]) -> dict:
    """The STN affine in normalised and in pixel coordinates of the display-oriented image."""
    height, width = shape
    to_pixels = np.array([[width / 2, 0, width / 2 - 0.5], [0, height / 2, height / 2 - 0.5], [0, 0, 1]])
    pixel_matrix = to_pixels @ np.vstack([theta, [0, 0, 1]]) @ np.linalg.inv(to_pixels)
    return {"theta": np.round(theta, 6).tolist(),
            "canonical_to_image_pixels": np.round(pixel_matrix, 6).tolist(),
            "convention": "theta maps canonical normalised (x, y in [-1, 1]) to image normalised coordinates; "
                          "pixels are (column, row) of the display-oriented image",
            "zone_cuts_canonical_y": {k: round(v, 6) for k, v in cuts.items()}}

