"""Errors a researcher can act on.

Every failure the user can cause or fix raises a subclass of :class:`LesionAIError` whose message
says what was wrong and what to do. Programming errors stay ordinary Python exceptions.
"""


class LesionAIError(Exception):
    """Base class of every error LesionAI reports to the user."""


class InputError(LesionAIError):
    """The input image or file cannot be used (wrong kind, corrupt, unsupported)."""


class RefusedInputError(InputError):
    """A task's check says the input is not what the task was made for (e.g. not a chest radiograph).

    Nothing is written for the input. ``reasons`` lists what the check found; the message names them
    and ends with ``how_to_force``, how to process the input anyway (the task's ``--force`` option,
    which turns the reasons into warnings of the result).
    """

    def __init__(self, verdict: str, reasons: list[str], how_to_force: str = "to process it anyway, use --force"):
        self.reasons = list(reasons)
        super().__init__(f"{verdict}: {'; '.join(self.reasons)}. Check the input; {how_to_force}.")


class ModelError(LesionAIError):
    """A model is missing, tampered with, or does not match the registry."""


class DependencyError(LesionAIError):
    """A Python package the pipeline needs is not installed and could not be installed."""


class ProcessError(LesionAIError):
    """A background pipeline process failed or was cancelled."""


class CancelledError(ProcessError):
    """The user cancelled a running pipeline."""


def first_line(error: Exception) -> str:
    """The last non-empty line of an exception's text (libraries put the cause there), or its type."""
    text = str(error).strip()
    return text.splitlines()[-1] if text else type(error).__name__
