"""SeverityScoringLogic on the real MRML library (slicer-core): what a Slicer user would see.

A run adds one segmentation ("<input> lungs and zones": right/left lung, opacity and zones A-F) and
one table ("<input> zone scores": six rows) under the input volume (scores, heat map and CSV export:
test_severity_presentation.py); an unusable input or a failed run
raises a LesionAI error and leaves the scene exactly as it was.

Most tests stand in for the trained models with :class:`ThirdsPipeline` (lungs from the phantom's
ground truth, zones = thirds of each lung) and for the CLI child process with
:class:`FakeCliProcess` (writes the CLI's output folder in-process, through the task's real result
writer): the logic's contract is about nodes, files and processes, not about model accuracy. The
last tests run the shipped models and the real CLI.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from repo_paths import REPO_ROOT as ROOT

if str(ROOT / "SeverityScoring") not in sys.path:
    sys.path.insert(0, str(ROOT / "SeverityScoring"))


slicer = pytest.importorskip("slicer")
if not hasattr(slicer, "vtkMRMLScene"):
    pytest.skip("the MRML library (slicer-core) is not installed", allow_module_level=True)
from segmentation_checks import ZONE_LEVELS, segment_names, segment_voxel_count, zone_labels_by_thirds
from SeverityScoringLib import logic

import lesionai.phantoms.cxr as phantom_module
import lesionai.severity.pipeline as pipeline_module
from lesionai import imageio, mrml
from lesionai.errors import CancelledError, InputError, ModelError, ProcessError
from lesionai.severity import labels
from lesionai.tasks import task

# ---------------------------------------------------------------------------------------------
# Stand-ins for the trained models and the CLI child process


def thirds_result(lung_labels: np.ndarray, image, warnings=(), view_probabilities=None):
    """A SeverityResult whose zones split each lung into upper/middle/lower thirds by row."""
    zones = zone_labels_by_thirds(lung_labels)
    pixel_area = image.geometry.spacing[0] * image.geometry.spacing[1]
    counts = np.bincount(zones.ravel(), minlength=7)
    table = {letter: {"area_mm2": float(counts[index + 1] * pixel_area), "lung": lung, "level": level}
             for index, (letter, (lung, level)) in enumerate(ZONE_LEVELS.items())}
    return pipeline_module.SeverityResult(
        lung_labels=image.with_array(lung_labels.astype(np.uint8)), zone_labels=image.with_array(zones),
        zones=table, alignment={}, warnings=list(warnings), models={"fake": "0"}, timing_s=0.0,
        view_probabilities=dict(view_probabilities or {}))


class ThirdsPipeline:
    """Pipeline stand-in: remembers the images it was given; fails with ``error`` when set."""

    def __init__(self, lung_labels: np.ndarray, warnings=(), error: Exception | None = None):
        self.lung_labels, self.warnings, self.error = lung_labels, warnings, error
        self.images = []

    def run(self, image, progress=None):
        self.images.append(image)
        if progress is not None:
            progress(0.5, "segmenting")
        if self.error is not None:
            raise self.error
        return thirds_result(self.lung_labels, image, self.warnings)


class FakeCliProcess:
    """In-process stand-in for ``python -m lesionai.cli severity INPUT -o OUT --progress json --outputs ...``.

    ``start`` reads INPUT and writes the case folder OUT/<stem>/ with the severity task's own result
    writer (``task("severity").write_case``, as the CLI does), so its files follow
    the output contract, and writes the files ``--outputs`` chooses, as the CLI does; nothing is
    written when ``returncode`` is non-zero. It queues the progress events the CLI would print.
    """

    def __init__(self, argv, env=None, lung_labels=None, returncode=0, error_message=None, write_outputs=True):
        self.argv, self.env = [str(argument) for argument in argv], dict(env or {})
        self.lung_labels, self.exit_status = lung_labels, returncode
        self.error_message, self.write_outputs = error_message, write_outputs
        self.cancelled = self.started = False
        self.stderr = ""
        self._events = []

    @property
    def input_path(self) -> Path:
        return Path(self.argv[self.argv.index("severity") + 1])

    @property
    def case_folder(self) -> Path:
        return Path(self.argv[self.argv.index("-o") + 1]) / self.input_path.stem

    @property
    def case_files(self) -> tuple:
        """The files ``--outputs`` asks for (``all`` when it is not given, as for the CLI)."""
        chosen = self.argv[self.argv.index("--outputs") + 1] if "--outputs" in self.argv else "all"
        return task("severity").case_files(chosen)

    def start(self):
        self.started = True
        self._events.append({"event": "progress", "fraction": 0.3, "message": "segmenting the lungs"})
        if self.exit_status != 0:
            self._events.append({"event": "error", "message": self.error_message, "type": "InputError"})
            self.stderr = "Traceback (most recent call last): ..."
        elif self.write_outputs:
            self._write_case(imageio.read_image(self.input_path))
        return self

    def _write_case(self, image):
        result = thirds_result(self.lung_labels, image, ["lungs look small"], view_probabilities={"PA": 0.9})
        task("severity").write_case(image, result, self.case_folder, self.input_path.name,
                                                   files=self.case_files)
        self._events.append({"event": "progress", "fraction": 1.0, "message": "done"})

    def poll(self):
        events, self._events = self._events, []
        return events

    @property
    def running(self):
        return False

    @property
    def returncode(self):
        return None if self.cancelled else self.exit_status

    def wait(self, timeout=None):
        return -15 if self.cancelled else self.exit_status

    def cancel(self):
        self.cancelled = True


class FakeCliFactory:
    """``process_factory`` for the logic that builds (and keeps) :class:`FakeCliProcess` objects."""

    def __init__(self, **options):
        self.options = options
        self.processes = []

    def __call__(self, argv, env=None):
        self.processes.append(FakeCliProcess(argv, env, **self.options))
        return self.processes[-1]


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture
def full_size_radiograph(scene):
    """A phantom large enough for the real models (they need at least 128 px per side)."""
    image = phantom_module.generate_cxr_phantom(seed=3, size=(512, 448)).image
    return mrml.volume_node_from_image(scene, image, "chest")


@pytest.fixture(autouse=True)
def private_temp_folder(tmp_path, monkeypatch):
    """The system temporary folder, redirected so each test can see what the logic left there."""
    folder = tmp_path / "system-temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def node_count(scene) -> int:
    return scene.GetNumberOfNodes()




def table_rows(table_node) -> list[list]:
    table = table_node.GetTable()
    columns = [table.GetColumn(index) for index in range(table.GetNumberOfColumns())]
    return [[column.GetValue(row) for column in columns] for row in range(table.GetNumberOfRows())]


def table_columns(table_node) -> list[str]:
    table = table_node.GetTable()
    return [table.GetColumn(index).GetName() for index in range(table.GetNumberOfColumns())]


def hierarchy_parent(scene, node) -> int:
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    return hierarchy.GetItemParent(hierarchy.GetItemByDataNode(node))


def hierarchy_item(scene, node) -> int:
    return slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene).GetItemByDataNode(node)


def assert_lungs_and_six_zones(nodes, input_name: str):
    assert nodes.segmentation.GetName() == f"{input_name} lungs and zones"
    assert nodes.table.GetName() == f"{input_name} zone scores"
    expected = [spec.name for spec in labels.LUNG_LAYER_SEGMENTS + labels.ZONE_SEGMENTS]
    assert segment_names(nodes.segmentation) == expected
    assert {"right lung", "left lung"} <= set(expected)
    assert table_columns(nodes.table)[:4] == ["zone", "lung", "level", "area_mm2"]
    assert [row[0] for row in table_rows(nodes.table)] == list("ABCDEF")


# ---------------------------------------------------------------------------------------------
# Unusable inputs: InputError, scene untouched, no files written


def volume_with_array(scene, array: np.ndarray, name="volume", class_name="vtkMRMLScalarVolumeNode"):
    node = scene.AddNewNodeByClass(class_name, name)
    slicer.util.updateVolumeFromArray(node, array)
    return node


def unusable_inputs(scene):
    """(description, node, expected message fragment) for inputs SeverityScoring must refuse."""
    volume_without_voxels = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "empty")
    outside = slicer.vtkMRMLScalarVolumeNode()
    outside.SetName("outside")
    slicer.util.updateVolumeFromArray(outside, np.zeros((1, 8, 8), np.float32))
    return {
        "nothing selected": (None, "No input volume selected"),
        "ct volume": (volume_with_array(scene, np.zeros((64, 8, 8), np.float32), "ct"),
                      "Input has 64 slices; SeverityScoring expects a single 2D chest radiograph"),
        "label map": (volume_with_array(scene, np.zeros((1, 8, 8), np.uint8), "mask", "vtkMRMLLabelMapVolumeNode"),
                      "vtkMRMLLabelMapVolumeNode"),
        "model": (scene.AddNewNodeByClass("vtkMRMLModelNode", "surface"), "vtkMRMLModelNode"),
        "no voxels": (volume_without_voxels, "holds no image data"),
        "not in a scene": (outside, "not in a scene"),
    }


INPUT_CASES = ["nothing selected", "ct volume", "label map", "model", "no voxels", "not in a scene"]


@pytest.mark.parametrize("case", INPUT_CASES)
def test_process_refuses_unusable_input_and_leaves_scene_unchanged(scene, phantom, case):
    node, message = unusable_inputs(scene)[case]
    pipeline = ThirdsPipeline(phantom.lung_labels)
    before = node_count(scene)
    with pytest.raises(InputError, match=message):
        logic.SeverityScoringLogic(pipeline=pipeline).process(node)
    assert node_count(scene) == before
    assert pipeline.images == []


@pytest.mark.parametrize("case", [case for case in INPUT_CASES if case != "not in a scene"])
def test_start_refuses_unusable_input_without_writing_files(scene, tmp_path, case, private_temp_folder):
    node, message = unusable_inputs(scene)[case]
    factory = FakeCliFactory()
    workdir = tmp_path / "work"
    workdir.mkdir()
    before = node_count(scene)
    with pytest.raises(InputError, match=message):
        logic.SeverityScoringLogic(process_factory=factory).start(node, workdir=workdir)
    assert node_count(scene) == before
    assert factory.processes == []
    assert list(workdir.iterdir()) == [] and list(private_temp_folder.iterdir()) == []


def test_colour_radiograph_is_accepted(scene, phantom):
    rgb = np.repeat(phantom.image.array[..., np.newaxis], 3, axis=-1)
    node = volume_with_array(scene, rgb, "colour", "vtkMRMLVectorVolumeNode")
    nodes = logic.SeverityScoringLogic(pipeline=ThirdsPipeline(phantom.lung_labels)).process(node)
    assert nodes.table.GetNumberOfRows() == 6


# ---------------------------------------------------------------------------------------------
# Blocking runs


def test_process_adds_lungs_zones_and_zone_table(scene, radiograph, phantom):
    nodes = logic.SeverityScoringLogic(pipeline=ThirdsPipeline(phantom.lung_labels)).process(radiograph)
    assert_lungs_and_six_zones(nodes, "chest")
    assert segment_voxel_count(nodes.segmentation, "right lung") == int((phantom.lung_labels == 1).sum())
    assert segment_voxel_count(nodes.segmentation, "left lung") == int((phantom.lung_labels == 2).sum())


def test_zone_table_holds_the_pipeline_areas(scene, radiograph, phantom):
    nodes = logic.SeverityScoringLogic(pipeline=ThirdsPipeline(phantom.lung_labels)).process(radiograph)
    expected = [[letter, zone["lung"], zone["level"], pytest.approx(zone["area_mm2"])]
                for letter, zone in sorted(nodes.result.zones.items())]
    assert [row[:4] for row in table_rows(nodes.table)] == expected
    assert all(row[3] > 0 for row in table_rows(nodes.table))


def test_process_runs_the_pipeline_on_the_input_voxels_and_reports_progress(scene, radiograph, phantom):
    pipeline = ThirdsPipeline(phantom.lung_labels)
    reported = []
    logic.SeverityScoringLogic(pipeline=pipeline).process(radiograph, progress=lambda *step: reported.append(step))
    (image,) = pipeline.images
    np.testing.assert_array_equal(image.array, phantom.image.array)
    assert image.geometry == phantom.image.geometry
    assert reported == [(0.5, "segmenting")]


def test_results_are_placed_under_the_input(scene, radiograph, phantom):
    nodes = logic.SeverityScoringLogic(pipeline=ThirdsPipeline(phantom.lung_labels)).process(radiograph)
    assert hierarchy_parent(scene, nodes.segmentation) == hierarchy_item(scene, radiograph)
    assert hierarchy_parent(scene, nodes.table) == hierarchy_item(scene, radiograph)


def test_results_go_to_the_given_scene(phantom):
    source_scene, target_scene = slicer.vtkMRMLScene(), slicer.vtkMRMLScene()
    volume = mrml.volume_node_from_image(source_scene, phantom.image, "chest")
    target_before = node_count(target_scene)
    nodes = logic.SeverityScoringLogic(pipeline=ThirdsPipeline(phantom.lung_labels)).process(volume, target_scene)
    assert nodes.segmentation.GetScene() is target_scene and nodes.table.GetScene() is target_scene
    assert node_count(target_scene) > target_before


def test_pipeline_warnings_are_returned(scene, radiograph, phantom):
    pipeline = ThirdsPipeline(phantom.lung_labels, warnings=["Lateral view suspected"])
    assert logic.SeverityScoringLogic(pipeline=pipeline).process(radiograph).warnings == ["Lateral view suspected"]


def test_pipeline_failure_leaves_scene_unchanged(scene, radiograph, phantom):
    pipeline = ThirdsPipeline(phantom.lung_labels, error=ModelError("Model cxr-lung-unet is missing"))
    before = node_count(scene)
    with pytest.raises(ModelError, match="cxr-lung-unet"):
        logic.SeverityScoringLogic(pipeline=pipeline).process(radiograph)
    assert node_count(scene) == before


def test_failure_while_adding_nodes_removes_the_nodes_already_added(scene, radiograph, phantom, monkeypatch):
    def broken_table(*arguments, **keywords):
        raise RuntimeError("table could not be created")

    monkeypatch.setattr(logic, "table_node_from_rows", broken_table)
    before = node_count(scene)
    with pytest.raises(RuntimeError, match="table could not be created"):
        logic.SeverityScoringLogic(pipeline=ThirdsPipeline(phantom.lung_labels)).process(radiograph)
    assert node_count(scene) == before
    assert scene.GetFirstNodeByClass("vtkMRMLSegmentationNode") is None


# ---------------------------------------------------------------------------------------------
# Background runs through the CLI


def test_start_writes_the_input_to_a_fresh_temporary_folder(scene, radiograph, phantom, private_temp_folder):
    factory = FakeCliFactory(lung_labels=phantom.lung_labels)
    job = logic.SeverityScoringLogic(process_factory=factory).start(radiograph)
    (process,) = factory.processes
    assert process.started
    assert process.input_path.parent == job.job_folder
    assert job.job_folder.parent == private_temp_folder
    written = imageio.read_image(process.input_path)
    np.testing.assert_allclose(written.array, phantom.image.array)
    assert written.geometry == phantom.image.geometry


def test_start_never_writes_beside_the_users_files(scene, radiograph, phantom, tmp_path):
    user_folder = tmp_path / "patient"
    user_folder.mkdir()
    storage = scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.SetFileName(str(user_folder / "chest.nrrd"))
    radiograph.SetAndObserveStorageNodeID(storage.GetID())
    factory = FakeCliFactory(lung_labels=phantom.lung_labels)
    logic_ = logic.SeverityScoringLogic(process_factory=factory)
    first, second = logic_.start(radiograph), logic_.start(radiograph)
    assert list(user_folder.iterdir()) == []
    assert first.job_folder != second.job_folder


def test_cli_command_and_environment(scene, radiograph, phantom, tmp_path):
    factory = FakeCliFactory(lung_labels=phantom.lung_labels)
    logic_ = logic.SeverityScoringLogic(process_factory=factory)
    logic_.start(radiograph, workdir=tmp_path)
    logic_.start(radiograph, workdir=tmp_path, threads=3, use_gpu=False)
    automatic, chosen = factory.processes
    assert automatic.argv[1:4] == ["-m", "lesionai.cli", "severity"]
    assert automatic.argv[automatic.argv.index("--progress") + 1] == "json"
    assert "--threads" not in automatic.argv and "LESIONAI_DEVICE" not in automatic.env
    assert chosen.argv[chosen.argv.index("--threads") + 1] == "3"
    assert chosen.env["LESIONAI_DEVICE"] == "cpu"
    assert str(ROOT / "LesionAICore") in automatic.env["PYTHONPATH"].split(os.pathsep)


def test_poll_follows_progress_events(scene, radiograph, phantom, tmp_path):
    job = logic.SeverityScoringLogic(process_factory=FakeCliFactory(lung_labels=phantom.lung_labels)).start(
        radiograph, workdir=tmp_path)
    events = job.poll()
    assert [event["event"] for event in events] == ["progress", "progress"]
    assert (job.fraction, job.message) == (1.0, "done")
    assert not job.running


def test_finish_adds_the_same_nodes_and_deletes_the_temporary_folder(scene, radiograph, phantom):
    logic_ = logic.SeverityScoringLogic(process_factory=FakeCliFactory(lung_labels=phantom.lung_labels))
    job = logic_.start(radiograph)
    nodes = logic_.finish(job, scene)
    assert_lungs_and_six_zones(nodes, "chest")
    assert segment_voxel_count(nodes.segmentation, "right lung") == int((phantom.lung_labels == 1).sum())
    assert nodes.warnings == ["lungs look small"]
    assert nodes.result.view_probabilities == {"PA": 0.9}
    assert hierarchy_parent(scene, nodes.table) == hierarchy_item(scene, radiograph)
    assert not job.job_folder.exists()


def test_failed_cli_raises_its_error_and_leaves_scene_unchanged(scene, radiograph):
    message = "Input has 3 slices; SeverityScoring expects a single 2D chest radiograph"
    logic_ = logic.SeverityScoringLogic(process_factory=FakeCliFactory(returncode=1, error_message=message))
    job = logic_.start(radiograph)
    job.poll()
    before = node_count(scene)
    with pytest.raises(ProcessError, match="Input has 3 slices") as raised:
        logic_.finish(job, scene)
    assert "last lines of its error output" in str(raised.value)
    assert node_count(scene) == before
    assert job.errors == [message]
    assert not job.job_folder.exists()


def test_missing_cli_outputs_raise_process_error(scene, radiograph, phantom):
    factory = FakeCliFactory(lung_labels=phantom.lung_labels, write_outputs=False)
    logic_ = logic.SeverityScoringLogic(process_factory=factory)
    job = logic_.start(radiograph)
    before = node_count(scene)
    with pytest.raises(ProcessError, match="lungs.nrrd, zones.nrrd, result.json"):
        logic_.finish(job, scene)
    assert node_count(scene) == before


def test_cancel_stops_the_process_and_deletes_the_temporary_folder(scene, radiograph, phantom):
    factory = FakeCliFactory(lung_labels=phantom.lung_labels)
    logic_ = logic.SeverityScoringLogic(process_factory=factory)
    job = logic_.start(radiograph)
    before = node_count(scene)
    logic_.cancel(job)
    assert factory.processes[0].cancelled
    assert not job.job_folder.exists()
    with pytest.raises(CancelledError):
        logic_.finish(job, scene)
    assert node_count(scene) == before


def test_real_cli_child_reports_its_error_and_leaves_scene_unchanged(scene):
    """The real CLI in a real child process (no models needed: it refuses a blank image first)."""
    blank = volume_with_array(scene, np.full((1, 160, 160), 7.0, np.float32), "blank")
    logic_ = logic.SeverityScoringLogic()
    job = logic_.start(blank)
    job.process.wait(timeout=120)
    before = node_count(scene)
    with pytest.raises(ProcessError, match="blank"):
        logic_.finish(job, scene)
    assert any("blank" in error for error in job.errors)
    assert node_count(scene) == before
    assert not job.job_folder.exists()


# ---------------------------------------------------------------------------------------------
# Qt-free


def test_logic_imports_without_qt_or_the_slicer_application():
    import subprocess

    code = ("import sys; sys.modules.update(qt=None, ctk=None, slicer=None); "
            "from SeverityScoringLib import logic; print(logic.SeverityScoringLogic.__name__)")
    environment_path = [str(ROOT / "SeverityScoring"), str(ROOT / "LesionAICore")]
    completed = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                               env={"PYTHONPATH": os.pathsep.join(environment_path)})
    assert completed.returncode == 0, completed.stderr


def test_logic_never_reaches_for_the_application_scene_or_gui():
    import ast

    tree = ast.parse((ROOT / "SeverityScoring" / "SeverityScoringLib" / "logic.py").read_text(encoding="utf-8"))
    application_attributes = [
        f"slicer.{node.attr}" for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ("app", "mrmlScene")
        and isinstance(node.value, ast.Name) and node.value.id == "slicer"
    ]
    top_level_imports = set()
    for statement in tree.body:  # slicer may be imported inside functions, never at import time
        if isinstance(statement, ast.Import):
            top_level_imports |= {alias.name.split(".")[0] for alias in statement.names}
        elif isinstance(statement, ast.ImportFrom) and statement.module:
            top_level_imports.add(statement.module.split(".")[0])
    assert application_attributes == [], "logic.py must take the scene as an argument"
    assert not top_level_imports & {"qt", "ctk", "slicer"}, "logic.py imports Qt or slicer at import time"


# ---------------------------------------------------------------------------------------------
# With the shipped models


@pytest.fixture(scope="module")
def installed_models():
    """The shipped registry; the severity models are part of the package, so one missing is a failure."""
    from lesionai.registry import ModelRegistry

    registry = ModelRegistry.load()
    needed = (pipeline_module.VIEW_MODEL, pipeline_module.LUNG_MODEL, pipeline_module.ALIGNMENT_MODEL)
    assert all(model_id in registry for model_id in needed), f"severity models missing from the registry: {needed}"
    failures = [result.message for result in registry.verify() if result.id in needed and not result.ok]
    assert not failures, f"shipped severity model weights do not match the registry: {failures}"
    return registry


def test_real_pipeline_on_phantom(installed_models, scene, full_size_radiograph):
    pipeline = pipeline_module.SeverityPipeline(registry=installed_models, threads=1)
    nodes = logic.SeverityScoringLogic(pipeline=pipeline).process(full_size_radiograph)
    assert_lungs_and_six_zones(nodes, "chest")
    assert segment_voxel_count(nodes.segmentation, "right lung") > 0
    assert segment_voxel_count(nodes.segmentation, "left lung") > 0


def test_real_cli_in_background_on_phantom(installed_models, scene, full_size_radiograph):
    logic_ = logic.SeverityScoringLogic()
    job = logic_.start(full_size_radiograph, threads=1)
    job.process.wait(timeout=300)
    nodes = logic_.finish(job, scene)
    assert_lungs_and_six_zones(nodes, "chest")
    assert job.fraction == 1.0


def test_sample_radiograph_is_added_and_scored_like_a_real_one(installed_models, scene):
    logic_ = logic.SeverityScoringLogic(pipeline=pipeline_module.SeverityPipeline(registry=installed_models, threads=1))
    first, second = logic_.add_sample_radiograph(scene), logic_.add_sample_radiograph(scene)
    assert first.GetName() == logic.SAMPLE_NAME and second.GetName() != first.GetName()
    assert slicer.util.arrayFromVolume(first).shape == (1, 1024, 1024)
    nodes = logic_.process(first)
    assert_lungs_and_six_zones(nodes, logic.SAMPLE_NAME)
    assert nodes.warnings == []
