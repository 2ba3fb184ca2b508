"""LesionAICore: ships the ``lesionai`` Python package inside the LesionAI extension.

Slicer puts the folder of an extension's scripted modules on ``sys.path``; this hidden module
installs the package beside itself, so ``import lesionai`` works in every LesionAI module, in the
Python console and in background processes started by the modules. It has no panel of its own.
"""

from slicer.ScriptedLoadableModule import ScriptedLoadableModule


class LesionAICore(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "LesionAI Core"
        self.parent.categories = ["LesionAI"]
        self.parent.dependencies = []
        self.parent.contributors = ["LesionAI contributors"]
        self.parent.helpText = (
            "Shared Python package of the LesionAI extension (image input/output, models, pipelines). "
            "It is used by the LesionAI modules and has no user interface.")
        self.parent.acknowledgementText = "LesionAI is open source (Apache-2.0)."
        self.parent.hidden = True
