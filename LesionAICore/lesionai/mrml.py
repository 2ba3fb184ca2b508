"""The one place where LesionAI images meet MRML nodes.

Functions take the scene or nodes as arguments and never touch the Slicer application (no
``slicer.app``, ``slicer.mrmlScene`` or Qt), so they run in the desktop application, in a headless
batch job with the ``slicer-core`` wheel, and in tests. ``slicer`` is imported inside functions:
``import lesionai.mrml`` works without it, and :class:`SegmentSpec`/:class:`Terminology` can be used
anywhere.

Geometry crosses the boundary only as the IJK-to-RAS matrix; arrays are ``[k, j, i]``.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from .errors import InputError
from .geometry import Image, geometry_from_ijk_to_ras

__all__ = [
    "CodedEntry",
    "Terminology",
    "SegmentSpec",
    "image_from_volume_node",
    "volume_node_from_image",
    "update_volume_node",
    "load_volume",
    "segmentation_node_from_labelmap",
    "segmentation_node_from_labelmaps",
    "labelmap_from_segmentation",
    "save_segmentation",
    "load_segmentation",
    "table_node_from_rows",
    "heatmap_volume_node",
    "place_under",
    "scene_transaction",
]

CodedEntry = tuple[str, str, str]
"""A DICOM code: (coding scheme designator, code value, code meaning), e.g. ("SCT", "39607008", "Lung")."""

GENERAL_ANATOMY_CONTEXT = "Segmentation category and type - 3D Slicer General Anatomy list"
ANATOMIC_CONTEXT = "Anatomic codes - DICOM master list"
TERMINOLOGY_TAG = "TerminologyEntry"
METADATA_ATTRIBUTE = "LesionAI.metadata"
HEATMAP_COLOR_NODE_ID = "vtkMRMLColorTableNodeIron"
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


# --------------------------------------------------------------------------------------------
# Segment descriptions


@dataclass(frozen=True)
class Terminology:
    """What a segment is, in DICOM codes, as Slicer's terminology selector shows it.

    >>> lung = Terminology(category=("SCT", "123037004", "Anatomical Structure"),
    ...                    type=("SCT", "39607008", "Lung"), modifier=("SCT", "24028007", "Right"))
    >>> lung.to_slicer_string().split("~")[2:4]
    ['SCT^39607008^Lung', 'SCT^24028007^Right']
    """

    category: CodedEntry
    type: CodedEntry
    modifier: CodedEntry | None = None
    anatomic_region: CodedEntry | None = None
    anatomic_region_modifier: CodedEntry | None = None
    context: str = GENERAL_ANATOMY_CONTEXT
    anatomic_context: str = ANATOMIC_CONTEXT

    def to_slicer_string(self) -> str:
        """The value of Slicer's ``TerminologyEntry`` segment tag.

        Seven ``~``-separated fields: context, category, type, type modifier, anatomic context,
        anatomic region, region modifier; codes as ``scheme^value^meaning`` (empty: ``^^``).
        """
        codes = [self.category, self.type, self.modifier]
        regions = [self.anatomic_region, self.anatomic_region_modifier]
        fields = [self.context, *map(_code_text, codes), self.anatomic_context,
                  *map(_code_text, regions)]
        return "~".join(fields)

    @classmethod
    def from_slicer_string(cls, text: str) -> "Terminology | None":
        """Parse a ``TerminologyEntry`` tag; None when it names no category and type."""
        fields = text.split("~")
        if len(fields) != 7:
            return None
        context, category, type_, modifier, anatomic_context, region, region_modifier = fields
        category_code, type_code = _code_or_none(category), _code_or_none(type_)
        if category_code is None or type_code is None:
            return None
        return cls(category_code, type_code, _code_or_none(modifier), _code_or_none(region),
                   _code_or_none(region_modifier), context, anatomic_context)


def _code_text(code: CodedEntry | None) -> str:
    return "^".join(code) if code else "^^"


def _code_or_none(text: str) -> CodedEntry | None:
    parts = text.split("^")
    if len(parts) != 3 or not any(parts):
        return None
    return parts[0], parts[1], parts[2]


@dataclass(frozen=True)
class SegmentSpec:
    """One segment of a label map: its voxel value, display name, RGB colour (0..1), terminology."""

    value: int
    name: str
    color: tuple[float, float, float]
    terminology: Terminology | None = None


# --------------------------------------------------------------------------------------------
# Volumes


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


# --------------------------------------------------------------------------------------------
# Segmentations


def segmentation_node_from_labelmap(scene, labels: Image, segments: Sequence[SegmentSpec],
                                    name: str, reference_volume_node=None):
    """A segmentation node with one segment per spec, in the order given.

    Voxels equal to ``spec.value`` form that segment; a spec whose value does not occur still
    gets an (empty) segment. All segments share one labelmap layer whose label values are the
    spec values, so a saved ``.seg.nrrd`` keeps them. The reference geometry comes from
    ``reference_volume_node`` (else from ``labels``). Raises ValueError when ``labels`` holds
    values no spec describes or specs repeat a value.
    """
    return segmentation_node_from_labelmaps(scene, [(labels, segments)], name,
                                            reference_volume_node)


def segmentation_node_from_labelmaps(scene, labelmaps: Sequence[tuple[Image, Sequence[SegmentSpec]]],
                                     name: str, reference_volume_node=None):
    """Like :func:`segmentation_node_from_labelmap` for several label maps that may overlap.

    Each ``(labels, segments)`` pair becomes its own labelmap layer (e.g. lungs, then lung
    zones); segments appear in the order given. The reference geometry comes from
    ``reference_volume_node``, else from the first label map.
    """
    import slicer

    for labels, segments in labelmaps:
        _require_described_labels(labels.array, segments)
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", name)
    node.CreateDefaultDisplayNodes()
    layers = [(_oriented_image_data(labels), segments) for labels, segments in labelmaps]
    _set_reference_geometry(node, layers[0][0] if layers else None, reference_volume_node)
    segmentation = node.GetSegmentation()
    segmentation.SetSourceRepresentationName(
        slicer.vtkSegmentationConverter.GetBinaryLabelmapRepresentationName())
    for shared, segments in layers:
        for spec in segments:
            segment_id = segmentation.GenerateUniqueSegmentID(spec.name)
            segmentation.AddSegment(_segment(spec, shared), segment_id)
    return node


def labelmap_from_segmentation(segmentation_node, reference_volume_node=None
                               ) -> tuple[Image, list[SegmentSpec]]:
    """All segments as one label map (on the reference volume's or the reference geometry grid).

    Each segment keeps its label value when values are distinct and positive, otherwise segments
    are numbered 1..N in order. Where segments overlap, the later one wins.
    """
    import slicer

    scene = segmentation_node.GetScene()
    segmentation = segmentation_node.GetSegmentation()
    segment_ids = [segmentation.GetNthSegmentID(n)
                   for n in range(segmentation.GetNumberOfSegments())]
    specs = _segment_specs(segmentation, segment_ids)
    with _temporary_nodes(scene):
        labelmap_node = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "__lesionai_export__")
        logic = slicer.vtkSlicerSegmentationsModuleLogic
        if not logic.ExportSegmentsToLabelmapNode(segmentation_node, segment_ids, labelmap_node,
                                                  reference_volume_node,
                                                  slicer.vtkSegmentation.EXTENT_REFERENCE_GEOMETRY):
            raise InputError(f"Could not export segmentation '{segmentation_node.GetName()}'")
        exported = image_from_volume_node(labelmap_node)
    labels = np.zeros(exported.array.shape, np.int32)
    for index, spec in enumerate(specs, start=1):
        labels[exported.array == index] = spec.value
    metadata = {"node_id": segmentation_node.GetID(), "node_name": segmentation_node.GetName()}
    return Image(_smallest_label_array(labels), exported.geometry, metadata), specs


def save_segmentation(segmentation_node, path) -> Path:
    """Write ``segmentation_node`` to a ``.seg.nrrd`` file Slicer opens with names, colours and
    terminology. The labelmap is written on the full reference grid (not cropped)."""
    scene = segmentation_node.GetScene()
    path = Path(path)
    storage = segmentation_node.GetStorageNode()
    if storage is None:
        storage = scene.AddNewNodeByClass("vtkMRMLSegmentationStorageNode")
        segmentation_node.SetAndObserveStorageNodeID(storage.GetID())
    storage.SetFileName(str(path))
    storage.SetUseCompression(True)
    storage.SetCropToMinimumExtent(False)
    if not storage.WriteData(segmentation_node):
        raise OSError(f"Could not write segmentation '{segmentation_node.GetName()}' to {path}")
    return path


def load_segmentation(path, scene):
    """Read a ``.seg.nrrd`` file into a new segmentation node of ``scene``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Segmentation file not found: {path}")
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", _stem(path))
    storage = scene.AddNewNodeByClass("vtkMRMLSegmentationStorageNode")
    storage.SetFileName(str(path))
    if not storage.ReadData(node):
        scene.RemoveNode(node)
        scene.RemoveNode(storage)
        raise InputError(f"Could not read segmentation file {path}")
    node.SetAndObserveStorageNodeID(storage.GetID())
    node.CreateDefaultDisplayNodes()
    return node


def _require_described_labels(labels: np.ndarray, segments: Sequence[SegmentSpec]) -> None:
    values = [spec.value for spec in segments]
    if len(set(values)) != len(values) or any(value <= 0 for value in values):
        raise ValueError(f"Segment values must be distinct and positive; got {values}")
    undescribed = sorted(set(np.unique(labels).tolist()) - set(values) - {0})
    if undescribed:
        raise ValueError(f"Label values {undescribed} have no SegmentSpec")


def _oriented_image_data(labels: Image):
    import slicer
    from vtk.util import numpy_support

    array = _smallest_label_array(np.asarray(labels.array))
    image = slicer.vtkOrientedImageData()
    image.SetDimensions(array.shape[2], array.shape[1], array.shape[0])
    image.AllocateScalars(numpy_support.get_vtk_array_type(array.dtype), 1)
    scalars = image.GetPointData().GetScalars()
    numpy_support.vtk_to_numpy(scalars)[:] = array.ravel()
    scalars.Modified()
    image.SetImageToWorldMatrix(_vtk_matrix(labels.geometry.ijk_to_ras()))
    return image


def _set_reference_geometry(node, labelmap, reference_volume_node) -> None:
    """Set the geometry Slicer edits the segmentation on (avoids a missing-geometry warning)."""
    import slicer

    if reference_volume_node is not None:
        node.SetReferenceImageGeometryParameterFromVolumeNode(reference_volume_node)
        return
    if labelmap is None:
        return
    converter = slicer.vtkSegmentationConverter
    geometry = converter.SerializeImageGeometry(labelmap)
    node.GetSegmentation().SetConversionParameter(
        converter.GetReferenceImageGeometryParameterName(), geometry)


def _segment(spec: SegmentSpec, shared_labelmap):
    import slicer

    segment = slicer.vtkSegment()
    segment.SetName(spec.name)
    segment.SetNameAutoGenerated(False)
    segment.SetColor(*spec.color)
    segment.SetColorAutoGenerated(False)
    segment.SetLabelValue(int(spec.value))
    if spec.terminology is not None:
        segment.SetTag(TERMINOLOGY_TAG, spec.terminology.to_slicer_string())
    segment.AddRepresentation(slicer.vtkSegmentationConverter.GetBinaryLabelmapRepresentationName(),
                              shared_labelmap)
    return segment


def _segment_specs(segmentation, segment_ids: list[str]) -> list[SegmentSpec]:
    import vtk

    segments = [segmentation.GetSegment(segment_id) for segment_id in segment_ids]
    values = [segment.GetLabelValue() for segment in segments]
    if len(set(values)) != len(values) or min(values, default=1) <= 0:
        values = list(range(1, len(segments) + 1))
    specs = []
    for segment, value in zip(segments, values):
        tag = vtk.reference("")
        terminology = (Terminology.from_slicer_string(str(tag))
                       if segment.GetTag(TERMINOLOGY_TAG, tag) else None)
        specs.append(SegmentSpec(value, segment.GetName(), tuple(segment.GetColor()), terminology))
    return specs


# --------------------------------------------------------------------------------------------
# Tables and heat maps


def table_node_from_rows(scene, name: str, columns: Sequence[str],
                         rows: Iterable[Sequence | Mapping]):
    """A table node with one typed column per name: numbers become doubles, the rest strings.

    Each row is a sequence in column order or a mapping from column name to value; missing
    numbers become NaN, missing strings "".
    """
    rows = [[row.get(column) for column in columns] if isinstance(row, Mapping) else list(row)
            for row in rows]
    node = scene.AddNewNodeByClass("vtkMRMLTableNode", name)
    table = node.GetTable()
    for index, column in enumerate(columns):
        table.AddColumn(_vtk_column(column, [row[index] for row in rows]))
    node.Modified()
    return node


def _vtk_column(name: str, values: list):
    import vtk

    present = [value for value in values if value is not None]
    numeric = bool(present) and all(_is_number(value) for value in present)
    array = vtk.vtkDoubleArray() if numeric else vtk.vtkStringArray()
    array.SetName(name)
    array.SetNumberOfValues(len(values))
    for index, value in enumerate(values):
        if numeric:
            array.SetValue(index, np.nan if value is None else float(value))
        else:
            array.SetValue(index, "" if value is None else str(value))
    return array


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def heatmap_volume_node(scene, image: Image, name: str, color_node_id: str = HEATMAP_COLOR_NODE_ID):
    """A float scalar volume showing ``image`` through a colour table, window/level on its range.

    Slicer's default colour nodes are added to a scene that lacks ``color_node_id`` (a headless
    scene); an unknown ID raises ValueError.
    """
    floats = image.with_array(np.asarray(image.array, dtype=np.float32))
    node = volume_node_from_image(scene, floats, name)
    color_node = _ensure_color_node(scene, color_node_id)
    if color_node is None:
        raise ValueError(f"No colour table with ID {color_node_id} exists in the scene")
    display = node.GetDisplayNode()
    display.SetAndObserveColorNodeID(color_node.GetID())
    display.AutoWindowLevelOff()
    low, high = _finite_range(floats.array)
    display.SetWindowLevelMinMax(low, high)
    return node


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


def _finite_range(array: np.ndarray) -> tuple[float, float]:
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low, low + 1.0)


