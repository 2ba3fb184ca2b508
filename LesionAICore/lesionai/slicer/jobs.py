"""A task's command line run on a volume node in a child process: start, poll, finish, cancel.

The input volume is written to ``input.nrrd`` in a fresh temporary folder (never beside the user's
files), ``lesionai <task> input.nrrd -o output --progress json --outputs read-back`` runs in a child
process (:class:`lesionai.process.BackgroundProcess`: its own process group, so cancel stops the
whole tree), its JSON-lines events drive :attr:`TaskJob.fraction` and :attr:`TaskJob.message`, and
:meth:`TaskRunner.finish` reads the result folder back with the task's ``read_case`` and hands it
to the module's node loader. The child writes only the files ``read_case`` reads (the task's
``READ_BACK_FILES``), so a failure in an output the module ignores (the overlay, say) cannot fail
the run. The temporary folder is deleted in every outcome.

>>> runner = TaskRunner("severity")                                 # doctest: +SKIP
>>> job = runner.start(volume_node)                                 # doctest: +SKIP
>>> while job.running: job.poll()                                   # doctest: +SKIP
>>> nodes = runner.finish(job, scene, add_nodes)                    # doctest: +SKIP
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..contracts import ProcessFactory
from ..errors import CancelledError, ProcessError
from ..process import BackgroundProcess, python_command, python_env
from ..tasks import task

CLI_MODULE = "lesionai.cli"
INPUT_FILE_NAME = "input.nrrd"
# Read by lesionai.runtime.default_providers: the child process uses the CPU provider only.
CPU_ONLY_ENV = {"LESIONAI_DEVICE": "cpu"}
STDERR_LINES_REPORTED = 20


@dataclass
class TaskJob:
    """A task run in a child process.

    Call :meth:`poll` until :attr:`running` is False, then hand the job to
    :meth:`TaskRunner.finish` (or :meth:`TaskRunner.cancel` it). ``fraction`` (0..1) and
    ``message`` follow the latest progress event; ``errors`` collects error events.
    """

    input_node: Any
    process: Any
    job_folder: Path
    output_folder: Path
    title: str = "LesionAI"
    fraction: float = 0.0
    message: str = "Starting"
    errors: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.process.running

    def poll(self) -> list[dict]:
        """Events received since the last poll, oldest first; updates fraction, message, errors."""
        events = self.process.poll()
        for event in events:
            self._note(event)
        return events

    def failure_message(self, returncode: int) -> str:
        """What to tell the user when the child exited with ``returncode`` != 0."""
        reason = self.errors[-1] if self.errors else f"the process exited with status {returncode}"
        stderr_tail = "\n".join(self.process.stderr.splitlines()[-STDERR_LINES_REPORTED:])
        message = self.in_user_terms(f"{self.title} failed: {reason}")
        stderr_tail = self.in_user_terms(stderr_tail)
        return f"{message}\n--- last lines of its error output ---\n{stderr_tail}" if stderr_tail else message

    def in_user_terms(self, text: str) -> str:
        """``text`` with the temporary copy of the input named as the user knows it: the volume's name."""
        from .volumes import node_name

        return text.replace(str(self.job_folder / INPUT_FILE_NAME), f"'{node_name(self.input_node)}'")

    def discard_files(self) -> None:
        """Delete the job's temporary folder (input copy and CLI outputs)."""
        shutil.rmtree(self.job_folder, ignore_errors=True)

    def _note(self, event: dict) -> None:
        if event.get("event") == "progress":
            self.fraction = float(event.get("fraction", self.fraction))
            self.message = str(event.get("message", self.message))
        elif event.get("event") == "error":
            self.errors.append(str(event.get("message", "unknown error")))


