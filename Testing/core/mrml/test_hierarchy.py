"""Results go into their input's study, and a failed run leaves the scene as it was (headless MRML)."""

import numpy as np
import pytest

slicer = pytest.importorskip("slicer", reason="slicer-core (headless MRML) is not installed")

from lesionai.geometry import Image  # noqa: E402
from lesionai.mrml import (  # noqa: E402
    heatmap_volume_node,
    place_under,
    scene_transaction,
    segmentation_node_from_labelmap,
    table_node_from_rows,
    volume_node_from_image,
)


def test_results_go_into_the_input_study(scene):
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    patient = hierarchy.CreateSubjectItem(hierarchy.GetSceneItemID(), "patient")
    study = hierarchy.CreateStudyItem(patient, "chest study")
    volume = volume_node_from_image(scene, Image(np.zeros((1, 2, 2), np.float32)), "cxr")
    hierarchy.CreateItem(study, volume)
    table = table_node_from_rows(scene, "scores", ["zone"], [["A"]])
    item = place_under(scene, table, volume)
    assert hierarchy.GetItemParent(item) == study


def test_results_go_under_an_input_without_study(scene):
    volume = volume_node_from_image(scene, Image(np.zeros((1, 2, 2), np.float32)), "cxr")
    table = table_node_from_rows(scene, "scores", ["zone"], [["A"]])
    item = place_under(scene, table, volume)
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    assert hierarchy.GetItemDataNode(hierarchy.GetItemParent(item)) is volume


def test_failed_run_leaves_scene_unchanged(scene, node_ids, lung_labels, lung_segments):
    volume = volume_node_from_image(scene, Image(np.zeros((1, 40, 50), np.float32)), "cxr")
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    hierarchy.CreateItem(hierarchy.GetSceneItemID(), volume)
    before, items_before = node_ids(scene), hierarchy.GetNumberOfItems()
    with pytest.raises(RuntimeError, match="model crashed"):
        with scene_transaction(scene):
            segmentation = segmentation_node_from_labelmap(scene, lung_labels(), lung_segments,
                                                           "lungs", volume)
            place_under(scene, segmentation, volume)
            heatmap_volume_node(scene, lung_labels(), "heat")
            raise RuntimeError("model crashed")
    assert node_ids(scene) == before
    assert hierarchy.GetNumberOfItems() == items_before
    assert scene.GetFirstNodeByName("lungs") is None


def test_successful_run_keeps_its_nodes(scene):
    with scene_transaction(scene):
        table_node_from_rows(scene, "scores", ["zone"], [["A"]])
    assert scene.GetFirstNodeByName("scores") is not None