# --------------------------------------------------------------------------------------------
# Subject hierarchy and transactions


def place_under(scene, node, parent_node) -> int:
    """Put ``node`` in the study of ``parent_node`` (beside it), or under it when it has no study.

    Returns the subject hierarchy item ID of ``node``. Works in scenes where nodes have no
    subject hierarchy items yet (headless scenes): they are created.
    """
    import slicer

    if node is parent_node:
        raise ValueError("A node cannot be placed under itself")
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    parent_item = _hierarchy_item(hierarchy, parent_node)
    study_level = slicer.vtkMRMLSubjectHierarchyConstants.GetDICOMLevelStudy()
    study_item = hierarchy.GetItemAncestorAtLevel(parent_item, study_level)
    item = _hierarchy_item(hierarchy, node)
    hierarchy.SetItemParent(item, study_item or parent_item)
    return item


def _hierarchy_item(hierarchy, node) -> int:
    item = hierarchy.GetItemByDataNode(node)
    return item or hierarchy.CreateItem(hierarchy.GetSceneItemID(), node)


@contextmanager
def scene_transaction(scene):
    """Remove every node (and subject hierarchy item) added inside the block if it raises.

    A failed pipeline run leaves the scene as it found it; the exception propagates.

    >>> with scene_transaction(scene):            # doctest: +SKIP
    ...     segmentation_node_from_labelmap(scene, labels, specs, "lungs")
    """
    nodes_before = _node_ids(scene)
    items_before = _hierarchy_items(scene)
    try:
        yield scene
    except BaseException:
        _remove_added_items(scene, items_before)
        _remove_added_nodes(scene, nodes_before)
        raise


