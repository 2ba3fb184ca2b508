"""Background pipeline processes: progress events, failures, cancellation of the whole tree."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from lesionai.errors import CancelledError, ProcessError
from lesionai.process import BackgroundProcess, python_command, python_env, run_blocking
from lesionai.progress import ProgressReporter, parse_event

POSIX = os.name != "nt"


def python_script(source: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(source)]


def pid_alive(pid: int) -> bool:
    """True while ``pid`` is a live process (a zombie waiting to be reaped counts as dead)."""
    if not POSIX:
        listing = subprocess.run(["tasklist", "/FI", f"PID eq {pid}"], check=False, capture_output=True,
                                 text=True).stdout
        return str(pid) in listing
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def dies_soon(pid: int, timeout_s: float = 5.0) -> bool:
    """True once ``pid`` is dead; a killed process may take a moment to go on a loaded machine."""
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def first_event(process: BackgroundProcess, kind: str) -> dict:
    while process.running:
        for event in process.poll(timeout=0.5):
            if event["event"] == kind:
                return event
    raise AssertionError(f"process ended without a {kind} event; stderr:\n{process.stderr}")


SPAWNS_STUBBORN_GRANDCHILD = """
    import json, signal, subprocess, sys, time
    grandchild = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
        "time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    grandchild.stdout.readline()  # reported only once it ignores SIGTERM, so a cancel must kill it
    print(json.dumps({"event": "result", "grandchild": grandchild.pid}), flush=True)
    time.sleep(120)
