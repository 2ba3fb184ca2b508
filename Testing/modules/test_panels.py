"""The module panels' control flow, with Qt replaced by recording stand-ins.

Qt, CTK and the Slicer application (its widgets, cursor and dialogs) cannot exist here, so
``qt``, ``ctk`` and those parts of ``slicer`` are ``MagicMock`` objects; the scene is the real MRML
scene of slicer-core and the logic a small fake that records what the panel asks of it. What is
checked is the panels' own code: Apply starts a job with the options the widgets say, Apply again
cancels it, a finished job is read back and shown, and NoduleFusion runs one job per point.
"""

import sys
from types import ModuleType, SimpleNamespace
from unittest.mock import MagicMock

import pytest
from repo_paths import REPO_ROOT

slicer = pytest.importorskip("slicer")


class WidgetFactory(MagicMock):
    """A Qt class stand-in: every construction gives a new recording widget."""

    def __call__(self, *arguments, **keywords):
        return MagicMock(name=f"{self._mock_name}()")


class FakeQtModule(ModuleType):
    """``qt`` or ``ctk``: any class name is a :class:`WidgetFactory`."""

    def __getattr__(self, name):
        factory = WidgetFactory(name=name)
        setattr(self, name, factory)
        return factory


@pytest.fixture
def fake_application(monkeypatch, scene):
    """``qt``/``ctk`` stand-ins, the Slicer application's widgets stubbed, the real scene as the app's."""
    for name in ("qt", "ctk"):
        monkeypatch.setitem(sys.modules, name, FakeQtModule(name))
    for name in ("qMRMLNodeComboBox", "qMRMLTableView", "qSlicerMarkupsPlaceWidget"):
        monkeypatch.setattr(slicer, name, WidgetFactory(name=name), raising=False)
    for name in ("app", "modules"):
        monkeypatch.setattr(slicer, name, MagicMock(name=name), raising=False)
    monkeypatch.setattr(slicer, "mrmlScene", scene, raising=False)
    monkeypatch.setattr(slicer.util, "setSliceViewerLayers", MagicMock(), raising=False)
    monkeypatch.setattr(slicer.util, "errorDisplay", MagicMock(), raising=False)
    for folder in ("LesionSegmentation", "NoduleFusion"):
        monkeypatch.syspath_prepend(str(REPO_ROOT / folder))
    for module in [name for name in sys.modules if name.startswith(("LesionAICoreLib", "LesionSegmentationLib",
                                                                    "NoduleFusionLib"))]:
        monkeypatch.delitem(sys.modules, module)
    import lesionai.slicer.dependencies as dependencies

    monkeypatch.setattr(dependencies, "ensure_in_slicer", lambda title, **feedback: [])
    return scene


class FakeJob:
    def __init__(self, options):
        self.options, self.running, self.fraction, self.message = options, True, 0.5, "segmenting"

    def poll(self):
        return [{"event": "log", "level": "info", "message": "child log line"}]


class FakeLogic:
    """Records the panel's requests; jobs end when the test says so."""

    def __init__(self, result=None):
        self.started, self.cancelled, self.finished, self.result = [], [], [], result

    def start(self, volume, *arguments, **options):
        self.started.append((volume, arguments, options))
        return FakeJob(options)

    def finish(self, job, scene):
        self.finished.append(job)
        return self.result

    def finish_result(self, job):
        self.finished.append(job)
        return self.result

    def cancel(self, job):
        self.cancelled.append(job)

    def request_cancel(self, job):
        self.stop_requested = [*getattr(self, "stop_requested", []), job]

    def cancel_done(self, job):
        return job.gone  # the test says when the job's process tree is gone


def spine_nodes():
    result = SimpleNamespace(lesion_count=1)
    check = {"anatomy": {"label": "spine"}, "region": {"label": "cervical"}, "view": {"label": "sagittal"},
             "contrast": {"label": "T2w"}}
    return SimpleNamespace(scan_check=check, summary="spinal cord 2.31 cm3; 1 lesion (20 mm3)", lesion_table="table",
                           warnings=["check the lesion"], csa_plot="plot", result=result)


def test_spine_panel_starts_with_the_chosen_options_and_shows_the_scan_check(fake_application):
    from LesionSegmentationLib.widget import LesionSegmentationPanel

    logic = FakeLogic(spine_nodes())
    panel = LesionSegmentationPanel(MagicMock(), logic)
    assert panel.applyButton.text == "Apply"
    panel.lesionsCheckBox.checked, panel.forceCheckBox.checked = False, True
    panel.onApplyButton()
    (_, _, options), = logic.started
    assert options == {"options": ["--no-lesions", "--force"]} and panel.applyButton.text == "Cancel"
    panel._job.running = False
    panel.onPollJob()
    assert logic.finished and panel.applyButton.text == "Apply"
    assert panel.scanCheckLabel.text == "anatomy: spine | region: cervical | view: sagittal | contrast: T2w"
    assert panel.warningsLabel.text == "Warning: check the lesion"


