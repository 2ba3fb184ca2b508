"""Images become volume nodes and back unchanged; files load as Slicer loads them (headless MRML)."""

import numpy as np
import pytest

vtk = pytest.importorskip("vtk", reason="VTK (from slicer-core) is not installed")
pytest.importorskip("slicer", reason="slicer-core (headless MRML) is not installed")

from lesionai.errors import InputError  # noqa: E402
from lesionai.geometry import Geometry, Image  # noqa: E402
from lesionai.imageio import read_image, write_image  # noqa: E402
from lesionai.mrml import (  # noqa: E402
    image_from_volume_node,
    load_volume,
    update_volume_node,
    volume_node_from_image,
)


def oblique_geometry() -> Geometry:
    angle = np.deg2rad(20)
    rotation = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)],
                         [0, np.sin(angle), np.cos(angle)]])
    return Geometry(spacing=(0.8, 0.6, 3.0), origin=(-30.5, 12.25, 80.0), direction=rotation)


@pytest.mark.parametrize("dtype, labelmap", [(np.float32, False), (np.int16, False),
                                             (np.uint8, True)])
def test_image_to_node_and_back_is_unchanged(scene, dtype, labelmap):
    array = np.arange(3 * 4 * 5).reshape(3, 4, 5).astype(dtype)
    image = Image(array, oblique_geometry(), {"view_position": "PA", "pixel_spacing_known": False})
    node = volume_node_from_image(scene, image, "input", labelmap=labelmap)
    back = image_from_volume_node(node)
    assert back.array.dtype == dtype
    np.testing.assert_array_equal(back.array, array)
    assert back.geometry == image.geometry
    assert back.metadata["view_position"] == "PA"
    assert back.metadata["pixel_spacing_known"] is False
    assert node.IsA("vtkMRMLLabelMapVolumeNode") == labelmap
    assert node.GetDisplayNode() is not None


def test_update_volume_node_replaces_voxels_and_geometry(scene):
    node = volume_node_from_image(scene, Image(np.zeros((1, 2, 2), np.float32)), "v")
    update_volume_node(node, Image(np.ones((2, 3, 4), np.float32), oblique_geometry()))
    back = image_from_volume_node(node)
    assert back.array.shape == (2, 3, 4)
    assert back.geometry == oblique_geometry()


@pytest.mark.parametrize("suffix", [".nrrd", ".nii.gz"])
def test_file_loaded_by_slicer_matches_read_image(scene, tmp_path, suffix):
    array = np.zeros((4, 5, 6), np.int16)
    array[2, 3, 1] = 500  # a marker at a known world position
    path = write_image(Image(array, oblique_geometry()), tmp_path / f"volume{suffix}")
    from_slicer = image_from_volume_node(load_volume(path, scene))
    from_lesionai = read_image(path)
    np.testing.assert_array_equal(from_slicer.array, from_lesionai.array)
    np.testing.assert_allclose(from_slicer.geometry.ijk_to_ras(),
                               from_lesionai.geometry.ijk_to_ras(), atol=1e-4)
    marker_ras = oblique_geometry().ijk_to_ras() @ [1, 3, 2, 1]
    marker_ijk = from_slicer.geometry.ras_to_ijk() @ marker_ras
    i, j, k = np.rint(marker_ijk[:3]).astype(int)
    assert from_slicer.array[k, j, i] == 500


def test_volume_under_a_transform_is_refused(scene):
    node = volume_node_from_image(scene, Image(np.zeros((1, 3, 3), np.float32)), "moved")
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "shift")
    matrix = vtk.vtkMatrix4x4()
    matrix.SetElement(0, 3, 10.0)
    transform.SetMatrixTransformToParent(matrix)
    node.SetAndObserveTransformNodeID(transform.GetID())
    with pytest.raises(InputError, match="Harden transform"):
        image_from_volume_node(node)


def test_unreadable_volume_file_is_reported(scene, tmp_path, node_ids):
    (tmp_path / "broken.nrrd").write_text("NRRD0004\ngarbage\n")
    before = node_ids(scene)
    for name in ("absent.nrrd", "broken.nrrd"):
        with pytest.raises(InputError, match=name):
            load_volume(tmp_path / name, scene)
    assert node_ids(scene) == before
