"""The NoduleFusion result folder: files, result.json keys, read-back and the batch row."""

import json

import numpy as np
import pytest

from lesionai.nodule.components import component_labels, consolidation_tumour_ratio
from lesionai.nodule.features import nodule_features
from lesionai.nodule.outputs import CASE_FILES, GENERATOR, nodule_row, read_case
from lesionai.nodule.pipeline import NoduleResult
from lesionai.tasks import task

write_case = task("nodule").write_case  # the shared writer with the nodule outputs


@pytest.fixture
def known_result(part_solid_phantom):
    """A result built from the phantom's true mask (no model involved)."""
    phantom = part_solid_phantom
    labels = component_labels(phantom.mask.array > 0, phantom.image.array)
    return NoduleResult(
        labels=phantom.image.with_array(labels), probability=0.61, task="LIDC malignancy suspicion >= 4 vs <= 2",
        branches={"image": 0.5, "tabular": 0.7, "fusion": 0.61},
        texture={"label": "part-solid", "probabilities": {"ground-glass": 0.2, "part-solid": 0.7, "solid": 0.1}},
        features=nodule_features(phantom.mask.array > 0, phantom.image.array, phantom.image.geometry, age=60),
        ctr=consolidation_tumour_ratio(labels, phantom.image.geometry), warnings=[], models={"nodule-csn": "1.0.0"},
        timing_s=0.1, center_ras=list(phantom.center_ras), region_spacing_mm=0.8)


def test_case_folder_holds_the_contract_files(tmp_path, part_solid_phantom, known_result):
    case = write_case(part_solid_phantom.image, known_result, tmp_path / "case", "phantom")
    written = {path.name for path in case.iterdir()}
    assert written == set(CASE_FILES)
    record = json.loads((case / "result.json").read_text())
    assert list(record)[:7] == ["generator", "version", "input", "labels", "warnings", "models", "timing_s"]
    assert record["generator"] == GENERATOR and record["labels"]["nodule"]["2"] == "solid component"
    assert record["features"]["Volume"]["unit"] == "mm3" and record["task"].startswith("LIDC malignancy")
    assert {"probability", "branches", "texture", "ctr"} <= set(record)


def test_read_case_gives_back_labels_on_the_input_grid(tmp_path, part_solid_phantom, known_result):
    case = write_case(part_solid_phantom.image, known_result, tmp_path / "case", "phantom")
    again = read_case(case)
    np.testing.assert_array_equal(again.labels.array, known_result.labels.array)
    assert again.labels.geometry == part_solid_phantom.image.geometry
    assert again.ctr == pytest.approx(known_result.ctr, abs=1e-4) and again.texture["label"] == "part-solid"


def test_existing_folder_needs_overwrite(tmp_path, part_solid_phantom, known_result):
    from lesionai.errors import InputError

    write_case(part_solid_phantom.image, known_result, tmp_path / "case", "phantom")
    with pytest.raises(InputError, match="already exists"):
        write_case(part_solid_phantom.image, known_result, tmp_path / "case", "phantom")
    write_case(part_solid_phantom.image, known_result, tmp_path / "case", "phantom", overwrite=True)


def test_segmentation_file_has_named_components(tmp_path, part_solid_phantom, known_result, scene):
    from segmentation_checks import segment_names, segment_voxel_count

    from lesionai.mrml.segmentations import load_segmentation

    case = write_case(part_solid_phantom.image, known_result, tmp_path / "case", "phantom")
    node = load_segmentation(case / "segmentation.seg.nrrd", scene)
    assert segment_names(node) == ["ground-glass component", "solid component"]
    assert segment_voxel_count(node, "solid component") == (known_result.labels.array == 2).sum()


def test_batch_row_has_features_with_units(known_result):
    row = nodule_row(known_result, "phantom")
    assert row["input"] == "phantom" and row["texture"] == "part-solid" and row["Age_years"] == 60
    assert row["Volume_mm3"] == pytest.approx(known_result.features["Volume"]["value"])
    assert "Gender" in row and row["Gender"] is None
