"""``lesionai demo``: SeverityScoring end to end on generated phantoms (and optional real files).

Writes ``<output>/inputs/`` (the phantoms, as NRRD and PNG), ``<output>/results/<case>/`` (the
standard outputs) and ``<output>/index.html`` (pictures and zone tables). Phantoms are
deterministic, so running the demo again regenerates identical inputs; a file of the same name
with other content is never replaced.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from .batch import BatchOutcome, run_severity_batch
from .errors import InputError
from .imageio import write_image
from .phantoms.cxr import eight_bit, generate_cxr_phantom
from .render import REPORT_GENERATOR, write_html_report


@dataclass
class DemoOutcome:
    report: Path
    failed: list[tuple[Path, str]]


def phantom_inputs(folder: Path, count: int) -> list[Path]:
    """Write ``count`` phantoms: frontal ones as NRRD (with spacing) and PNG, the last one lateral."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        lateral = count > 1 and index == count - 1
        phantom = generate_cxr_phantom(seed=index + 1, size=(1024, 1024), view="lateral" if lateral else "PA")
        name = f"phantom-{index + 1}-{'lateral' if lateral else 'frontal'}"
        if index % 2 == 1 and not lateral:
            paths.append(_write_new(folder / f"{name}.png", _png_bytes(phantom.image.array[0])))
        else:
            paths.append(_write_nrrd(folder / f"{name}.nrrd", phantom.image))
    return paths


def _png_bytes(plane: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(eight_bit(plane)).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_nrrd(path: Path, image) -> Path:
    scratch = path.with_name(f".{path.name}.tmp.nrrd")
    write_image(image, scratch)
    content = scratch.read_bytes()
    scratch.unlink()
    return _write_new(path, content)


def _write_new(path: Path, content: bytes) -> Path:
    """Write ``content`` unless a different file already has that name."""
    if path.exists():
        if path.read_bytes() == content:
            return path
        raise InputError(f"{path} exists with other content; choose an empty output folder for the demo")
    path.write_bytes(content)
    return path


def run_demo(output: Path, inputs: list[Path], phantoms: int = 3, threads: int | None = None,
             progress: str = "bar") -> DemoOutcome:
    """Run SeverityScoring on generated phantoms plus ``inputs`` and write ``output/index.html``.

    Re-running refreshes earlier LesionAI results in ``output`` (also after an interrupted run);
    folders and files LesionAI did not write are never replaced.
    """
    output = Path(output)
    report = output / "index.html"
    _check_report_replaceable(report)
    all_inputs = phantom_inputs(output / "inputs", phantoms) + list(inputs)
    if not all_inputs:
        raise InputError("Nothing to run: give radiographs or at least one phantom (--phantoms 1)")
    outcome = run_severity_batch(all_inputs, output / "results", overwrite=True, threads=threads, progress=progress)
    write_html_report(_report_entries(outcome, output), report)
    return DemoOutcome(report, outcome.failed)


def _check_report_replaceable(report: Path) -> None:
    if report.exists() and REPORT_GENERATOR not in report.read_text(errors="replace"):
        raise InputError(f"{report} exists and was not written by the LesionAI demo; choose another output folder")


def _report_entries(outcome: BatchOutcome, output: Path) -> list[dict]:
    entries = []
    for source, case_dir in outcome.succeeded:
        record = json.loads((case_dir / "result.json").read_text())
        entries.append({"name": source.name, "overlay": str((case_dir / "overlay.png").relative_to(output)),
                        "zones": record["zones"], "warnings": record["warnings"], "timing_s": record["timing_s"]})
    for source, message in outcome.failed:
        entries.append({"name": source.name, "overlay": None, "zones": {}, "warnings": [f"failed: {message}"],
                        "timing_s": 0.0})
    return entries
