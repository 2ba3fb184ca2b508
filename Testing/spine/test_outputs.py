"""The LesionSegmentation result folder: files, result.json keys, lesion table, read-back."""

import csv
import json

import numpy as np
import pytest

from lesionai.errors import InputError
from lesionai.imageio import read_image
from lesionai.phantoms.spine import generate_spine_phantom
from lesionai.spine import outputs
from lesionai.spine.pipeline import SpineResult, measure
from lesionai.tasks import task

SPINE = task("spine")  # its write_case: the shared writer with the spine outputs


@pytest.fixture(scope="module")
def phantom_result():
    """A result made from a phantom's true labels (no network involved)."""
    phantom = generate_spine_phantom(seed=3, view="sagittal", shape=(24, 160, 96), spacing=(1.0, 1.0, 1.0), lesions=2)
    labels = phantom.image.with_array(phantom.labels.astype(np.uint8))
    cord, lesions = measure(labels)
    return phantom.image, SpineResult(labels, None, cord, lesions, ["a warning"], {"spine-cord-unet": "1.0.0"}, 0.5)


def test_case_folder_holds_the_contract_files(phantom_result, tmp_path):
    image, result = phantom_result
    case = SPINE.write_case(image, result, tmp_path / "t2", "t2.nii.gz")
    assert set(outputs.CASE_FILES) <= {path.name for path in case.iterdir()}
    record = json.loads((case / "result.json").read_text())
    assert record["generator"] == outputs.GENERATOR and record["input"] == "t2.nii.gz"
    for key in ("labels", "warnings", "models", "timing_s", "scan_check", "cord", "lesions", "lesion_count",
                "lesion_volume_mm3"):
        assert key in record
    assert record["labels"]["labels"] == {"0": "background", "1": "spinal cord", "2": "lesion"}
    assert record["lesion_count"] == len(result.lesions) >= 1
    assert record["cord"]["csa_mm2_mean"] > 0


def test_labels_file_is_on_the_input_grid(phantom_result, tmp_path):
    image, result = phantom_result
    case = SPINE.write_case(image, result, tmp_path / "t2", "t2.nii.gz")
    labels = read_image(case / "labels.nrrd")
    assert labels.geometry == image.geometry
    assert np.array_equal(labels.array, result.labels.array)


def test_lesion_table_has_one_row_per_lesion(phantom_result, tmp_path):
    image, result = phantom_result
    case = SPINE.write_case(image, result, tmp_path / "t2", "t2.nii.gz")
    with open(case / "lesions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == result.lesion_count
    assert list(rows[0]) == list(outputs.LESION_COLUMNS)
    assert float(rows[0]["volume_mm3"]) == pytest.approx(result.lesions[0]["volume_mm3"])


def test_read_case_gives_back_the_result(phantom_result, tmp_path):
    image, result = phantom_result
    case = SPINE.write_case(image, result, tmp_path / "t2", "t2.nii.gz")
    back = outputs.read_case(case)
    assert back.lesion_count == result.lesion_count
    assert back.cord["volume_mm3"] == pytest.approx(result.cord["volume_mm3"])
    assert np.array_equal(back.labels.array, result.labels.array)


def test_segmentation_file_names_cord_and_lesion_with_snomed_codes(phantom_result, tmp_path):
    image, result = phantom_result
    case = SPINE.write_case(image, result, tmp_path / "t2", "t2.nii.gz")
    header = (case / "segmentation.seg.nrrd").read_bytes()[:20000].decode("latin-1")
    assert "Name:=spinal cord" in header and "Name:=lesion" in header
    assert "2748008" in header and "52988006" in header and "49755003" in header


def test_an_existing_folder_is_kept_without_overwrite(phantom_result, tmp_path):
    image, result = phantom_result
    case = SPINE.write_case(image, result, tmp_path / "t2", "t2.nii.gz")
    with pytest.raises(InputError):
        SPINE.write_case(image, result, case, "t2.nii.gz")
    SPINE.write_case(image, result, case, "t2.nii.gz", overwrite=True)


def test_overlay_draws_axial_scans_too(tmp_path):
    phantom = generate_spine_phantom(seed=4, view="axial", shape=(10, 128, 128), spacing=(0.5, 0.5, 5.0))
    labels = phantom.image.with_array(phantom.labels.astype(np.uint8))
    cord, lesions = measure(labels)
    result = SpineResult(labels, None, cord, lesions, [], {}, 0.1)
    case = SPINE.write_case(phantom.image, result, tmp_path / "axial", "axial.nrrd")
    assert (case / "overlay.png").stat().st_size > 1000


def test_a_structural_4d_file_is_segmented_on_its_first_volume_with_a_warning(tmp_path):
    import json

    import SimpleITK as sitk

    from lesionai import cli
    from lesionai.imageio import image_to_sitk
    from lesionai.phantoms.spine import generate_spine_phantom

    volume = image_to_sitk(generate_spine_phantom(seed=5).image)
    series = sitk.JoinSeries([volume, volume])
    series.SetSpacing(volume.GetSpacing() + (1.0,))
    path = tmp_path / "t2-repeated.nii.gz"
    sitk.WriteImage(series, str(path))
    assert cli.main(["spine", str(path), "-o", str(tmp_path / "out"), "--progress", "none"]) == 0
    record = json.loads((tmp_path / "out" / "t2-repeated" / "result.json").read_text())
    assert any("first volume" in warning for warning in record["warnings"]) and record["cord"]["volume_mm3"] > 0


def test_the_demo_report_table_lists_the_cord_then_each_lesion():
    from lesionai.spine.outputs import report_table

    record = {"cord": {"volume_mm3": 2310.5, "length_mm": 120.0, "csa_mm2_mean": 71.2},
              "scan_check": {"anatomy": {"label": "spine"}, "view": {"label": "sagittal"}},
              "lesions": [{"index": 1, "volume_mm3": 20.0, "length_mm": 6.0, "largest_axial_area_mm2": 4.5}]}
    key, rows = report_table(record)
    assert key == "structure" and list(rows) == ["spinal cord", "lesion 1"]
    assert rows["spinal cord"]["mean_csa_mm2"] == 71.2 and rows["spinal cord"]["anatomy"] == "spine"
