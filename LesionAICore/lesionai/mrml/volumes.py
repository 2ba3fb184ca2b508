"""Volume nodes: LesionAI :class:`~lesionai.geometry.Image` from scalar, label map and colour volume
nodes, back into scalar or label map nodes, and image files read the way Slicer reads them.

Geometry crosses the boundary only as the IJK-to-RAS matrix (millimetres, RAS world); voxel arrays
are ``[k, j, i]`` as ``slicer.util.arrayFromVolume`` gives them. Volumes under a non-identity
transform are refused rather than silently read in the wrong place. ``Image.metadata`` travels on
the node as the JSON attribute ``LesionAI.metadata``. The matrix, label-array and file-name helpers
here are shared by the other node kinds of :mod:`lesionai.mrml`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..geometry import Image, geometry_from_ijk_to_ras

__all__ = ["image_from_volume_node", "volume_node_from_image", "update_volume_node", "load_volume"]

METADATA_ATTRIBUTE = "LesionAI.metadata"
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def image_from_volume_node(volume_node) -> Image:
    """The voxels (copied, scalar type kept) and RAS geometry of a scalar or label map volume node.

    Colour (vector) volumes become grey luma. Raises :class:`InputError` when the volume has no
    voxels or sits under a transform (harden the transform first).
    """
    import slicer.util

    _require_untransformed(volume_node)
    if volume_node.GetImageData() is None:
        raise InputError(f"Volume '{volume_node.GetName()}' has no voxels")
    array = np.array(slicer.util.arrayFromVolume(volume_node))
    if volume_node.IsA("vtkMRMLVectorVolumeNode") or array.ndim == 4:
        array = _vector_luma(array, volume_node.GetName())
    if array.size == 0:
        raise InputError(f"Volume '{volume_node.GetName()}' has no voxels")
    return Image(array, geometry_from_ijk_to_ras(_ijk_to_ras(volume_node)),
                 _node_metadata(volume_node))


def volume_node_from_image(scene, image: Image, name: str, labelmap: bool = False):
    """A new scalar (or label map) volume node in ``scene`` holding ``image``, with display node.

    ``image.metadata`` is kept on the node (attribute ``LesionAI.metadata``) so that
    :func:`image_from_volume_node` gives it back.
    """
    class_name = "vtkMRMLLabelMapVolumeNode" if labelmap else "vtkMRMLScalarVolumeNode"
    node = scene.AddNewNodeByClass(class_name, name)
    update_volume_node(node, image)
    color_id = "vtkMRMLColorTableNodeLabels" if labelmap else "vtkMRMLColorTableNodeGrey"
    _ensure_color_node(scene, color_id)  # default display nodes refer to it
    node.CreateDefaultDisplayNodes()
    return node


def update_volume_node(volume_node, image: Image):
    """Replace the voxels, geometry and metadata of ``volume_node`` with those of ``image``."""
    import slicer.util

    labelmap = volume_node.IsA("vtkMRMLLabelMapVolumeNode")
    volume_node.SetIJKToRASMatrix(_vtk_matrix(image.geometry.ijk_to_ras()))
    slicer.util.updateVolumeFromArray(volume_node, _node_array(image.array, labelmap))
    volume_node.SetAttribute(METADATA_ATTRIBUTE, json.dumps(image.metadata, default=str))
    return volume_node


def load_volume(path, scene, labelmap: bool = False):
    """Read an image file into a new volume node the way Slicer does (archetype storage node)."""

    path = Path(path)
    if not path.is_file():
        raise InputError(f"Volume file not found: {path}")
    class_name = "vtkMRMLLabelMapVolumeNode" if labelmap else "vtkMRMLScalarVolumeNode"
    node = scene.AddNewNodeByClass(class_name, _stem(path))
    storage = scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.SetFileName(str(path))
    storage.SetCenterImage(False)
    storage.SetSingleFile(True)  # never gather similarly named files into a series
    if not storage.ReadData(node):
        scene.RemoveNode(node)
        scene.RemoveNode(storage)
        raise InputError(f"Slicer could not read {path} as a volume")
    node.SetAndObserveStorageNodeID(storage.GetID())
    return node


def _require_untransformed(node) -> None:
    transform = node.GetParentTransformNode()
    if transform is None:
        return
    import vtk

    matrix = vtk.vtkMatrix4x4()
    is_linear = transform.IsTransformToWorldLinear()
    if is_linear:
        transform.GetMatrixTransformToWorld(matrix)
    if not is_linear or not np.allclose(_numpy_matrix(matrix), np.eye(4)):
        raise InputError(f"Volume '{node.GetName()}' is under transform '{transform.GetName()}'; "
                         "harden the transform first (Data module, right-click, Harden transform)")


def _vector_luma(array: np.ndarray, name: str) -> np.ndarray:
    components = array.shape[-1]
    if components not in (3, 4):
        raise InputError(f"Volume '{name}' has {components} values per voxel; expected a scalar "
                         "or RGB volume")
    return (array[..., :3].astype(np.float64) @ [0.299, 0.587, 0.114]).astype(np.float32)


def _node_metadata(volume_node) -> dict:
    stored = volume_node.GetAttribute(METADATA_ATTRIBUTE)
    if stored:
        metadata = json.loads(stored)
    else:
        storage = volume_node.GetStorageNode()
        path = storage.GetFileName() if storage is not None else None
        metadata = {"format": "mrml", "pixel_spacing_known": not _is_picture(path)}
        if path:
            metadata["source_path"] = path
    metadata.update(node_id=volume_node.GetID(), node_name=volume_node.GetName())
    return metadata


def _is_picture(path: str | None) -> bool:
    return bool(path) and path.lower().endswith(PICTURE_SUFFIXES)


def _node_array(array: np.ndarray, labelmap: bool) -> np.ndarray:
    """``array`` in a scalar type MRML volumes display correctly (no 64-bit integers, no bool)."""
    if array.dtype == bool:
        return array.astype(np.uint8)
    if labelmap and not np.issubdtype(array.dtype, np.integer):
        if not np.array_equal(array, np.round(array)):
            raise ValueError("A label map must hold whole numbers")
        return _smallest_label_array(array)
    if array.dtype in (np.int64, np.uint64):  # VTK volumes cannot display 64-bit integers
        return _smallest_label_array(array) if labelmap else array.astype(np.float64)
    return array


def _smallest_label_array(array: np.ndarray) -> np.ndarray:
    low, high = (int(array.min()), int(array.max())) if array.size else (0, 0)
    for dtype in (np.uint8, np.int16, np.int32):
        if np.iinfo(dtype).min <= low and high <= np.iinfo(dtype).max:
            return array.astype(dtype)
    raise ValueError(f"Label values {low}..{high} do not fit a 32-bit label map")


def _ijk_to_ras(volume_node) -> np.ndarray:
    import vtk

    matrix = vtk.vtkMatrix4x4()
    volume_node.GetIJKToRASMatrix(matrix)
    return _numpy_matrix(matrix)


def _numpy_matrix(matrix) -> np.ndarray:
    return np.array([[matrix.GetElement(row, col) for col in range(4)] for row in range(4)])


def _vtk_matrix(array: np.ndarray):
    import vtk

    matrix = vtk.vtkMatrix4x4()
    for row in range(4):
        for col in range(4):
            matrix.SetElement(row, col, float(array[row, col]))
    return matrix


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".seg.nrrd", ".nii.gz", ".seg.nhdr"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _ensure_color_node(scene, color_node_id: str):
    """The colour node ``color_node_id``; Slicer's default colour nodes are added if it is missing."""
    import slicer

    node = scene.GetNodeByID(color_node_id)
    if node is None:
        logic = slicer.vtkMRMLColorLogic()
        logic.SetMRMLScene(scene)
        logic.AddDefaultColorNodes()
        logic.SetMRMLScene(None)
        node = scene.GetNodeByID(color_node_id)
    return node
