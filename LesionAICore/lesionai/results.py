"""One writer of result folders for every task: ``OUTDIR/<name>/`` with ``result.json`` and friends.

A task says which files it writes (``case_files``) and how (``write_files(folder)``); this module
does the rest, the same way for every task:

* the files are first written into a hidden sibling folder and moved into place only when all of
  them exist, so a failure never leaves a half-written case; the folder is removed when the run is
  interrupted (Ctrl-C, or SIGTERM once :func:`stop_cleanly_on_sigterm` is installed, as the command
  line does), and :func:`sweep_stale_staging` removes those of runs that were killed outright;
* an existing folder is replaced only with ``overwrite`` and only when it holds an earlier result of
  the same task (its ``result.json`` names the task's generator) and nothing else: nothing a user
  made is ever touched;
* ``result.json`` starts with the keys every task shares (:func:`base_record`);
* a run may ask a task's writer for some of its files only (:func:`wanted_files`, as ``--outputs
  read-back`` does); such a folder is still an earlier result of the task for ``overwrite``.

>>> write_case(Path("out/chest"), lambda folder: ..., generator="lesionai severity",
...            case_files=("result.json",))                                  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import uuid
from collections.abc import Callable, Collection, Sequence
from functools import partial
from pathlib import Path

from . import __version__
from .errors import InputError
from .geometry import Image

RESULT_FILE = "result.json"


def write_case(case_dir: Path, write_files: Callable[[Path], None], *, generator: str,
               case_files: Sequence[str], overwrite: bool = False) -> Path:
    """Run ``write_files(staging_folder)`` and put the folder in place of ``case_dir`` atomically."""
    case_dir = Path(case_dir)
    check_replaceable(case_dir, overwrite, generator, case_files)
    case_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = new_hidden_folder(case_dir.parent, case_dir.name)
    try:
        write_files(staging)
        _replace(staging, case_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return case_dir


def wanted_files(case_files: Sequence[str], files: Collection[str] | None = None) -> frozenset[str]:
    """The files of ``case_files`` a task's writer makes: ``files`` (None: all), ``result.json``
    always. A writer checks this set before making each other file, so a file left out is not even
    computed (``lesionai <task> --outputs read-back``: no overlay is rendered).

    >>> sorted(wanted_files(("labels.nrrd", "overlay.png", "result.json"), ["labels.nrrd"]))
    ['labels.nrrd', 'result.json']
    """
    chosen = set(case_files if files is None else files) | {RESULT_FILE}
    unknown = sorted(chosen - set(case_files))
    if unknown:
        raise ValueError(f"{', '.join(unknown)} not among the files of this result: {', '.join(case_files)}")
    return frozenset(chosen)


STAGING_PATTERN = re.compile(r"^\..+\.lesionai-(?P<pid>\d+)-[0-9a-f]{12}$")


def new_hidden_folder(parent: Path, name: str) -> Path:
    """A new, uniquely named hidden folder with the usual permissions (``mkdtemp`` would make it
    private), named after this process so that :func:`sweep_stale_staging` can tell whose it is."""
    folder = Path(parent) / f".{name}.lesionai-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    folder.mkdir()
    return folder


def sweep_stale_staging(output: Path) -> list[Path]:
    """Remove staging and backup folders in ``output`` left by LesionAI runs that no longer exist
    (killed before they could clean up); folders of running processes are kept. Returns the removed."""
    removed = []
    for folder in Path(output).glob(".*.lesionai-*"):
        match = STAGING_PATTERN.match(folder.name)
        if match and folder.is_dir() and not _process_exists(int(match["pid"])):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or no way to tell: keep its folder
    return True


def stop_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit`` (status 143), so ``finally`` blocks remove staging folders
    as for Ctrl-C. Call once from a program's main thread (the command line does)."""
    def stop(signal_number, frame):
        raise SystemExit(128 + signal_number)

    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, stop)


