"""SeverityScoring: right/left lungs, opacity, Brixia zones A-F and their scores on a chest radiograph.

This file only wires the module together: the panel (``SeverityScoringLib.widget``) receives its
logic; the Qt-free ``SeverityScoringLib`` holds the logic, the presentation of the results and the
typed parameters. The panel needs the Slicer application: it is checked statically by
Testing/modules/SeverityScoring/test_ui_names.py and run by SeverityScoringTest inside Slicer; the
logic is tested headlessly.
"""

import slicer
from LesionAICoreLib.selftest import TaskSelfTest
from LesionAICoreLib.reloading import forgetPackage
from LesionAICoreLib.startup import setUpModule
from slicer.parameterNodeWrapper import parameterNodeWrapper
from slicer.ScriptedLoadableModule import ScriptedLoadableModule, ScriptedLoadableModuleLogic, ScriptedLoadableModuleWidget

from SeverityScoringLib import logic as severity
from SeverityScoringLib import parameters
from SeverityScoringLib.widget import SeverityScoringPanel

# A fresh class: parameterNodeWrapper rewrites the class it decorates, the dataclass stays plain.
SeverityScoringParameterNode = parameterNodeWrapper(
    type("SeverityScoringParameterNode", (), {"__module__": __name__, **parameters.wrapper_namespace(slicer)}))


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
        setUpModule("severity", __file__, "Chest radiograph (generated)", lambda scene: SeverityScoringLogic().sample_nodes(scene))


class SeverityScoringWidget(ScriptedLoadableModuleWidget):
    """Loads the panel's .ui and hands it, with the logic, to SeverityScoringLib.widget."""

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/SeverityScoring.ui"))
        self.layout.addWidget(uiWidget)
        self.logic = SeverityScoringLogic()
        self.panel = SeverityScoringPanel(uiWidget, self.logic, isEntered=lambda: self.parent.isEntered)

    def cleanup(self):
        self.panel.cleanup()

    def onReload(self):
        forgetPackage("SeverityScoringLib")  # "Reload" reads the Lib package from disk again, too
        ScriptedLoadableModuleWidget.onReload(self)

    def enter(self):
        self.panel.enter()

    def exit(self):
        self.panel.exit()


class SeverityScoringLogic(ScriptedLoadableModuleLogic, severity.SeverityScoringLogic):
    """The Qt-free logic plus this module's parameter node (which needs the application's scene)."""

    def __init__(self, pipeline=None):
        ScriptedLoadableModuleLogic.__init__(self)
        severity.SeverityScoringLogic.__init__(self, pipeline=pipeline)

    def getParameterNode(self):
        return SeverityScoringParameterNode(super().getParameterNode())


class SeverityScoringTest(TaskSelfTest):
    """Both run paths on a synthetic radiograph, inside Slicer: right/left lung segments, six zones."""

    def makeLogic(self):
        return SeverityScoringLogic()

    def runBlocking(self, logic):
        return logic.process(logic.add_sample_radiograph(slicer.mrmlScene))

    def startJob(self, logic):
        return logic.start(logic.add_sample_radiograph(slicer.mrmlScene))

    def checkNodes(self, nodes):
        segmentation = nodes.segmentation.GetSegmentation()
        names = {segmentation.GetNthSegment(index).GetName() for index in range(segmentation.GetNumberOfSegments())}
        self.assertTrue({"right lung", "left lung"} <= names, f"segments: {sorted(names)}")
        self.assertEqual(nodes.table.GetNumberOfRows(), 6)
