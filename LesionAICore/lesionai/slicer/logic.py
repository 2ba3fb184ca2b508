"""The Qt-free logic every LesionAI module shares: run here or in the background, then add nodes.

A module's logic subclasses :class:`TaskLogic` and provides what is its own: the task name, the
input check (:meth:`TaskLogic.check_input`) and the nodes a result becomes
(:meth:`TaskLogic.add_nodes`). Everything else — the pipeline made on first use, the background
job, reading the result folder back, scene transactions — is written once here and in
:mod:`.jobs`, :mod:`.loading`.

>>> nodes = SpineLogic().process(volume_node)        # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..contracts import ProcessFactory
from ..process import BackgroundProcess
from ..tasks import task
from .jobs import TaskJob, TaskRunner
from .volumes import check_scalar_volume_node, scene_of


class TaskLogic:
    """Runs task :attr:`task_name` on volume nodes and adds the result nodes to a scene.

    ``pipeline``: an object with ``run(image, progress=None)`` used by :meth:`process`; by default
    the task's pipeline, made on first use with ``pipeline_options``. ``process_factory``: used by
    :meth:`start` (default :class:`lesionai.process.BackgroundProcess`).
    """

    task_name = ""
    expected_input = "a volume"

    def __init__(self, pipeline=None, process_factory: ProcessFactory = BackgroundProcess, **pipeline_options):
        self._pipeline = pipeline
        self._pipeline_options = pipeline_options
        self._runner = TaskRunner(self.task_name, process_factory, check_input=self.check_input,
                                  title=task(self.task_name).title)

    def check_input(self, volume_node) -> None:
        """Raise InputError for a volume node the task cannot use (before anything is touched)."""
        check_scalar_volume_node(volume_node, self.expected_input)

    def add_nodes(self, scene, volume_node, result) -> Any:
        """Add the nodes of ``result`` beside ``volume_node`` (one scene transaction); return them."""
        raise NotImplementedError

    @property
    def pipeline(self):
        if self._pipeline is None:
            self._pipeline = task(self.task_name).make_pipeline(**self._pipeline_options)  # loads onnxruntime
        return self._pipeline

    def process(self, volume_node, scene=None, progress=None, **run_options):
        """Run the pipeline here (blocking) and add its nodes to ``scene`` (default: the input's)."""
        from ..mrml import image_from_volume_node

        self.check_input(volume_node)
        scene = scene_of(volume_node, scene)
        result = self.pipeline.run(image_from_volume_node(volume_node), progress=progress, **run_options)
        return self.add_nodes(scene, volume_node, result)

    def start(self, volume_node, workdir=None, *, threads: int = 0, use_gpu: bool = True,
              options: Sequence[str] = ()) -> TaskJob:
        """Start the task's command line on ``volume_node`` in a child process (see :mod:`.jobs`)."""
        return self._runner.start(volume_node, workdir, threads=threads, use_gpu=use_gpu, options=options)

    def finish(self, job: TaskJob, scene):
        """Wait for ``job``, read its results and add the nodes to ``scene``."""
        return self._runner.finish(job, scene, self.add_nodes)

    def cancel(self, job: TaskJob) -> None:
        """Stop ``job``'s process tree and delete its files (blocks up to the grace period)."""
        self._runner.cancel(job)

    def request_cancel(self, job: TaskJob) -> None:
        """Ask ``job`` to stop and return at once (a GUI then polls :meth:`cancel_done`)."""
        self._runner.request_cancel(job)

    def cancel_done(self, job: TaskJob) -> bool:
        """Without blocking: True once the cancelled ``job`` is gone and its files deleted."""
        return self._runner.cancel_done(job)
