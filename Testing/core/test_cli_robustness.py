"""The command line under conditions users create: damaged files mid-batch, odd output folders,
interrupted demos, mistyped options, half-finished training runs."""

from __future__ import annotations

import stat

import numpy as np
import pytest
from pydicom.uid import DigitalXRayImageStorageForPresentation

from lesionai import cli
from lesionai.errors import InputError
from lesionai.imageio import read_image, write_image
from lesionai.phantoms.cxr import generate_cxr_phantom
from lesionai.severity.pipeline import SeverityPipeline

from dicom_samples import new_dataset, save_dicom


@pytest.fixture(scope="module")
def frontal(tmp_path_factory):
    path = tmp_path_factory.mktemp("inputs") / "frontal.nrrd"
    write_image(generate_cxr_phantom(seed=21, size=(384, 384)).image, path)
    return path


def write_dx(path, orientation):
    """An uncompressed 16-bit DX radiograph with the given ImageOrientationPatient."""
    pixels = np.round(generate_cxr_phantom(seed=22, size=(256, 256)).image.array[0]).astype(np.uint16)
    dataset = new_dataset(DigitalXRayImageStorageForPresentation)
    dataset.Modality, dataset.PatientID = "DX", "PHANTOM"
    dataset.Rows, dataset.Columns = pixels.shape
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 16, 15, 0
    dataset.PixelSpacing = [0.4, 0.4]
    dataset.ImagePositionPatient = [0, 0, 0]
    dataset.ImageOrientationPatient = orientation
    dataset.PixelData = pixels.tobytes()
    save_dicom(dataset, path)
    return path


@pytest.mark.parametrize("orientation", [[0, 0, 0, 0, 0, 0], [1, 0, 0, 1, 0, 0]])
def test_damaged_dicom_orientation_is_an_input_error_and_leaves_nothing(tmp_path, frontal, orientation):
    damaged = write_dx(tmp_path / "damaged.dcm", orientation)
    with pytest.raises(InputError, match="ImageOrientationPatient"):
        read_image(damaged)
    output = tmp_path / "out"
    assert cli.main(["severity", str(damaged), str(frontal), "-o", str(output), "--progress", "none"]) == 1
    assert sorted(p.name for p in output.iterdir()) == ["frontal"]  # no hidden staging folder left


class FailsOnSmallImages(SeverityPipeline):
    """The real pipeline, except that it breaks unexpectedly (not with a LesionAIError) on one input."""

    def run(self, image, progress=None):
        if image.array.shape[1] < 300:
            raise MemoryError("simulated out-of-memory")
        return super().run(image, progress)


def test_an_unexpected_error_skips_one_input_and_the_batch_goes_on(tmp_path, frontal, capsys):
    from lesionai.batch import run_batch

    small = tmp_path / "small.nrrd"
    write_image(generate_cxr_phantom(seed=23, size=(256, 256)).image, small)
    outcome = run_batch("severity", [small, frontal], tmp_path / "out", progress="none", pipeline=FailsOnSmallImages())
    assert [path.name for path, _ in outcome.succeeded] == ["frontal.nrrd"]
    (failed, message), = outcome.failed
    assert failed == small and "unexpected MemoryError: simulated out-of-memory" in message
    errors = capsys.readouterr().err
    assert "skipped" in errors and "Traceback" in errors  # a defect keeps its traceback for the bug report


def test_case_folders_are_as_readable_as_any_new_folder(tmp_path, frontal):
    assert cli.main(["severity", str(frontal), "-o", str(tmp_path), "--progress", "none"]) == 0
    reference = tmp_path / "reference"
    reference.mkdir()
    assert stat.S_IMODE((tmp_path / "frontal").stat().st_mode) == stat.S_IMODE(reference.stat().st_mode)


@pytest.mark.parametrize("command", ["severity", "demo"])
def test_an_output_path_that_is_a_file_is_refused_and_kept(tmp_path, frontal, capsys, command):
    mine = tmp_path / "results.txt"
    mine.write_text("my notes")
    assert cli.main([command, str(frontal), "-o", str(mine), "--progress", "none"]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err and mine.read_text() == "my notes"


def test_an_interrupted_demo_can_be_run_again(tmp_path):
    arguments = ["demo", "-o", str(tmp_path), "--phantoms", "1", "--tasks", "severity", "--progress", "none"]
    assert cli.main(arguments) == 0
    (tmp_path / "index.html").unlink()  # as if the first run had been stopped before writing its report
    assert cli.main(arguments) == 0
    assert "phantom-1-frontal" in (tmp_path / "index.html").read_text()


def test_a_demo_with_nothing_to_run_says_so(tmp_path, capsys):
    assert cli.main(["demo", "-o", str(tmp_path), "--phantoms", "0", "--tasks", "severity", "--progress", "none"]) == 1
    assert "Nothing to run" in capsys.readouterr().err


@pytest.mark.parametrize("arguments, complaint", [
    (["severity", "x.png", "-o", "out", "--threads", "-3"], "at least 1"),
    (["train", "view-check", "--set", "epochs"], "expected KEY=VALUE"),
    (["train", "view-check", "--config", "no-such-config.yaml"], "no such file"),
])
def test_mistyped_options_are_usage_errors(arguments, complaint, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(arguments)
    assert stopped.value.code == 2 and complaint in capsys.readouterr().err


def test_exporting_a_folder_that_is_not_a_training_run_is_explained(tmp_path, capsys):
    assert cli.main(["export-onnx", str(tmp_path / "no-run")]) == 1
    assert "is not a finished training run: it has no config.yaml" in capsys.readouterr().err


def test_training_without_the_training_extra_names_the_fix(monkeypatch, capsys):
    """As after ``make demo``, which installs no PyTorch: the import of torch fails."""
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "lesionai.training.view", raising=False)
    assert cli.main(["train", "view-check", "--run-dir", "never-created"]) == 1
    assert "pip install -e '.[train]'" in capsys.readouterr().err


def test_case_folder_names_never_collide():
    from pathlib import Path

    from lesionai.batch import case_names

    names = case_names([Path("a.png"), Path("x/a.png"), Path("a-2.png"), Path("y/a.dcm"), Path("b.nii.gz")])
    assert names == ["a", "a-2", "a-2-2", "a-3", "b"]
    assert len(set(names)) == len(names)


def test_the_demo_keeps_one_result_per_input_even_with_clashing_names(tmp_path, frontal):
    import shutil

    other = tmp_path / "other"
    other.mkdir()
    inputs = [shutil.copy(frontal, tmp_path / "a.nrrd"), shutil.copy(frontal, other / "a.nrrd"),
              shutil.copy(frontal, tmp_path / "a-2.nrrd")]
    assert cli.main(["demo", *map(str, inputs), "-o", str(tmp_path / "demo"), "--phantoms", "0",
                     "--progress", "none"]) == 0
    results = sorted(p.name for p in (tmp_path / "demo" / "results" / "severity").iterdir())
    assert results == ["a", "a-2", "a-2-2"]
