"""The NoduleFusion panel, built in code: CT and nodule points, clinical inputs, Apply/Cancel, results.

Needs the Slicer application (Qt); the module file creates it with its logic
(``NoduleFusionPanel(layout, logic)``). Each point of the point list is one nodule, run in the
background one after the other; when all are done their nodes are added together (one table row
per point). What a probability means is always shown beside it.
"""

import ctk
import qt
import slicer

from lesionai.slicer.dependencies import ensure_in_slicer

POLL_INTERVAL_MS = 200


class NoduleFusionPanel:
    """Widgets of the module panel, bound to ``logic`` (NoduleFusionLogic or a fake)."""

    def __init__(self, layout, logic):
        self.logic, self._job, self._queue, self._done = logic, None, [], []
        self._dependenciesReady = False
        self._pollTimer = qt.QTimer()
        self._pollTimer.setInterval(POLL_INTERVAL_MS)
        self._pollTimer.connect("timeout()", self.onPollJob)
        self._buildInputs(layout)
        self._buildResults(layout)
        layout.addStretch(1)
        self._setRunning(False)

    def _buildInputs(self, layout):
        section = ctk.ctkCollapsibleButton()
        section.text = "Input"
        form = qt.QFormLayout(section)
        self.inputSelector = self._selector(["vtkMRMLScalarVolumeNode"], "Chest CT in Hounsfield units")
        form.addRow("Chest CT:", self.inputSelector)
        self.pointsSelector = self._selector(["vtkMRMLMarkupsFiducialNode"], "One point on each nodule")
        self.pointsSelector.addEnabled = True
        self.placeWidget = slicer.qSlicerMarkupsPlaceWidget()
        self.placeWidget.setMRMLScene(slicer.mrmlScene)
        self.placeWidget.placeMultipleMarkups = slicer.qSlicerMarkupsPlaceWidget.ForcePlaceMultipleMarkups
        self.pointsSelector.connect("currentNodeChanged(vtkMRMLNode*)", self.placeWidget.setCurrentNode)
        row = qt.QHBoxLayout()
        row.addWidget(self.pointsSelector)
        row.addWidget(self.placeWidget)
        form.addRow("Nodule points:", row)
        self.ageSpinBox = qt.QSpinBox()
        self.ageSpinBox.setRange(0, 120)
        self.ageSpinBox.specialValueText = "not given"
        form.addRow("Age (years):", self.ageSpinBox)
        self.sexComboBox = qt.QComboBox()
        self.sexComboBox.addItems(["not given", "F", "M"])
        form.addRow("Sex:", self.sexComboBox)
        self.sampleButton = qt.QPushButton("Add a sample CT with a nodule")
        self.sampleButton.connect("clicked(bool)", self.onSampleButton)
        form.addRow(self.sampleButton)
        self.applyButton = qt.QPushButton("Apply")
        self.applyButton.connect("clicked(bool)", self.onApplyButton)
        form.addRow(self.applyButton)
        self.progressBar = qt.QProgressBar()
        form.addRow(self.progressBar)
        layout.addWidget(section)

    def _selector(self, nodeTypes, toolTip):
        selector = slicer.qMRMLNodeComboBox()
        selector.nodeTypes = nodeTypes
        selector.addEnabled = selector.removeEnabled = False
        selector.noneEnabled = True
        selector.setMRMLScene(slicer.mrmlScene)
        selector.toolTip = toolTip
        return selector

    def _buildResults(self, layout):
        section = ctk.ctkCollapsibleButton()
        section.text = "Results"
        column = qt.QVBoxLayout(section)
        self.probabilityLabel = qt.QLabel("")
        self.probabilityLabel.setStyleSheet("font-size: 14pt; font-weight: bold")
        self.probabilityLabel.wordWrap = True
        self.warningsLabel = qt.QLabel("")
        self.warningsLabel.setStyleSheet("color: #c05000")
        self.warningsLabel.wordWrap = True
        self.tableView = slicer.qMRMLTableView()
        self.tableView.setMRMLScene(slicer.mrmlScene)
        for widget in (self.probabilityLabel, self.warningsLabel, self.tableView):
            column.addWidget(widget)
        layout.addWidget(section)

    def onSampleButton(self):
        with slicer.util.tryWithErrorDisplay("Could not add the sample CT.", waitCursor=True):
            volume, centre = self.logic.add_sample_ct(slicer.mrmlScene)
            points = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "nodules")
            points.AddControlPoint(*centre)
            self.inputSelector.setCurrentNode(volume)
            self.pointsSelector.setCurrentNode(points)
            slicer.util.setSliceViewerLayers(background=volume, fit=True)

    def onApplyButton(self):
        if self._job is not None:
            self.cancelJob()
            return
        if not self._dependenciesReady:
            ensure_in_slicer("NoduleFusion")  # asks before installing; not under a busy cursor
            self._dependenciesReady = True
        with slicer.util.tryWithErrorDisplay("Could not start NoduleFusion.", waitCursor=True):
            from NoduleFusionLib.logic import control_points

            points = self.pointsSelector.currentNode()
            self._queue, self._done = (control_points(points) if points else [None]), []
            self._points = list(self._queue)
            self._startNext()
            self._showWarnings([])
            self._setRunning(True)

    def _startNext(self):
        age = self.ageSpinBox.value or None
        sex = self.sexComboBox.currentText if self.sexComboBox.currentIndex > 0 else None
        self._job = self.logic.start(self.inputSelector.currentNode(), self._queue.pop(0), age=age, sex=sex)

    def onPollJob(self):
        self._job.poll()
        done = len(self._done) + self._job.fraction
        self.progressBar.value = int(round(100 * done / len(self._points)))
        self.progressBar.format = f"nodule {len(self._done) + 1} of {len(self._points)}: {self._job.message}  %p%"
        if self._job.running:
            return
        job, self._job = self._job, None
        with slicer.util.tryWithErrorDisplay("NoduleFusion failed.", waitCursor=True):
            self._done.append(self.logic.finish_result(job))
            if self._queue:
                self._startNext()
                return
            self._setRunning(False)
            self.showResult()
        self._setRunning(self._job is not None)

    def showResult(self):
        from NoduleFusionLib.logic import add_result_nodes

        nodes = add_result_nodes(slicer.mrmlScene, self.inputSelector.currentNode(), self._done, self._points)
        self.probabilityLabel.text = nodes.summary
        self.tableView.setMRMLTableNode(nodes.table)
        self._showWarnings(nodes.warnings)

    def cancelJob(self):
        if self._job is not None:
            job, self._job, self._queue = self._job, None, []
            self._setRunning(False)
            self.logic.cancel(job)

    def cleanup(self):
        self.cancelJob()

    def _setRunning(self, running):
        (self._pollTimer.start if running else self._pollTimer.stop)()
        self.applyButton.text = "Cancel" if running else "Apply"
        self.progressBar.visible = running

    def _showWarnings(self, warnings):
        self.warningsLabel.text = "\n".join(f"Warning: {warning}" for warning in warnings)
        self.warningsLabel.visible = bool(warnings)
