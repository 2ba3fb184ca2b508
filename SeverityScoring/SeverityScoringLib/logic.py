"""SeverityScoring logic: chest radiograph volume -> lungs, opacity and Brixia zones + zone scores.

Qt-free: every function takes the MRML scene or nodes as arguments and never touches
``slicer.app``, ``slicer.mrmlScene`` or the GUI, so the same code runs in the Slicer application,
in a headless batch job and in tests on the real MRML library (``slicer-core``).

Two ways to run the pipeline:

* :meth:`SeverityScoringLogic.process` runs it in this process and blocks until the nodes exist;
* :meth:`SeverityScoringLogic.start` runs ``python -m lesionai.cli severity`` in a child process
  and returns a :class:`SeverityJob`; the caller polls the job (the module widget does it from a
  Qt timer) and then calls :meth:`SeverityScoringLogic.finish` to add the nodes to the scene, or
  :meth:`SeverityScoringLogic.cancel`.

Both add the same nodes, inside one scene transaction (a failure leaves the scene as it was):

* segmentation ``"<input> lungs and zones"``: segments "right lung", "left lung", the opacity
  segment and the six zones A-F, on the grid of the input volume;
* table ``"<input> zone scores"`` (locked against editing): one row per zone with the columns
  :data:`~.presentation.TABLE_COLUMNS` (area, Brixia score and its confidence, opacity fraction
  and score, low-confidence flag); the global scores are attributes of the table node;
* scalar volume ``"<input> severity heat map"`` (Grad-CAM, 0-1) when the result has one;

all placed beside the input volume in its study (under the volume when it has no study).
:mod:`.presentation` summarises, shows/hides and exports them.

>>> nodes = SeverityScoringLogic().process(volume_node)          # doctest: +SKIP
>>> nodes.table.GetNumberOfRows(), nodes.summary                 # doctest: +SKIP
(6, 'Brixia global score 7 / 18 (opacity score 6 / 18); low confidence: B, E')
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lesionai.errors import CancelledError, InputError, ProcessError
from lesionai.mrml import (
    heatmap_volume_node,
    image_from_volume_node,
    place_under,
    scene_transaction,
    segmentation_node_from_labelmaps,
    table_node_from_rows,
)
from lesionai.process import BackgroundProcess, python_command, python_env

from .presentation import (
    TABLE_COLUMNS,
    hide_cold_heat,
    low_confidence_zones,
    record_global_scores,
    summary_line,
    zone_rows,
)

CLI_MODULE = "lesionai.cli"
INPUT_FILE_NAME = "input.nrrd"
LUNGS_FILE_NAME = "lungs.nrrd"
ZONES_FILE_NAME = "zones.nrrd"
RESULT_FILE_NAME = "result.json"
HEATMAP_FILE_NAME = "gradcam.nrrd"  # optional: absent in results from before zone scoring
SAMPLE_NAME = "Chest radiograph phantom"
# Read by lesionai.runtime.default_providers: the child process uses the CPU provider only.
CPU_ONLY_ENV = {"LESIONAI_DEVICE": "cpu"}
STDERR_LINES_REPORTED = 20


@dataclass
class SeverityNodes:
    """The nodes one severity run added to the scene, with what the user should know about it.

    ``result`` is the pipeline's ``SeverityResult`` (labelmaps, zone scores, alignment, models
    used); ``heatmap`` the heat-map volume node, None when the result has no heat map.
    """

    segmentation: Any
    table: Any
    warnings: list[str]
    result: Any
    heatmap: Any = None

    @property
    def global_score(self) -> int | None:
        """Brixia global score 0-18 (None when the zone-severity model did not run)."""
        return getattr(self.result, "global_score", None)

    @property
    def opacity_global_score(self) -> int | None:
        """Sum of the six opacity-extent zone scores, 0-18 (None when not computed)."""
        return getattr(self.result, "opacity_global_score", None)

    @property
    def low_confidence_zones(self) -> list[str]:
        """Letters of the zones whose score the model was unsure about."""
        return low_confidence_zones(self.result.zones)

    @property
    def summary(self) -> str:
        """One line for the user, e.g. "Brixia global score 7 / 18 (opacity score 6 / 18); ..."."""
        return summary_line(self.global_score, self.opacity_global_score, self.low_confidence_zones)


@dataclass
class SeverityJob:
    """A severity run in a child process.

    Call :meth:`poll` until :attr:`running` is False, then hand the job to
    :meth:`SeverityScoringLogic.finish` (or :meth:`SeverityScoringLogic.cancel` it). ``fraction``
    (0..1) and ``message`` follow the latest progress event; ``errors`` collects error events.
    """

    input_node: Any
    process: Any
    job_folder: Path
    output_folder: Path
    fraction: float = 0.0
    message: str = "Starting"
    errors: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.process.running

    def poll(self) -> list[dict]:
        """Events received since the last poll, oldest first; updates fraction, message, errors."""
        events = self.process.poll()
        for event in events:
            self._note(event)
        return events

    def failure_message(self, returncode: int) -> str:
        """What to tell the user when the child exited with ``returncode`` != 0."""
        reason = self.errors[-1] if self.errors else f"the process exited with status {returncode}"
        stderr_tail = "\n".join(self.process.stderr.splitlines()[-STDERR_LINES_REPORTED:])
        message = f"Severity scoring failed: {reason}"
        return f"{message}\n--- last lines of its error output ---\n{stderr_tail}" if stderr_tail else message

    def discard_files(self) -> None:
        """Delete the job's temporary folder (input copy and CLI outputs)."""
        shutil.rmtree(self.job_folder, ignore_errors=True)

    def _note(self, event: dict) -> None:
        if event.get("event") == "progress":
            self.fraction = float(event.get("fraction", self.fraction))
            self.message = str(event.get("message", self.message))
        elif event.get("event") == "error":
            self.errors.append(str(event.get("message", "unknown error")))


