"""The spinal MRI phantom: geometry of each view, anatomy of the masks, contrast, determinism."""

import numpy as np
import pytest

from lesionai.phantoms.spine import CORD, LESION, generate_spine_phantom

SMALL_SAGITTAL = dict(shape=(9, 160, 160), spacing=(1.0, 1.0, 3.0))
SMALL_AXIAL = dict(shape=(16, 128, 128), spacing=(0.5, 0.5, 5.0))


def test_sagittal_phantom_is_stored_like_a_sagittal_scan():
    phantom = generate_spine_phantom(seed=0)
    geometry = phantom.image.geometry
    assert phantom.image.array.shape == (15, 256, 256)
    assert geometry.spacing == (0.9, 0.9, 3.0)
    # i -> posterior, j -> superior, k -> right (PSR): thick slices across the patient's left-right axis
    assert np.allclose(geometry.direction, [[0, 0, 1], [-1, 0, 0], [0, 1, 0]])
    for mask in (phantom.cord_mask, phantom.lesion_mask, phantom.labels, phantom.canal_mask):
        assert mask.shape == phantom.image.array.shape


def test_axial_phantom_has_thick_slices_along_the_cord():
    phantom = generate_spine_phantom(seed=0, view="axial")
    geometry = phantom.image.geometry
    assert phantom.image.array.shape == (20, 320, 320)
    assert geometry.spacing == (0.5, 0.5, 5.0)
    assert np.allclose(geometry.direction[:, 2], [0, 0, 1])
    assert phantom.cord_mask.any(axis=(1, 2)).all()  # the cervical cord crosses every axial slice


@pytest.mark.parametrize("view", ["sagittal", "axial"])
def test_cord_lies_inside_the_canal_and_lesions_inside_the_cord(view):
    size = SMALL_SAGITTAL if view == "sagittal" else SMALL_AXIAL
    phantom = generate_spine_phantom(seed=4, view=view, lesions=3, **size)
    assert phantom.cord_mask.any() and phantom.lesion_mask.any()
    assert not (phantom.cord_mask & ~phantom.canal_mask).any()
    assert (phantom.canal_mask & ~phantom.cord_mask).sum() > phantom.cord_mask.sum() // 2  # CSF around the cord
    assert not (phantom.lesion_mask & ~phantom.cord_mask).any()
    assert np.array_equal(phantom.labels == LESION, phantom.lesion_mask)
    assert np.array_equal(phantom.labels == CORD, phantom.cord_mask & ~phantom.lesion_mask)


def test_cervical_cord_cross_section_has_adult_size():
    phantom = generate_spine_phantom(seed=2, view="axial", region="cervical")
    spacing_lr, spacing_ap = phantom.image.geometry.spacing[:2]
    middle = phantom.cord_mask[phantom.cord_mask.shape[0] // 2]
    ap_mm = np.ptp(np.flatnonzero(middle.any(axis=1))) * spacing_ap + spacing_ap
    lr_mm = np.ptp(np.flatnonzero(middle.any(axis=0))) * spacing_lr + spacing_lr
    assert 6.0 <= ap_mm <= 9.5
    assert 9.0 <= lr_mm <= 14.5


def test_lumbar_scan_shows_the_conus():
    phantom = generate_spine_phantom(seed=1, region="lumbar", **SMALL_SAGITTAL)
    superior_rows = np.flatnonzero(phantom.cord_mask.any(axis=(0, 2)))  # j runs inferior -> superior
    assert superior_rows.size and superior_rows.min() > 10  # the cord ends above the image's lower edge


def _mean_signal(phantom, mask):
    return float(phantom.image.array[mask].mean())


def test_csf_and_lesions_reverse_between_t2w_and_t1w():
    t2 = generate_spine_phantom(seed=5, contrast="T2w", lesions=2, **SMALL_SAGITTAL)
    t1 = generate_spine_phantom(seed=5, contrast="T1w", lesions=2, **SMALL_SAGITTAL)
    csf = t2.canal_mask & ~t2.cord_mask
    cord_only = t2.cord_mask & ~t2.lesion_mask
    assert _mean_signal(t2, csf) > 1.5 * _mean_signal(t2, cord_only)
    assert _mean_signal(t1, csf) < 0.7 * _mean_signal(t1, cord_only)
    assert _mean_signal(t2, t2.lesion_mask) > _mean_signal(t2, cord_only)
    assert _mean_signal(t1, t1.lesion_mask) < _mean_signal(t1, cord_only)


def test_same_seed_gives_the_same_phantom_and_another_seed_another():
    first = generate_spine_phantom(seed=7, lesions=1, **SMALL_SAGITTAL)
    again = generate_spine_phantom(seed=7, lesions=1, **SMALL_SAGITTAL)
    other = generate_spine_phantom(seed=8, lesions=1, **SMALL_SAGITTAL)
    assert np.array_equal(first.image.array, again.image.array)
    assert np.array_equal(first.labels, again.labels)
    assert first.image.geometry == again.image.geometry
    assert not np.array_equal(first.image.array, other.image.array)


@pytest.mark.parametrize("arguments", [dict(view="coronal"), dict(contrast="FLAIR"), dict(region="sacral"),
                                       dict(lesions=-1), dict(shape=(0, 10, 10))])
def test_unknown_choices_are_refused(arguments):
    with pytest.raises(ValueError):
        generate_spine_phantom(**arguments)


def test_demo_inputs_are_written_once_and_kept_on_a_rerun(tmp_path):
    from lesionai.imageio import read_image
    from lesionai.phantoms.spine import phantom_inputs

    first = phantom_inputs(tmp_path, 3)
    stamps = [path.stat().st_mtime_ns for path in first]
    assert [path.name for path in first] == ["phantom-1-sagittal-T2w.nii.gz", "phantom-2-axial-T2starw.nii.gz",
                                             "phantom-3-sagittal-T1w.nii.gz"]
    assert phantom_inputs(tmp_path, 3) == first and [path.stat().st_mtime_ns for path in first] == stamps
    assert read_image(first[1]).array.shape[0] < read_image(first[1]).array.shape[1]  # axial: few thick slices
