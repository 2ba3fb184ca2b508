"""The SeverityScoring panel: the ``.ui`` widgets bound to the logic, background runs followed.

Needs the Slicer application (Qt). The module file creates it with its logic
(``SeverityScoringPanel(uiWidget, logic)``), so the panel can be driven with another logic; what it
shows comes from the Qt-free :mod:`.presentation` and :mod:`.logic`.
"""

import qt
import slicer
import vtk
from LesionAICoreLib.jobpanel import POLL_INTERVAL_MS, JobPanel  # noqa: F401 (POLL_INTERVAL_MS: the module's test)
from slicer.util import VTKObservationMixin

from . import presentation


class SeverityScoringPanel(JobPanel, VTKObservationMixin):
    """The module panel: binds the loaded ``.ui`` widget to ``logic`` and follows its jobs.

    ``logic`` provides ``getParameterNode()``, ``start``, ``finish``, ``cancel`` and
    ``add_sample_radiograph`` (SeverityScoring.SeverityScoringLogic; tests may pass a fake).
    ``isEntered`` tells whether the module is shown (for scene-close handling).
    """

    title = "SeverityScoring"

    def __init__(self, uiWidget, logic, isEntered=lambda: True):
        JobPanel.__init__(self, logic)
        VTKObservationMixin.__init__(self)
        self._isEntered = isEntered
        self._parameterNode = self._parameterNodeGuiTag = None
        self._display = presentation.DisplayFollower()
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        self.applyButton, self.progressBar = self.ui.applyButton, self.ui.progressBar
        self.warningsLabel = self.ui.warningsLabel
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.ui.sampleButton.connect("clicked(bool)", self.onSampleButton)
        self.ui.exportTableButton.connect("clicked(bool)", self.onExportTableButton)
        self.setRunning(False)
        self.initializeParameterNode()

    def cleanup(self):
        JobPanel.cleanup(self)
        self.removeObservers()

    def enter(self):
        self.initializeParameterNode()

    def exit(self):
        self._disconnectParameterNode()

    def onSceneStartClose(self, caller, event):
        self.cancelJob()
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
        self._display.adopt(parameterNode)  # entering the module leaves the views as they are
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
        self._display.update(chosen)  # only a toggle or a new result changes the views
        self.ui.globalScoreLabel.text = presentation.score_text(chosen.outputTable)
        self.ui.lowConfidenceLabel.text = presentation.low_confidence_text(chosen.outputTable)
        self.ui.lowConfidenceLabel.visible = bool(self.ui.lowConfidenceLabel.text)
        self.ui.exportTableButton.enabled = chosen.outputTable is not None

    def startJob(self):
        chosen = self._parameterNode
        return self.logic.start(chosen.inputVolume, threads=chosen.threads, use_gpu=chosen.useGPU,
                                options=["--force"] if chosen.force else [])

    def jobFinished(self, job):
        nodes = self.logic.finish(job, slicer.mrmlScene)
        parameterNode = self.logic.getParameterNode()  # also valid while another module is shown
        parameterNode.outputSegmentation, parameterNode.outputTable = nodes.segmentation, nodes.table
        parameterNode.outputHeatmap = nodes.heatmap
        self._display.update(parameterNode)  # also when the panel is not shown (no observer then)
        self.showWarnings(nodes.warnings)

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

    def setRunning(self, running):
        JobPanel.setRunning(self, running)
        self._updateApplyButton()
