"""The SeverityScoring panel: the ``.ui`` widgets bound to the logic, background runs followed.

Needs the Slicer application (Qt). The module file creates it with its logic
(``SeverityScoringPanel(uiWidget, logic)``), so the panel can be driven with another logic; what it
shows comes from the Qt-free :mod:`.presentation` and :mod:`.logic`.
"""

import qt
import slicer
import vtk
from slicer.util import VTKObservationMixin

from lesionai.slicer.dependencies import ensure_in_slicer

from . import presentation

POLL_INTERVAL_MS = 200


class SeverityScoringPanel(VTKObservationMixin):
    """The module panel: binds the loaded ``.ui`` widget to ``logic`` and follows its jobs.

    ``logic`` provides ``getParameterNode()``, ``start``, ``finish``, ``cancel`` and
    ``add_sample_radiograph`` (SeverityScoring.SeverityScoringLogic; tests may pass a fake).
    ``isEntered`` tells whether the module is shown (for scene-close handling).
    """

    def __init__(self, uiWidget, logic, isEntered=lambda: True):
        VTKObservationMixin.__init__(self)
        self.logic, self._isEntered = logic, isEntered
        self._parameterNode = self._parameterNodeGuiTag = self._job = None
        self._dependenciesReady = False
        self._pollTimer = qt.QTimer()
        self._pollTimer.setInterval(POLL_INTERVAL_MS)
        self._pollTimer.connect("timeout()", self.onPollJob)

        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
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
        if self._isEntered():
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
