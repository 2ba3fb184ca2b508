"""Write and read one case's results in the LesionSegmentation output contract.

``<case_dir>/``: ``labels.nrrd`` (uint8 on the input grid: 0 background, 1 spinal cord, 2 lesion),
``segmentation.seg.nrrd`` (segments "spinal cord" and "lesion" with SNOMED CT codes), ``overlay.png``
(acquired plane with outlines and the CSA plot), ``lesions.csv`` (one row per lesion) and
``result.json`` (the common keys, then ``scan_check``, ``cord``, ``lesions``, ``lesion_count``,
``lesion_volume_mm3``). :mod:`lesionai.results` stages and replaces the folder atomically.
``Task.write_case(..., files=...)`` writes only some of them (``READ_BACK_FILES``: what :func:`read_case`
reads back).
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from pathlib import Path

from ..geometry import Image
from ..imageio import read_image, write_image
from ..results import base_record, read_record, segmentation_file_warnings, write_json
from .labels import SEGMENTS, label_table
from .overlay import render_overlay
from .pipeline import SpineResult

GENERATOR = "lesionai spine"
TERMINOLOGY_SEGMENTS = tuple(SEGMENTS)
CASE_FILES = ("labels.nrrd", "segmentation.seg.nrrd", "overlay.png", "lesions.csv", "result.json")
REQUIRED_FILES = ("labels.nrrd", "result.json")  # what read_case needs
READ_BACK_FILES = ("labels.nrrd", "result.json")  # all that read_case reads
LESION_COLUMNS = ("index", "volume_mm3", "centroid_r_mm", "centroid_a_mm", "centroid_s_mm", "length_mm",
                  "largest_axial_area_mm2", "vertebral_level", "vertebral_level_source")


def write_files(image: Image, result: SpineResult, folder: Path, input_name: str, wanted: Collection[str]) -> None:
    if "labels.nrrd" in wanted:
        write_image(result.labels, folder / "labels.nrrd")
    if "segmentation.seg.nrrd" in wanted:
        reference = image if image.array.ndim == 3 else result.labels
        result.warnings += segmentation_file_warnings(reference, [(result.labels, SEGMENTS)],
                                                      folder / "segmentation.seg.nrrd", "spinal cord and lesions")
    if "overlay.png" in wanted:
        render_overlay(image, result.labels, result.cord, overlay_lines(result, input_name), folder / "overlay.png")
    if "lesions.csv" in wanted:
        write_lesion_table(result.lesions, folder / "lesions.csv")
    write_json(folder / "result.json", result_record(result, input_name))


def result_record(result: SpineResult, input_name: str) -> dict:
    """The ``result.json`` document."""
    summary = result.summary()
    common = base_record(GENERATOR, input_name, label_table(), summary.pop("warnings"), summary.pop("models"),
                         summary.pop("timing_s"))
    return {**common, **summary}


def overlay_lines(result: SpineResult, input_name: str) -> list[str]:
    cord = result.cord
    csa = "-" if cord.get("csa_mm2_mean") is None else f"{cord['csa_mm2_mean']:.1f}"
    summary = (f"{input_name}: cord {cord['volume_mm3'] / 1000:.2f} cm3, length {cord['length_mm']:.0f} mm, "
               f"mean CSA {csa} mm2; lesions {result.lesion_count} ({result.lesion_volume_mm3:.0f} mm3)")
    return [summary] + [f"warning: {w}" for w in result.warnings]


def write_lesion_table(lesions: list[dict], path: Path) -> Path:
    """``lesions.csv``: one row per lesion, columns :data:`LESION_COLUMNS`."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=LESION_COLUMNS)
        writer.writeheader()
        for lesion in lesions:
            r, a, s = lesion["centroid_ras"]
            writer.writerow({**{k: lesion.get(k) for k in LESION_COLUMNS if k in lesion},
                             "centroid_r_mm": r, "centroid_a_mm": a, "centroid_s_mm": s})
    return Path(path)


def read_case(case_dir: Path) -> SpineResult:
    """The :class:`SpineResult` stored in a result folder (labels.nrrd and result.json)."""
    case_dir = Path(case_dir)
    record = read_record(case_dir)
    labels = read_image(case_dir / "labels.nrrd")
    return SpineResult(labels=labels, scan_check=record.get("scan_check"), cord=record["cord"],
                       lesions=list(record.get("lesions", [])), warnings=list(record.get("warnings", [])),
                       models=record.get("models", {}), timing_s=float(record.get("timing_s", 0.0)))


def report_table(record: dict) -> tuple[str, dict[str, dict]]:
    """The demo report's table of a ``result.json`` record: the cord, then one row per lesion."""
    cord, check = record["cord"], record.get("scan_check") or {}
    labels = {stage: check[stage]["label"] for stage in ("anatomy", "view", "contrast") if stage in check}
    rows = {"spinal cord": {"volume_mm3": cord["volume_mm3"], "length_mm": cord["length_mm"],
                            "mean_csa_mm2": cord["csa_mm2_mean"], **labels}}
    for lesion in record.get("lesions", []):
        rows[f"lesion {lesion['index']}"] = {"volume_mm3": lesion["volume_mm3"], "length_mm": lesion["length_mm"],
                                             "largest_axial_area_mm2": lesion["largest_axial_area_mm2"]}
    return "structure", rows