class SeverityScoringLogic:
    """Runs SeverityScoring on a volume node and adds the result nodes to a scene.

    ``pipeline``: an object with ``run(image, progress=None) -> SeverityResult`` used by
    :meth:`process`; by default a ``lesionai.severity.pipeline.SeverityPipeline`` created on first
    use (pass ``SeverityPipeline(threads=4)`` to choose threads). ``process_factory``: called as
    ``process_factory(argv, env=...)`` by :meth:`start`; by default
    :class:`lesionai.process.BackgroundProcess`.
    """

    def __init__(self, pipeline=None, process_factory: Callable[..., Any] = BackgroundProcess):
        self._pipeline = pipeline
        self._process_factory = process_factory

    def process(self, volume_node, scene=None, progress=None) -> SeverityNodes:
        """Run the pipeline here and add its nodes to ``scene`` (default: the input's scene).

        ``progress`` is handed to the pipeline's ``run``. Raises InputError, before the scene is
        touched, when the input is not a single-slice scalar volume in a scene.
        """
        scene = scene_for(volume_node, scene)
        result = self.pipeline.run(image_from_volume_node(volume_node), progress=progress)
        return add_result_nodes(scene, volume_node, result)

    def add_sample_radiograph(self, scene, seed: int = 7):
        """Add a generated chest radiograph phantom (1024 x 1024, 0.42 mm pixels, known lungs) to
        ``scene`` as a new scalar volume, to try the module without patient data. Returns the node."""
        from lesionai.mrml import volume_node_from_image
        from lesionai.phantoms.cxr import generate_cxr_phantom

        image = generate_cxr_phantom(seed=seed, size=(1024, 1024)).image
        return volume_node_from_image(scene, image, scene.GenerateUniqueName(SAMPLE_NAME))

    @property
    def pipeline(self):
        if self._pipeline is None:
            from lesionai.severity.pipeline import SeverityPipeline  # loads onnxruntime: only on use

            self._pipeline = SeverityPipeline()
        return self._pipeline

    def start(self, volume_node, workdir=None, *, threads: int = 0, use_gpu: bool = True) -> SeverityJob:
        """Start the severity CLI on ``volume_node`` in a child process and return its job.

        The input is written to ``input.nrrd`` in a fresh temporary folder (created inside
        ``workdir`` when given, else in the system temporary folder; never beside the user's
        files), which :meth:`finish` and :meth:`cancel` delete. ``threads`` > 0 fixes the number of
        inference threads; ``use_gpu`` False keeps inference on the CPU. Raises InputError (before
        anything is written) for an unusable input, ProcessError when the child cannot start.
        """
        check_radiograph_node(volume_node)
        job_folder = Path(tempfile.mkdtemp(prefix="lesionai-severity-", dir=workdir))
        try:
            return self._launch(volume_node, job_folder, threads, use_gpu)
        except BaseException:
            shutil.rmtree(job_folder, ignore_errors=True)
            raise

    def finish(self, job: SeverityJob, scene) -> SeverityNodes:
        """Wait for ``job``, read the CLI outputs and add the result nodes to ``scene``.

        Raises CancelledError for a cancelled job and ProcessError when the child failed or wrote
        no outputs; the scene is then unchanged. The job's temporary folder is deleted either way.
        """
        try:
            returncode = job.process.wait()
            job.poll()
            check_job_succeeded(job, returncode)
            return add_result_nodes(scene, job.input_node, read_cli_result(job.output_folder))
        finally:
            job.discard_files()

    def cancel(self, job: SeverityJob) -> None:
        """Stop ``job``'s process tree (blocks a few seconds at most) and delete its files."""
        try:
            job.process.cancel()
        finally:
            job.discard_files()

    def _launch(self, volume_node, job_folder: Path, threads: int, use_gpu: bool) -> SeverityJob:
        from lesionai.imageio import write_image

        input_path = job_folder / INPUT_FILE_NAME
        write_image(image_from_volume_node(volume_node), input_path)
        output_root = job_folder / "output"
        argv = cli_command(input_path, output_root, threads)
        process = self._process_factory(argv, env=python_env({} if use_gpu else CPU_ONLY_ENV))
        process.start()
        return SeverityJob(volume_node, process, job_folder, output_root / input_path.stem)


