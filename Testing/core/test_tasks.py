"""The task table: every task resolves to its parts, and the CLI options reach the pipeline."""

import pytest

from lesionai import cli
from lesionai.contracts import TaskPipeline
from lesionai.errors import InputError
from lesionai.tasks import TASKS, task


def test_unknown_task_names_the_known_ones():
    with pytest.raises(InputError, match="known tasks: severity, spine, nodule"):
        task("lungs")


@pytest.mark.parametrize("name", ["severity"])
def test_a_task_resolves_to_a_pipeline_and_a_result_writer(name):
    chosen = task(name)
    assert isinstance(chosen.make_pipeline(threads=1), TaskPipeline)
    outputs = chosen.outputs_module
    assert outputs.GENERATOR == f"lesionai {name}" and "result.json" in outputs.CASE_FILES
    assert callable(outputs.write_files) and callable(chosen.write_case) and callable(outputs.read_case) and callable(chosen.phantom_inputs)


@pytest.mark.parametrize("name", list(TASKS))
def test_every_outputs_module_says_which_files_read_case_reads(name):
    """READ_BACK_FILES: files of the contract, all the required ones, result.json among them."""
    chosen = task(name)
    outputs = chosen.outputs_module
    assert set(outputs.REQUIRED_FILES) <= set(outputs.READ_BACK_FILES) <= set(outputs.CASE_FILES)
    assert "result.json" in outputs.READ_BACK_FILES and len(set(outputs.READ_BACK_FILES)) == len(outputs.READ_BACK_FILES)
    assert chosen.case_files("all") == tuple(outputs.CASE_FILES)
    assert chosen.case_files("read-back") == tuple(outputs.READ_BACK_FILES)


def test_every_task_has_a_command_with_the_shared_options():
    parser = cli.build_parser()
    for name in TASKS:
        arguments = parser.parse_args([name, "x.nii.gz", "-o", "out", "--threads", "2", "--progress", "none"])
        assert arguments.threads == 2 and arguments.progress == "none" and not arguments.overwrite
        assert arguments.outputs == "all"
        assert parser.parse_args([name, "x.nii.gz", "-o", "out", "--outputs", "read-back"]).outputs == "read-back"


def test_task_options_become_pipeline_keywords():
    arguments = cli.build_parser().parse_args(["nodule", "ct.nrrd", "-o", "out", "--point=-80.2,93.9,-146.3",
                                               "--age", "61", "--sex", "F"])
    assert task("nodule").pipeline_options(arguments) == {"point": (-80.2, 93.9, -146.3), "age": 61.0, "sex": "F"}
    spine = cli.build_parser().parse_args(["spine", "t2.nii.gz", "-o", "out", "--no-lesions"])
    assert task("spine").pipeline_options(spine) == {"lesions": False, "force": False}


@pytest.mark.parametrize("text", ["1,2", "a,b,c", "1,2,3,4"])
def test_a_malformed_point_is_a_usage_error(text, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.build_parser().parse_args(["nodule", "ct.nrrd", "-o", "out", "--point", text])
    assert stopped.value.code == 2 and "expected R,A,S in mm" in capsys.readouterr().err


def test_the_core_reaches_tasks_only_through_the_table():
    """cli, batch and demo name no task package: arrows point down through lesionai.tasks."""
    import ast
    import inspect

    from lesionai import batch, demo

    for module in (cli, batch, demo):
        tree = ast.parse(inspect.getsource(module))
        imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {name for name in imported if name.split(".")[0] in ("severity", "spine", "nodule")}, module
        assert not any(isinstance(node, ast.Import) and any("severity" in a.name for a in node.names)
                       for node in ast.walk(tree))


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_survives_a_failing_segmentation_file(name, tmp_path, monkeypatch):
    """The .seg.nrrd is a copy of the label maps: when MRML fails, each task still writes its result."""
    import json

    from lesionai import results

    def broken(*arguments):
        raise RuntimeError("storage node could not write")

    monkeypatch.setattr(results, "write_segmentation_file", broken)
    (phantom,) = task(name).phantom_inputs(tmp_path / "inputs", 1)
    assert cli.main([name, str(phantom), "-o", str(tmp_path / "out"), "--progress", "none"]) == 0
    (case,) = [path for path in (tmp_path / "out").iterdir() if path.is_dir()]  # nodule adds nodules.csv
    record = json.loads((case / "result.json").read_text())
    assert not (case / "segmentation.seg.nrrd").exists() and set(task(name).outputs_module.REQUIRED_FILES) <= {
        path.name for path in case.iterdir()}
    assert any("storage node could not write" in warning for warning in record["warnings"])
