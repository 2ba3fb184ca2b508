"""Zone scores, opacity score and Grad-CAM through the real ONNX pipeline."""

import json

import numpy as np
import pytest

from lesionai.geometry import Image
from lesionai.phantoms.cxr import generate_cxr_phantom
from lesionai.registry import ModelRegistry
from lesionai.severity.lungs import OPACITY
from lesionai.severity.opacity import OPACITY_MODEL
from lesionai.severity.outputs import write_case
from lesionai.severity.pipeline import ZONE_MODEL, SeverityPipeline


@pytest.fixture(scope="module")
def pipeline():
    return SeverityPipeline(threads=2)


@pytest.fixture(scope="module")
def phantom():
    return generate_cxr_phantom(seed=11, size=(512, 512))


def test_scores_are_consistent_with_their_probabilities(pipeline, phantom):
    result = pipeline.run(phantom.image)
    entry = pipeline.registry.get(ZONE_MODEL).output
    for zone in result.zones.values():
        probabilities = np.array(zone["probabilities"])
        expected = probabilities.argmax() if entry.score_rule == "argmax" else int(np.rint(probabilities @ np.arange(4)))
        assert zone["score"] == expected
        assert zone["confidence"] == pytest.approx(probabilities[zone["score"]], abs=1e-4)
        assert zone["low_confidence"] == (zone["confidence"] < entry.thresholds["low_confidence"])
    assert result.global_score == sum(zone["score"] for zone in result.zones.values())
    assert result.heatmap.geometry == phantom.image.geometry


def test_opacity_label_lies_inside_the_lungs_and_matches_the_fractions(pipeline, phantom):
    result = pipeline.run(phantom.image)
    lungs, zones = result.lung_labels.array[0], result.zone_labels.array[0]
    assert ((lungs > 0) == (zones > 0)).all()
    for index, (letter, zone) in enumerate(result.zones.items(), start=1):
        inside = zones == index
        assert zone["opacity_fraction"] == pytest.approx((lungs[inside] == OPACITY).mean(), abs=1e-4)


def test_a_mirrored_copy_with_its_geometry_gets_the_same_scores(pipeline, phantom):
    """Scores follow the patient's anatomy, not the storage order of the columns."""
    image = phantom.image
    flipped_direction = image.geometry.direction.copy()
    flipped_direction[:, 0] *= -1
    last_column = image.geometry.ijk_to_ras() @ np.array([image.array.shape[2] - 1, 0, 0, 1.0])
    mirrored = Image(image.array[:, :, ::-1].copy(),
                     image.geometry.__class__(image.geometry.spacing, tuple(last_column[:3]), flipped_direction))
    plain, flipped = pipeline.run(image), pipeline.run(mirrored)
    assert {k: z["score"] for k, z in plain.zones.items()} == {k: z["score"] for k, z in flipped.zones.items()}
    np.testing.assert_allclose(flipped.heatmap.array[:, :, ::-1], plain.heatmap.array, atol=1e-5)


def test_registry_without_scoring_models_still_gives_lungs_and_zones(phantom, tmp_path):
    full = ModelRegistry.load()
    partial = ModelRegistry([e for e in full.entries if e.id not in (ZONE_MODEL, OPACITY_MODEL)], full.models_dir)
    result = SeverityPipeline(partial, threads=1).run(phantom.image)
    assert result.global_score is None and result.opacity_global_score is None and result.heatmap is None
    assert sum("not in the model registry" in warning for warning in result.warnings) == 2
    assert "score" not in result.zones["A"] and result.zones["A"]["area_mm2"] > 0
    case = write_case(phantom.image, result, tmp_path / "case", "phantom")
    assert not (case / "gradcam.nrrd").exists()
    assert json.loads((case / "result.json").read_text())["global_score"] is None
