"""SeverityScoring: right/left lungs, opacity, Brixia zones A-F and their scores on a chest radiograph.

This file only wires the panel to the Qt-free ``SeverityScoringLib`` (logic, presentation of the
results and typed parameters).
The widget needs the Slicer application: it is checked statically by Testing/test_ui_names.py and
run by SeverityScoringTest inside Slicer; the logic is tested headlessly.
"""

import logging
import time

import qt
import slicer
import vtk
from slicer.parameterNodeWrapper import parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule, ScriptedLoadableModuleLogic, ScriptedLoadableModuleTest, ScriptedLoadableModuleWidget)
from slicer.util import VTKObservationMixin

from lesionai.dependencies import ensure_in_slicer

from SeverityScoringLib import logic as severity
from SeverityScoringLib import parameters, presentation

# A fresh class: parameterNodeWrapper rewrites the class it decorates, the dataclass stays plain.
SeverityScoringParameterNode = parameterNodeWrapper(
    type("SeverityScoringParameterNode", (), {"__module__": __name__, **parameters.wrapper_namespace(slicer)}))
POLL_INTERVAL_MS = 200


class SeverityScoring(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "Severity Scoring"
        self.parent.categories = ["LesionAI"]
        self.parent.dependencies = ["LesionAICore"]
        self.parent.contributors = ["LesionAI contributors"]
        self.parent.helpText = (
            "Segments the right and left lungs and the opacities on a frontal chest radiograph, divides the lungs "
            "into the six Brixia zones A-F and scores each zone 0-3; shows the global score (0-18), a zone table "
            "that flags low-confidence zones and can be exported to CSV, and a heat map of where the model "
            "looked. Select the radiograph and press Apply; the run happens in a background process and can be "
            "cancelled. For research use only, not for diagnosis.")
        self.parent.acknowledgementText = (
            "LesionAI is open source (Apache-2.0). Its models were trained on public chest X-ray datasets; the "
            "model registry shipped with the extension credits each dataset and states its licence.")
        slicer.app.connect("startupCompleted()", loadTerminology)


def loadTerminology():
    """Let the segment editor offer the terms of the lungs and zones (Terminologies module)."""
    try:
        from lesionai.terminology import load_into_slicer

        load_into_slicer(slicer.modules.terminologies.logic())
    except Exception as error:  # the segments keep their codes; only the editor's term list lacks them
        logging.warning(f"LesionAI terminology context not loaded: {error}")


class SeverityScoringWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = self._parameterNode = self._parameterNodeGuiTag = self._job = None
        self._dependenciesReady = False
        self._pollTimer = qt.QTimer()
        self._pollTimer.setInterval(POLL_INTERVAL_MS)
        self._pollTimer.connect("timeout()", self.onPollJob)

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/SeverityScoring.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = SeverityScoringLogic()
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.ui.sampleButton.connect("clicked(bool)", self.onSampleButton)
        self.ui.exportTableButton.connect("clicked(bool)", self.onExportTableButton)
        self._setRunning(False)
        self.initializeParameterNode()

    def cleanup(self):
        self._cancelJob()
        self.removeObservers()

    def enter(self):
        self.initializeParameterNode()

    def exit(self):
        self._disconnectParameterNode()

    def onSceneStartClose(self, caller, event):
        self._cancelJob()
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event):
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self):
        self.setParameterNode(self.logic.getParameterNode())
        if not self._parameterNode.inputVolume:
            self._parameterNode.inputVolume = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")

    def setParameterNode(self, parameterNode):
        self._disconnectParameterNode()
        self._parameterNode = parameterNode
        if parameterNode:
            self._parameterNodeGuiTag = parameterNode.connectGui(self.ui)
            self.addObserver(parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateApplyButton)
            self.addObserver(parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateResults)
        self._updateApplyButton()
        self._updateResults()

    def _disconnectParameterNode(self):
        if self._parameterNode and self._parameterNodeGuiTag is not None:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateApplyButton)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateResults)

    def _updateApplyButton(self, caller=None, event=None):
        hasInput = bool(self._parameterNode and self._parameterNode.inputVolume)
        self.ui.applyButton.enabled = self._job is not None or hasInput
        self.ui.applyButton.toolTip = "Segment lungs and zones" if hasInput else "Select a chest radiograph first"

    def _updateResults(self, caller=None, event=None):
        chosen = self._parameterNode
        if not chosen:
            return
        presentation.show_results(chosen.outputSegmentation, chosen.outputHeatmap, zones=chosen.showZones,
                                  opacity=chosen.showOpacity, heatmap=chosen.showHeatmap)
        self.ui.globalScoreLabel.text = presentation.score_text(chosen.outputTable)
        self.ui.lowConfidenceLabel.text = presentation.low_confidence_text(chosen.outputTable)
        self.ui.lowConfidenceLabel.visible = bool(self.ui.lowConfidenceLabel.text)
        self.ui.exportTableButton.enabled = chosen.outputTable is not None

    def onApplyButton(self):
        if self._job is not None:
            self._cancelJob()
            return
        with slicer.util.tryWithErrorDisplay("Could not start severity scoring.", waitCursor=True):
            if not self._dependenciesReady:
                ensure_in_slicer("SeverityScoring")
                self._dependenciesReady = True
            chosen = self._parameterNode
            self._job = self.logic.start(chosen.inputVolume, threads=chosen.threads, use_gpu=chosen.useGPU)
            self._showWarnings([])
            self._setRunning(True)

    def onSampleButton(self):
        with slicer.util.tryWithErrorDisplay("Could not add the sample radiograph.", waitCursor=True):
            volume = self.logic.add_sample_radiograph(slicer.mrmlScene)
            self._parameterNode.inputVolume = volume
            slicer.util.setSliceViewerLayers(background=volume, fit=True, rotateToVolumePlane=True)

    def onExportTableButton(self):
        table = self._parameterNode.outputTable
        path = qt.QFileDialog.getSaveFileName(
            slicer.util.mainWindow(), "Export zone table", presentation.csv_file_name(table), "CSV files (*.csv)")
        if path:
            with slicer.util.tryWithErrorDisplay("Could not export the zone table.", waitCursor=True):
                presentation.export_table_csv(table, path, overwrite=True)  # the dialog asked before replacing

    def onPollJob(self):
        self._job.poll()
        self.ui.progressBar.value = int(round(100 * self._job.fraction))
        self.ui.progressBar.format = f"{self._job.message}  %p%"
        if self._job.running:
            return
        job, self._job = self._job, None
        self._setRunning(False)
        with slicer.util.tryWithErrorDisplay("Severity scoring failed.", waitCursor=True):
            nodes = self.logic.finish(job, slicer.mrmlScene)
            parameterNode = self.logic.getParameterNode()  # also valid while another module is shown
            parameterNode.outputSegmentation, parameterNode.outputTable = nodes.segmentation, nodes.table
            parameterNode.outputHeatmap = nodes.heatmap
            self._showWarnings(nodes.warnings)

    def _cancelJob(self):
        if self._job is not None:
            job, self._job = self._job, None
            self._setRunning(False)
            self.logic.cancel(job)

    def _setRunning(self, running):
        if running:
            self._pollTimer.start()
        else:
            self._pollTimer.stop()
        self.ui.applyButton.text = "Cancel" if running else "Apply"
        self.ui.progressBar.value = 0
        self.ui.progressBar.visible = running
        self._updateApplyButton()

    def _showWarnings(self, warnings):
        self.ui.warningsLabel.text = "\n".join(f"Warning: {warning}" for warning in warnings)
        self.ui.warningsLabel.visible = bool(warnings)


