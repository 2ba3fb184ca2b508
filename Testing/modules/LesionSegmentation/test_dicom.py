"""LesionSegmentation on a DICOM series: loaded as Slicer would, run by the logic and the command line.

The series is a generated axial T2*w spine phantom written slice by slice as MR Image Storage with
pydicom (positions and orientation in LPS, as DICOM has them); the real shipped models run on it.
"""

import numpy as np
import pytest

slicer = pytest.importorskip("slicer")

from LesionSegmentationLib import logic
from pydicom.uid import MRImageStorage, generate_uid

from lesionai import cli, mrml
from lesionai.imageio import read_image
from lesionai.registry import ModelRegistry

from dicom_samples import new_dataset, save_dicom

LPS = np.diag([-1.0, -1.0, 1.0])


def test_the_spine_models_ship_with_the_package():
    assert {"spine-cord-unet", "spine-lesion-attention-unet"} <= {entry.id for entry in ModelRegistry.load().entries}


@pytest.fixture(scope="module")
def phantom():
    from lesionai.phantoms.spine import generate_spine_phantom

    return generate_spine_phantom(seed=2, view="axial", contrast="T2*w", lesions=1)


@pytest.fixture(scope="module")
def series_folder(tmp_path_factory, phantom):
    folder = tmp_path_factory.mktemp("spine-series")
    write_mr_series(phantom.image, folder)
    return folder


def write_mr_series(image, folder):
    """One MR file per slice ``k`` of ``image`` (array ``[k, j, i]``, RAS geometry)."""
    geometry, series = image.geometry, generate_uid()
    rows_lps, columns_lps = LPS @ geometry.direction[:, 0], LPS @ geometry.direction[:, 1]
    pixels = np.clip(image.array, 0, 4095).astype(np.uint16)
    for k in range(pixels.shape[0]):
        position = LPS @ (geometry.ijk_to_ras() @ np.array([0, 0, k, 1.0]))[:3]
        dataset = new_dataset(MRImageStorage)
        dataset.Modality, dataset.SeriesInstanceUID, dataset.StudyInstanceUID = "MR", series, "1.2.3"
        dataset.InstanceNumber, dataset.SeriesDescription = k + 1, "t2star axial"
        dataset.ImagePositionPatient = [float(v) for v in position]
        dataset.ImageOrientationPatient = [float(v) for v in (*rows_lps, *columns_lps)]
        dataset.PixelSpacing = [geometry.spacing[1], geometry.spacing[0]]
        dataset.SliceThickness = geometry.spacing[2]
        dataset.Rows, dataset.Columns = pixels.shape[1:]
        dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, "MONOCHROME2"
        dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 12, 11, 0
        dataset.PixelData = pixels[k].tobytes()
        save_dicom(dataset, folder / f"slice{k:03d}.dcm")


def cord_dice(labels, truth) -> float:
    found, expected = labels >= 1, truth >= 1
    return 2 * (found & expected).sum() / (found.sum() + expected.sum())


def truth_on(geometry, phantom) -> np.ndarray:
    """The phantom's labels on ``geometry``'s grid (the series stacks slices along row x column)."""
    shape = phantom.labels.shape
    k, j, i = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    ijk = np.stack([i.ravel(), j.ravel(), k.ravel(), np.ones(k.size)])
    source = np.rint(phantom.image.geometry.ras_to_ijk() @ geometry.ijk_to_ras() @ ijk).astype(int)
    return phantom.labels[source[2], source[1], source[0]].reshape(shape)


def test_the_series_reads_back_on_the_phantom_grid(series_folder, phantom):
    volume = read_image(series_folder)
    assert volume.array.shape == phantom.image.array.shape
    np.testing.assert_array_equal(truth_on(volume.geometry, phantom), phantom.labels[::-1])  # same voxels, k reversed


def test_the_logic_segments_a_volume_loaded_from_the_series(scene, series_folder, phantom):
    volume = mrml.volume_node_from_image(scene, read_image(series_folder), "t2star")
    nodes = logic.LesionSegmentationLogic().process(volume)
    assert nodes.scan_check["anatomy"]["label"] == "spine" and nodes.scan_check["view"]["label"] == "axial"
    assert cord_dice(nodes.result.labels.array, truth_on(nodes.result.labels.geometry, phantom)) > 0.7
    assert nodes.cord_table.GetNumberOfRows() > 5


def test_the_command_line_takes_the_series_folder(series_folder, tmp_path, phantom):
    assert cli.main(["spine", str(series_folder), "-o", str(tmp_path), "--progress", "none"]) == 0
    labels = read_image(tmp_path / series_folder.name / "labels.nrrd")
    assert labels.geometry == read_image(series_folder).geometry
    assert cord_dice(labels.array, truth_on(labels.geometry, phantom)) > 0.7
