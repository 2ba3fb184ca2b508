"""``lesionai demo``: every task end to end on generated phantoms (and optional real files).

Writes, for each task, ``<output>/inputs/<task>/`` (the phantoms) and
``<output>/results/<task>/<case>/`` (the standard outputs), then ``<output>/index.html`` with the
pictures and tables of all of them. Phantoms are deterministic, so running the demo again
regenerates identical inputs; a file of the same name with other content is never replaced. The
phantoms and the report table of each task come from :mod:`lesionai.tasks`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .batch import BatchOutcome, run_batch
from .errors import InputError
from .report import REPORT_GENERATOR, write_html_report
from .tasks import TASKS, task


@dataclass
class DemoOutcome:
    """The report written and the inputs that failed. Inputs a task's check refused (the lateral
    phantom: SeverityScoring scores frontal radiographs only) are shown in the report, not failures."""

    report: Path
    failed: list[tuple[Path, str]] = field(default_factory=list)


def phantom_inputs(folder: Path, count: int, task_name: str) -> list[Path]:
    """Write ``count`` phantoms of the task into ``folder`` and return their paths."""
    return task(task_name).phantom_inputs(Path(folder), count) if count else []


def run_demo(output: Path, inputs: list[Path], phantoms: int = 3, threads: int | None = None,
             progress: str = "bar", tasks: tuple[str, ...] = tuple(TASKS), input_task: str = "severity") -> DemoOutcome:
    """Run ``tasks`` on ``phantoms`` generated inputs each, ``input_task`` also on ``inputs``, and
    write ``output/index.html``.

    Re-running refreshes earlier LesionAI results in ``output`` (also after an interrupted run);
    folders and files LesionAI did not write are never replaced.
    """
    output = Path(output)
    report = output / "index.html"
    _check_report_replaceable(report)
    runs = {name: phantom_inputs(output / "inputs" / name, phantoms, name) for name in tasks}
    runs.setdefault(input_task, []).extend(inputs)
    if not any(runs.values()):
        raise InputError("Nothing to run: give images or at least one phantom (--phantoms 1)")
    entries, failed = [], []
    for name, paths in ((name, paths) for name, paths in runs.items() if paths):
        outcome = run_batch(name, paths, output / "results" / name, overwrite=True, threads=threads, progress=progress)
        entries += _report_entries(name, outcome, output)
        failed += [(path, message) for path, message in outcome.failed if path not in outcome.refused]
    write_html_report(entries, report)
    return DemoOutcome(report, failed)


def _check_report_replaceable(report: Path) -> None:
    if report.exists() and REPORT_GENERATOR not in report.read_text(errors="replace"):
        raise InputError(f"{report} exists and was not written by the LesionAI demo; choose another output folder")


def _report_entries(task_name: str, outcome: BatchOutcome, output: Path) -> list[dict]:
    chosen = task(task_name)
    table = chosen.outputs_module.report_table
    entries = []
    for source, case_dir in outcome.succeeded:
        record = json.loads((case_dir / "result.json").read_text())
        row_key, rows = table(record)
        entries.append({"name": source.name, "task": chosen.title, "row_key": row_key, "rows": rows,
                        "overlay": str((case_dir / "overlay.png").relative_to(output)),
                        "warnings": record["warnings"], "timing_s": record["timing_s"]})
    for source, message in outcome.failed:
        entries.append({"name": source.name, "task": chosen.title, "overlay": None, "rows": {},
                        "warnings": [f"failed: {message}"], "timing_s": 0.0})
    return entries
