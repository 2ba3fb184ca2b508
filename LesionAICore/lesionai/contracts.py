"""What a task provides, as typed contracts (``typing.Protocol``).

A new task implements these and adds one entry to :mod:`lesionai.tasks`; the command line, the
batch loop, the demo and the Slicer background job then work for it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .geometry import Image

Progress = Callable[[float, str], None]
"""``progress(fraction 0..1, message)``: how far a pipeline is, for a bar or the JSON-lines protocol."""


@runtime_checkable
class TaskResult(Protocol):
    """What a pipeline returns for one input; ``summary()`` gives the task's own ``result.json`` keys."""

    warnings: list[str]
    models: dict[str, str]
    timing_s: float

    def summary(self) -> dict: ...


@runtime_checkable
class TaskPipeline(Protocol):
    """Runs a task's models on one image (pure core: no files, no MRML, no Qt)."""

    def run(self, image: Image, progress: Progress | None = None) -> TaskResult: ...


class FilesWriter(Protocol):
    """A task's ``write_files``: makes the ``wanted`` files of one case in the staging ``folder``
    (:func:`lesionai.results.write_task_case` stages, places and guards the folder)."""

    def __call__(self, image: Image, result: TaskResult, folder: Path, input_name: str,
                 wanted: Collection[str]) -> None: ...


class Process(Protocol):
    """A child process that reports JSON-lines events (:class:`lesionai.process.BackgroundProcess`)."""

    running: bool
    cancelled: bool
    stderr: str

    def start(self) -> None: ...

    def poll(self) -> list[dict]: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def cancel(self) -> None: ...

    def request_cancel(self) -> None: ...

    def cancel_done(self) -> bool: ...


class ProcessFactory(Protocol):
    """Makes a :class:`Process` for ``argv`` (``env``: the child's environment)."""

    def __call__(self, argv: Sequence[str], env: dict[str, str] | None = None) -> Process: ...


class NodeLoader(Protocol):
    """Turns a task result into MRML nodes beside ``volume_node``, in one scene transaction."""

    def __call__(self, scene: Any, volume_node: Any, result: TaskResult) -> Any: ...
