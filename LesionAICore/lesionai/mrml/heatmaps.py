"""Heat maps: float maps (attention, probability) as scalar volume nodes shown through a colour table.

A heat map is a :mod:`~lesionai.mrml.volumes` node on the grid of its ``Image`` (same IJK-to-RAS
geometry, ``[k, j, i]`` arrays), stored as float32, displayed with a colour table (Slicer's "Iron"
by default) and a fixed window/level spanning its finite values.
"""

from __future__ import annotations

import numpy as np

from ..geometry import Image
from .volumes import _ensure_color_node, volume_node_from_image

__all__ = ["heatmap_volume_node"]

HEATMAP_COLOR_NODE_ID = "vtkMRMLColorTableNodeIron"


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


def _finite_range(array: np.ndarray) -> tuple[float, float]:
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low, low + 1.0)