def write_task_case(outputs, image: Image, result, case_dir: Path, input_name: str, overwrite: bool = False,
                    files: Collection[str] | None = None) -> Path:
    """Write one case of a task into ``case_dir``: the files of the task's ``CASE_FILES`` that are in
    ``files`` (None: all; ``result.json`` always; see :func:`wanted_files`), staged and replaced as
    :func:`write_case` does.

    ``outputs`` is the task's outputs module: ``GENERATOR``, ``CASE_FILES`` and
    ``write_files(image, result, folder, input_name=..., wanted=...)``, which makes each wanted file.
    """
    wanted = wanted_files(outputs.CASE_FILES, files)
    write_files = partial(outputs.write_files, image, result, input_name=input_name, wanted=wanted)
    return write_case(case_dir, write_files, generator=outputs.GENERATOR, case_files=outputs.CASE_FILES,
                      overwrite=overwrite)


def check_replaceable(case_dir: Path, overwrite: bool, generator: str, case_files: Sequence[str]) -> None:
    """Refuse to replace a folder unless asked to and it holds only an earlier result of ``generator``."""
    if not Path(case_dir).exists():
        return
    if not overwrite:
        raise InputError(f"Output folder {case_dir} already exists; choose another output folder "
                         "or pass --overwrite to replace an earlier LesionAI result")
    if not is_result_of(case_dir, generator, case_files):
        raise InputError(f"Output folder {case_dir} exists and was not written by LesionAI; "
                         "it is left untouched -- choose another output folder")


def is_result_of(case_dir: Path, generator: str, case_files: Sequence[str]) -> bool:
    """True when ``case_dir`` holds a result of ``generator`` and no file the task does not write."""
    try:
        record = json.loads((Path(case_dir) / RESULT_FILE).read_text())
    except (OSError, ValueError):
        return False
    extra = {path.name for path in Path(case_dir).iterdir()} - set(case_files)
    return isinstance(record, dict) and record.get("generator") == generator and not extra


def _replace(staging: Path, case_dir: Path) -> None:
    if case_dir.exists():
        backup = case_dir.with_name(f".{case_dir.name}.previous.lesionai-{os.getpid()}-{uuid.uuid4().hex[:12]}")
        case_dir.rename(backup)
        staging.rename(case_dir)
        shutil.rmtree(backup)
    else:
        staging.rename(case_dir)


def base_record(generator: str, input_name: str, labels: dict, warnings: list[str], models: dict[str, str],
                timing_s: float) -> dict:
    """The ``result.json`` keys every task writes, in this order; the task adds its own after them."""
    return {"generator": generator, "version": __version__, "input": input_name, "labels": labels,
            "warnings": list(warnings), "models": dict(models), "timing_s": round(float(timing_s), 4)}


def write_json(path: Path, record: dict) -> Path:
    """``record`` as indented UTF-8 JSON with a final newline."""
    Path(path).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return Path(path)


def read_record(case_dir: Path) -> dict:
    """The ``result.json`` of a result folder."""
    return json.loads((Path(case_dir) / RESULT_FILE).read_text(encoding="utf-8"))


def write_segmentation_file(reference: Image, layers: Sequence[tuple[Image, Sequence]], path: Path,
                            name: str) -> Path:
    """``segmentation.seg.nrrd`` from label-map layers (``(labels, [SegmentSpec, ...])``) on the grid
    of ``reference``, written directly as a Slicer segmentation file (no MRML library needed; see
    :mod:`lesionai.segmentation_nrrd`). ``name`` says what the segmentation holds, for messages."""
    from .segmentation_nrrd import write_segmentation_nrrd

    try:
        return write_segmentation_nrrd(path, list(layers), reference)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from error


def segmentation_file_warnings(reference: Image, layers: Sequence[tuple[Image, Sequence]], path: Path,
                               name: str) -> list[str]:
    """Write ``segmentation.seg.nrrd`` (see :func:`write_segmentation_file`); returns what the user
    should know when it could not be written (one warning), else [].

    The file is a convenience copy of the ``.nrrd`` label maps: failing to write it (a full disk, a
    label map off the reference grid) costs that file and a warning, never the run.
    """
    try:
        write_segmentation_file(reference, layers, path, name)
    except Exception as error:  # noqa: BLE001 -- whatever failed, the label maps already hold the result
        Path(path).unlink(missing_ok=True)
        return [(f"segmentation.seg.nrrd not written ({type(error).__name__}: {error}); "
                 "the .nrrd label maps hold the same labels")]
    return []

