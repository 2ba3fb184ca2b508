"""Fixtures of the MRML adapter tests: a lung label map, its segment descriptions, scene node IDs.

The ``scene`` fixture (a new headless MRML scene) comes from ``Testing/conftest.py``.
"""

import numpy as np
import pytest

from lesionai.geometry import Image, radiograph_geometry
from lesionai.mrml import SegmentSpec, Terminology

ANATOMY = ("SCT", "123037004", "Anatomical Structure")
LUNG = ("SCT", "39607008", "Lung")
RIGHT, LEFT = ("SCT", "24028007", "Right"), ("SCT", "7771000", "Left")


@pytest.fixture
def lung_segments() -> list[SegmentSpec]:
    """Right lung (1) and left lung (2) with terminology, and a lesion (7) without."""
    return [
        SegmentSpec(1, "right lung", (0.5, 0.7, 0.9), Terminology(ANATOMY, LUNG, RIGHT)),
        SegmentSpec(2, "left lung", (0.9, 0.6, 0.2), Terminology(ANATOMY, LUNG, LEFT)),
        SegmentSpec(7, "lesion", (1.0, 0.0, 0.0), None),
    ]


def _lung_labels() -> Image:
    labels = np.zeros((1, 40, 50), np.uint8)
    labels[0, 5:35, 5:22] = 1
    labels[0, 5:35, 28:45] = 2
    return Image(labels, radiograph_geometry((0.4, 0.5)))


@pytest.fixture
def lung_labels():
    """Makes a (1, 40, 50) radiograph label map: right lung 1, left lung 2, no lesion voxels."""
    return _lung_labels


def _node_ids(scene) -> list[str]:
    return [scene.GetNthNode(n).GetID() for n in range(scene.GetNumberOfNodes())]


@pytest.fixture
def node_ids():
    """The IDs of a scene's nodes, in scene order: ``node_ids(scene)``."""
    return _node_ids
