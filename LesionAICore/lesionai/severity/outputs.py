"""Write one case's results in the stable SeverityScoring output contract.

``<case_dir>/``: ``lungs.nrrd`` (0 background, 1 right lung, 2 left lung, 3 opacity), ``zones.nrrd``
(1-6 = Brixia zones A-F), ``segmentation.seg.nrrd`` (both as Slicer segments, written by the MRML
storage node), ``gradcam.nrrd`` (float Grad-CAM heat map, 0-1), ``overlay.png`` (zone scores and
heat map drawn on the radiograph) and ``result.json`` (zone scores, probabilities, opacity
fractions, global scores). Files are first written into a temporary sibling folder
and moved into place only when all of them exist, so a failure never leaves a half-written case and
never touches anything the user made.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import InputError
from ..geometry import Image
from ..imageio import write_image
from ..render import render_overlay
from .labels import LUNG_LAYER_SEGMENTS, ZONE_SEGMENTS, label_table
from .lungs import LEFT_LUNG, OPACITY, RIGHT_LUNG
from .pipeline import SeverityResult

GENERATOR = "lesionai severity"
CASE_FILES = ("lungs.nrrd", "zones.nrrd", "segmentation.seg.nrrd", "gradcam.nrrd", "overlay.png", "result.json")


def write_case(image: Image, result: SeverityResult, case_dir: Path, input_name: str, overwrite: bool = False) -> Path:
    """Write all outputs for one radiograph into ``case_dir`` (created; see module docstring)."""
    case_dir = Path(case_dir)
    check_replaceable(case_dir, overwrite)
    case_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = _new_hidden_folder(case_dir.parent, case_dir.name)
    try:
        _write_files(image, result, staging, input_name)
        _replace(staging, case_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return case_dir


def _new_hidden_folder(parent: Path, name: str) -> Path:
    """A new, uniquely named hidden folder with the usual permissions (``mkdtemp`` would make it private)."""
    folder = parent / f".{name}-{uuid.uuid4().hex[:12]}"
    folder.mkdir()
    return folder


def check_replaceable(case_dir: Path, overwrite: bool) -> None:
    """Refuse to replace a folder unless asked to and it holds only an earlier LesionAI result."""
    if not case_dir.exists():
        return
    if not overwrite:
        raise InputError(f"Output folder {case_dir} already exists; choose another output folder "
                         "or pass --overwrite to replace an earlier LesionAI result")
    if not _is_lesionai_result(case_dir):
        raise InputError(f"Output folder {case_dir} exists and was not written by LesionAI; "
                         "it is left untouched -- choose another output folder")


def _is_lesionai_result(case_dir: Path) -> bool:
    try:
        record = json.loads((case_dir / "result.json").read_text())
    except (OSError, ValueError):
        return False
    extra = {p.name for p in case_dir.iterdir()} - set(CASE_FILES)
    return record.get("generator") == GENERATOR and not extra


def _replace(staging: Path, case_dir: Path) -> None:
    if case_dir.exists():
        backup = case_dir.with_name(f".{case_dir.name}.previous-{uuid.uuid4().hex[:12]}")
        case_dir.rename(backup)
        staging.rename(case_dir)
        shutil.rmtree(backup)
    else:
        staging.rename(case_dir)


def _write_files(image: Image, result: SeverityResult, folder: Path, input_name: str) -> None:
    write_image(result.lung_labels, folder / "lungs.nrrd")
    write_image(result.zone_labels, folder / "zones.nrrd")
    if result.heatmap is not None:
        write_image(result.heatmap, folder / "gradcam.nrrd")
    if mrml_available():
        write_segmentation_file(image, result, folder / "segmentation.seg.nrrd")
    else:
        result.warnings.append("segmentation.seg.nrrd not written: the MRML library is missing "
                               "(pip install 'lesionai[mrml]'); lungs.nrrd and zones.nrrd hold the same labels")
    render_overlay(image, lung_sides(result.zone_labels.array), result.zone_labels.array, folder / "overlay.png",
                   title=input_name, text_lines=overlay_lines(result),
                   heatmap=None if result.heatmap is None else result.heatmap.array,
                   opacity=result.lung_labels.array == OPACITY, zone_text=zone_text(result))
    (folder / "result.json").write_text(json.dumps(result_record(result, input_name), indent=2) + "\n")


def result_record(result: SeverityResult, input_name: str) -> dict:
    """The ``result.json`` document."""
    return {"generator": GENERATOR, "version": __version__, "input": input_name, "labels": label_table(),
            **result.summary()}


def overlay_lines(result: SeverityResult) -> list[str]:
    areas = ", ".join(f"{letter} {zone['area_mm2'] / 100:.0f}" for letter, zone in result.zones.items())
    lines = [f"zone areas (cm2): {areas}"]
    if result.global_score is not None:
        uncertain = [letter for letter, zone in result.zones.items() if zone.get("low_confidence")]
        opacity = "" if result.opacity_global_score is None else f" (opacity score {result.opacity_global_score} / 18)"
        lines.insert(0, f"Brixia score {result.global_score} / 18{opacity}"
                     + (f"; low confidence: {', '.join(uncertain)}" if uncertain else ""))
    return lines + [f"warning: {w}" for w in result.warnings]


def zone_text(result: SeverityResult) -> dict[str, str]:
    """What the overlay writes in each zone: letter and score (``?`` marks low confidence)."""
    return {letter: f"{letter} {zone['score']}{'?' if zone.get('low_confidence') else ''}"
            for letter, zone in result.zones.items() if "score" in zone}


def lung_sides(zone_labels: np.ndarray) -> np.ndarray:
    """Right/left lung labels from the zones (so that opacity does not cut the lung outlines)."""
    return np.where(zone_labels == 0, 0, np.where(zone_labels <= 3, RIGHT_LUNG, LEFT_LUNG)).astype(np.uint8)


def mrml_available() -> bool:
    """True when MRML nodes can be created here (slicer-core headless, or the Slicer application)."""
    try:
        import slicer

        return hasattr(slicer, "vtkMRMLScene") and hasattr(slicer, "vtkMRMLSegmentationNode")
    except ImportError:
        return False


def write_segmentation_file(image: Image, result: SeverityResult, path: Path) -> Path:
    """``segmentation.seg.nrrd`` with right/left lung and zones A-F, via a headless MRML scene."""
    import slicer

    from ..mrml import save_segmentation, segmentation_node_from_labelmaps, volume_node_from_image

    scene = slicer.vtkMRMLScene()
    reference = volume_node_from_image(scene, image, "radiograph")
    node = segmentation_node_from_labelmaps(
        scene, [(result.lung_labels, LUNG_LAYER_SEGMENTS), (result.zone_labels, ZONE_SEGMENTS)],
        "lungs and zones", reference_volume_node=reference)
    save_segmentation(node, path)
    return path

