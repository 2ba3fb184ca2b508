"""Running a pipeline in a child process, watching its progress, and stopping it cleanly.

Heavy work (inference, training, batch runs) runs in a separate Python process so the Slicer GUI
stays responsive and a crash cannot take the application down. The child reports progress as JSON
lines on stdout (see :mod:`lesionai.progress`); :class:`BackgroundProcess` reads them on a thread
and hands them over through the non-blocking :meth:`BackgroundProcess.poll`, which a Qt timer in
the module widget can call. Nothing here imports Qt.

Cancelling stops the whole process tree: the child starts in its own session (POSIX) or process
group (Windows), so workers it spawned are stopped with it.

>>> events = run_blocking(python_command("lesionai.cli", "score", "cxr.dcm"), env=python_env())  # doctest: +SKIP
"""

from __future__ import annotations

import collections
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lesionai.errors import CancelledError, ProcessError
from lesionai.progress import parse_event

GRACE_PERIOD_S = 5.0
POLL_INTERVAL_S = 0.1
OUTPUT_DRAIN_S = 2.0
STDERR_LINES_KEPT = 500
STDERR_LINES_REPORTED = 20
PACKAGE_ROOT = Path(__file__).resolve().parents[1]

Event = dict[str, Any]


class BackgroundProcess:
    """A child process whose stdout is read as progress events.

    ``argv``: the command (see :func:`python_command`). ``env``: variables added to (overriding)
    this process's environment; None inherits it unchanged. ``grace_period_s``: how long
    :meth:`cancel` waits after asking the child to stop before killing its process tree.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | str | None = None,
        grace_period_s: float = GRACE_PERIOD_S,
    ):
        self.argv = [str(argument) for argument in argv]
        self.env = dict(env or {})
        self.cwd = cwd
        self.grace_period_s = grace_period_s
        self._popen: subprocess.Popen | None = None
        self._events: queue.Queue[Event] = queue.Queue()
        self._stderr_lines: collections.deque[str] = collections.deque(maxlen=STDERR_LINES_KEPT)
        self._stdout_reader: threading.Thread | None = None
        self._stderr_reader: threading.Thread | None = None
        self._exit_seen_at: float | None = None
        self._cancelled = False
        self._kill_at: float | None = None  # set by request_cancel: when the tree is killed

    def start(self) -> BackgroundProcess:
        """Launch the child; raises ProcessError when the program cannot be started."""
        if self._popen is not None:
            raise RuntimeError("BackgroundProcess.start() called twice")
        self._popen = _launch(self.argv, self.env, self.cwd)
        self._stdout_reader = _reader_thread(self._popen.stdout, self._queue_event, "stdout")
        self._stderr_reader = _reader_thread(self._popen.stderr, self._keep_stderr_line, "stderr")
        return self

    def poll(self, timeout: float = 0.0) -> list[Event]:
        """Events received since the last call, oldest first.

        Returns at once when ``timeout`` is 0; otherwise waits up to ``timeout`` seconds for the
        first event.
        """
        received: list[Event] = []
        try:
            received.append(self._events.get(timeout=timeout) if timeout > 0 else self._events.get_nowait())
            while True:
                received.append(self._events.get_nowait())
        except queue.Empty:
            return received

    @property
    def running(self) -> bool:
        """True until the child has exited and its output has been read (poll once more after)."""
        if self._popen is None:
            return False
        if self._popen.poll() is None:
            return True
        self._exit_seen_at = self._exit_seen_at or time.monotonic()
        # A grandchild that inherited stdout can keep the pipe open; do not wait for it forever.
        draining = time.monotonic() - self._exit_seen_at < OUTPUT_DRAIN_S
        return self._stdout_reader.is_alive() and draining

    @property
    def pid(self) -> int | None:
        """Process id of the child once started."""
        return None if self._popen is None else self._popen.pid

    @property
    def returncode(self) -> int | None:
        """Exit status once the child has exited (negative: killed by that signal on POSIX)."""
        return None if self._popen is None else self._popen.poll()

    @property
    def cancelled(self) -> bool:
        """True when :meth:`cancel` stopped the child while it was running."""
        return self._cancelled

    @property
    def stderr(self) -> str:
        """What the child wrote to stderr (the last lines, when it wrote a lot)."""
        return "\n".join(self._stderr_lines)

    @property
    def name(self) -> str:
        """Short name of the command for messages: the module for ``-m`` runs, else the program."""
        if len(self.argv) > 2 and self.argv[1] == "-m":
            return self.argv[2]
        return Path(self.argv[0]).name

    def cancel(self) -> None:
        """Stop the child and everything it started: terminate, then kill after the grace period.

        Blocks until the child has exited (at most about ``grace_period_s``). Does nothing before
        :meth:`start`; after the child has exited it only removes leftover workers. A GUI calls
        :meth:`request_cancel` and :meth:`cancel_done` instead, which never block.
        """
        if self._popen is None:
            return
        self.request_cancel()
        while not self.cancel_done():
            time.sleep(POLL_INTERVAL_S)

    def request_cancel(self) -> None:
        """Ask the child's process tree to stop (SIGTERM) and return at once.

        Poll :meth:`cancel_done` (e.g. from a timer) to finish: it kills what is left once the
        grace period is over. Asking again does nothing more.
        """
        if self._popen is None or self._kill_at is not None:
            return
        self._cancelled = self._cancelled or self._popen.poll() is None
        self._kill_at = time.monotonic() + self.grace_period_s
        _terminate_process_tree(self._popen)

    def cancel_done(self) -> bool:
        """Without blocking: True once a requested cancel has stopped the whole tree.

        Before the child has exited and while the grace period lasts, returns False. Then kills
        whatever is left of the tree (workers that ignored the request), reaps the child and
        returns True. True also when no cancel was requested and the child is not running.
        """
        if self._popen is None:
            return True
        if self._kill_at is None:
            return self._popen.poll() is not None
        if self._popen.poll() is None and time.monotonic() < self._kill_at:
            return False
        _kill_process_tree(self._popen)
        self._join_readers(0.1)
        return True

    def wait(self, timeout: float | None = None) -> int:
        """Block until the child exits and its output is read; return its exit status.

        Raises TimeoutError when it is still running after ``timeout`` seconds (it keeps running).
        """
        if self._popen is None:
            raise RuntimeError("BackgroundProcess.wait() called before start()")
        try:
            returncode = self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{self.name} is still running after {timeout} s") from None
        self._join_readers(OUTPUT_DRAIN_S)
        return returncode

    def _queue_event(self, line: str) -> None:
        event = parse_event(line)
        if event is not None:
            self._events.put(event)

    def _keep_stderr_line(self, line: str) -> None:
        self._stderr_lines.append(line.rstrip("\r\n"))

    def _join_readers(self, timeout: float) -> None:
        for reader in (self._stdout_reader, self._stderr_reader):
            reader.join(timeout)


def run_blocking(
    argv: Sequence[str],
    on_event: Callable[[Event], None] | None = None,
    timeout: float | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> list[Event]:
    """Run a command to completion and return all its events.

    ``on_event`` is called with each event as it arrives; ``is_cancelled`` is checked between
    events, and a true answer (or ``on_event`` raising CancelledError) stops the process tree.
    Raises CancelledError when cancelled, ProcessError when the command exits with a non-zero
    status (message: the last ``error`` event and the end of stderr) or runs past ``timeout``
    seconds (it is then stopped).
    """
    process = BackgroundProcess(argv, env=env, cwd=cwd).start()
    events: list[Event] = []
    try:
        _pump(process, events, on_event, is_cancelled, timeout)
    except BaseException:
        process.cancel()
        raise
    _raise_for_outcome(process, events)
    return events


def python_command(module: str, *args: object) -> list[str]:
    """``[sys.executable, "-m", module, *args]``: run a module with this Python.

    Inside the Slicer application ``sys.executable`` is PythonSlicer, the Python that sees
    Slicer's packages; outside it, the current interpreter. Pass ``env=python_env()`` so the
    child finds the ``lesionai`` package even when it is not installed (as inside Slicer, where
    the extension's folder is only on the application's ``sys.path``).

    >>> python_command("lesionai.cli", "score", 3)[1:]
    ['-m', 'lesionai.cli', 'score', '3']
    """
    return [sys.executable, "-m", module, *(str(argument) for argument in args)]


def python_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment additions putting this ``lesionai`` package first on the child's PYTHONPATH."""
    inherited = os.environ.get("PYTHONPATH")
    paths = [str(PACKAGE_ROOT), *([inherited] if inherited else [])]
    return {"PYTHONPATH": os.pathsep.join(paths), **(extra or {})}


