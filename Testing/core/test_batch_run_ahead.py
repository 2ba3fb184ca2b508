"""The batch runs the next input while it writes a case: outcomes stay in input order, and an interrupt
still leaves whole cases or none, and no staging folder."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image as PILImage
from repo_paths import CORE_SOURCE

from lesionai.batch import run_batch
from lesionai.phantoms.cxr import eight_bit, generate_cxr_phantom
from lesionai.severity import outputs


@pytest.fixture(scope="module")
def radiographs(tmp_path_factory):
    """Four small frontal phantom PNGs, and a corrupt PNG as the second input."""
    folder = tmp_path_factory.mktemp("radiographs")
    paths = []
    for seed in range(4):
        plane = eight_bit(generate_cxr_phantom(seed=20 + seed, size=(384, 384)).image.array[0])
        PILImage.fromarray(plane).save(folder / f"chest-{seed}.png")
        paths.append(folder / f"chest-{seed}.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not a picture")
    return [paths[0], folder / "corrupt.png", *paths[1:]]


def test_outcomes_and_events_keep_the_input_order_when_reading_or_writing_fails(radiographs, tmp_path, monkeypatch,
                                                                                capsys):
    write_files = outputs.write_files

    def failing_for_chest_2(image, result, folder, input_name, **keywords):
        if input_name == "chest-2.png":
            raise OSError("No space left on device")
        return write_files(image, result, folder, input_name=input_name, **keywords)

    monkeypatch.setattr(outputs, "write_files", failing_for_chest_2)
    outcome = run_batch("severity", radiographs, tmp_path, progress="json")
    assert [path.name for path, _ in outcome.succeeded] == ["chest-0.png", "chest-1.png", "chest-3.png"]
    assert [path.name for path, _ in outcome.failed] == ["corrupt.png", "chest-2.png"]
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finished = [(event["event"], (event.get("input") or event["message"]).split("/")[-1][:11]) for event in events
                if event["event"] in ("result", "error")]
    assert finished == [("result", "chest-0.png"), ("error", "corrupt.png"), ("result", "chest-1.png"),
                        ("error", "chest-2.png"), ("result", "chest-3.png")]
    fractions = [event["fraction"] for event in events if event["event"] == "progress"]
    assert fractions == sorted(fractions)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["chest-0", "chest-1", "chest-3"]


# Runs the batch with a write that hangs on the second case, so that the test can stop it there.
SLOW_SECOND_CASE = """
import signal, sys, time
from pathlib import Path
from lesionai import cli
from lesionai.severity import outputs
signal.signal(signal.SIGINT, signal.default_int_handler)
write_files = outputs.write_files
def slow_second(image, result, folder, input_name, **keywords):
    write_files(image, result, folder, input_name, **keywords)
    if input_name == "chest-1.png":
        print("writing", flush=True)
        time.sleep(60)
outputs.write_files = slow_second
sys.exit(cli.main(["severity", *sys.argv[2:], "-o", sys.argv[1], "--progress", "none"]))
"""


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_writing_leaves_the_cases_before_whole_and_no_staging(radiographs, tmp_path, signal_number):
    good = [str(path) for path in radiographs if path.name != "corrupt.png"]
    child = subprocess.Popen([sys.executable, "-c", SLOW_SECOND_CASE, str(tmp_path), *good], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(CORE_SOURCE)})
    assert child.stdout.readline().strip() == "writing"
    child.send_signal(signal_number)
    assert child.wait(timeout=120) != 0
    assert [path.name for path in tmp_path.iterdir()] == ["chest-0"]  # no chest-1, no hidden staging folder
    assert set(outputs.CASE_FILES) == {path.name for path in (tmp_path / "chest-0").iterdir()}
    assert np.asarray(PILImage.open(tmp_path / "chest-0" / "overlay.png")).ndim == 3
