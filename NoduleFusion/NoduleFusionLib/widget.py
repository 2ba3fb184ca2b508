"""The NoduleFusion panel, built in code: CT and nodule points, clinical inputs, Apply/Cancel, results.

Needs the Slicer application (Qt); the module file creates it with its logic
(``NoduleFusionPanel(layout, logic)``). Each point of the point list is one nodule, run in the
background one after the other; when all are done their nodes are added together (one table row
per point). What a probability means is always shown beside it.
"""

import qt
import slicer
from LesionAICoreLib.jobpanel import JobPanel

from NoduleFusionLib.logic import add_result_nodes, control_points


class NoduleFusionPanel(JobPanel):
    """Widgets of the module panel, bound to ``logic`` (NoduleFusionLogic or a fake).

    Each point is one job; the jobs run one after the other and their results are gathered, so the
    nodes of all nodules are added together (one table row per point).
    """

    title = "NoduleFusion"

    def __init__(self, layout, logic):
        JobPanel.__init__(self, logic)
        self._queue, self._done, self._points = [], [], []
        self._buildInputs(layout)
        self._buildResults(layout)
        layout.addStretch(1)
        self.setRunning(False)

    def _buildInputs(self, layout):
        form = self.section(layout, "Input")
        self.inputSelector = self.nodeSelector(["vtkMRMLScalarVolumeNode"], "Chest CT in Hounsfield units")
        form.addRow("Chest CT:", self.inputSelector)
        form.addRow("Nodule points:", self._pointsRow())
        self.ageSpinBox = qt.QSpinBox()
        self.ageSpinBox.setRange(0, 120)
        self.ageSpinBox.specialValueText = "not given"
        form.addRow("Age (years):", self.ageSpinBox)
        self.sexComboBox = qt.QComboBox()
        self.sexComboBox.addItems(["not given", "F", "M"])
        form.addRow("Sex:", self.sexComboBox)
        self.addRunRows(form, "Add a sample CT with a nodule", "A generated lung CT block with a part-solid nodule")

    def _pointsRow(self):
        self.pointsSelector = self.nodeSelector(["vtkMRMLMarkupsFiducialNode"], "One point on each nodule",
                                                noneEnabled=True)
        self.pointsSelector.addEnabled = True
        self.placeWidget = slicer.qSlicerMarkupsPlaceWidget()
        self.placeWidget.setMRMLScene(slicer.mrmlScene)
        self.placeWidget.placeMultipleMarkups = slicer.qSlicerMarkupsPlaceWidget.ForcePlaceMultipleMarkups
        self.pointsSelector.connect("currentNodeChanged(vtkMRMLNode*)", self.placeWidget.setCurrentNode)
        row = qt.QHBoxLayout()
        row.addWidget(self.pointsSelector)
        row.addWidget(self.placeWidget)
        return row

    def _buildResults(self, layout):
        self.probabilityLabel = qt.QLabel("")
        self.addResultWidgets(self.section(layout, "Results", qt.QVBoxLayout), self.probabilityLabel)

    def onSampleButton(self):
        with slicer.util.tryWithErrorDisplay("Could not add the sample CT.", waitCursor=True):
            volume, points = self.logic.sample_nodes(slicer.mrmlScene)
            self.inputSelector.setCurrentNode(volume)
            self.pointsSelector.setCurrentNode(points)
            slicer.util.setSliceViewerLayers(background=volume, fit=True)

    def startJob(self):
        points = self.pointsSelector.currentNode()
        self._points = control_points(points) if points else [None]
        self._queue, self._done = list(self._points), []
        return self._startNext()

    def _startNext(self):
        age = self.ageSpinBox.value or None
        sex = self.sexComboBox.currentText if self.sexComboBox.currentIndex > 0 else None
        return self.logic.start(self.inputSelector.currentNode(), self._queue.pop(0), age=age, sex=sex)

    def jobFinished(self, job):
        self._done.append(self.logic.finish_result(job))
        if self._queue:  # the next nodule: keep polling
            self._job = self._startNext()
            self.setRunning(True)
            return
        self.showResult()

    def cancelJob(self):
        self._queue = []
        JobPanel.cancelJob(self)

    def showResult(self):
        nodes = add_result_nodes(slicer.mrmlScene, self.inputSelector.currentNode(), self._done, self._points)
        self.probabilityLabel.text = nodes.summary
        self.tableView.setMRMLTableNode(nodes.table)
        self.showWarnings(nodes.warnings)
