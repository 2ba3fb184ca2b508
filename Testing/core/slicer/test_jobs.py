"""The shared background job on a real child process: the command line, its files, cancel."""

import sys

import numpy as np
import pytest

slicer = pytest.importorskip("slicer")

from lesionai import mrml  # noqa: E402
from lesionai.errors import CancelledError, InputError, ProcessError  # noqa: E402
from lesionai.geometry import Image, radiograph_geometry  # noqa: E402
from lesionai.process import BackgroundProcess  # noqa: E402
from lesionai.slicer.jobs import TaskRunner  # noqa: E402


def slow_child(argv, env=None):
    """A real child process that ignores the CLI arguments and sleeps (to be cancelled)."""
    return BackgroundProcess([sys.executable, "-c", "import time; time.sleep(60)"], env=env)


def failing_child(argv, env=None):
    code = ("import json, sys; print(json.dumps({'event': 'error', 'message': 'Input is blank', 'type': 'InputError'}));"
            "sys.exit(1)")
    return BackgroundProcess([sys.executable, "-c", code], env=env)


@pytest.fixture
def volume(scene):
    return mrml.volume_node_from_image(scene, Image(np.random.rand(1, 32, 32).astype(np.float32),
                                                    radiograph_geometry()), "chest")


def test_the_command_runs_the_task_with_json_progress(tmp_path):
    argv = TaskRunner("spine").command(tmp_path / "input.nrrd", tmp_path / "out", threads=2, options=["--force"])
    assert argv[1:4] == ["-m", "lesionai.cli", "spine"] and argv[-5:] == ["--progress", "json", "--threads", "2",
                                                                         "--force"]


def test_a_cancelled_job_raises_and_leaves_no_files(volume, tmp_path):
    runner = TaskRunner("severity", slow_child)
    job = runner.start(volume, tmp_path)
    runner.cancel(job)
    assert not job.running and not any(tmp_path.iterdir())
    with pytest.raises(CancelledError):
        runner.check_succeeded(job, job.process.wait())


def test_a_requested_cancel_keeps_the_files_until_the_child_is_gone(volume, tmp_path):
    runner = TaskRunner("severity", slow_child)
    job = runner.start(volume, tmp_path)
    runner.request_cancel(job)
    while not runner.cancel_done(job):
        assert any(tmp_path.iterdir())  # the child may still be reading its input
    assert not job.running and not any(tmp_path.iterdir())
    with pytest.raises(CancelledError):
        runner.check_succeeded(job, job.process.wait())


def test_a_failed_child_reports_its_error_message(volume, tmp_path, scene):
    runner = TaskRunner("severity", failing_child)
    job = runner.start(volume, tmp_path)
    before = scene.GetNumberOfNodes()
    with pytest.raises(ProcessError, match="Input is blank"):
        runner.finish(job, scene, lambda *arguments: pytest.fail("no nodes for a failed run"))
    assert scene.GetNumberOfNodes() == before and not any(tmp_path.iterdir())


def test_the_input_check_runs_before_anything_is_written(volume, tmp_path):
    def refuse(volume_node):
        raise InputError("not this one")

    with pytest.raises(InputError, match="not this one"):
        TaskRunner("severity", slow_child, check_input=refuse).start(volume, tmp_path)
    assert not any(tmp_path.iterdir())
