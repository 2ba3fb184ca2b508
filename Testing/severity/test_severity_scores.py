"""Zone scores, opacity score and Grad-CAM through the real ONNX pipeline."""

import json

import numpy as np
import pytest

from lesionai.errors import RefusedInputError
from lesionai.geometry import Image
from lesionai.phantoms.cxr import generate_cxr_phantom
from lesionai.registry import ModelRegistry
from lesionai.severity.lungs import OPACITY
from lesionai.severity.opacity import OPACITY_MODEL
from lesionai.severity.pipeline import ZONE_MODEL, SeverityPipeline
from lesionai.tasks import task


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
    case = task("severity").write_case(phantom.image, result, tmp_path / "case", "phantom")
    assert not (case / "gradcam.nrrd").exists()
    assert json.loads((case / "result.json").read_text())["global_score"] is None


def zone_table(areas: dict[str, float]) -> dict[str, dict]:
    return {letter: {"area_mm2": area, "lung": "right" if letter in "ABC" else "left", "level": "upper", "score": 2,
                     "probabilities": [0.1, 0.2, 0.6, 0.1], "confidence": 0.6, "low_confidence": False,
                     "opacity_fraction": 0.3, "opacity_score": 1} for letter, area in areas.items()}


def test_an_empty_or_tiny_zone_gets_no_score_and_leaves_the_global_score():
    from lesionai.severity.pipeline import _total, unscorable_zones, unscored_zone_warnings, without_scores

    table = zone_table({"A": 4000.0, "B": 5000.0, "C": 4500.0, "D": 0.0, "E": 150.0, "F": 4200.0})
    unscored = unscorable_zones(table)
    assert unscored == ["D", "E"]  # E holds 0.8 % of the lungs, under the 2 % a found zone has at least
    blanked = without_scores(table, unscored)
    assert blanked["D"]["score"] is None and blanked["E"]["probabilities"] is None and blanked["D"]["area_mm2"] == 0.0
    assert blanked["A"] == table["A"]
    assert _total(blanked, "score") == 8 and _total(blanked, "opacity_score") == 4
    assert unscored_zone_warnings(unscored) == [
        "zones D, E hold no or too little lung to be scored (a lung missing or cut off?): not scored and left out "
        "of the global scores"]
    assert _total(without_scores(table, list("ABCDEF")), "score") is None


def test_a_radiograph_with_one_lung_blanked_is_refused_and_when_forced_scored_only_where_a_lung_is(pipeline, phantom):
    blanked = phantom.image.array.copy()
    right_side = phantom.lung_labels[0] == 1
    columns = np.nonzero(right_side.any(axis=0))[0]
    blanked[0][:, : columns.max() + 5] = blanked.max()  # the patient's right half whited out
    with pytest.raises(RefusedInputError, match="found 1 lung"):
        pipeline.run(phantom.image.with_array(blanked))
    result = SeverityPipeline(pipeline.registry, threads=2, force=True).run(phantom.image.with_array(blanked))
    unscored = [letter for letter, zone in result.zones.items() if zone["score"] is None]
    assert unscored == ["A", "B", "C"]
    assert result.global_score == sum(result.zones[letter]["score"] for letter in "DEF")
    assert any("zones A, B, C hold no or too little lung" in warning for warning in result.warnings)


def test_zone_areas_are_given_in_pixels_when_the_spacing_is_unknown():
    from lesionai.severity.outputs import area_line

    zones = zone_table({"A": 181300.0, "D": 150000.0})
    assert area_line(zones, spacing_known=True) == "zone areas (cm2): A 1813, D 1500"
    assert area_line(zones, spacing_known=False) == "zone areas (pixels; pixel spacing unknown): A 181300, D 150000"
