"""The Slicer terminology context of each task's segments, generated from the task's label table.

Slicer's segment editor offers the terms of loaded terminology contexts (``*.term.json`` files in
the dcmqi segment-context format: categories holding types, types holding modifiers, each a DICOM
code with an optional recommended RGB colour). This module builds the context
``LesionAI - <Module>`` of a task from the segments the task declares (``TERMINOLOGY_SEGMENTS`` of
its outputs module, found through :mod:`lesionai.tasks`). Each module ships its context in
``<Module>/Resources/Terminology`` and loads it from there at start-up (:func:`load_into_slicer`);
a test checks that the shipped file equals a fresh generation, so it can never disagree with the
codes and colours written into results.

Regenerate a shipped file with::

    python -m lesionai.terminology SeverityScoring/Resources/Terminology/LesionAI-SeverityScoring.term.json --task severity
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .mrml import CodedEntry, SegmentSpec

__all__ = ["CONTEXT_NAME", "CONTEXT_SCHEMA", "main", "severity_terminology_context", "task_terminology_context",
           "terminology_context", "terminology_json", "load_into_slicer", "shipped_path", "write_terminology"]

DEFAULT_TASK = "severity"
CONTEXT_NAME = "LesionAI - SeverityScoring"
FILE_NAME = "LesionAI-SeverityScoring.term.json"
CONTEXT_SCHEMA = "https://raw.githubusercontent.com/qiicr/dcmqi/master/doc/schemas/segment-context-schema.json#"


def context_name(task_name: str = DEFAULT_TASK) -> str:
    """``LesionAI - <Module>``: the name of the task's terminology context."""
    from .tasks import task

    return f"LesionAI - {task(task_name).title}"


def file_name(task_name: str = DEFAULT_TASK) -> str:
    """``LesionAI-<Module>.term.json``: the file holding the task's context."""
    from .tasks import task

    return f"LesionAI-{task(task_name).title}.term.json"


def task_terminology_context(task_name: str = DEFAULT_TASK) -> dict:
    """The terminology context of a task's segments (see :func:`terminology_context`)."""
    from .tasks import terminology_segments

    return terminology_context(context_name(task_name), terminology_segments(task_name))


def severity_terminology_context() -> dict:
    """The SeverityScoring terminology context as a JSON-ready dictionary.

    Categories, types and modifiers appear in the order the lung segments (then the zone
    segments) first use them; a term's recommended colour is that of the first segment using it.

    >>> context = severity_terminology_context()
    >>> [m["CodeMeaning"] for m in context["SegmentationCodes"]["Category"][0]["Type"][0]["Modifier"]]
    ['Right', 'Left']
    """
    return task_terminology_context("severity")


def terminology_context(name: str, segments: list[SegmentSpec]) -> dict:
    """A segment context named ``name`` holding the category/type/modifier codes of ``segments``.

    Segments without terminology are ignored. Raises ValueError when two segments give the same
    code value different meanings, which Slicer would show as one ambiguous term.
    """
    categories: dict[tuple[str, str], dict] = {}
    for segment in segments:
        if segment.terminology is not None:
            _add_segment(categories, segment)
    return {"SegmentationCategoryTypeContextName": name, "@schema": CONTEXT_SCHEMA,
            "SegmentationCodes": {"Category": [_as_lists(entry) for entry in categories.values()]}}


def terminology_json(context: dict | None = None, task_name: str = DEFAULT_TASK) -> str:
    """``context`` (default: the task's) as the exact text of the ``.term.json`` file."""
    return json.dumps(context or task_terminology_context(task_name), indent=2) + "\n"


def write_terminology(path, task_name: str = DEFAULT_TASK) -> Path:
    """Write the task's context to ``path`` (parent folders created; written to a temporary file
    and renamed, so a reader never sees half a file); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(terminology_json(task_name=task_name), encoding="utf-8")
    partial.replace(path)
    return path


def _loaded_terminology_names(terminologies_logic) -> list[str]:
    import vtk

    names = vtk.vtkStringArray()
    terminologies_logic.GetLoadedTerminologyNames(names)
    return [names.GetValue(index) for index in range(names.GetNumberOfValues())]


def shipped_path(module_folder, task_name: str = DEFAULT_TASK) -> Path:
    """Where a module ships its task's context: ``<module folder>/Resources/Terminology/<file>``."""
    return Path(module_folder) / "Resources" / "Terminology" / file_name(task_name)


def load_into_slicer(terminologies_logic, module_folder, task_name: str = DEFAULT_TASK) -> str:
    """Load the context the module in ``module_folder`` ships into a ``vtkSlicerTerminologiesModuleLogic``
    (in Slicer: ``slicer.modules.terminologies.logic()``) so the segment editor offers its terms.

    Returns the context name; loading twice does nothing more. Raises FileNotFoundError when the
    module's file is missing and RuntimeError when Slicer does not load it under its name.
    """
    wanted = context_name(task_name)
    if wanted in _loaded_terminology_names(terminologies_logic):
        return wanted
    path = shipped_path(module_folder, task_name)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall the LesionAI extension")
    name = terminologies_logic.LoadTerminologyFromFile(str(path))
    if name != wanted:
        raise RuntimeError(f"Slicer did not load the terminology context {wanted!r} from {path}")
    return name


def _add_segment(categories: dict, segment: SegmentSpec) -> None:
    """Add the segment's codes to ``categories``; terms are nested dictionaries keyed by code."""
    terms = segment.terminology
    colour = {"recommendedDisplayRGBValue": _rgb(segment.color)}
    category = _entry(categories, terms.category, {"showAnatomy": False, "Type": {}})
    if terms.modifier is None:
        _entry(category["Type"], terms.type, colour)
    else:
        type_entry = _entry(category["Type"], terms.type, {})
        _entry(type_entry.setdefault("Modifier", {}), terms.modifier, colour)


def _entry(entries: dict, code: CodedEntry, extra: dict) -> dict:
    """The entry of ``code`` in ``entries`` ((scheme, value) -> entry), added with ``extra`` if new."""
    scheme, value, meaning = code
    existing = entries.setdefault((scheme, value), {"CodingSchemeDesignator": scheme, "CodeValue": value,
                                                    "CodeMeaning": meaning, **extra})
    if existing["CodeMeaning"] != meaning:
        raise ValueError(f"Code {scheme} {value} is used as both {existing['CodeMeaning']!r} "
                         f"and {meaning!r}; fix the task's label table")
    return existing


def _as_lists(entry: dict) -> dict:
    """``entry`` with its nested Type/Modifier dictionaries turned into lists, order kept."""
    return {key: [_as_lists(item) for item in value.values()] if isinstance(value, dict) else value
            for key, value in entry.items()}


def _rgb(color: tuple[float, float, float]) -> list[int]:
    """A 0..1 colour as the 0..255 integers of ``recommendedDisplayRGBValue``."""
    return [round(min(max(channel, 0.0), 1.0) * 255) for channel in color]


def main(argv: list[str] | None = None) -> int:
    from .tasks import TASKS

    parser = argparse.ArgumentParser(prog="python -m lesionai.terminology",
                                     description="Write a task's Slicer terminology context.")
    parser.add_argument("outfile", type=Path, help="the .term.json file to write")
    parser.add_argument("--task", choices=tuple(TASKS), default=DEFAULT_TASK, help="whose segments (default: severity)")
    arguments = parser.parse_args(argv)
    print(f"wrote {write_terminology(arguments.outfile, arguments.task)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
