"""``lesionai spine`` on volumes the scan check refuses (not a spinal MRI): exit status, message, no
case folder, ``--force``, and a batch that goes on (real scan check and cord models)."""

import json

import pytest

from lesionai import cli
from lesionai.imageio import write_image
from lesionai.phantoms.nodule import generate_nodule_phantom
from lesionai.phantoms.spine import generate_spine_phantom
from lesionai.spine.pipeline import HOW_TO_FORCE


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A sagittal T2w spine phantom and a chest CT block with a nodule (Hounsfield units), as NIfTI."""
    folder = tmp_path_factory.mktemp("inputs")
    write_image(generate_spine_phantom(seed=4, lesions=1).image, folder / "spine.nii.gz")
    write_image(generate_nodule_phantom(seed=1).image, folder / "chest-ct.nii.gz")
    return folder


def spine(*arguments) -> int:
    return cli.main(["spine", *map(str, arguments)])


def test_a_chest_ct_exits_1_with_the_reason_and_writes_no_case(inputs, tmp_path, capsys):
    assert spine(inputs / "chest-ct.nii.gz", "-o", tmp_path, "--progress", "none") == 1
    error = capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert "chest-ct.nii.gz: Not segmented: the scan check says this is not a spinal MRI" in error
    assert "anatomy: CT (p=" in error and "below the registry's threshold 0.5" in error
    assert HOW_TO_FORCE in error


def test_force_segments_the_chest_ct_with_the_reason_as_a_warning(inputs, tmp_path):
    assert spine(inputs / "chest-ct.nii.gz", "-o", tmp_path, "--progress", "none", "--force", "--no-lesions") == 0
    record = json.loads((tmp_path / "chest-ct" / "result.json").read_text())
    assert record["scan_check"]["anatomy"]["label"] == "CT"
    assert record["warnings"][0].startswith("segmented anyway (force): anatomy: CT (p=")


def test_a_batch_segments_the_spine_and_exits_1_for_the_chest_ct(inputs, tmp_path, capsys):
    status = spine(inputs / "chest-ct.nii.gz", inputs / "spine.nii.gz", "-o", tmp_path, "--progress", "json")
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert status == 1
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_dir()) == ["spine"]
    assert json.loads((tmp_path / "spine" / "result.json").read_text())["cord"]["volume_mm3"] > 0
    (error,) = [event for event in events if event["event"] == "error"]
    assert error["type"] == "RefusedInputError" and "chest-ct.nii.gz" in error["message"]
    assert [event["input"] for event in events if event["event"] == "result"] == [str(inputs / "spine.nii.gz")]


@pytest.mark.realdata
@pytest.mark.parametrize("path, anatomy", [("negatives/mr/niivue_FLAIR.nii.gz", "brain"),
                                           ("negatives/ct/totalseg_example_ct.nii.gz", "CT")])
def test_a_real_brain_mri_or_ct_is_refused(shared_data, tmp_path, capsys, path, anatomy):
    if not (shared_data / path).is_file():
        pytest.skip(f"{path} is not in the development data")
    assert spine(shared_data / path, "-o", tmp_path, "--progress", "none") == 1
    assert f"anatomy: {anatomy} (p=" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_the_spine_command_offers_force():
    parser = cli.build_parser()
    assert parser.parse_args(["spine", "x.nii.gz", "-o", "out", "--force"]).force is True
    assert parser.parse_args(["spine", "x.nii.gz", "-o", "out"]).force is False
