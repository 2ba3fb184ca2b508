"""What tests read back from segmentation nodes (needs the MRML library)."""

from __future__ import annotations


def segment_names(segmentation_node) -> list[str]:
    segmentation = segmentation_node.GetSegmentation()
    return [segmentation.GetNthSegment(index).GetName() for index in range(segmentation.GetNumberOfSegments())]


def segment_voxel_count(segmentation_node, name: str) -> int:
    """Voxels inside the segment called ``name`` (its binary labelmap representation)."""
    import slicer
    from vtk.util import numpy_support

    segment_id = segmentation_node.GetSegmentation().GetSegmentIdBySegmentName(name)
    image = slicer.vtkOrientedImageData()
    segmentation_node.GetBinaryLabelmapRepresentation(segment_id, image)
    return int((numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()) > 0).sum())
