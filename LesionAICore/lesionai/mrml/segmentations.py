"""Segmentation nodes: label maps (:class:`~lesionai.geometry.Image` plus
:class:`~lesionai.mrml.segments.SegmentSpec` list) to and from segmentation nodes and ``.seg.nrrd``.

Each label map becomes one shared binary-labelmap layer whose label values are the spec values, so
saved files keep them; overlapping label maps (lungs, then lung zones) become separate layers. The
label map's IJK-to-RAS matrix becomes the layer's image-to-world matrix, arrays are ``[k, j, i]``,
and the segmentation's reference geometry is set from the reference volume (else the first label
map). Exporting goes through Slicer's own segmentation logic on the reference grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError
from ..geometry import Image
from .hierarchy import _temporary_nodes
from .segments import TERMINOLOGY_TAG, SegmentSpec, Terminology
from .volumes import _smallest_label_array, _stem, _vtk_matrix, image_from_volume_node

__all__ = ["segmentation_node_from_labelmap", "segmentation_node_from_labelmaps",
           "labelmap_from_segmentation", "save_segmentation", "load_segmentation", "create_closed_surface"]


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
    ensure_conversion_rules()
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
    ensure_conversion_rules()
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


def create_closed_surface(segmentation_node) -> bool:
    """Give the segmentation a closed-surface representation, so the 3D views show its segments.

    Segmentation nodes made by this module can always convert (see :func:`ensure_conversion_rules`).
    Returns True when the surface exists.
    """
    return bool(segmentation_node.CreateClosedSurfaceRepresentation())


def ensure_conversion_rules() -> None:
    """Register the label map <-> closed surface conversion rules when none are registered.

    The Slicer application registers them at start-up; a headless scene (``slicer-core``) has none,
    and a segmentation takes its rules from the factory when it is created.
    """
    import slicer

    factory = slicer.vtkSegmentationConverterFactory.GetInstance()
    if not factory.GetConverterRules():
        factory.RegisterConverterRule(slicer.vtkBinaryLabelmapToClosedSurfaceConversionRule())
        factory.RegisterConverterRule(slicer.vtkClosedSurfaceToBinaryLabelmapConversionRule())
