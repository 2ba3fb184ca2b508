"""What every LesionAI module does when Slicer loads it: the model cache under Slicer's cache folder,
and, once the application has started, its segment terms offered to the editor and its generated
sample registered with Sample Data."""

import logging
import os

import slicer


def setUpModule(task_name, moduleFile, sampleName, addSample):
    """Called from a module's ``__init__`` with its task, ``__file__``, the Sample Data button text
    and ``addSample(scene) -> nodes`` (the logic's ``sample_nodes``)."""
    from lesionai.registry import use_cache_folder

    moduleFolder = os.path.dirname(os.path.abspath(moduleFile))
    use_cache_folder(os.path.join(slicer.app.cachePath, "LesionAI"))  # inherited by the background process

    def whenStarted():
        from LesionAICoreLib.sampledata import registerSampleData

        loadTerminology(task_name, moduleFolder)
        moduleName = os.path.splitext(os.path.basename(moduleFile))[0]
        icon = os.path.join(moduleFolder, "Resources", "Icons", moduleName + ".png")  # as installed, too
        registerSampleData(sampleName, addSample, icon)

    slicer.app.connect("startupCompleted()", whenStarted)


def loadTerminology(task_name, moduleFolder):
    """Let the segment editor offer the terms of the task's segments (Terminologies module), from
    the context the module ships in ``Resources/Terminology``."""
    try:
        from lesionai.terminology import load_into_slicer

        load_into_slicer(slicer.modules.terminologies.logic(), moduleFolder, task_name=task_name)
    except Exception as error:  # the segments keep their codes; only the editor's term list lacks them
        logging.warning(f"LesionAI terminology context of '{task_name}' not loaded: {error}")
