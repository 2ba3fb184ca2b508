"""Progress events exchanged between a pipeline process and whoever watches it.

A pipeline running in a background process writes one JSON object per line to its stdout; the
Slicer module (or any caller, through :mod:`lesionai.process`) reads them back with
:func:`parse_event`. Four kinds of event exist::

    {"event": "progress", "fraction": 0.25, "message": "Segmenting lungs"}
    {"event": "log", "level": "warning", "message": "Pixel spacing missing; assuming 0.14 mm"}
    {"event": "result", ...any JSON fields...}
    {"event": "error", "message": "Input has 64 slices; ...", "type": "InputError"}

Lines that are not such objects (a library printing to stdout) are read as ``info`` log events,
so nothing a child prints is lost or breaks the protocol.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import PurePath
from typing import Any, TextIO

EVENT_KINDS = ("progress", "log", "result", "error")
LOG_LEVELS = ("debug", "info", "warning", "error")


class ProgressReporter:
    """Writes progress events as JSON lines to ``stream`` (default: the current ``sys.stdout``).

    ``start`` and ``stop`` map this reporter's fractions 0..1 onto a part of an overall task, so a
    step can report its own 0..1 while the watcher sees one bar; see :meth:`scaled`.

    >>> import io; out = io.StringIO()
    >>> ProgressReporter(out).progress(0.5, "half way"); out.getvalue()
    '{"event": "progress", "fraction": 0.5, "message": "half way"}\\n'
    """

    def __init__(self, stream: TextIO | None = None, start: float = 0.0, stop: float = 1.0):
        self._stream = stream
        self._start, self._stop = start, stop
        self._lock = threading.Lock()

    def progress(self, fraction: float, message: str = "") -> None:
        """Report that ``fraction`` (clamped to 0..1) of the work is done."""
        clamped = min(max(float(fraction), 0.0), 1.0)
        overall = self._start + clamped * (self._stop - self._start)
        self.emit({"event": "progress", "fraction": round(overall, 6), "message": message})

    def log(self, message: str, level: str = "info") -> None:
        """Report a message; ``level`` is one of debug, info, warning, error."""
        if level not in LOG_LEVELS:
            raise ValueError(f"level must be one of {LOG_LEVELS}, got {level!r}")
        self.emit({"event": "log", "level": level, "message": message})

    def result(self, **fields: Any) -> None:
        """Report the outcome (output paths, scores, ...) as one ``result`` event."""
        self.emit({"event": "result", **fields})

    def error(self, message: str, type: str = "LesionAIError") -> None:  # noqa: A002 - protocol field name
        """Report a failure; ``type`` names the error class (e.g. "InputError")."""
        self.emit({"event": "error", "message": message, "type": type})

    def error_from(self, exception: BaseException) -> None:
        """Report ``exception`` as an ``error`` event carrying its class name."""
        self.error(str(exception) or repr(exception), type(exception).__name__)

    def scaled(self, start: float, stop: float) -> ProgressReporter:
        """A reporter on the same stream whose 0..1 covers ``start..stop`` of this one's range."""
        span = self._stop - self._start
        step = ProgressReporter(self._stream, self._start + start * span, self._start + stop * span)
        step._lock = self._lock  # one lock per stream: lines from several threads never interleave
        return step

    def emit(self, event: dict[str, Any]) -> None:
        """Write one event as a JSON line and flush, so a watcher sees it at once."""
        line = json.dumps(event, default=_jsonable, ensure_ascii=False)
        stream = self._stream if self._stream is not None else sys.stdout
        with self._lock:
            stream.write(line + "\n")
            stream.flush()


def parse_event(line: str) -> dict[str, Any] | None:
    """The event a line holds; None for a blank line.

    JSON objects with a known ``"event"`` are returned as they are; any other text becomes
    ``{"event": "log", "level": "info", "message": <line>}``.

    >>> parse_event('{"event": "progress", "fraction": 1.0, "message": "done"}')["fraction"]
    1.0
    >>> parse_event("Downloading weights...")["event"]
    'log'
    """
    text = line.strip()
    if not text:
        return None
    try:
        event = json.loads(text)
    except ValueError:
        event = None
    if isinstance(event, dict) and event.get("event") in EVENT_KINDS:
        return event
    return {"event": "log", "level": "info", "message": text}


def _jsonable(value: Any) -> Any:
    """JSON stand-in for numpy values and paths, so results can carry them directly."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be sent as a progress event field")
