"""Write one case's results in the stable SeverityScoring output contract.

``<case_dir>/``: ``lungs.nrrd`` (0 background, 1 right lung, 2 left lung, 3 opacity), ``zones.nrrd``
(1-6 = Brixia zones A-F), ``segmentation.seg.nrrd`` (both as Slicer segments, see
:mod:`lesionai.segmentation_nrrd`), ``gradcam.nrrd`` (float Grad-CAM heat map, 0-1), ``overlay.png`` (zone scores and
heat map drawn on the radiograph) and ``result.json`` (zone scores, probabilities, opacity
fractions, global scores). :mod:`lesionai.results` stages and replaces the folder, so a failure never
leaves a half-written case and never touches anything the user made. ``Task.write_case(..., files=...)``
writes only some of them (``READ_BACK_FILES``: what :func:`read_case` reads back).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np

from ..geometry import Image
from ..imageio import write_image
from ..results import base_record, segmentation_file_warnings, write_json
from ..working_grid import working_grid
from .labels import LUNG_LAYER_SEGMENTS, ZONE_SEGMENTS, label_table
from .lungs import LEFT_LUNG, OPACITY, RIGHT_LUNG
from .overlay import render_overlay
from .pipeline import SeverityResult

GENERATOR = "lesionai severity"
# Every segment severity results can hold, in the order of its terminology context.
TERMINOLOGY_SEGMENTS = (*LUNG_LAYER_SEGMENTS, *ZONE_SEGMENTS)
CASE_FILES = ("lungs.nrrd", "zones.nrrd", "segmentation.seg.nrrd", "gradcam.nrrd", "overlay.png", "result.json")
REQUIRED_FILES = ("lungs.nrrd", "zones.nrrd", "result.json")  # what read_case needs
READ_BACK_FILES = ("lungs.nrrd", "zones.nrrd", "gradcam.nrrd", "result.json")  # all that read_case reads


def write_files(image: Image, result: SeverityResult, folder: Path, input_name: str, wanted: Collection[str]) -> None:
    if "lungs.nrrd" in wanted:
        write_image(result.lung_labels, folder / "lungs.nrrd")
    if "zones.nrrd" in wanted:
        write_image(result.zone_labels, folder / "zones.nrrd")
    if result.heatmap is not None and "gradcam.nrrd" in wanted:
        write_image(result.heatmap, folder / "gradcam.nrrd")
    if "segmentation.seg.nrrd" in wanted:
        result.warnings += segmentation_file_warnings(image, segmentation_layers(result),
                                                      folder / "segmentation.seg.nrrd", "lungs and zones")
    if "overlay.png" in wanted:
        write_overlay(image, result, folder / "overlay.png", input_name)
    write_json(folder / "result.json", result_record(result, input_name))


def write_overlay(image: Image, result: SeverityResult, path: Path, input_name: str) -> None:
    """``overlay.png``: the radiograph with the result's lungs, zones, scores, heat map and text."""
    picture, zones, heat, opacity = overlay_planes(image, result)
    render_overlay(picture, lung_sides(zones), zones, path, title=input_name,
                   text_lines=overlay_lines(result, image.metadata.get("pixel_spacing_known", True)),
                   heatmap=heat, opacity=opacity, zone_text=zone_text(result))


def overlay_planes(image: Image, result: SeverityResult) -> tuple[Image, np.ndarray, np.ndarray | None, np.ndarray]:
    """The radiograph, zones, heat map and opacity mask the overlay draws, as (rows, cols) planes.

    A radiograph over :data:`~lesionai.working_grid.MAX_WORKING_SIDE` pixels is drawn from its
    working grid (block means; the result planes' own block values, every ``factor``-th pixel), as
    the pipeline saw it: the picture is at most 1024 pixels wide anyway, and no full-size float
    copy is made. Smaller ones are drawn from every pixel.
    """
    grid = working_grid(image.array.shape[-2:])
    blocks = (0, slice(None, None, grid.factor), slice(None, None, grid.factor))
    picture = image if grid.factor == 1 else Image(grid.shrink(image.array[0])[np.newaxis],
                                                   grid.geometry(image.geometry), image.metadata)
    heat = None if result.heatmap is None else result.heatmap.array[blocks]
    return picture, result.zone_labels.array[blocks], heat, result.lung_labels.array[blocks] == OPACITY


