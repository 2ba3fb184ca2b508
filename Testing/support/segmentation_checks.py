"""Helpers of the SeverityScoring logic tests: hand-made zones, and what tests read back from
segmentation nodes (those need the MRML library)."""

from __future__ import annotations

import numpy as np

ZONE_LEVELS = {"A": ("right", "upper"), "B": ("right", "middle"), "C": ("right", "lower"),
               "D": ("left", "upper"), "E": ("left", "middle"), "F": ("left", "lower")}


def zone_labels_by_thirds(lung_labels: np.ndarray) -> np.ndarray:
    """Zones 1-6 (A-F): upper/middle/lower thirds (by row) of the right (1), then the left (2) lung
    of a (1, rows, cols) lung labelmap."""
    zones = np.zeros(lung_labels.shape, np.uint8)
    for index, (lung, level) in enumerate(ZONE_LEVELS.values()):
        lung_mask = lung_labels == (1 if lung == "right" else 2)
        rows = np.nonzero(lung_mask.any(axis=(0, 2)))[0]
        cuts = np.linspace(rows.min(), rows.max() + 1, 4).round().astype(int)
        band = ("upper", "middle", "lower").index(level)
        zone_mask = lung_mask.copy()
        zone_mask[:, : cuts[band]] = False
        zone_mask[:, cuts[band + 1]:] = False
        zones[zone_mask] = index + 1
    return zones


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
