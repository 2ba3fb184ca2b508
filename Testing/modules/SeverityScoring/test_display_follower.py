"""The panel's display settings follow the toggles and new results, nothing else.

Segment visibility and slice layers are real MRML state (slicer-core); the parameter node is a
plain namespace with the module parameter node's fields.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest
from repo_paths import REPO_ROOT

if str(REPO_ROOT / "SeverityScoring") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "SeverityScoring"))

slicer = pytest.importorskip("slicer")

from SeverityScoringLib import presentation

from lesionai import mrml
from lesionai.geometry import Image, radiograph_geometry
from lesionai.severity.labels import ZONE_SEGMENTS


@pytest.fixture
def result_nodes(scene):
    """A segmentation with the six zone segments, as a run adds it."""
    zones = np.zeros((1, 60, 60), np.uint8)
    for index, spec in enumerate(ZONE_SEGMENTS):
        zones[0, 10 * index:10 * index + 10, 10:50] = spec.value
    image = Image(zones, radiograph_geometry())
    return mrml.segmentation_node_from_labelmap(scene, image, list(ZONE_SEGMENTS), "zones")


def zones_shown(segmentation_node) -> list[bool]:
    return [presentation.segment_visible(segmentation_node, spec.name) for spec in ZONE_SEGMENTS]


def parameters(segmentation, **toggles):
    return SimpleNamespace(outputSegmentation=segmentation, outputHeatmap=None,
                           **{"showZones": True, "showOpacity": True, "showHeatmap": False, **toggles})


def test_an_unrelated_parameter_change_keeps_what_the_user_set(result_nodes):
    chosen = parameters(result_nodes, showZones=False)
    follower = presentation.DisplayFollower()
    assert follower.update(chosen) and zones_shown(result_nodes) == [False] * 6
    first = result_nodes.GetSegmentation().GetSegmentIdBySegmentName(ZONE_SEGMENTS[0].name)
    result_nodes.GetDisplayNode().SetSegmentVisibility(first, True)  # the user shows zone A by hand
    chosen.threads = 4  # another parameter changes
    assert not follower.update(chosen) and zones_shown(result_nodes)[0]


def test_a_toggle_and_a_new_result_are_applied(scene, result_nodes):
    chosen = parameters(result_nodes)
    follower = presentation.DisplayFollower()
    follower.update(chosen)
    chosen.showZones = False
    assert follower.update(chosen) and zones_shown(result_nodes) == [False] * 6
    newer = mrml.segmentation_node_from_labelmap(
        scene, Image(np.ones((1, 8, 8), np.uint8), radiograph_geometry()), [ZONE_SEGMENTS[0]], "new run")
    chosen.outputSegmentation = newer
    assert follower.update(chosen) and not presentation.segment_visible(newer, ZONE_SEGMENTS[0].name)


def test_entering_the_module_changes_nothing_on_screen(result_nodes):
    chosen = parameters(result_nodes, showZones=False)
    follower = presentation.DisplayFollower()
    follower.adopt(chosen)  # what the panel does when the module is entered
    assert not follower.update(chosen) and zones_shown(result_nodes) == [True] * 6
