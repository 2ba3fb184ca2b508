"""SeverityScoring end to end on the real development radiographs (skipped without ../shared/data)."""

import csv

import numpy as np
import pytest
from PIL import Image as PILImage

from lesionai import cli
from lesionai.imageio import read_image
from lesionai.severity.pipeline import SeverityPipeline

pytestmark = pytest.mark.realdata


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * (a & b).sum() / (a.sum() + b.sum())


@pytest.fixture(scope="module")
def pipeline():
    return SeverityPipeline(threads=2)


def test_real_val_radiographs_are_segmented(shared_data, tmp_path):
    with open(shared_data / "cxr" / "cases.csv", newline="") as handle:
        cases = [r for r in csv.DictReader(handle) if r["split"] == "val" and r["has_lung_mask"] == "1"][:4]
    paths = [str(shared_data / "cxr" / "images" / f"{c['stem']}.png") for c in cases]
    assert cli.main(["severity", *paths, "-o", str(tmp_path), "--progress", "none"]) == 0
    for case in cases:
        lungs = read_image(tmp_path / case["stem"] / "lungs.nrrd").array[0]
        mask = np.asarray(PILImage.open(shared_data / "cxr" / "lung_masks" / f"{case['stem']}.png"))
        valid = mask != 255
        assert overlap((lungs > 0) & valid, (mask == 1) & valid) > 0.85


@pytest.mark.usefixtures("shared_data")
def test_scores_on_a_scored_val_radiograph_are_in_range(pipeline, shared_data):
    with open(shared_data / "cxr" / "cases.csv", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["split"] == "val" and r["brixia_senior_A"] != "")
    result = pipeline.run(read_image(shared_data / "cxr" / "images" / f"{row['stem']}.png"))
    senior = sum(int(row[f"brixia_senior_{letter}"]) for letter in "ABCDEF")
    assert 0 <= result.global_score <= 18 and 0 <= result.opacity_global_score <= 18
    assert abs(result.global_score - senior) <= 9  # a gross failure (e.g. inverted intensities) is far off
