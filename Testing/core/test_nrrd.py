"""NRRD files written without SimpleITK read back through SimpleITK with the same voxels and geometry."""

import numpy as np
import pytest
import SimpleITK as sitk

from lesionai.geometry import Geometry, Image
from lesionai.imageio import image_from_sitk, read_image, write_image
from lesionai.nrrd import write_nrrd

OBLIQUE = np.array([[0.0, -np.sin(0.3), np.cos(0.3)], [0.0, np.cos(0.3), np.sin(0.3)], [-1.0, 0.0, 0.0]]).T


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, np.int32, np.float32, np.float64])
def test_voxels_type_and_an_oblique_geometry_survive(dtype, tmp_path):
    values = np.random.default_rng(3).normal(100, 50, (3, 17, 23)).astype(dtype)
    image = Image(values, Geometry((0.7, 1.3, 2.5), (-40.5, 12.25, 3.0), OBLIQUE))
    again = read_image(write_image(image, tmp_path / "volume.nrrd"))
    assert again.array.dtype == (np.float32 if dtype == np.float64 else dtype)  # LesionAI reads floats as float32
    np.testing.assert_array_equal(again.array, values.astype(again.array.dtype))
    np.testing.assert_allclose(again.geometry.ijk_to_ras(), image.geometry.ijk_to_ras(), atol=1e-9)


def test_the_file_matches_what_simpleitk_itself_writes(tmp_path):
    labels = np.zeros((1, 40, 30), np.uint8)
    labels[0, 10:30, 5:20] = 2
    image = Image(labels, Geometry((0.42, 0.42, 1.0), (5.0, -7.0, 1.0), OBLIQUE))
    ours = sitk.ReadImage(str(write_image(image, tmp_path / "ours.nrrd")))
    from lesionai.imageio import image_to_sitk

    sitk.WriteImage(image_to_sitk(image), str(tmp_path / "itk.nrrd"), True)
    theirs = sitk.ReadImage(str(tmp_path / "itk.nrrd"))
    assert ours.GetSize() == theirs.GetSize() and ours.GetPixelID() == theirs.GetPixelID()
    assert np.allclose(ours.GetDirection(), theirs.GetDirection()) and np.allclose(ours.GetOrigin(), theirs.GetOrigin())
    assert np.array_equal(sitk.GetArrayFromImage(ours), sitk.GetArrayFromImage(theirs))


def test_a_view_and_several_bands_are_written_whole(tmp_path, monkeypatch):
    from lesionai import nrrd

    monkeypatch.setattr(nrrd, "BAND_BYTES", 64)  # many small bands
    base = np.arange(2 * 30 * 41, dtype=np.int16).reshape(2, 30, 41)
    view = base[:, ::2, 1:]  # not contiguous
    write_nrrd(tmp_path / "view.nrrd", [view], Geometry())
    np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "view.nrrd"))), view)


def test_several_arrays_are_a_list_axis_and_fields_are_kept(tmp_path):
    first, second = np.zeros((1, 5, 6), np.uint8), np.ones((1, 5, 6), np.uint8)
    path = write_nrrd(tmp_path / "two.nrrd", [first, second], Geometry(), [("Note", "a\\b\nc")])
    header = path.read_bytes().split(b"\n\n")[0].decode()
    assert "sizes: 2 6 5 1" in header and "kinds: list domain domain domain" in header
    assert "Note:=a\\\\b\\nc" in header
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    both = sitk.GetArrayFromImage(reader.Execute())
    assert both.shape == (1, 5, 6, 2) and both[..., 0].max() == 0 and both[..., 1].min() == 1


def test_what_nrrd_cannot_hold_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\[k, j, i\]"):
        write_nrrd(tmp_path / "flat.nrrd", [np.zeros((4, 5))], Geometry())
    with pytest.raises(ValueError, match="no voxel type"):
        write_nrrd(tmp_path / "complex.nrrd", [np.zeros((1, 4, 5), np.complex64)], Geometry())
    with pytest.raises(ValueError, match="one shape"):
        write_nrrd(tmp_path / "mixed.nrrd", [np.zeros((1, 4, 5)), np.zeros((1, 4, 6))], Geometry())


def test_booleans_are_written_as_0_and_1(tmp_path):
    mask = np.zeros((1, 6, 7), bool)
    mask[0, 2:4, 1:5] = True
    again = image_from_sitk(sitk.ReadImage(str(write_image(Image(mask), tmp_path / "mask.nrrd"))))
    assert again.array.dtype == np.uint8 and np.array_equal(again.array, mask)