def test_spine_panel_shows_a_refusal_as_an_error_naming_its_force_checkbox(fake_application, monkeypatch):
    from LesionSegmentationLib import widget

    from lesionai.errors import ProcessError
    from lesionai.spine.pipeline import HOW_TO_FORCE, NOT_SPINE

    class RefusingLogic(FakeLogic):
        def finish(self, job, scene):
            raise ProcessError(f"LesionSegmentation failed: 'chest CT': {NOT_SPINE}: anatomy: CT. {HOW_TO_FORCE}.")

    monkeypatch.setattr(slicer.app, "testingEnabled", lambda: False)
    panel = widget.LesionSegmentationPanel(MagicMock(), RefusingLogic())
    panel.scanCheckLabel.text = "anatomy: spine"  # the previous run's
    panel.onApplyButton()
    panel._job.running = False
    with pytest.raises(ProcessError):
        panel.onPollJob()
    (message,), _ = slicer.util.errorDisplay.call_args
    assert "'chest CT': Not segmented" in message and f"tick '{widget.FORCE_LABEL}'" in message
    assert panel.scanCheckLabel.text == "" and panel.applyButton.text == "Apply" and panel._job is None


def test_apply_while_running_cancels_the_job(fake_application):
    from LesionSegmentationLib.widget import LesionSegmentationPanel

    logic = FakeLogic(spine_nodes())
    panel = LesionSegmentationPanel(MagicMock(), logic)
    panel.onApplyButton()
    job = panel._job
    job.gone = False
    panel.onApplyButton()
    assert logic.stop_requested == [job] and not logic.cancelled  # asked to stop; the GUI did not wait
    assert panel._job is None and panel.applyButton.text == "Apply"
    panel._pollTimer.reset_mock()
    panel.onPollJob()  # the child is still stopping: the timer keeps finishing the cancel
    assert panel._stopping == [job] and not panel._pollTimer.stop.called
    job.gone = True
    panel.onPollJob()
    assert panel._stopping == [] and panel._pollTimer.stop.called


def test_closing_the_module_waits_for_a_stopping_job(fake_application):
    from LesionSegmentationLib.widget import LesionSegmentationPanel

    logic = FakeLogic(spine_nodes())
    panel = LesionSegmentationPanel(MagicMock(), logic)
    panel.onApplyButton()
    job = panel._job
    job.gone = False
    panel.cleanup()
    assert logic.stop_requested == [job] and logic.cancelled == [job] and panel._stopping == []


def test_nodule_panel_runs_one_job_per_point_and_adds_them_together(fake_application, monkeypatch):
    import NoduleFusionLib.widget as widget

    added = []
    monkeypatch.setattr(widget, "add_result_nodes", lambda scene, volume, results, points: added.append(
        (results, points)) or SimpleNamespace(summary="nodule 1: p = 0.80", table="table", warnings=[]))
    points = fake_application.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "nodules")
    points.AddControlPoint(1.0, 2.0, 3.0)
    points.AddControlPoint(4.0, 5.0, 6.0)
    logic = FakeLogic(result="a nodule result")
    panel = widget.NoduleFusionPanel(MagicMock(), logic)
    panel.pointsSelector.currentNode.return_value = points
    panel.ageSpinBox.value, panel.sexComboBox.currentIndex, panel.sexComboBox.currentText = 61, 1, "F"
    panel.onApplyButton()
    for _ in range(2):
        panel._job.running = False
        panel.onPollJob()
    assert [call[1][0] for call in logic.started] == [(1.0, 2.0, 3.0), (4.0, 5.0, 6.0)]
    assert logic.started[0][2] == {"age": 61, "sex": "F"}
    assert added == [(["a nodule result"] * 2, [(1.0, 2.0, 3.0), (4.0, 5.0, 6.0)])]
    assert panel.probabilityLabel.text == "nodule 1: p = 0.80" and panel._job is None


def test_a_declined_install_starts_nothing_and_says_why(fake_application, monkeypatch):
    import lesionai.slicer.dependencies as dependencies
    from lesionai.errors import DependencyError
    from LesionSegmentationLib.widget import LesionSegmentationPanel

    def decline(title, **feedback):
        raise DependencyError("the user declined installing onnxruntime")

    monkeypatch.setattr(dependencies, "ensure_in_slicer", decline)
    logic = FakeLogic(spine_nodes())
    panel = LesionSegmentationPanel(MagicMock(), logic)
    panel.onApplyButton()
    assert not logic.started and panel._job is None
    (message,), _ = slicer.util.errorDisplay.call_args
    assert "declined installing onnxruntime" in message


def test_severity_panel_asks_the_command_line_to_score_anyway_when_force_is_ticked(fake_application, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO_ROOT / "SeverityScoring"))
    for module in [name for name in sys.modules if name.startswith("SeverityScoringLib")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(slicer.util, "childWidgetVariables", lambda widget: MagicMock(name="ui"), raising=False)
    from SeverityScoringLib.widget import SeverityScoringPanel

    chosen = MagicMock(name="parameters", inputVolume="chest", threads=0, useGPU=True, force=False)
    logic = FakeLogic(None)
    logic.getParameterNode = lambda: chosen
    panel = SeverityScoringPanel(MagicMock(), logic)
    panel.onApplyButton()
    panel.cancelJob()
    chosen.force = True
    panel.onApplyButton()
    panel.cleanup()  # the panel observes the real scene: stop before the scene goes
    assert [options for _, _, options in logic.started] == [
        {"threads": 0, "use_gpu": True, "options": []}, {"threads": 0, "use_gpu": True, "options": ["--force"]}]
