"""LesionSegmentation: scan check, spinal cord and lesion segmentation with cord measures on spinal MRI.

This file only wires the module together: the panel (``LesionSegmentationLib.widget``) receives its
logic; the Qt-free ``LesionSegmentationLib.logic`` runs the pipeline (here or in a background
process, through the shared ``lesionai.slicer`` machinery) and adds the result nodes. The logic is
tested headlessly on real MRML; the panel runs in Slicer, exercised by LesionSegmentationTest.
"""

import slicer
from LesionAICoreLib.selftest import TaskSelfTest
from LesionAICoreLib.reloading import forgetPackage
from LesionAICoreLib.startup import setUpModule
from slicer.ScriptedLoadableModule import ScriptedLoadableModule, ScriptedLoadableModuleLogic, ScriptedLoadableModuleWidget

from LesionSegmentationLib import logic as spine
from LesionSegmentationLib.widget import LesionSegmentationPanel


class LesionSegmentation(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "Lesion Segmentation"
        self.parent.categories = ["LesionAI"]
        self.parent.dependencies = ["LesionAICore"]
        self.parent.contributors = ["LesionAI contributors"]
        self.parent.helpText = (
            "Checks what a scan is (anatomy, spine region, view, contrast), segments the spinal cord and lesions "
            "in it, and measures the cord (volume, length, cross-sectional area per slice) and each lesion "
            "(volume, centroid, length along the cord, largest axial area, vertebral level). The run happens in "
            "a background process and can be cancelled. For research use only, not for diagnosis.")
        self.parent.acknowledgementText = (
            "LesionAI is open source (Apache-2.0). The spinal cord and lesion models were trained on the public "
            "Spinal Cord Toolbox test data (MIT); the model registry credits each dataset.")
        setUpModule("spine", __file__, "Spine MRI with lesions (generated)", lambda scene: LesionSegmentationLogic().sample_nodes(scene))


class LesionSegmentationWidget(ScriptedLoadableModuleWidget):
    """Hands the module layout, with the logic, to LesionSegmentationLib.widget."""

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        self.logic = LesionSegmentationLogic()
        self.panel = LesionSegmentationPanel(self.layout, self.logic)

    def cleanup(self):
        self.panel.cleanup()

    def onReload(self):
        forgetPackage("LesionSegmentationLib")  # "Reload" reads the Lib package from disk again, too
        ScriptedLoadableModuleWidget.onReload(self)


class LesionSegmentationLogic(ScriptedLoadableModuleLogic, spine.LesionSegmentationLogic):
    """The Qt-free logic with Slicer's module-logic base."""

    def __init__(self, pipeline=None):
        ScriptedLoadableModuleLogic.__init__(self)
        spine.LesionSegmentationLogic.__init__(self, pipeline=pipeline)


class LesionSegmentationTest(TaskSelfTest):
    """Both run paths on the generated spine phantom, inside Slicer: cord and lesion segments, tables."""

    def makeLogic(self):
        return LesionSegmentationLogic()

    def runBlocking(self, logic):
        return logic.process(logic.add_sample_volume(slicer.mrmlScene))

    def startJob(self, logic):
        return logic.start(logic.add_sample_volume(slicer.mrmlScene))

    def checkNodes(self, nodes):
        segmentation = nodes.segmentation.GetSegmentation()
        names = {segmentation.GetNthSegment(index).GetName() for index in range(segmentation.GetNumberOfSegments())}
        self.assertIn("spinal cord", names)
        self.assertGreater(nodes.cord_table.GetNumberOfRows(), 0)
