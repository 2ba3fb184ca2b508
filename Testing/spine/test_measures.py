"""Cord and lesion measures on shapes whose answers are known analytically."""

import numpy as np
import pytest

from lesionai.geometry import Geometry
from lesionai.spine.measures import centreline, cord_measures, estimate_level, lesion_measures


def test_straight_cylinder_csa_is_pi_r_squared(cylinder):
    cord = cylinder((40, 64, 64), (0.25, 0.25, 1.0), radius_mm=4.0)
    measures = cord_measures(cord, Geometry(spacing=(0.25, 0.25, 1.0)))
    assert measures["csa_mm2_mean"] == pytest.approx(np.pi * 16, rel=0.02)
    assert measures["length_mm"] == pytest.approx(40.0, abs=0.01)
    assert measures["volume_mm3"] == pytest.approx(np.pi * 16 * 40, rel=0.02)
    assert len(measures["csa_mm2_per_slice"]) == 40


@pytest.mark.parametrize("tilt_deg", [20.0, 35.0])
def test_oblique_cylinder_csa_is_measured_perpendicular_to_the_centreline(tilt_deg, cylinder):
    spacing = (0.25, 0.25, 0.5)
    cord = cylinder((60, 120, 48), spacing, radius_mm=3.0, tilt_deg=tilt_deg)
    cord[:8], cord[-8:] = False, False  # cut ends: slices fully crossing the cylinder only
    measures = cord_measures(cord, Geometry(spacing=spacing))
    axial_area = np.mean([cord[k].sum() * 0.0625 for k in range(8, 52)])
    assert axial_area == pytest.approx(np.pi * 9 / np.cos(np.radians(tilt_deg)), rel=0.03)
    assert measures["csa_mm2_mean"] == pytest.approx(np.pi * 9, rel=0.03)
    assert measures["length_mm"] == pytest.approx(44 * 0.5 / np.cos(np.radians(tilt_deg)), rel=0.03)
    angles = [row["angle_deg"] for row in measures["csa_mm2_per_slice"]]
    assert np.median(angles) == pytest.approx(tilt_deg, abs=1.0)


def test_oblique_acquisition_is_corrected_through_the_direction_matrix(cylinder):
    """A straight cord scanned with slices tilted 25 degrees: same CSA as an untilted scan."""
    tilt = np.radians(25.0)
    direction = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    spacing = (0.25, 0.25, 0.5)
    cord = cylinder((60, 120, 48), spacing, radius_mm=3.0, tilt_deg=-25.0)  # vertical in the world
    cord[:8], cord[-8:] = False, False
    measures = cord_measures(cord, Geometry(spacing=spacing, direction=direction))
    assert measures["csa_mm2_mean"] == pytest.approx(np.pi * 9, rel=0.03)


def test_empty_cord_has_no_csa():
    measures = cord_measures(np.zeros((5, 8, 8), bool), Geometry())
    assert measures["volume_mm3"] == 0.0 and measures["csa_mm2_mean"] is None
    assert centreline(np.zeros((5, 8, 8), bool), Geometry()) is None


def test_lesions_are_counted_and_measured_along_the_cord(cylinder):
    spacing = (0.5, 0.5, 1.0)
    cord = cylinder((60, 40, 40), spacing, radius_mm=5.0)
    lesions = np.zeros_like(cord)
    lesions[10:16, 18:22, 18:22] = True  # 6 slices x 2 x 2 mm
    lesions[40:41, 19:21, 19:21] = True  # one slice
    records = lesion_measures(lesions, cord, Geometry(spacing=spacing))
    assert [r["index"] for r in records] == [1, 2]
    first, second = records
    assert first["volume_mm3"] == pytest.approx(6 * 4 * 4 * 0.25)
    assert first["length_mm"] == pytest.approx(6.0)
    assert first["largest_axial_area_mm2"] == pytest.approx(16 * 0.25)
    assert second["length_mm"] == pytest.approx(1.0)
    assert first["centroid_ras"] == pytest.approx([9.75, 9.75, 12.5])
    assert first["vertebral_level"] is None


def test_vertebral_level_is_interpolated_between_landmarks():
    landmarks = [(np.array([0.0, 0.0, 100.0]), 2), (np.array([0.0, 0.0, 40.0]), 6)]
    assert estimate_level(np.array([0.0, 0.0, 70.0]), landmarks) == "C4"
    assert estimate_level(np.array([0.0, 0.0, 10.0]), landmarks) == "C6"
    assert estimate_level(np.array([0.0, 0.0, 10.0]), []) is None


def test_levels_of_real_landmark_labels_run_down_the_cord(shared_data):
    from lesionai.imageio import read_image
    from lesionai.spine.measures import landmarks_from_labels

    path = shared_data / "spine" / "sct_2014" / "errsm_23" / "t2_landmarks_C2_T2.nii.gz"
    if not path.is_file():
        pytest.skip("errsm_23 landmark labels are not in the development data")
    labels = read_image(path)
    landmarks = landmarks_from_labels(labels.array, labels.geometry)
    by_level = {level: point for point, level in landmarks}
    assert sorted(by_level) == [2, 9] and by_level[2][2] > by_level[9][2]  # C2 above T2
    assert estimate_level(by_level[9], landmarks) == "T2"
    assert estimate_level(by_level[2] + (by_level[9] - by_level[2]) / 7, landmarks) == "C3"
    assert estimate_level(by_level[2] + [0, 0, 30], landmarks) == "C2"  # above the top landmark
