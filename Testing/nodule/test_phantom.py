"""Generated nodules: HU ranges of each kind, known masks, insertion into real CT."""

import numpy as np
import pytest

from lesionai.phantoms.nodule import KINDS, generate_nodule_phantom, insert_nodule, nodule_crop


@pytest.mark.parametrize("kind", KINDS)
def test_nodule_kinds_have_their_hu_ranges(kind):
    phantom = generate_nodule_phantom(seed=2, kind=kind, diameter_mm=12.0, solid_fraction=0.5)
    image, mask, solid = phantom.image.array, phantom.mask.array > 0, phantom.solid_mask.array > 0
    lung = image[~np.isin(np.arange(image.size), np.flatnonzero(mask)).reshape(image.shape)]
    assert -900 < np.median(lung) < -780
    glass = mask & ~solid
    if kind == "solid":
        assert solid.sum() == mask.sum() and np.median(image[mask]) > -100
    else:
        assert -720 <= np.median(image[glass]) <= -430
    if kind == "part-solid":
        assert 0 < solid.sum() < mask.sum() and np.median(image[solid]) > -300


def test_mask_matches_the_nominal_size():
    phantom = generate_nodule_phantom(seed=4, kind="ground-glass", diameter_mm=14.0, spacing=(0.5, 0.5, 0.5),
                                      shape=(48, 48, 48))
    volume = phantom.mask.array.sum() * 0.125
    assert volume == pytest.approx(4 / 3 * np.pi * 7.0 ** 3, rel=0.35)  # lobulated, stretched ellipsoid


def test_crop_cuts_the_mask_slices_with_in_plane_context(part_solid_phantom):
    image, mask = nodule_crop(part_solid_phantom)
    present = np.flatnonzero(mask.array.any(axis=(1, 2)))
    assert present[0] == 0 and present[-1] == mask.array.shape[0] - 1
    assert not mask.array[:, 0, :].any() and mask.array.sum() == part_solid_phantom.mask.array.sum()


@pytest.mark.realdata
def test_insert_into_real_ct(shared_data):
    from lesionai.imageio import read_image

    ct = read_image(shared_data / "negatives" / "ct" / "totalseg_chest_ct_cropped.nii.gz")
    lung = np.argwhere((ct.array > -900) & (ct.array < -800))
    center = (ct.geometry.ijk_to_ras() @ np.append(lung[len(lung) // 2][::-1].astype(float), 1.0))[:3]
    phantom = insert_nodule(ct, center, kind="solid", diameter_mm=12.0, seed=1)
    inside = phantom.mask.array > 0
    assert inside.sum() * np.prod(ct.geometry.spacing) > 500  # mm3: a 12 mm nodule, roughly
    assert phantom.image.array[inside].mean() > ct.array[inside].mean() + 300
