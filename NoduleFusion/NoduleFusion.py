"""NoduleFusion: nodule segmentation, ground-glass/solid components, features and a fused image +
clinical-variable classifier on chest CT.

This file only wires the module together: the panel (``NoduleFusionLib.widget``) receives its
logic; the Qt-free ``NoduleFusionLib.logic`` runs the pipeline (here or in a background process,
through the shared ``lesionai.slicer`` machinery) and adds the result nodes. The shipped models
learn the LIDC radiologists' malignancy-suspicion rating, a proxy: they do not tell invasive from
pre-invasive adenocarcinoma; the training recipes do, on a user's own pathology-confirmed cohort.
"""

import slicer
from LesionAICoreLib.selftest import TaskSelfTest
from LesionAICoreLib.reloading import forgetPackage
from LesionAICoreLib.startup import setUpModule
from slicer.ScriptedLoadableModule import ScriptedLoadableModule, ScriptedLoadableModuleLogic, ScriptedLoadableModuleWidget

from NoduleFusionLib import logic as nodule
from NoduleFusionLib.widget import NoduleFusionPanel


class NoduleFusion(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "Nodule Fusion"
        self.parent.categories = ["LesionAI"]
        self.parent.dependencies = ["LesionAICore"]
        self.parent.contributors = ["LesionAI contributors"]
        self.parent.helpText = (
            "Segments a lung nodule at each point placed on a chest CT, splits it into ground-glass and solid "
            "components (consolidation-to-tumour ratio), measures it and fuses a 3D image network with a "
            "clinical-variable network. The shipped models predict the LIDC radiologists' malignancy-suspicion "
            "rating (4-5 vs 1-2), not invasiveness; train the invasive vs pre-invasive task on your own cohort "
            "with the recipes. For research use only, not for diagnosis.")
        self.parent.acknowledgementText = (
            "LesionAI is open source (Apache-2.0). The nodule models were trained on LIDC-IDRI (TCIA, CC BY 3.0); "
            "the model registry credits each dataset.")
        setUpModule("nodule", __file__, "Chest CT with a nodule (generated)", lambda scene: NoduleFusionLogic().sample_nodes(scene))


class NoduleFusionWidget(ScriptedLoadableModuleWidget):
    """Hands the module layout, with the logic, to NoduleFusionLib.widget."""

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        self.logic = NoduleFusionLogic()
        self.panel = NoduleFusionPanel(self.layout, self.logic)

    def cleanup(self):
        self.panel.cleanup()

    def onReload(self):
        forgetPackage("NoduleFusionLib")  # "Reload" reads the Lib package from disk again, too
        ScriptedLoadableModuleWidget.onReload(self)


class NoduleFusionLogic(ScriptedLoadableModuleLogic, nodule.NoduleFusionLogic):
    """The Qt-free logic with Slicer's module-logic base."""

    def __init__(self, pipeline_factory=None):
        ScriptedLoadableModuleLogic.__init__(self)
        nodule.NoduleFusionLogic.__init__(self, pipeline_factory=pipeline_factory)


class NoduleFusionTest(TaskSelfTest):
    """Both run paths on the generated CT nodule phantom, inside Slicer: segments, one table row."""

    def makeLogic(self):
        return NoduleFusionLogic()

    def runBlocking(self, logic):
        return logic.process(*logic.add_sample_ct(slicer.mrmlScene))

    def startJob(self, logic):
        return logic.start(*logic.add_sample_ct(slicer.mrmlScene))

    def checkNodes(self, nodes):
        self.assertGreater(nodes.segmentation.GetSegmentation().GetNumberOfSegments(), 0)
        self.assertEqual(nodes.table.GetNumberOfRows(), 1)