# ---------------------------------------------------------------------------------------------
# Launching and stopping


def _launch(argv: list[str], env: Mapping[str, str], cwd) -> subprocess.Popen:
    child_env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", **env}
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env,
            cwd=cwd,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            **_new_process_group_options(),
        )
    except OSError as error:
        raise ProcessError(f"Could not start {argv[0]}: {error}") from error


def _new_process_group_options() -> dict[str, Any]:
    if os.name == "nt":
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW
        return {"creationflags": flags}
    return {"start_new_session": True}


def _terminate_process_tree(popen: subprocess.Popen) -> None:
    """Ask the child and its descendants to stop; returns at once."""
    if os.name == "nt":
        # Windows has no group-wide terminate signal for windowless children; taskkill /T walks
        # the tree by parent pid, which only works while the child is alive, so it is forced now.
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(popen.pid)], capture_output=True, check=False)
    else:
        # start_new_session made the child a session and group leader: its pid is the group id,
        # and its descendants stay in that group unless they deliberately start their own session.
        _signal_group(popen.pid, signal.SIGTERM)


def _kill_process_tree(popen: subprocess.Popen) -> None:
    """Kill what is left of the child's tree and reap the child (brief: the kill cannot be ignored)."""
    if os.name == "nt":
        if popen.poll() is None:
            popen.kill()
    else:
        _signal_group(popen.pid, signal.SIGKILL)
    popen.wait()