class TaskRunner:
    """Starts, finishes and cancels runs of task ``task_name`` on volume nodes.

    ``process_factory``: called as ``process_factory(argv, env=...)``; by default
    :class:`lesionai.process.BackgroundProcess`. ``check_input(volume_node)`` raises InputError for
    a volume the task cannot use; it runs before anything is written.
    """

    def __init__(self, task_name: str, process_factory: ProcessFactory = BackgroundProcess,
                 check_input: Callable[[Any], None] | None = None, title: str | None = None):
        self.task = task(task_name)
        self._process_factory = process_factory
        self._check_input = check_input or (lambda volume_node: None)
        self.title = title or self.task.title

    def start(self, volume_node, workdir=None, *, threads: int = 0, use_gpu: bool = True,
              options: Sequence[str] = ()) -> TaskJob:
        """Start the task's CLI on ``volume_node`` in a child process and return its job.

        ``workdir``: where the temporary folder is made (default: the system's). ``threads`` > 0
        fixes the inference threads; ``use_gpu`` False keeps inference on the CPU; ``options`` are
        extra CLI arguments of the task. Raises InputError (before anything is written) for an
        unusable input, ProcessError when the child cannot start.
        """
        self._check_input(volume_node)
        job_folder = Path(tempfile.mkdtemp(prefix=f"lesionai-{self.task.name}-", dir=workdir))
        try:
            return self._launch(volume_node, job_folder, threads, use_gpu, options)
        except BaseException:
            shutil.rmtree(job_folder, ignore_errors=True)
            raise

    def finish(self, job: TaskJob, scene, add_nodes: Callable[[Any, Any, Any], Any]):
        """Wait for ``job``, read its result folder and return ``add_nodes(scene, input_node, result)``.

        Raises CancelledError for a cancelled job and ProcessError when the child failed or wrote
        no result; the scene is then unchanged. The job's temporary folder is deleted either way.
        """
        try:
            returncode = job.process.wait()
            job.poll()
            self.check_succeeded(job, returncode)
            return add_nodes(scene, job.input_node, self.read_result(job.output_folder))
        finally:
            job.discard_files()

    def cancel(self, job: TaskJob) -> None:
        """Stop ``job``'s process tree (blocks a few seconds at most) and delete its files."""
        try:
            job.process.cancel()
        finally:
            job.discard_files()

    def request_cancel(self, job: TaskJob) -> None:
        """Ask ``job``'s process tree to stop and return at once; finish with :meth:`cancel_done`."""
        job.process.request_cancel()

    def cancel_done(self, job: TaskJob) -> bool:
        """Without blocking: True (and the job's files deleted) once a requested cancel has
        stopped the whole process tree; the tree is killed when the grace period is over."""
        if not job.process.cancel_done():
            return False
        job.discard_files()
        return True

    def read_result(self, output_folder: Path):
        """The task result the CLI wrote to ``output_folder`` (ProcessError when files are missing)."""
        outputs = self.task.outputs_module
        missing = [name for name in outputs.REQUIRED_FILES if not (Path(output_folder) / name).is_file()]
        if missing:
            raise ProcessError(f"{self.title} finished without writing {', '.join(missing)} in {output_folder}.")
        return outputs.read_case(output_folder)

    def check_succeeded(self, job: TaskJob, returncode: int) -> None:
        """Raise CancelledError or ProcessError unless the job's child exited normally."""
        if job.process.cancelled:
            raise CancelledError(f"{self.title} was cancelled.")
        if returncode != 0:
            raise ProcessError(job.failure_message(returncode))

    def command(self, input_path: Path, output_root: Path, threads: int = 0, options: Sequence[str] = ()) -> list[str]:
        """argv running ``lesionai <task>`` on one file with JSON-lines progress on stdout.

        The CLI writes to ``output_root/<input stem>/`` only the files :meth:`read_result` reads
        (``--outputs read-back``).
        """
        thread_options = ["--threads", int(threads)] if threads and threads > 0 else []
        return python_command(CLI_MODULE, self.task.name, input_path, "-o", output_root, "--progress", "json",
                              "--outputs", "read-back", *thread_options, *options)

    def _launch(self, volume_node, job_folder: Path, threads: int, use_gpu: bool, options) -> TaskJob:
        from ..imageio import write_image
        from ..mrml import image_from_volume_node

        input_path = job_folder / INPUT_FILE_NAME
        write_image(image_from_volume_node(volume_node), input_path)
        output_root = job_folder / "output"
        argv = self.command(input_path, output_root, threads, options)
        process = self._process_factory(argv, env=python_env({} if use_gpu else CPU_ONLY_ENV))
        process.start()
        return TaskJob(volume_node, process, job_folder, output_root / input_path.stem, title=self.title)
