"""Published nodule variables on shapes whose size is known analytically."""

import numpy as np
import pytest

from lesionai.errors import InputError
from lesionai.geometry import Geometry
from lesionai.nodule.features import FEATURE_NAMES, feature_values, nodule_features


def ball(shape, spacing, radius_mm, center_kji=None):
    """Boolean ball of ``radius_mm`` on a grid of ``spacing`` (mm, i j k)."""
    center = (np.asarray(shape) - 1) / 2 if center_kji is None else np.asarray(center_kji)
    axes = [(np.arange(n) - c) * s for n, c, s in zip(shape, center, spacing[::-1])]
    return axes[0][:, None, None] ** 2 + axes[1][None, :, None] ** 2 + axes[2][None, None, :] ** 2 <= radius_mm ** 2


@pytest.mark.parametrize("spacing", [(0.5, 0.5, 0.5), (0.7, 0.7, 1.25)])
def test_sphere_volume_area_and_diameters(spacing):
    radius = 8.0
    mask = ball((40, 60, 60), spacing, radius)
    values = feature_values(mask, np.where(mask, -600.0, -850.0), Geometry(spacing=spacing))
    assert values["Volume"] == pytest.approx(4 / 3 * np.pi * radius ** 3, rel=0.05)
    assert values["XAreaMax"] == pytest.approx(np.pi * radius ** 2, rel=0.05)
    for name in ("XMaxDiameter", "DiameterMax", "DiameterMin"):
        assert values[name] == pytest.approx(2 * radius, abs=max(spacing) * 1.1)  # digitisation: up to one voxel
    assert 1.0 <= values["RatioDiameter"] < 1.15


def test_ellipsoid_axes_give_max_and_min_diameter():
    spacing = (0.5, 0.5, 0.5)
    axes = [(np.arange(n) - (n - 1) / 2) * 0.5 for n in (40, 40, 70)]
    k, j, i = axes[0][:, None, None], axes[1][None, :, None], axes[2][None, None, :]
    mask = (i / 15) ** 2 + (j / 8) ** 2 + (k / 5) ** 2 <= 1
    values = feature_values(mask, np.zeros(mask.shape), Geometry(spacing=spacing))
    assert values["DiameterMax"] == pytest.approx(30, abs=1.0)
    assert values["DiameterMin"] == pytest.approx(10, abs=1.0)
    assert values["XMaxDiameter"] == pytest.approx(30, abs=1.0)
    assert values["RatioDiameter"] == pytest.approx(3, rel=0.1)


def test_intensity_statistics_inside_the_mask_only():
    mask = np.zeros((4, 4, 4), bool)
    mask[1:3, 1:3, 1:3] = True
    hu = np.full(mask.shape, -900.0)
    hu[mask] = np.linspace(-700, -100, 8)
    values = feature_values(mask, hu, Geometry())
    assert (values["MinCT"], values["MaxCT"]) == (-700, -100)
    assert values["MeanCT"] == pytest.approx(-400)
    assert values["VarCT"] == pytest.approx(np.var(np.linspace(-700, -100, 8)))


def test_units_and_clinical_variables():
    mask = ball((10, 20, 20), (1, 1, 1), 3)
    features = nodule_features(mask, np.zeros(mask.shape), Geometry(), age=63, sex="female")
    assert tuple(features) == FEATURE_NAMES
    assert features["Volume"]["unit"] == "mm3" and features["XAreaMax"]["unit"] == "mm2"
    assert features["Age"] == {"value": 63.0, "unit": "years"} and features["Gender"]["value"] == "F"
    assert nodule_features(mask, np.zeros(mask.shape), Geometry())["Age"]["value"] is None


def test_axial_plane_follows_the_superior_axis():
    """A sagittally stored volume: axial sections are across the voxel axis pointing superior."""
    direction = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]], dtype=float).T  # i -> S, j -> A, k -> R
    mask = np.zeros((30, 30, 30), bool)
    mask[5:25, 10:20, 14:16] = True  # 20 voxels along R, 10 along A, 2 along S
    values = feature_values(mask, np.zeros(mask.shape), Geometry(direction=direction))
    assert values["XAreaMax"] == pytest.approx(200)


def test_empty_mask_and_unknown_sex_are_input_errors():
    with pytest.raises(InputError, match="No nodule"):
        feature_values(np.zeros((3, 3, 3), bool), np.zeros((3, 3, 3)), Geometry())
    with pytest.raises(InputError, match="Sex"):
        feature_values(np.ones((3, 3, 3), bool), np.zeros((3, 3, 3)), Geometry(), sex="x")
