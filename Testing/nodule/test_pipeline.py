"""NodulePipeline with the shipped models: phantoms, a point in a larger CT, real val crops, bad inputs."""

import numpy as np
import pytest

from lesionai.errors import InputError
from lesionai.geometry import Image
from lesionai.nodule.components import SOLID
from lesionai.nodule.pipeline import NodulePipeline
from lesionai.nodule.segmentation import SEGMENTATION_MODEL, dice
from lesionai.phantoms.nodule import generate_nodule_phantom, nodule_crop
from lesionai.registry import ModelRegistry

REGISTRY = ModelRegistry.load()
# Measured with the shipped models: mean Dice 0.93-0.94 per kind on generated 8-15 mm nodules (single
# nodules down to 0.71), 0.81 on the 144 LIDC val crops (benchmarks/evaluate_nodule.py).
PHANTOM_DICE = 0.85
SINGLE_PHANTOM_DICE = 0.65
REAL_CROP_DICE = 0.70


@pytest.fixture(scope="module")
def pipeline():
    return NodulePipeline(threads=1)


def test_the_segmentation_model_ships_with_the_package():
    assert SEGMENTATION_MODEL in REGISTRY
    assert all(check.ok for check in REGISTRY.verify() if check.id == SEGMENTATION_MODEL)


@pytest.mark.parametrize("kind", ["ground-glass", "part-solid", "solid"])
def test_phantom_crops_are_segmented_on_the_input_grid(pipeline, kind):
    scores = []
    for seed, diameter in ((11, 9.0), (12, 12.0), (13, 15.0)):
        image, mask = nodule_crop(generate_nodule_phantom(seed=seed, kind=kind, diameter_mm=diameter, solid_fraction=0.5))
        result = pipeline.run(image)
        assert result.labels.array.shape == image.array.shape and result.labels.geometry == image.geometry
        assert result.labels.array.dtype == np.uint8 and set(np.unique(result.labels.array)) <= {0, 1, 2}
        assert result.features["DiameterMax"]["value"] == pytest.approx(diameter, rel=0.35)
        scores.append(dice(result.labels.array > 0, mask.array > 0))
    assert min(scores) > SINGLE_PHANTOM_DICE and np.mean(scores) > PHANTOM_DICE


def test_part_solid_phantom_ctr(pipeline, part_solid_phantom):
    image, _ = nodule_crop(part_solid_phantom)
    result = pipeline.run(image)
    assert (result.labels.array == SOLID).any() and result.ctr == pytest.approx(0.5, abs=0.15)


def test_point_in_a_larger_ct_maps_labels_back(pipeline):
    phantom = generate_nodule_phantom(seed=21, kind="part-solid", shape=(48, 112, 112), diameter_mm=10.0)
    result = NodulePipeline(threads=1, point=phantom.center_ras + [1.0, -1.0, 0.5]).run(phantom.image)
    assert result.labels.array.shape == phantom.image.array.shape
    assert dice(result.labels.array > 0, phantom.mask.array > 0) > PHANTOM_DICE


def test_result_states_the_proxy_task_and_units(pipeline, ground_glass_phantom):
    result = pipeline.run(nodule_crop(ground_glass_phantom)[0])
    summary = result.summary()
    assert "malignancy suspicion" in summary["task"] and "not invasiveness" in summary["task"]
    assert summary["features"]["XAreaMax"]["unit"] == "mm2" and summary["features"]["Age"]["value"] is None
    assert set(result.models) >= {"nodule-segmentation-unet", "nodule-csn"}


def test_csn_can_be_switched_off(ground_glass_phantom):
    result = NodulePipeline(threads=1, csn=False).run(nodule_crop(ground_glass_phantom)[0])
    assert "nodule-csn" not in result.models and result.labels.array.any()


def test_no_nodule_at_a_point_in_air(pipeline):
    air = Image(np.full((30, 60, 60), -1000, np.int16))
    air.array[:, :, :6] = 40
    with pytest.raises(InputError, match="No nodule at the point"):
        NodulePipeline(threads=1, point=(30.0, 30.0, 15.0)).run(air)


@pytest.mark.realdata
def test_real_val_crops_reach_the_measured_dice(pipeline, shared_data):
    from lesionai.imageio import read_image
    from lesionai.training.nodule.data import read_cases

    root = shared_data / "nodules"
    cases = [c for c in read_cases(root) if c.split == "val"][:20]
    scores = []
    for case in cases:
        result = pipeline.run(read_image(root / case.image))
        scores.append(dice(result.labels.array > 0, read_image(root / case.mask).array > 0))
    assert np.mean(scores) > REAL_CROP_DICE


@pytest.mark.realdata
def test_point_on_nodules_inserted_into_real_chest_ct(shared_data):
    """Generated nodules blended into real CT (1.5 mm voxels) deep in the lung; measured mean Dice 0.90."""
    from scipy import ndimage

    from lesionai.imageio import read_image
    from lesionai.phantoms.nodule import insert_nodule

    ct = read_image(shared_data / "negatives" / "ct" / "totalseg_chest_ct_cropped.nii.gz")
    lung_interior = np.argwhere(ndimage.binary_erosion(ct.array < -700, iterations=8))
    rng, scores = np.random.default_rng(0), []
    for kind in ("ground-glass", "part-solid", "solid"):
        voxel = lung_interior[rng.integers(len(lung_interior))]
        center = (ct.geometry.ijk_to_ras() @ np.append(voxel[::-1].astype(float), 1.0))[:3]
        phantom = insert_nodule(ct, center, kind=kind, diameter_mm=10.0, seed=3)
        result = NodulePipeline(threads=1, point=center).run(phantom.image)
        assert result.labels.array.shape == ct.array.shape
        scores.append(dice(result.labels.array > 0, phantom.mask.array > 0))
    assert np.mean(scores) > 0.8