def _signal_group(group: int, signal_number: int) -> None:
    try:
        os.killpg(group, signal_number)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already empty


def _reader_thread(stream, handle_line: Callable[[str], None], label: str) -> threading.Thread:
    def read_lines():
        with stream:
            for line in stream:
                handle_line(line)

    reader = threading.Thread(target=read_lines, name=f"lesionai-{label}-reader", daemon=True)
    reader.start()
    return reader


# ---------------------------------------------------------------------------------------------
# Blocking runs


def _pump(process: BackgroundProcess, events: list[Event], on_event, is_cancelled, timeout) -> None:
    deadline = None if timeout is None else time.monotonic() + timeout
    while process.running:
        _deliver(process.poll(POLL_INTERVAL_S), events, on_event)
        if is_cancelled is not None and is_cancelled():
            process.cancel()
        elif deadline is not None and time.monotonic() > deadline:
            process.cancel()
            raise ProcessError(f"{process.name} did not finish within {timeout} s and was stopped.")
    _deliver(process.poll(), events, on_event)


def _deliver(new_events: list[Event], events: list[Event], on_event) -> None:
    for event in new_events:
        events.append(event)
        if on_event is not None:
            on_event(event)


def _raise_for_outcome(process: BackgroundProcess, events: list[Event]) -> None:
    if process.cancelled:
        raise CancelledError(f"{process.name} was cancelled.")
    returncode = process.wait()
    if returncode != 0:
        error = ProcessError(_failure_message(process, returncode, events))
        error.returncode, error.stderr, error.events = returncode, process.stderr, events
        raise error


def _failure_message(process: BackgroundProcess, returncode: int, events: list[Event]) -> str:
    errors = [event for event in events if event.get("event") == "error"]
    reason = errors[-1].get("message", "") if errors else _exit_description(returncode)
    stderr_tail = "\n".join(process.stderr.splitlines()[-STDERR_LINES_REPORTED:])
    message = f"{process.name} failed: {reason}"
    return f"{message}\n--- last lines of its error output ---\n{stderr_tail}" if stderr_tail else message


def _exit_description(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"it was stopped by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"it was stopped by signal {-returncode}"
    return f"it exited with status {returncode}"
