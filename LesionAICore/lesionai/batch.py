"""Run a task over a batch of inputs: one bad file is reported and skipped, the rest run.

Written once for every task: the task (pipeline, result writer) comes from :mod:`lesionai.tasks`.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from .errors import LesionAIError, RefusedInputError
from .progress import ProgressReporter
from .results import sweep_stale_staging

NAME_SUFFIXES = (".nii.gz", ".seg.nrrd", ".nrrd", ".nii", ".mha", ".dcm", ".png", ".jpg", ".jpeg", ".tif", ".tiff")


@dataclass
class BatchOutcome:
    succeeded: list[tuple[Path, Path]] = field(default_factory=list)  # (input, case folder)
    failed: list[tuple[Path, str]] = field(default_factory=list)      # (input, message)
    refused: list[Path] = field(default_factory=list)  # the failed inputs a task's own check refused (--force)
    rows: list[dict] = field(default_factory=list)  # batch-table rows, for tasks that write one


def case_names(inputs: list[Path]) -> list[str]:
    """Output folder names: the input's name without image suffixes, made unique within the batch."""
    names, issued = [], set()
    for path in inputs:
        base = name = _stem(path)
        copy = 1
        while name in issued:  # also avoids clashing with an input that is itself called "<base>-2"
            copy += 1
            name = f"{base}-{copy}"
        issued.add(name)
        names.append(name)
    return names


def _stem(path: Path) -> str:
    name = path.name
    for suffix in NAME_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return name


def run_batch(task_name: str, inputs: list[Path], output: Path, overwrite: bool = False, threads: int | None = None,
              progress: str = "bar", pipeline=None, options: dict | None = None,
              outputs_written: str = "all") -> BatchOutcome:
    """Run task ``task_name`` on every input into ``output/<name>/`` (see the task's outputs module).

    ``pipeline``: a ready pipeline (default: the task's, made with ``threads`` and ``options``).
    ``progress``: ``bar`` (tqdm on stderr), ``json`` (JSON-lines events on stdout) or ``none``.
    ``outputs_written``: ``all`` (the whole output contract) or ``read-back`` (only the files the
    task's ``read_case`` reads; see :data:`lesionai.tasks.OUTPUT_SETS`); a batch table is written either way.
    While one case's folder is written, the next input is read and run in a background thread
    (:class:`_RunAhead`); folders are written in this thread only, so an interrupt (Ctrl-C,
    SIGTERM) stops a write as before, and outcomes and result events come in input order.
    """
    from .tasks import task

    chosen = task(task_name)
    outputs, files = chosen.outputs_module, chosen.case_files(outputs_written)
    if Path(output).is_dir():
        sweep_stale_staging(output)  # left by runs that were killed before they could clean up
    pipelines = _Pipelines(chosen, threads, options or {}, pipeline)
    reporter = ProgressReporter() if progress == "json" else None
    outcome = BatchOutcome()
    pairs = list(zip(inputs, case_names(inputs)))
    run = partial(_run_one, chosen, pipelines, output, overwrite, reporter, len(inputs))
    with _RunAhead(run, pairs) as ahead:
        for index, (path, name) in enumerate(_iterate(pairs, progress, chosen)):
            try:
                image, result = ahead.result(index)
                if image.array.size <= OVERLAP_MAX_VOXELS:
                    ahead.start(index + 1)  # the next input runs while this one is written
                case_dir = chosen.write_case(image, result, output / name, path.name, overwrite=overwrite,
                                             files=files)
            except Exception as error:  # one bad input must not end the batch; anything unexpected is reported too
                _record_failure(outcome, reporter, path, error)
                continue
            _record_success(outcome, reporter, outputs, (path, name, case_dir), result)
    if outcome.rows:
        write_batch_table(output / outputs.BATCH_TABLE, outcome.rows)
    return outcome


OVERLAP_MAX_VOXELS = 1 << 24
"""Inputs up to this size (e.g. 4096 x 4096 pixels) are written while the next one runs; after a
larger one the next input is read only once it is written, so one very large result is held at a time."""


