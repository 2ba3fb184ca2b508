"""The radiograph check: what SeverityScoring refuses to score, why, and what it lets through."""

import csv

import numpy as np
import pytest

from lesionai.errors import RefusedInputError
from lesionai.geometry import Image, radiograph_geometry
from lesionai.phantoms.cxr import eight_bit, generate_cxr_phantom
from lesionai.phantoms.non_radiographs import (
    CORRUPTION_KINDS,
    PICTURE_KINDS,
    byte_swapped_12_bit,
    corrupted_radiograph,
    non_radiograph,
)
from lesionai.severity import radiograph_check
from lesionai.severity.lungs import LEFT_LUNG, RIGHT_LUNG
from lesionai.severity.pipeline import SeverityPipeline

NOISE = "look like noise"
NOT_FRONTAL = "does not look like a frontal chest radiograph"
LUNGS = ("found 1 lung", "found 0 lung", "not side by side", "more than two lung-like regions", NOT_FRONTAL)
# Every generated kind and the reasons of which at least one must be given (seed 0, phantom radiograph).
EXPECTED_REASONS = {
    "uniform noise": (NOISE,), "gaussian noise": (NOISE,), "salt and pepper noise": (NOISE,),
    "smooth gradient": (NOT_FRONTAL,), "checkerboard": ("saturated white",),
    "text page": ("saturated white", "saturated black"),
    "strip 128x6000": ("times longer than wide",), "strip 6000x128": ("times longer than wide",),
    "byte-swapped 16-bit": ("wrong byte order",), "half whited out": ("saturated white",),
    "most whited out": ("saturated white",), "half blacked out": LUNGS, "most blacked out": ("saturated black",),
    "tiled side by side": ("more than two lung-like regions",), "shuffled patches": LUNGS,
}


@pytest.fixture(scope="module")
def pipeline():
    return SeverityPipeline(threads=2)


@pytest.fixture(scope="module")
def radiograph():
    """A phantom frontal radiograph as an 8-bit plane, as a PNG export would hold it."""
    return eight_bit(generate_cxr_phantom(seed=3, size=(512, 448)).image.array[0]).astype(np.float32)


def as_image(plane: np.ndarray) -> Image:
    return Image(np.asarray(plane, np.float32)[np.newaxis], radiograph_geometry())


def generated(kind: str, radiograph: np.ndarray, seed: int = 0) -> np.ndarray:
    if kind in PICTURE_KINDS:
        return non_radiograph(kind, seed)
    return corrupted_radiograph(radiograph, kind, seed)


def test_every_kind_of_the_corpus_has_expected_reasons():
    assert set(EXPECTED_REASONS) == set(PICTURE_KINDS) | set(CORRUPTION_KINDS)


@pytest.mark.parametrize("kind", sorted(EXPECTED_REASONS))
def test_each_generated_kind_is_refused_with_its_reason(pipeline, radiograph, kind):
    check = pipeline.check(as_image(generated(kind, radiograph)))
    assert not check.passed
    assert any(expected in reason for reason in check.reasons for expected in EXPECTED_REASONS[kind]), check.reasons
    with pytest.raises(RefusedInputError, match="--force") as refused:
        pipeline.run(as_image(generated(kind, radiograph)))
    assert refused.value.reasons == check.reasons


def test_the_phantom_radiograph_passes_every_check(pipeline, radiograph):
    check = pipeline.check(as_image(radiograph))
    assert check.passed and check.reasons == []
    assert check.measures["lungs_found"] == 2 and check.measures["neighbour_correlation"] > 0.9


def test_forced_scoring_keeps_the_reasons_as_warnings(pipeline, radiograph):
    strip = generated("strip 128x6000", radiograph)
    result = SeverityPipeline(pipeline.registry, threads=2, force=True).run(as_image(strip))
    assert result.global_score is not None and result.lung_labels.array.shape == (1, 128, 6000)
    forced = [w for w in result.warnings if w.startswith("scored anyway (force): the image is")]
    assert len(forced) == 1 and "times longer than wide" in forced[0]