def check_radiograph_node(volume_node) -> None:
    """Raise InputError unless ``volume_node`` is a single-slice scalar volume holding voxels.

    Colour (vector) volumes pass: the node adapter turns them into grey luma. Label maps do not.
    Touches nothing: callers run it before creating any node or file.
    """
    if volume_node is None:
        raise InputError("No input volume selected. Select a chest radiograph volume.")
    name = _node_name(volume_node)
    if not _is_scalar_volume(volume_node):
        kind = volume_node.GetClassName() if hasattr(volume_node, "GetClassName") else type(volume_node).__name__
        raise InputError(f"'{name}' is a {kind}; SeverityScoring expects a scalar volume holding a chest radiograph.")
    image_data = volume_node.GetImageData()
    if image_data is None:
        raise InputError(f"Volume '{name}' holds no image data. Load the radiograph again.")
    _check_single_slice(image_data.GetDimensions()[2])


def scene_for(volume_node, scene=None):
    """The scene to add results to: ``scene``, else the input's; validates the input first."""
    check_radiograph_node(volume_node)
    scene = scene if scene is not None else volume_node.GetScene()
    if scene is None:
        raise InputError(f"Volume '{_node_name(volume_node)}' is not in a scene. Add it to the scene first.")
    return scene


def cli_command(input_path: Path, output_root: Path, threads: int = 0) -> list[str]:
    """argv running ``lesionai severity`` on one file with JSON-lines progress on stdout.

    The CLI writes its outputs to ``output_root/<input stem>/``.
    """
    thread_options = ["--threads", int(threads)] if threads and threads > 0 else []
    return python_command(
        CLI_MODULE, "severity", input_path, "-o", output_root, "--progress", "json", *thread_options
    )


def check_job_succeeded(job: SeverityJob, returncode: int) -> None:
    """Raise CancelledError or ProcessError unless the job's child exited normally."""
    if job.process.cancelled:
        raise CancelledError("Severity scoring was cancelled.")
    if returncode != 0:
        raise ProcessError(job.failure_message(returncode))


