"""The table of tasks: the one place where the shared machinery meets the task packages.

Each :class:`Task` names, as ``"module:attribute"`` strings resolved on use (so that ``lesionai
--help`` imports no model runtime), the task's pipeline class, its result writer and reader, its
phantom generator for the demo, and declares its own command-line options. The command line, the
batch loop, the demo and the Slicer background job read this table and nothing else of a task, so
a new task is one entry here plus its package.

>>> task("severity").pipeline_class                       # doctest: +SKIP
<class 'lesionai.severity.pipeline.SeverityPipeline'>
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError

OUTPUT_SETS = {"all": "CASE_FILES", "read-back": "READ_BACK_FILES"}
"""``--outputs`` choices and the outputs-module constant naming the files each writes: ``all`` the
whole output contract, ``read-back`` only what the task's ``read_case`` reads (a Slicer module's
background run reads the case back and nothing else, so a failure in a file it ignores, such as
the overlay, cannot fail it)."""


@dataclass(frozen=True)
class Option:
    """A task's own command-line option, handed to its pipeline's constructor as ``keyword``.

    ``arguments`` are ``argparse.add_argument`` keywords (``type``, ``action``, ``help``, ...).
    """

    flags: tuple[str, ...]
    keyword: str
    arguments: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """One task of LesionAI (see the module docstring)."""

    name: str
    title: str
    summary: str
    input_help: str
    pipeline: str
    outputs: str
    phantoms: str
    options: tuple[Option, ...] = ()
    unit: str = "image"
    case_options: str | None = None
    reads_series: bool = False  # 4D files are read whole (the pipeline picks a volume or refuses)

    @property
    def pipeline_class(self):
        return _resolve(self.pipeline)

    @property
    def outputs_module(self):
        """Module with ``write_files``, ``read_case``, ``report_table``, ``GENERATOR``, ``CASE_FILES``
        (every file of the output contract), ``REQUIRED_FILES`` (what ``read_case`` needs),
        ``READ_BACK_FILES`` (every file ``read_case`` reads, required or optional: what a Slicer
        module's background run writes), ``TERMINOLOGY_SEGMENTS`` and, for tasks with a batch table,
        ``BATCH_TABLE`` and ``batch_row``.

        ``write_files(image, result, folder, input_name=..., wanted=...)`` makes the files of
        ``wanted`` in ``folder`` and no other; :meth:`write_case` stages and places the folder."""
        return importlib.import_module(self.outputs)

    def write_case(self, image, result, case_dir, input_name: str, overwrite: bool = False, files=None):
        """Write one case of this task into ``case_dir`` (see :func:`lesionai.results.write_task_case`:
        only the files in ``files``, None meaning all; never over anything but an earlier result)."""
        from .results import write_task_case

        return write_task_case(self.outputs_module, image, result, case_dir, input_name, overwrite, files)

    def check_replaceable(self, case_dir, overwrite: bool) -> None:
        """InputError unless ``case_dir`` is absent, or holds only an earlier result of this task and
        ``overwrite`` is True."""
        from .results import check_replaceable

        outputs = self.outputs_module
        check_replaceable(case_dir, overwrite, outputs.GENERATOR, outputs.CASE_FILES)

    def case_files(self, outputs: str = "all") -> tuple[str, ...]:
        """The files a run with ``--outputs outputs`` writes (see :data:`OUTPUT_SETS`).

        >>> task("spine").case_files("read-back")                  # doctest: +SKIP
        ('labels.nrrd', 'result.json')
        """
        if outputs not in OUTPUT_SETS:
            raise InputError(f"Unknown outputs '{outputs}'; choose one of: {', '.join(OUTPUT_SETS)}")
        return tuple(getattr(self.outputs_module, OUTPUT_SETS[outputs]))

    @property
    def phantom_inputs(self):
        """``phantom_inputs(folder, count) -> list[Path]``: generated sample inputs for the demo."""
        return _resolve(self.phantoms)

    def make_pipeline(self, threads: int | None = None, **options: Any):
        """The task's pipeline with ``threads`` and the task's own options (see :attr:`options`)."""
        return self.pipeline_class(threads=threads, **options)

    def options_for_input(self, options: dict, path) -> dict:
        """Pipeline options for one input: what the task's ``case_options`` hook (``"module:function"``,
        called as ``function(options, path) -> dict``) makes of ``options``, or ``options`` itself."""
        return _resolve(self.case_options)(dict(options), path) if self.case_options else options

    def pipeline_options(self, arguments) -> dict:
        """The pipeline keywords given on a parsed command line (options left unset are omitted)."""
        chosen = {option.keyword: getattr(arguments, option.keyword, None) for option in self.options}
        return {keyword: value for keyword, value in chosen.items() if value is not None}


def force_option(help_text: str) -> Option:
    """``--force`` (pipeline keyword ``force``): process an input the task's own check refuses. Shared
    by every task that checks its input (spine: the scan check; severity: the radiograph check)."""
    return Option(("--force",), "force", {"action": "store_true", "help": help_text})


def _ras_point(text: str) -> tuple[float, float, float]:
    """``R,A,S`` in mm, e.g. ``-80.2,93.9,-146.3``."""
    import argparse

    try:
        point = tuple(float(part) for part in text.split(","))
    except ValueError:
        point = ()
    if len(point) != 3:
        raise argparse.ArgumentTypeError(f"expected R,A,S in mm (three numbers separated by commas), got {text!r}")
    return point


TASKS: dict[str, Task] = {
    "severity": Task(
        name="severity",
        title="SeverityScoring",
        summary="lungs, alignment, Brixia zones and zone scores of chest radiographs",
        input_help="DICOM files or folders, PNG/JPEG, NRRD/NIfTI radiographs",
        pipeline="lesionai.severity.pipeline:SeverityPipeline",
        outputs="lesionai.severity.outputs",
        phantoms="lesionai.phantoms.cxr:phantom_inputs",
        options=(force_option("score even when the radiograph check says the image is not a frontal chest "
                              "radiograph it can score (its reasons become warnings of the result)"),),
    ),
    "spine": Task(
        name="spine",
        title="LesionSegmentation",
        summary="scan check, spinal cord and lesion segmentation and cord measures of spinal MRI",
        input_help="NIfTI, NRRD or MHA volumes or DICOM series folders of spinal MRI",
        pipeline="lesionai.spine.pipeline:SpinePipeline",
        outputs="lesionai.spine.outputs",
        phantoms="lesionai.phantoms.spine:phantom_inputs",
        options=(
            Option(("--no-lesions",), "lesions", {"action": "store_false", "help": "segment the spinal cord only"}),
            force_option("segment even when the scan check says the volume is not a spinal MRI (its reasons "
                         "become warnings of the result)"),
        ),
        unit="volume",
        reads_series=True,
    ),
    "nodule": Task(
        name="nodule",
        title="NoduleFusion",
        summary="nodule segmentation, ground-glass/solid components, features and fused classification on chest CT",
        input_help="nodule crops or chest CT volumes (NIfTI, NRRD, MHA, DICOM series folders), in Hounsfield units",
        pipeline="lesionai.nodule.pipeline:NodulePipeline",
        outputs="lesionai.nodule.outputs",
        phantoms="lesionai.phantoms.nodule:phantom_inputs",
        options=(
            Option(("--point",), "point", {"type": _ras_point, "metavar": "R,A,S",
                                           "help": "nodule centre in RAS mm, the input then being a whole CT "
                                                   "(write --point=R,A,S when R is negative)"}),
            Option(("--age",), "age", {"type": float, "metavar": "N", "help": "age in years (tabular branch)"}),
            Option(("--sex",), "sex", {"choices": ("F", "M"), "help": "sex (tabular branch)"}),
            Option(("--clinical",), "clinical", {"type": str, "metavar": "FILE.csv",
                                                 "help": "per-input clinical variables: columns input, age, sex "
                                                         "(and optionally point_r, point_a, point_s)"}),
        ),
        unit="nodule",
        case_options="lesionai.nodule.clinical:options_for_input",
    ),
}


def task(name: str) -> Task:
    """The task called ``name``; InputError naming the known tasks otherwise."""
    if name not in TASKS:
        raise InputError(f"Unknown task '{name}'; known tasks: {', '.join(TASKS)}")
    return TASKS[name]


def terminology_segments(name: str) -> list:
    """The segment descriptions (``SegmentSpec``) the task's results use, for its terminology context."""
    return list(_resolve(f"{task(name).outputs}:TERMINOLOGY_SEGMENTS"))


def _resolve(reference: str):
    module_name, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module_name), attribute)