"""


# ---------------------------------------------------------------------------------------------
# Progress protocol


def test_reporter_writes_one_parseable_json_line_per_event():
    stream = io.StringIO()
    reporter = ProgressReporter(stream)
    reporter.progress(0.25, "Segmenting lungs")
    reporter.log("Pixel spacing missing", level="warning")
    reporter.result(scores=np.array([1, 2]), output=Path("out") / "seg.nrrd", total=np.int64(3))
    reporter.error_from(ValueError("bad input"))
    events = [parse_event(line) for line in stream.getvalue().splitlines()]
    assert events == [
        {"event": "progress", "fraction": 0.25, "message": "Segmenting lungs"},
        {"event": "log", "level": "warning", "message": "Pixel spacing missing"},
        {"event": "result", "scores": [1, 2], "output": str(Path("out") / "seg.nrrd"), "total": 3},
        {"event": "error", "message": "bad input", "type": "ValueError"},
    ]


def test_progress_is_clamped_and_scaled_into_sub_ranges():
    stream = io.StringIO()
    reporter = ProgressReporter(stream)
    reporter.progress(1.7)
    second_half = reporter.scaled(0.5, 1.0)
    second_half.progress(0.5)
    second_half.scaled(0.0, 0.5).progress(-1)
    fractions = [parse_event(line)["fraction"] for line in stream.getvalue().splitlines()]
    assert fractions == [1.0, 0.75, 0.5]


def test_unknown_log_level_is_refused():
    with pytest.raises(ValueError, match="level"):
        ProgressReporter(io.StringIO()).log("x", level="loud")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", None),
        ("   \n", None),
        ("Downloading weights...\n", {"event": "log", "level": "info", "message": "Downloading weights..."}),
        ("[1, 2]", {"event": "log", "level": "info", "message": "[1, 2]"}),
        ('{"event": "shout"}', {"event": "log", "level": "info", "message": '{"event": "shout"}'}),
        ('{"event": "result", "dice": 0.9}\n', {"event": "result", "dice": 0.9}),
    ],
)
def test_parse_event_turns_any_line_into_an_event(line, expected):
    assert parse_event(line) == expected


# ---------------------------------------------------------------------------------------------
# Running to completion


def test_events_arrive_in_order_including_plain_prints():
    script = """
        from lesionai.progress import ProgressReporter
        reporter = ProgressReporter()
        reporter.progress(0.5, "half")
        print("a library talking")
        reporter.result(score=4)
    """
    seen = []
    events = run_blocking(python_script(script), on_event=seen.append, env=python_env())
    assert events == seen == [
        {"event": "progress", "fraction": 0.5, "message": "half"},
        {"event": "log", "level": "info", "message": "a library talking"},
        {"event": "result", "score": 4},
    ]


def test_failure_reports_last_error_event_and_stderr_tail():
    script = """
        import json, sys
        print(json.dumps({"event": "error", "message": "Input has 64 slices", "type": "InputError"}))
        print("Traceback: something deep", file=sys.stderr)
        sys.exit(2)
    """
    with pytest.raises(ProcessError) as caught:
        run_blocking(python_script(script))
    assert not isinstance(caught.value, CancelledError)
    assert "Input has 64 slices" in str(caught.value)
    assert "Traceback: something deep" in str(caught.value)
    assert caught.value.returncode == 2


def test_failure_without_error_event_gives_exit_status():
    with pytest.raises(ProcessError, match="exited with status 3"):
        run_blocking(python_script("import sys; sys.exit(3)"))


def test_stderr_is_collected_apart_from_events():
    process = BackgroundProcess(python_script("import sys; print('warn', file=sys.stderr); print('out')")).start()
    assert process.wait() == 0
    assert process.stderr == "warn"
    assert process.poll() == [{"event": "log", "level": "info", "message": "out"}]
    assert not process.running and process.returncode == 0


def test_poll_returns_at_once_while_child_is_quiet():
    process = BackgroundProcess(python_script("import time; time.sleep(60)"), grace_period_s=1).start()
    try:
        assert process.poll() == []
        assert process.running and process.returncode is None
    finally:
        process.cancel()


def test_environment_additions_and_working_directory_reach_the_child(tmp_path):
    script = """
        import json, os
        print(json.dumps({"event": "result", "flag": os.environ["LESIONAI_TEST_FLAG"], "cwd": os.getcwd()}))
    """
    events = run_blocking(python_script(script), env={"LESIONAI_TEST_FLAG": "yes"}, cwd=tmp_path)
    assert events[-1]["flag"] == "yes"
    assert Path(events[-1]["cwd"]).resolve() == tmp_path.resolve()


def test_python_command_runs_a_lesionai_module(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    command = python_command("lesionai.progress")
    assert command[:3] == [sys.executable, "-m", "lesionai.progress"]
    assert run_blocking(command, env=python_env(), cwd=tmp_path) == []


def test_program_that_cannot_start_is_a_process_error(tmp_path):
    with pytest.raises(ProcessError, match="Could not start"):
        run_blocking([str(tmp_path / "no-such-program")])


def test_timeout_stops_the_process():
    with pytest.raises(ProcessError, match="did not finish within 0.5 s"):
        run_blocking(python_script("import time; time.sleep(60)"), timeout=0.5)


# ---------------------------------------------------------------------------------------------
# Cancelling


def test_cancel_during_blocking_run_raises_cancelled_error():
    script = """
        import json, time
        print(json.dumps({"event": "progress", "fraction": 0.1, "message": "started"}), flush=True)
        time.sleep(60)
    """
    seen = []
    with pytest.raises(CancelledError, match="cancelled"):
        run_blocking(python_script(script), on_event=seen.append, is_cancelled=lambda: bool(seen))
    assert seen[0]["message"] == "started"


def test_on_event_raising_cancelled_error_stops_the_tree():
    grandchildren = []

    def stop_at_first_event(event):
        grandchildren.append(event["grandchild"])
        raise CancelledError("user pressed Cancel")

    with pytest.raises(CancelledError, match="user pressed Cancel"):
        run_blocking(python_script(SPAWNS_STUBBORN_GRANDCHILD), on_event=stop_at_first_event)
    assert dies_soon(grandchildren[0])


def test_cancel_kills_child_and_grandchild():
    process = BackgroundProcess(python_script(SPAWNS_STUBBORN_GRANDCHILD), grace_period_s=1).start()
    grandchild = first_event(process, "result")["grandchild"]
    assert pid_alive(grandchild)
    process.cancel()
    assert process.cancelled
    assert not process.running
    assert process.returncode is not None
    assert not pid_alive(process.pid)
    assert dies_soon(grandchild)


@pytest.mark.skipif(not POSIX, reason="signals are POSIX-only")
def test_child_ignoring_terminate_is_killed_after_grace_period():
    script = """
        import json, signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print(json.dumps({"event": "log", "level": "info", "message": "ready"}), flush=True)
        time.sleep(60)
    """
    process = BackgroundProcess(python_script(script), grace_period_s=0.5).start()
    first_event(process, "log")
    process.cancel()
    assert process.returncode == -signal.SIGKILL


def test_cancel_after_normal_exit_is_not_a_cancellation():
    process = BackgroundProcess(python_script("print('done')")).start()
    process.wait()
    process.cancel()
    assert not process.cancelled
    assert process.returncode == 0


def test_cancel_before_start_does_nothing():
    process = BackgroundProcess(python_script("pass"))
    process.cancel()
    assert not process.running and process.returncode is None and process.poll() == []


@pytest.mark.skipif(not POSIX, reason="signals are POSIX-only")
def test_requested_cancel_returns_at_once_and_a_later_poll_kills_the_tree():
    process = BackgroundProcess(python_script(SPAWNS_STUBBORN_GRANDCHILD), grace_period_s=1).start()
    grandchild = first_event(process, "result")["grandchild"]
    process.request_cancel()
    assert process.cancelled
    assert pid_alive(grandchild)  # only asked: the grandchild ignores SIGTERM and the grace period runs
    while not process.cancel_done():
        time.sleep(0.05)
    assert not pid_alive(process.pid)
    assert dies_soon(grandchild)


def test_requested_cancel_of_a_cooperative_child_ends_before_the_grace_period():
    script = """
        import json, time
        print(json.dumps({"event": "log", "level": "info", "message": "ready"}), flush=True)
        time.sleep(60)
    """
    process = BackgroundProcess(python_script(script), grace_period_s=60).start()
    first_event(process, "log")
    process.request_cancel()
    while not process.cancel_done():
        time.sleep(0.05)
    assert process.returncode == (-signal.SIGTERM if POSIX else 1)
