"""The LesionSegmentation panel, built in code: input selector, Apply/Cancel, progress, results.

Needs the Slicer application (Qt); the module file creates it with its logic
(``LesionSegmentationPanel(layout, logic)``). What it shows comes from the Qt-free
:mod:`.logic`: the scan check in large type with its warnings, the lesion and cord tables, the CSA
plot and the segmentation in 2D and 3D. A volume the scan check refuses (not a spinal MRI) adds
nothing: the error says why and names the force checkbox (:data:`FORCE_LABEL`), which runs
``lesionai spine --force``.
"""

import qt
import slicer
from LesionAICoreLib.jobpanel import JobPanel

# lesionai.spine.pipeline.HOW_TO_FORCE tells a refused user to tick this box by this label.
FORCE_LABEL = "Process even if the scan check says it is not a spinal MRI"


class LesionSegmentationPanel(JobPanel):
    """Widgets of the module panel, bound to ``logic`` (LesionSegmentationLogic or a fake)."""

    title = "LesionSegmentation"

    def __init__(self, layout, logic):
        JobPanel.__init__(self, logic)
        self._buildInputs(layout)
        self._buildResults(layout)
        layout.addStretch(1)
        self.setRunning(False)

    def _buildInputs(self, layout):
        form = self.section(layout, "Input")
        self.inputSelector = self.nodeSelector(["vtkMRMLScalarVolumeNode"],
                                               "Spinal MRI volume (sagittal or axial; T1w, T2w, T2*w, ...)")
        form.addRow("Spinal MRI:", self.inputSelector)
        self.lesionsCheckBox = qt.QCheckBox("Segment lesions")
        self.lesionsCheckBox.checked = True
        form.addRow(self.lesionsCheckBox)
        self.forceCheckBox = qt.QCheckBox(FORCE_LABEL)
        self.forceCheckBox.toolTip = ("Segment a volume the scan check refuses (brain MRI, CT, ...); "
                                      "its reasons become warnings of the result")
        form.addRow(self.forceCheckBox)
        self.addRunRows(form, "Add a sample spine MRI",
                        "A generated T2w spine phantom with two lesions: no patient data needed")

    def _buildResults(self, layout):
        column = self.section(layout, "Results", qt.QVBoxLayout)
        self.scanCheckLabel = qt.QLabel("")
        self.summaryLabel = qt.QLabel("")
        column.addWidget(self.summaryLabel)
        self.addResultWidgets(column, self.scanCheckLabel)

    def onSampleButton(self):
        with slicer.util.tryWithErrorDisplay("Could not add the sample volume.", waitCursor=True):
            volume = self.logic.add_sample_volume(slicer.mrmlScene)
            self.inputSelector.setCurrentNode(volume)
            slicer.util.setSliceViewerLayers(background=volume, fit=True)

    def startJob(self):
        options = ([] if self.lesionsCheckBox.checked else ["--no-lesions"]) + \
            (["--force"] if self.forceCheckBox.checked else [])
        job = self.logic.start(self.inputSelector.currentNode(), options=options)
        self.scanCheckLabel.text = self.summaryLabel.text = ""  # a refused run must not look like the last one
        return job

    def jobFinished(self, job):
        self.showResult(self.logic.finish(job, slicer.mrmlScene))

    def showResult(self, nodes):
        check = nodes.scan_check or {}
        stages = [f"{stage}: {check[stage]['label']}" for stage in ("anatomy", "region", "view", "contrast")
                  if stage in check]
        self.scanCheckLabel.text = " | ".join(stages) or "scan check not available"
        self.summaryLabel.text = nodes.summary
        self.tableView.setMRMLTableNode(nodes.lesion_table)
        self.showWarnings(nodes.warnings)
        slicer.modules.plots.logic().ShowChartInLayout(nodes.csa_plot)
        slicer.util.setSliceViewerLayers(background=self.inputSelector.currentNode())
