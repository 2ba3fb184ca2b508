"""End-to-end: the ``lesionai severity`` command on DICOM radiographs as scanners write them.

The inputs are synthesised from phantom radiographs (known lungs) with pydicom: a CR image stored
MONOCHROME1 (dark = dense) in JPEG 2000 lossless, a DX image in 8-bit JPEG baseline with only
ImagerPixelSpacing, a series folder that also holds a DICOMDIR and a README, a truncated file, and
a mirrored image whose PatientOrientation says so. The checks are what a user sees: exit status,
label maps on the input's grid, right and left lungs on the patient's right and left, zone areas
in the file's millimetres, and warnings.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    JPEGBaseline8Bit,
    generate_uid,
)

from lesionai import cli
from lesionai.imageio import read_image
from lesionai.phantoms.cxr import generate_cxr_phantom

from dicom_samples import compress_jpeg2000_lossless, new_dataset, save_dicom

CR_SPACING_MM = 0.35
DX_SPACING_MM = 0.3
RIGHT_LUNG, LEFT_LUNG = 1, 2
UNKNOWN_SPACING = "pixel spacing unknown"
CASES = {"cr": "cr_mono1", "dx": "dx_jpeg", "series": "series"}  # input -> output case folder


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * (a & b).sum() / (a.sum() + b.sum())


def radiograph_dataset(modality: str, sop_class: str, rows: int, cols: int):
    """A single-frame radiograph header without pixels (uncompressed little endian meta)."""
    dataset = new_dataset(sop_class)
    dataset.Modality, dataset.ViewPosition, dataset.BodyPartExamined = modality, "PA", "CHEST"
    dataset.PatientName, dataset.PatientID = "Phantom^Chest", "PHANTOM"
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID = generate_uid(), generate_uid()
    dataset.Rows, dataset.Columns, dataset.SamplesPerPixel = rows, cols, 1
    dataset.PixelRepresentation = 0
    return dataset


def write_cr_monochrome1_j2k(intensity: np.ndarray, path: Path) -> Path:
    """CR, MONOCHROME1 (stored 4095 - intensity, 12 bits), JPEG 2000 lossless, PixelSpacing."""
    dataset = radiograph_dataset("CR", ComputedRadiographyImageStorage, *intensity.shape)
    dataset.PhotometricInterpretation = "MONOCHROME1"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 12, 11
    dataset.PixelSpacing = [CR_SPACING_MM, CR_SPACING_MM]
    stored = (4095 - np.round(intensity)).astype(np.uint16)
    compress_jpeg2000_lossless(dataset, stored)
    save_dicom(dataset, path)
    return path


def write_dx_jpeg_baseline(intensity: np.ndarray, path: Path, orientation: str | None = None) -> Path:
    """DX, MONOCHROME2, 8-bit JPEG baseline (Pillow bytes), ImagerPixelSpacing only."""
    dataset = radiograph_dataset("DX", DigitalXRayImageStorageForPresentation, *intensity.shape)
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 8, 8, 7
    dataset.ImagerPixelSpacing = [DX_SPACING_MM, DX_SPACING_MM]
    if orientation:
        dataset.PatientOrientation = orientation.split("\\")
    grey = np.clip(np.round(intensity / 16), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(grey).save(buffer, format="JPEG", quality=95)
    dataset.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    dataset.PixelData = encapsulate([buffer.getvalue()])
    dataset["PixelData"].VR = "OB"
    dataset["PixelData"].is_undefined_length = True
    save_dicom(dataset, path)
    return path


def write_dicomdir_like(path: Path) -> Path:
    """A media directory index (no image) as found beside exported series."""
    dataset = new_dataset("1.2.840.10008.1.3.10")
    dataset.FileSetID = "PHANTOM"
    dataset.DirectoryRecordSequence = []
    save_dicom(dataset, path)
    return path


@pytest.fixture(scope="module")
def dicom_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dicom")
    cr_phantom = generate_cxr_phantom(seed=31, size=(512, 512))
    dx_phantom = generate_cxr_phantom(seed=32, size=(512, 512))
    cr = write_cr_monochrome1_j2k(cr_phantom.image.array[0], folder / "cr_mono1.dcm")
    dx = write_dx_jpeg_baseline(dx_phantom.image.array[0], folder / "dx_jpeg.dcm")
    series = folder / "series"
    series.mkdir()
    shutil.copy(dx, series / "IM0001")
    write_dicomdir_like(series / "DICOMDIR")
    (series / "README.txt").write_text("Exported by a PACS viewer. Not an image.\n")
    truncated = folder / "cr_truncated.dcm"
    truncated.write_bytes(cr.read_bytes()[: cr.stat().st_size * 2 // 3])
    return {"cr": cr, "dx": dx, "series": series, "truncated": truncated,
            "phantom": {"cr": cr_phantom, "dx": dx_phantom, "series": dx_phantom}}


@pytest.fixture(scope="module")
def dicom_run(dicom_inputs, tmp_path_factory):
    output = tmp_path_factory.mktemp("results")
    inputs = [str(dicom_inputs[name]) for name in ("cr", "dx", "series")]
    status = cli.main(["severity", *inputs, "-o", str(output), "--progress", "none"])
    return status, output


def test_dicom_batch_succeeds_with_one_case_per_input(dicom_run):
    status, output = dicom_run
    assert status == 0
    assert sorted(p.name for p in output.iterdir()) == sorted(CASES.values())


@pytest.mark.parametrize("name", CASES)
def test_labelmaps_lie_on_the_dicom_grid(dicom_run, dicom_inputs, name):
    _, output = dicom_run
    source = read_image(dicom_inputs[name])
    for labelmap in ("lungs.nrrd", "zones.nrrd"):
        labels = read_image(output / CASES[name] / labelmap)
        assert labels.array.shape == source.array.shape
        assert labels.geometry == source.geometry


@pytest.mark.parametrize("name", CASES)
def test_right_and_left_lungs_match_the_phantom(dicom_run, dicom_inputs, name):
    _, output = dicom_run
    lungs = read_image(output / CASES[name] / "lungs.nrrd").array
    truth = dicom_inputs["phantom"][name].lung_labels
    for side in (RIGHT_LUNG, LEFT_LUNG):
        assert dice(lungs == side, truth == side) > 0.8, f"{name}: label {side} misplaced"


def test_monochrome1_is_read_as_dense_bright(dicom_inputs):
    image = read_image(dicom_inputs["cr"])
    phantom = dicom_inputs["phantom"]["cr"].image.array
    assert image.metadata["photometric_interpretation"] == "MONOCHROME1"
    assert np.array_equal(image.array, np.round(phantom))  # inverted back; JPEG 2000 is lossless


@pytest.mark.parametrize("name, spacing", [("cr", CR_SPACING_MM), ("dx", DX_SPACING_MM), ("series", DX_SPACING_MM)])
def test_zone_areas_use_the_dicom_pixel_spacing(dicom_run, name, spacing):
    _, output = dicom_run
    case = output / CASES[name]
    record = json.loads((case / "result.json").read_text())
    zones = read_image(case / "zones.nrrd").array
    zone_a_pixels = int((zones == 1).sum())
    assert zone_a_pixels > 1000
    assert record["zones"]["A"]["area_mm2"] == pytest.approx(zone_a_pixels * spacing**2, rel=1e-3)
    assert not any(UNKNOWN_SPACING in warning for warning in record["warnings"])


@pytest.mark.filterwarnings("ignore:End of file reached")
def test_truncated_file_is_reported_and_skipped(dicom_inputs, tmp_path, capsys):
    inputs = [dicom_inputs["truncated"], dicom_inputs["dx"], dicom_inputs["cr"]]
    status = cli.main(["severity", *map(str, inputs), "-o", str(tmp_path), "--progress", "none"])
    errors = capsys.readouterr().err
    assert status == 1
    assert "cr_truncated.dcm" in errors and "truncated" in errors.lower()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cr_mono1", "dx_jpeg"]
    assert all((tmp_path / case / "lungs.nrrd").is_file() for case in ("cr_mono1", "dx_jpeg"))


def test_mirrored_image_with_patient_orientation_keeps_patient_sides(tmp_path):
    """``R\\F``: column index grows towards the patient's right, so the right lung is on the image right."""
    phantom = generate_cxr_phantom(seed=33, size=(512, 512))
    mirrored = phantom.image.array[0, :, ::-1]
    path = write_dx_jpeg_baseline(mirrored, tmp_path / "mirrored.dcm", orientation="R\\F")
    output = tmp_path / "results"
    assert cli.main(["severity", str(path), "-o", str(output), "--progress", "none"]) == 0
    lungs = read_image(output / "mirrored" / "lungs.nrrd").array
    truth = phantom.lung_labels[..., ::-1]
    for side in (RIGHT_LUNG, LEFT_LUNG):
        assert dice(lungs == side, truth == side) > 0.8, f"label {side} is on the wrong side"
    columns = np.nonzero(lungs[0] == RIGHT_LUNG)[1]
    assert columns.mean() > lungs.shape[-1] / 2  # the patient's right lung lies on the image right


def test_a_folder_with_other_files_says_which_it_ignored(dicom_run):
    _, output = dicom_run
    warnings = json.loads((output / "series" / "result.json").read_text())["warnings"]
    ignored = [warning for warning in warnings if "ignored" in warning]
    assert ignored == ["2 file(s) in the folder are not DICOM images and were ignored: DICOMDIR, README.txt"]
