"""What every LesionAI module does when Slicer has started: offer its segment terms to the editor."""

import logging
import os

import slicer


def loadTerminologyWhenStarted(task_name, moduleFile):
    """Once the application has started, load the terminology context the module ships
    (``Resources/Terminology`` beside ``moduleFile``, the module's ``__file__``)."""
    moduleFolder = os.path.dirname(os.path.abspath(moduleFile))
    slicer.app.connect("startupCompleted()", lambda: loadTerminology(task_name, moduleFolder))


def loadTerminology(task_name, moduleFolder):
    """Let the segment editor offer the terms of the task's segments (Terminologies module)."""
    try:
        from lesionai.terminology import load_into_slicer

        load_into_slicer(slicer.modules.terminologies.logic(), moduleFolder, task_name=task_name)
    except Exception as error:  # the segments keep their codes; only the editor's term list lacks them
        logging.warning(f"LesionAI terminology context of '{task_name}' not loaded: {error}")
