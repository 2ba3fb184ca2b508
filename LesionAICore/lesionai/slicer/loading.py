"""Result nodes into the scene: all or nothing, placed beside the input volume."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..mrml import place_under, scene_transaction


def add_nodes_beside(scene, volume_node, make_nodes: Callable[[], Any], nodes_of: Callable[[Any], Iterable]):
    """Run ``make_nodes()`` inside one scene transaction and place every node ``nodes_of(result)``
    lists (None entries skipped) beside ``volume_node`` in the subject hierarchy.

    If anything fails, every node added so far is removed again and the scene is as it was.
    """
    with scene_transaction(scene):
        made = make_nodes()
        for node in nodes_of(made):
            if node is not None:
                place_under(scene, node, volume_node)
    return made
