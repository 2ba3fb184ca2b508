"""The shared background job on a real child process: the command line, its files, cancel."""

import os
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

slicer = pytest.importorskip("slicer")

from lesionai import cli, mrml
from lesionai.errors import CancelledError, InputError, ProcessError
from lesionai.geometry import Image, radiograph_geometry
from lesionai.process import BackgroundProcess
from lesionai.slicer.jobs import TaskRunner


def slow_child(argv, env=None):
    """A real child process that ignores the CLI arguments and sleeps (to be cancelled)."""
    return BackgroundProcess([sys.executable, "-c", "import time; time.sleep(60)"], env=env)


def child_with_stubborn_grandchild(pid_file: Path):
    """A process factory: the child starts a worker that ignores SIGTERM, writes its pid to
    ``pid_file`` and sleeps, as a CLI with a model runtime's worker processes would."""
    code = textwrap.dedent(f"""
        import subprocess, sys, time
        worker = ("import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                  "open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)")
        subprocess.Popen([sys.executable, "-c", worker])
        time.sleep(120)
    """)
    return lambda argv, env=None: BackgroundProcess([sys.executable, "-c", code], env=env, grace_period_s=1)


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped by its parent counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def wait_for(condition, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def failing_child(argv, env=None):
    code = ("import json, sys; print(json.dumps({'event': 'error', 'message': 'Input is blank', 'type': 'InputError'}));"
            "sys.exit(1)")
    return BackgroundProcess([sys.executable, "-c", code], env=env)


@pytest.fixture
def volume(scene):
    return mrml.volume_node_from_image(scene, Image(np.random.rand(1, 32, 32).astype(np.float32),
                                                    radiograph_geometry()), "chest")


def test_the_command_runs_the_task_with_json_progress_writing_only_what_is_read_back(tmp_path):
    argv = TaskRunner("spine").command(tmp_path / "input.nrrd", tmp_path / "out", threads=2, options=["--force"])
    assert argv[1:4] == ["-m", "lesionai.cli", "spine"] and argv[-7:] == ["--progress", "json", "--outputs",
                                                                         "read-back", "--threads", "2", "--force"]
    arguments = cli.build_parser().parse_args([str(argument) for argument in argv[3:]])
    assert arguments.outputs == "read-back" and arguments.force


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


@pytest.mark.skipif(os.name == "nt", reason="process groups and SIGTERM are POSIX")
def test_cancel_kills_the_childs_own_children(volume, tmp_path_factory):
    pid_file = tmp_path_factory.mktemp("worker") / "worker.pid"
    workdir = tmp_path_factory.mktemp("job")
    runner = TaskRunner("severity", child_with_stubborn_grandchild(pid_file))
    job = runner.start(volume, workdir)
    assert wait_for(lambda: pid_file.exists() and pid_file.read_text() != ""), "the worker never started"
    worker = int(pid_file.read_text())
    assert pid_alive(worker)
    runner.cancel(job)
    assert not job.running and not any(workdir.iterdir())
    assert wait_for(lambda: not pid_alive(worker), timeout_s=5), f"worker {worker} survived the cancel"


def test_a_failed_child_reports_its_error_message(volume, tmp_path, scene):
    runner = TaskRunner("severity", failing_child)
    job = runner.start(volume, tmp_path)
    before = scene.GetNumberOfNodes()
    with pytest.raises(ProcessError, match="Input is blank"):
        runner.finish(job, scene, lambda *arguments: pytest.fail("no nodes for a failed run"))
    assert scene.GetNumberOfNodes() == before and not any(tmp_path.iterdir())


def refusing_child(argv, env=None):
    """A child that refuses its input by path, as the CLI does ("<path> is not a chest radiograph")."""
    (input_path,) = [argument for argument in argv if str(argument).endswith("input.nrrd")]
    code = ("import json, sys; print(json.dumps({'event': 'error', 'type': 'RefusedInputError', "
            f"'message': {str(input_path)!r} + ' is not a frontal chest radiograph'}})); sys.exit(1)")
    return BackgroundProcess([sys.executable, "-c", code], env=env)


def test_a_refusal_names_the_volume_not_the_temporary_file(volume, tmp_path, scene):
    runner = TaskRunner("severity", refusing_child)
    job = runner.start(volume, tmp_path)
    with pytest.raises(ProcessError) as raised:
        runner.finish(job, scene, lambda *arguments: pytest.fail("no nodes for a refused input"))
    assert "'chest' is not a frontal chest radiograph" in str(raised.value)
    assert "input.nrrd" not in str(raised.value)


def test_the_input_check_runs_before_anything_is_written(volume, tmp_path):
    def refuse(volume_node):
        raise InputError("not this one")

    with pytest.raises(InputError, match="not this one"):
        TaskRunner("severity", slow_child, check_input=refuse).start(volume, tmp_path)
    assert not any(tmp_path.iterdir())