def result_record(result: SeverityResult, input_name: str) -> dict:
    """The ``result.json`` document."""
    summary = result.summary()
    common = base_record(GENERATOR, input_name, label_table(), summary.pop("warnings"), summary.pop("models"),
                         summary.pop("timing_s"))
    return {**common, **summary}


def overlay_lines(result: SeverityResult, spacing_known: bool = True) -> list[str]:
    """The overlay's text: global scores, zone areas (cm2, or pixels when the spacing is unknown), warnings."""
    lines = [area_line(result.zones, spacing_known)]
    if result.global_score is not None:
        uncertain = [letter for letter, zone in result.zones.items() if zone.get("low_confidence")]
        opacity = "" if result.opacity_global_score is None else f" (opacity score {result.opacity_global_score} / 18)"
        lines.insert(0, f"Brixia score {result.global_score} / 18{opacity}"
                     + (f"; low confidence: {', '.join(uncertain)}" if uncertain else ""))
    return lines + [f"warning: {w}" for w in result.warnings]


def area_line(zones: dict[str, dict], spacing_known: bool) -> str:
    """Zone areas in cm2, or in pixels (with 1 mm pixels assumed, mm2 = pixels) when the spacing is unknown."""
    if not spacing_known:
        return "zone areas (pixels; pixel spacing unknown): " + ", ".join(
            f"{letter} {zone['area_mm2']:.0f}" for letter, zone in zones.items())
    return "zone areas (cm2): " + ", ".join(f"{letter} {zone['area_mm2'] / 100:.0f}" for letter, zone in zones.items())


def zone_text(result: SeverityResult) -> dict[str, str]:
    """What the overlay writes in each zone: letter and score (``?`` marks low confidence)."""
    return {letter: f"{letter} {zone['score']}{'?' if zone.get('low_confidence') else ''}"
            for letter, zone in result.zones.items() if zone.get("score") is not None}


def lung_sides(zone_labels: np.ndarray) -> np.ndarray:
    """Right/left lung labels from the zones (so that opacity does not cut the lung outlines)."""
    if zone_labels.dtype != np.uint8:
        return np.where(zone_labels == 0, 0, np.where(zone_labels <= 3, RIGHT_LUNG, LEFT_LUNG)).astype(np.uint8)
    side_of = np.full(256, LEFT_LUNG, np.uint8)  # a table look-up: one pass over the pixels
    side_of[0], side_of[1:4] = 0, RIGHT_LUNG
    return side_of[zone_labels]


def segmentation_layers(result: SeverityResult) -> list[tuple]:
    """The label-map layers of ``segmentation.seg.nrrd``: lungs with opacity, then zones A-F."""
    return [(result.lung_labels, LUNG_LAYER_SEGMENTS), (result.zone_labels, ZONE_SEGMENTS)]


def read_case(case_dir: Path) -> SeverityResult:
    """The ``SeverityResult`` in a result folder: lungs.nrrd, zones.nrrd, result.json and, when
    present, the heat map gradcam.nrrd (absent in results from before zone scoring)."""
    from ..imageio import read_image
    from ..results import read_record

    case_dir = Path(case_dir)
    summary = read_record(case_dir)
    heatmap_path = case_dir / "gradcam.nrrd"
    return SeverityResult(
        lung_labels=read_image(case_dir / "lungs.nrrd"), zone_labels=read_image(case_dir / "zones.nrrd"),
        zones=summary["zones"], alignment=summary.get("alignment", {}), warnings=list(summary.get("warnings", [])),
        models=summary.get("models", {}), timing_s=float(summary.get("timing_s", 0.0)),
        view_probabilities=summary.get("view", {}), global_score=summary.get("global_score"),
        opacity_global_score=summary.get("opacity_global_score"),
        heatmap=read_image(heatmap_path) if heatmap_path.is_file() else None,
        radiograph_check=summary.get("radiograph_check", {}))


REPORT_COLUMNS = ("lung", "level", "area_mm2", "score", "confidence", "low_confidence", "probabilities",
                  "opacity_fraction", "opacity_score")


def report_table(record: dict) -> tuple[str, dict[str, dict]]:
    """The demo report's table of a ``result.json`` record: one row per zone, columns in reading order."""
    rows = {letter: {column: zone[column] for column in REPORT_COLUMNS if column in zone}
            for letter, zone in record.get("zones", {}).items()}
    return "zone", rows
