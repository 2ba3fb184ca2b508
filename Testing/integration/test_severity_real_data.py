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


# Two scored val radiographs, senior radiologist's global Brixia score: severe bilateral disease (16)
# and mild disease (5, the junior radiologist read it as 0).
SEVERE, MILD = "31BA3780-2323-493F-8AED-62081B9C383B", "7EF28E12-F628-4BEC-A8C5-E6277C2E4F60"


def senior_global_score(shared_data, stem: str) -> int:
    """The senior radiologist's global Brixia score of the val radiograph ``stem``."""
    with open(shared_data / "cxr" / "cases.csv", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["stem"] == stem)
    assert row["split"] == "val"
    return sum(int(row[f"brixia_senior_{letter}"]) for letter in "ABCDEF")


def test_a_severe_and_a_mild_val_radiograph_get_scores_near_the_radiologists(pipeline, shared_data):
    results, seniors = {}, {}
    for stem in (SEVERE, MILD):
        seniors[stem] = senior_global_score(shared_data, stem)
        results[stem] = pipeline.run(read_image(shared_data / "cxr" / "images" / f"{stem}.png"))
    severe, mild = results[SEVERE], results[MILD]
    # within 4 of the senior's global score (the val global MAE is 2.88, 95 % CI 2.18-3.59)
    assert all(abs(results[stem].global_score - seniors[stem]) <= 4 for stem in (SEVERE, MILD))
    assert all(zone["score"] >= 1 for zone in severe.zones.values())
    assert all(zone["score"] <= 1 for zone in mild.zones.values())
    assert severe.global_score - mild.global_score >= 8
    assert severe.opacity_global_score > mild.opacity_global_score
