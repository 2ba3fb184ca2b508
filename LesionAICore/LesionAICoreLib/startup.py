"""What every LesionAI module does when Slicer has started: offer its segment terms to the editor."""

import logging

import slicer


def loadTerminologyWhenStarted(task_name):
    """Load the task's terminology context into Slicer once the application has started."""
    slicer.app.connect("startupCompleted()", lambda: loadTerminology(task_name))


def loadTerminology(task_name):
    """Let the segment editor offer the terms of the task's segments (Terminologies module)."""
    try:
        from lesionai.terminology import load_into_slicer

        load_into_slicer(slicer.modules.terminologies.logic(), task_name=task_name)
    except Exception as error:  # the segments keep their codes; only the editor's term list lacks them
        logging.warning(f"LesionAI terminology context of '{task_name}' not loaded: {error}")