@contextmanager
def _temporary_nodes(scene):
    """Remove the nodes added inside the block when it ends, however it ends."""
    nodes_before = _node_ids(scene)
    try:
        yield scene
    finally:
        _remove_added_nodes(scene, nodes_before)


def _node_ids(scene) -> list[str]:
    return [scene.GetNthNode(n).GetID() for n in range(scene.GetNumberOfNodes())]


def _hierarchy_items(scene) -> set[int] | None:
    import slicer
    import vtk

    if not scene.GetFirstNodeByClass("vtkMRMLSubjectHierarchyNode"):
        return None
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    items = vtk.vtkIdList()
    hierarchy.GetItemChildren(hierarchy.GetSceneItemID(), items, True)
    return {items.GetId(n) for n in range(items.GetNumberOfIds())}


def _remove_added_items(scene, items_before: set[int] | None) -> None:
    import slicer

    if items_before is None:
        return  # the hierarchy node itself is new and goes with the other new nodes
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    for item in sorted(_hierarchy_items(scene) - items_before, reverse=True):
        hierarchy.RemoveItem(item, False, False)


def _remove_added_nodes(scene, nodes_before: list[str]) -> None:
    known = set(nodes_before)
    for node_id in reversed(_node_ids(scene)):
        node = scene.GetNodeByID(node_id)
        if node_id not in known and node is not None:
            scene.RemoveNode(node)