def test_the_refusal_message_names_the_reasons_and_how_to_score_anyway(pipeline):
    with pytest.raises(RefusedInputError) as refused:
        pipeline.run(as_image(non_radiograph("gaussian noise", 4)))
    message = str(refused.value)
    assert message.startswith("Not scored: this does not look like a frontal chest radiograph")
    assert NOISE in message and "--force" in message and "Score anyway" in message


def test_image_measures_tell_noise_and_byte_order_from_anatomy(radiograph):
    anatomy = radiograph_check.image_measures(radiograph)
    noise = radiograph_check.image_measures(non_radiograph("uniform noise", 1))
    swapped = radiograph_check.image_measures(byte_swapped_12_bit(radiograph, np.random.default_rng(0)))
    assert anatomy["neighbour_correlation"] > 0.95 and abs(noise["neighbour_correlation"]) < 0.05
    assert anatomy["byte_swapped_correlation"] is None  # 8-bit values: no byte order to get wrong
    assert swapped["byte_swapped_correlation"] > 0.95 > swapped["neighbour_correlation"] + 0.2
    assert radiograph_check.image_reasons(anatomy) == []
    assert "wrong byte order" in " ".join(radiograph_check.image_reasons(swapped))


def test_a_correctly_read_12_bit_radiograph_is_not_taken_for_byte_swapped(radiograph):
    twelve_bit = np.clip(np.rint(radiograph * 16 + np.random.default_rng(1).normal(0, 8, radiograph.shape)), 0, 4095)
    measures = radiograph_check.image_measures(twelve_bit)
    assert measures["byte_swapped_correlation"] < measures["neighbour_correlation"]
    assert radiograph_check.image_reasons(measures) == []


def test_saturation_counts_the_whited_out_share(radiograph):
    whited = corrupted_radiograph(radiograph, "half whited out", 0)
    white, black = radiograph_check.saturated_fractions(whited)
    assert white == pytest.approx(0.5, abs=0.02) and black < 0.1


def test_lungs_at_different_heights_are_not_side_by_side():
    labels = np.zeros((200, 200), np.uint8)
    labels[10:60, 20:80], labels[120:180, 120:180] = RIGHT_LUNG, LEFT_LUNG
    measures = radiograph_check.lung_measures(labels)
    assert measures["lungs_found"] == 2 and measures["lung_row_overlap"] == 0.0
    assert "not side by side" in radiograph_check.lung_reasons(measures | {"third_lung_region": 0.0}, labels)[0]
    labels[:] = 0
    labels[40:160, 20:90], labels[50:170, 110:180] = RIGHT_LUNG, LEFT_LUNG
    level = radiograph_check.lung_measures(labels)
    assert level["lung_row_overlap"] > 0.9
    assert radiograph_check.lung_reasons(level | {"third_lung_region": 0.0}, labels) == []


def test_a_third_lung_sized_region_is_counted():
    mask = np.zeros((100, 100), bool)
    mask[10:50, 5:25] = mask[10:50, 70:90] = True  # two lungs of 800 px
    assert radiograph_check.third_region_ratio(mask) == 0.0
    mask[70:80, 40:50] = True  # 100 px
    assert radiograph_check.third_region_ratio(mask) == pytest.approx(100 / 800)


@pytest.mark.realdata
def test_real_frontal_radiographs_are_accepted(pipeline, shared_data):
    from PIL import Image as PILImage

    with open(shared_data / "cxr" / "cases.csv", newline="", encoding="utf-8") as handle:
        frontal = [row["stem"] for row in csv.DictReader(handle) if row["view"] == "PA" and row["split"] == "val"][:8]
    for stem in frontal:
        plane = np.asarray(PILImage.open(shared_data / "cxr" / "images" / f"{stem}.png").convert("L"), np.float32)
        check = pipeline.check(as_image(plane))
        assert check.passed, (stem, check.reasons)
