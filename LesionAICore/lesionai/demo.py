"""``lesionai demo``: the tasks end to end on generated phantoms (and optional real files).

Writes ``<output>/inputs/`` (the phantoms), ``<output>/results/<case>/`` (the standard outputs)
and ``<output>/index.html`` (pictures and tables). Phantoms are deterministic, so running the demo
again regenerates identical inputs; a file of the same name with other content is never replaced.
The phantoms come from each task's entry in :mod:`lesionai.tasks`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .batch import BatchOutcome, run_batch
from .errors import InputError
from .report import REPORT_GENERATOR, write_html_report
from .tasks import task

DEMO_TASK = "severity"


@dataclass
class DemoOutcome:
    report: Path
    failed: list[tuple[Path, str]]


def phantom_inputs(folder: Path, count: int, task_name: str = DEMO_TASK) -> list[Path]:
    """Write ``count`` phantoms of the task into ``folder`` and return their paths."""
    return task(task_name).phantom_inputs(Path(folder), count)


def run_demo(output: Path, inputs: list[Path], phantoms: int = 3, threads: int | None = None,
             progress: str = "bar") -> DemoOutcome:
    """Run the demo task on generated phantoms plus ``inputs`` and write ``output/index.html``.

    Re-running refreshes earlier LesionAI results in ``output`` (also after an interrupted run);
    folders and files LesionAI did not write are never replaced.
    """
    output = Path(output)
    report = output / "index.html"
    _check_report_replaceable(report)
    all_inputs = phantom_inputs(output / "inputs", phantoms) + list(inputs)
    if not all_inputs:
        raise InputError("Nothing to run: give radiographs or at least one phantom (--phantoms 1)")
    outcome = run_batch(DEMO_TASK, all_inputs, output / "results", overwrite=True, threads=threads, progress=progress)
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
