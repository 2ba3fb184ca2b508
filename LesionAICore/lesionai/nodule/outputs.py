"""Write and read one nodule's results in the NoduleFusion output contract.

``<case_dir>/``: ``nodule.nrrd`` (uint8 on the input grid: 0 background, 1 ground-glass component,
2 solid component), ``segmentation.seg.nrrd`` (the same as Slicer segments with DICOM codes),
``overlay.png`` (three planes through the nodule, outlines and key numbers) and ``result.json``
(the common keys, then ``probability``, ``task``, ``branches``, ``texture``, ``features``, ``ctr``).
:mod:`lesionai.results` stages and replaces the folder; ``Task.write_case(..., files=...)`` writes only
some of them (``READ_BACK_FILES``: what :func:`read_case` reads back). :func:`nodule_row` gives the
batch table's row (``OUTDIR/nodules.csv``).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from ..geometry import Image
from ..imageio import read_image, write_image
from ..results import base_record, read_record, segmentation_file_warnings, write_json
from .features import FEATURE_NAMES
from .labels import NODULE_SEGMENTS, label_table
from .overlay import render_nodule_overlay
from .pipeline import NoduleResult

GENERATOR = "lesionai nodule"
TERMINOLOGY_SEGMENTS = tuple(NODULE_SEGMENTS)
CASE_FILES = ("nodule.nrrd", "segmentation.seg.nrrd", "overlay.png", "result.json")
REQUIRED_FILES = ("nodule.nrrd", "result.json")  # what read_case needs
READ_BACK_FILES = ("nodule.nrrd", "result.json")  # all that read_case reads
BATCH_TABLE = "nodules.csv"


def write_files(image: Image, result: NoduleResult, folder: Path, input_name: str, wanted: Collection[str]) -> None:
    if "nodule.nrrd" in wanted:
        write_image(result.labels, folder / "nodule.nrrd")
    if "segmentation.seg.nrrd" in wanted:
        result.warnings += segmentation_file_warnings(image, [(result.labels, NODULE_SEGMENTS)],
                                                      folder / "segmentation.seg.nrrd", "nodule components")
    if "overlay.png" in wanted:
        render_nodule_overlay(image, result.labels.array, folder / "overlay.png", overlay_lines(result, input_name))
    write_json(folder / "result.json", result_record(result, input_name))


def result_record(result: NoduleResult, input_name: str) -> dict:
    """The ``result.json`` document."""
    summary = result.summary()
    common = base_record(GENERATOR, input_name, label_table(), summary.pop("warnings"), summary.pop("models"),
                         summary.pop("timing_s"))
    return {**common, **summary}


def overlay_lines(result: NoduleResult, input_name: str) -> list[str]:
    """The text under the overlay: probability and what it means, texture, CTR, size."""
    values = {name: entry["value"] for name, entry in result.features.items()}
    probability = "n/a" if result.probability is None else f"{result.probability:.2f}"
    texture = (result.texture or {}).get("label", "n/a")
    return [input_name, f"probability {probability}: {result.task}",
            f"texture {texture}; CTR {result.ctr:.2f} (solid / whole nodule, axial diameters)",
            f"diameter max {values['DiameterMax']:.1f} mm, axial {values['XMaxDiameter']:.1f} mm; "
            f"volume {values['Volume']:.0f} mm3; mean {values['MeanCT']:.0f} HU"] + [f"warning: {w}" for w in result.warnings]


def read_case(case_dir: Path) -> NoduleResult:
    """The :class:`NoduleResult` stored in a result folder (``nodule.nrrd`` + ``result.json``)."""
    case_dir = Path(case_dir)
    record = read_record(case_dir)
    return NoduleResult(
        labels=read_image(case_dir / "nodule.nrrd"), probability=record.get("probability"), task=record["task"],
        branches=record.get("branches", {}), texture=record.get("texture"), features=record["features"],
        ctr=float(record["ctr"]), warnings=list(record.get("warnings", [])), models=record.get("models", {}),
        timing_s=float(record.get("timing_s", 0.0)), center_ras=record.get("center_ras", []),
        region_spacing_mm=float(record.get("region_spacing_mm", 0.0)),
        masked_features=record.get("masked_features", []))


def nodule_row(result: NoduleResult, input_name: str) -> dict:
    """One row of the batch's ``nodules.csv``: input, classification, CTR and the features with units."""
    row = {"input": input_name, "probability": result.probability, "task": result.task,
           "texture": (result.texture or {}).get("label"), "ctr": round(result.ctr, 4)}
    for name in FEATURE_NAMES:
        entry = result.features[name]
        row[f"{name}_{entry['unit']}" if entry["unit"] else name] = entry["value"]
    row["warnings"] = "; ".join(result.warnings)
    return row


batch_row = nodule_row  # the batch loop writes OUTDIR/BATCH_TABLE from these rows

REPORT_COLUMNS = ("probability", "texture", "ctr", "DiameterMax", "XMaxDiameter", "Volume", "MeanCT")


def report_table(record: dict) -> tuple[str, dict[str, dict]]:
    """The demo report's table of a ``result.json`` record: one row, the key numbers."""
    features = {name: entry["value"] for name, entry in record.get("features", {}).items()}
    values = {"probability": record.get("probability"), "texture": (record.get("texture") or {}).get("label"),
              "ctr": record.get("ctr"), **features}
    return "nodule", {record.get("input", "nodule"): {column: values.get(column) for column in REPORT_COLUMNS}}