def _run_one(chosen, pipelines, output: Path, overwrite: bool, reporter, count: int, index: int, pair) -> tuple:
    """Check, read and run one input: (image, result). Has no effect on disk."""
    from .imageio import read_image

    path, name = pair
    step = reporter.scaled(index / count, (index + 1) / count) if reporter else None
    chosen.check_replaceable(output / name, overwrite)
    image = read_image(path, series=chosen.reads_series)
    result = pipelines.for_input(path).run(image, progress=step.progress if step else None)
    result.warnings[:0] = image.metadata.get("read_warnings", [])  # e.g. files a DICOM folder held
    return image, result


class _RunAhead:
    """Runs ``run(index, item)`` for the batch's items in one background thread, at most one ahead.

    :meth:`start` begins an item (once); :meth:`result` waits for it (starting it if need be) and
    returns its value or raises its error. Leaving the ``with`` block by an exception does not wait
    for a running item (it only reads and computes; the interpreter lets it finish on exit).
    """

    def __init__(self, run, items: list):
        from concurrent.futures import ThreadPoolExecutor

        self._run, self._items, self._running = run, items, {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lesionai-run-ahead")

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace) -> None:
        self._executor.shutdown(wait=kind is None, cancel_futures=True)

    def start(self, index: int) -> None:
        if index < len(self._items) and index not in self._running:
            self._running[index] = self._executor.submit(self._run, index, self._items[index])

    def result(self, index: int):
        self.start(index)
        return self._running.pop(index).result()


def _record_success(outcome: BatchOutcome, reporter, outputs, case: tuple, result) -> None:
    path, name, case_dir = case
    outcome.succeeded.append((path, case_dir))
    if hasattr(outputs, "batch_row"):
        outcome.rows.append({"case": name, **outputs.batch_row(result, path.name)})
    if reporter:
        reporter.result(input=str(path), output=str(case_dir), warnings=result.warnings)


def _record_failure(outcome: BatchOutcome, reporter, path: Path, error: Exception) -> None:
    message = str(error) if isinstance(error, LesionAIError) else f"unexpected {type(error).__name__}: {error}"
    if not isinstance(error, LesionAIError):  # a defect: keep the traceback for the bug report
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    outcome.failed.append((path, message))
    if isinstance(error, RefusedInputError):
        outcome.refused.append(path)
    _report_failure(reporter, path, message, type(error).__name__)


def write_batch_table(path: Path, rows: list[dict]) -> Path | None:
    """``OUTDIR/<table>.csv``: one row per case, merged with the rows of earlier batches in the same
    folder (a case run again replaces its row). A file of that name LesionAI did not write is left
    alone (with a message) and None returned."""
    import csv

    earlier = _earlier_rows(path)
    if earlier is None:
        print(f"lesionai: {path} exists and was not written by LesionAI; the batch table was not written",
              file=sys.stderr)
        return None
    merged = {row["case"]: row for row in [*earlier, *rows]}
    columns = list(dict.fromkeys(column for row in merged.values() for column in row))
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(merged.values())
    partial.replace(path)
    return path


def _earlier_rows(path: Path) -> list[dict] | None:
    """Rows of an earlier batch table ([] when there is none; None when the file is not ours)."""
    import csv

    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader) if (reader.fieldnames or [])[:1] == ["case"] else None


class _Pipelines:
    """The task's pipeline for each input: one per distinct set of options (most batches: one)."""

    def __init__(self, task, threads, options: dict, given=None):
        self.task, self.threads, self.options = task, threads, options
        self._made = {} if given is None else {_key(options): given}

    def for_input(self, path: Path):
        options = self.task.options_for_input(self.options, path)
        key = _key(options)
        if key not in self._made:
            self._made[key] = self.task.make_pipeline(threads=self.threads, **options)
        return self._made[key]


def _key(options: dict) -> tuple:
    return tuple(sorted((name, repr(value)) for name, value in options.items()))


def _iterate(pairs: list[tuple[Path, str]], progress: str, task):
    if progress != "bar":
        return pairs
    from tqdm import tqdm

    return tqdm(pairs, desc=task.name, unit=task.unit, file=sys.stderr)


def _report_failure(reporter, path: Path, message: str, kind: str) -> None:
    if reporter:
        reporter.error(f"{path}: {message}", kind)
    else:
        print(f"lesionai: skipped {path}: {message}", file=sys.stderr)