class SeverityScoringLogic(ScriptedLoadableModuleLogic, severity.SeverityScoringLogic):
    """The Qt-free logic plus this module's parameter node (which needs the application's scene)."""

    def __init__(self, pipeline=None):
        ScriptedLoadableModuleLogic.__init__(self)
        severity.SeverityScoringLogic.__init__(self, pipeline=pipeline)

    def getParameterNode(self):
        return SeverityScoringParameterNode(super().getParameterNode())


class SeverityScoringTest(ScriptedLoadableModuleTest):
    """Both run paths on a synthetic radiograph, inside Slicer: right/left lung segments, six zones."""

    def setUp(self):
        slicer.mrmlScene.Clear()
        ensure_in_slicer("SeverityScoring")

    def runTest(self):
        for test in (self.test_blocking_run, self.test_background_run):
            self.setUp()
            test()

    def test_blocking_run(self):
        self.assertLungsAndZones(SeverityScoringLogic().process(self.phantomVolume()))

    def test_background_run(self):
        logic = SeverityScoringLogic()
        job = logic.start(self.phantomVolume())
        while job.running:
            job.poll()
            slicer.app.processEvents()
            time.sleep(POLL_INTERVAL_MS / 1000)
        self.assertLungsAndZones(logic.finish(job, slicer.mrmlScene))

    def phantomVolume(self):
        return SeverityScoringLogic().add_sample_radiograph(slicer.mrmlScene)

    def assertLungsAndZones(self, nodes):
        segmentation = nodes.segmentation.GetSegmentation()
        names = {segmentation.GetNthSegment(index).GetName() for index in range(segmentation.GetNumberOfSegments())}
        self.assertTrue({"right lung", "left lung"} <= names, f"segments: {sorted(names)}")
        self.assertEqual(nodes.table.GetNumberOfRows(), 6)
        self.delayDisplay("SeverityScoring test passed")