def read_cli_result(output_folder: Path):
    """The ``SeverityResult`` the CLI wrote to ``output_folder``: lungs.nrrd, zones.nrrd,
    result.json and, when present, the heat map gradcam.nrrd."""
    from lesionai.imageio import read_image
    from lesionai.severity.pipeline import SeverityResult

    output_folder = Path(output_folder)
    _check_outputs_exist(output_folder)
    summary = json.loads((output_folder / RESULT_FILE_NAME).read_text(encoding="utf-8"))
    heatmap_path = output_folder / HEATMAP_FILE_NAME
    return SeverityResult(
        lung_labels=read_image(output_folder / LUNGS_FILE_NAME),
        zone_labels=read_image(output_folder / ZONES_FILE_NAME),
        zones=summary["zones"],
        alignment=summary.get("alignment", {}),
        warnings=list(summary.get("warnings", [])),
        models=summary.get("models", {}),
        timing_s=float(summary.get("timing_s", 0.0)),
        view_probabilities=summary.get("view", {}),
        global_score=summary.get("global_score"),
        opacity_global_score=summary.get("opacity_global_score"),
        heatmap=read_image(heatmap_path) if heatmap_path.is_file() else None,
    )


def add_result_nodes(scene, volume_node, result) -> SeverityNodes:
    """Add the segmentation, zone table and heat map for ``result`` to ``scene``, beside
    ``volume_node``.

    All or nothing: if anything fails, the nodes added so far are removed again.
    """
    name = volume_node.GetName()
    with scene_transaction(scene):
        segmentation = segmentation_node_from_labelmaps(
            scene, result_labelmaps(result), f"{name} lungs and zones", reference_volume_node=volume_node
        )
        table = table_node_from_rows(scene, f"{name} zone scores", list(TABLE_COLUMNS), zone_rows(result.zones))
        record_global_scores(table, result.global_score, result.opacity_global_score)
        table.SetLocked(True)  # the model's scores: edited cells would make the exported CSV misleading
        heatmap = add_heatmap_node(scene, result.heatmap, f"{name} severity heat map")
        for node in (segmentation, table, heatmap):
            if node is not None:
                place_under(scene, node, volume_node)
    return SeverityNodes(segmentation, table, list(result.warnings), result, heatmap)


def result_labelmaps(result) -> list[tuple]:
    """(label map, segment specs) layers of the segmentation: lungs with opacity, then zones."""
    from lesionai.severity.labels import LUNG_LAYER_SEGMENTS, ZONE_SEGMENTS

    return [(result.lung_labels, LUNG_LAYER_SEGMENTS), (result.zone_labels, ZONE_SEGMENTS)]


def add_heatmap_node(scene, heatmap, name: str):
    """A heat-map volume node for the ``heatmap`` Image (cold pixels transparent), or None when
    there is none."""
    if heatmap is None:
        return None
    node = heatmap_volume_node(scene, heatmap, name)
    hide_cold_heat(node)
    return node


def _check_outputs_exist(output_folder: Path) -> None:
    expected = (LUNGS_FILE_NAME, ZONES_FILE_NAME, RESULT_FILE_NAME)
    missing = [file_name for file_name in expected if not (output_folder / file_name).is_file()]
    if missing:
        raise ProcessError(f"Severity scoring finished without writing {', '.join(missing)} in {output_folder}.")


def _check_single_slice(slices: int) -> None:
    if slices != 1:
        raise InputError(f"Input has {slices} slices; SeverityScoring expects a single 2D chest radiograph.")


def _is_scalar_volume(node) -> bool:
    is_a = getattr(node, "IsA", None)
    return bool(is_a and is_a("vtkMRMLScalarVolumeNode") and not is_a("vtkMRMLLabelMapVolumeNode"))


def _node_name(node) -> str:
    get_name = getattr(node, "GetName", None)
    return get_name() if get_name else repr(node)
