"""A run stopped by a real signal leaves no half-written case and no staging folder behind."""

import os
import signal
import subprocess
import sys
import time

import pytest
from repo_paths import CORE_SOURCE

from lesionai.results import new_hidden_folder, sweep_stale_staging

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name == "nt", reason="POSIX signals")

# Writes one case whose files take long to write: the test stops it while it is writing.
# Ctrl-C acts as in a terminal even where the test runner was started in the background (SIGINT ignored).
SLOW_WRITER = """
import signal, sys, time
from pathlib import Path
from lesionai.results import stop_cleanly_on_sigterm, write_case
signal.signal(signal.SIGINT, signal.default_int_handler)
stop_cleanly_on_sigterm()
def write_files(folder):
    (folder / "result.json").write_text("{}")
    print("writing", flush=True)
    time.sleep(60)
write_case(Path(sys.argv[1]) / "case", write_files, generator="lesionai test", case_files=("result.json",))
"""


def start_slow_writer(output):
    return subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(output)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(CORE_SOURCE)})


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_writing_removes_the_staging_folder(tmp_path, signal_number):
    child = start_slow_writer(tmp_path)
    assert child.stdout.readline().strip() == "writing"
    assert len(list(tmp_path.iterdir())) == 1  # the hidden staging folder, nothing else
    child.send_signal(signal_number)
    assert child.wait(timeout=30) != 0
    assert list(tmp_path.iterdir()) == []


def test_a_killed_run_leaves_staging_that_the_next_run_sweeps(tmp_path):
    child = start_slow_writer(tmp_path)
    assert child.stdout.readline().strip() == "writing"
    child.kill()  # SIGKILL: no clean-up possible
    child.wait(timeout=30)
    (stale,) = list(tmp_path.iterdir())
    mine = new_hidden_folder(tmp_path, "running")  # a folder of a live process (this one) is kept
    time.sleep(0.05)
    assert sweep_stale_staging(tmp_path) == [stale]
    assert list(tmp_path.iterdir()) == [mine]
