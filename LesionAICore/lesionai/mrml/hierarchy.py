"""Subject hierarchy and scene transactions: where result nodes go, and undoing a failed run.

Results are placed in the study of their input (beside it), or under the input when it has no
study, so the Data module shows them with the image they came from; subject hierarchy items are
created where a headless scene has none yet. :func:`scene_transaction` removes every node and
hierarchy item a failed block added, so the scene is left as it was found. No geometry.
"""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["place_under", "scene_transaction"]


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
