"""``--outputs read-back``: a run writes only what the task's ``read_case`` reads, so a failure in
an output nobody reads back (the overlay) cannot fail it; ``--outputs all`` keeps the whole contract."""

import dataclasses
import shutil

import numpy as np
import pytest

from lesionai import cli
from lesionai.errors import InputError
from lesionai.geometry import Image
from lesionai.results import wanted_files
from lesionai.tasks import TASKS, task

# The function each task's outputs module calls to draw overlay.png.
OVERLAY_RENDERERS = {"severity": "render_overlay", "spine": "render_overlay", "nodule": "render_nodule_overlay"}


def broken_renderer(*arguments, **keywords):
    raise RuntimeError("the overlay renderer broke")


def run(name: str, phantom, output, *options) -> int:
    return cli.main([name, str(phantom), "-o", str(output), "--progress", "none", *options])


def case_folder(output):
    (case,) = [path for path in output.iterdir() if path.is_dir()]  # nodule adds nodules.csv beside it
    return case


@pytest.fixture(scope="module", params=list(TASKS))
def runs(request, tmp_path_factory):
    """One phantom of the task run with ``--outputs all``, then with ``read-back`` and a broken overlay renderer."""
    name, folder = request.param, tmp_path_factory.mktemp(request.param)
    (phantom,) = task(name).phantom_inputs(folder / "inputs", 1)
    statuses = {"all": run(name, phantom, folder / "all", "--outputs", "all")}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(task(name).outputs_module, OVERLAY_RENDERERS[name], broken_renderer)
        statuses["read-back"] = run(name, phantom, folder / "read-back", "--outputs", "read-back")
    return name, phantom, folder, statuses


def same_result(first, second) -> bool:
    """True when two task results hold the same images and values (their timing aside)."""
    for field in dataclasses.fields(first):
        a, b = getattr(first, field.name), getattr(second, field.name)
        if field.name == "timing_s":
            continue
        if isinstance(a, Image) or isinstance(b, Image):
            if not (isinstance(a, Image) and isinstance(b, Image) and a.geometry == b.geometry
                    and np.array_equal(a.array, b.array)):
                return False
        elif a != b:
            return False
    return True


def read_or_none(read_case, case):
    """``read_case(case)``, or None when it fails (as it does without a required file)."""
    try:
        return read_case(case)
    except Exception:  # noqa: BLE001 -- whatever the failure, it shows that the file is read
        return None


def test_read_back_writes_exactly_what_read_case_reads_and_never_draws_the_overlay(runs):
    name, _, folder, statuses = runs
    outputs = task(name).outputs_module
    assert statuses == {"all": 0, "read-back": 0}  # the broken renderer was never called
    assert {path.name for path in case_folder(folder / "read-back").iterdir()} == set(outputs.READ_BACK_FILES)
    assert {path.name for path in case_folder(folder / "all").iterdir()} == set(outputs.CASE_FILES)


def test_a_read_back_case_reads_as_the_whole_case(runs):
    name, _, folder, _ = runs
    outputs = task(name).outputs_module
    assert same_result(outputs.read_case(case_folder(folder / "read-back")), outputs.read_case(case_folder(folder / "all")))


def test_read_case_reads_every_read_back_file_and_no_other(runs, tmp_path):
    """Without the files outside READ_BACK_FILES a case reads the same; without any one of
    READ_BACK_FILES it reads differently (an optional file) or not at all (a required one)."""
    name, _, folder, _ = runs
    outputs = task(name).outputs_module
    whole = case_folder(folder / "all")
    expected = outputs.read_case(whole)
    trimmed = shutil.copytree(whole, tmp_path / "trimmed")
    for name_left_out in set(outputs.CASE_FILES) - set(outputs.READ_BACK_FILES):
        (trimmed / name_left_out).unlink()
    assert same_result(outputs.read_case(trimmed), expected)
    for name_left_out in outputs.READ_BACK_FILES:
        missing_one = shutil.copytree(whole, tmp_path / f"without-{name_left_out}")
        (missing_one / name_left_out).unlink()
        read = read_or_none(outputs.read_case, missing_one)
        assert read is None or not same_result(read, expected), f"read_case ignores {name_left_out}"


def test_a_read_back_folder_counts_as_an_earlier_result(runs):
    """--overwrite replaces a read-back folder as any other earlier result of the task."""
    name, _, folder, _ = runs
    task(name).check_replaceable(case_folder(folder / "read-back"), overwrite=True)


BATCH_TABLE_TASKS = [name for name in TASKS if hasattr(task(name).outputs_module, "BATCH_TABLE")]


@pytest.mark.parametrize("runs", BATCH_TABLE_TASKS, indirect=True)
def test_the_batch_table_is_the_same_with_either_outputs(runs):
    name, _, folder, _ = runs
    outputs = task(name).outputs_module
    table = (folder / "read-back" / outputs.BATCH_TABLE).read_text(encoding="utf-8")
    assert table == (folder / "all" / outputs.BATCH_TABLE).read_text(encoding="utf-8") and table.count("\n") == 2


def test_with_all_outputs_a_failing_overlay_fails_that_input(runs, tmp_path, monkeypatch, capsys):
    name, phantom, _, _ = runs
    monkeypatch.setattr(task(name).outputs_module, OVERLAY_RENDERERS[name], broken_renderer)
    assert run(name, phantom, tmp_path / "out") == 1  # --outputs all is the default
    assert f"skipped {phantom}: unexpected RuntimeError: the overlay renderer broke" in capsys.readouterr().err
    assert not [path for path in (tmp_path / "out").iterdir() if path.is_dir()]  # no half-written case


def test_outputs_is_one_of_all_or_read_back(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.build_parser().parse_args(["spine", "t2.nii.gz", "-o", "out", "--outputs", "overlay"])
    assert stopped.value.code == 2 and "invalid choice: 'overlay'" in capsys.readouterr().err
    with pytest.raises(InputError, match="choose one of: all, read-back"):
        task("spine").case_files("overlay")


def test_a_writer_is_asked_only_for_files_of_its_contract():
    assert wanted_files(("labels.nrrd", "overlay.png", "result.json"), ()) == {"result.json"}
    with pytest.raises(ValueError, match="report.pdf not among the files"):
        wanted_files(("labels.nrrd", "result.json"), ["report.pdf"])
