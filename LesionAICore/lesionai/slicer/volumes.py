"""Checks of a module's input volume node, made before any node or file is created."""

from __future__ import annotations

from ..errors import InputError


def check_scalar_volume_node(volume_node, expected: str) -> None:
    """Raise InputError unless ``volume_node`` is a scalar volume holding voxels.

    ``expected`` completes the messages, e.g. "a chest radiograph". Colour (vector) volumes pass
    (the node adapter turns them into grey luma); label maps do not.
    """
    if volume_node is None:
        raise InputError(f"No input volume selected. Select {expected}.")
    name = node_name(volume_node)
    if not is_scalar_volume(volume_node):
        kind = volume_node.GetClassName() if hasattr(volume_node, "GetClassName") else type(volume_node).__name__
        raise InputError(f"'{name}' is a {kind}; the module expects a scalar volume holding {expected}.")
    if volume_node.GetImageData() is None:
        raise InputError(f"Volume '{name}' holds no image data. Load it again.")


def scene_of(volume_node, scene=None):
    """The scene to add results to: ``scene``, else the input's (InputError when it has none)."""
    scene = scene if scene is not None else volume_node.GetScene()
    if scene is None:
        raise InputError(f"Volume '{node_name(volume_node)}' is not in a scene. Add it to the scene first.")
    return scene


def is_scalar_volume(node) -> bool:
    is_a = getattr(node, "IsA", None)
    return bool(is_a and is_a("vtkMRMLScalarVolumeNode") and not is_a("vtkMRMLLabelMapVolumeNode"))


def node_name(node) -> str:
    get_name = getattr(node, "GetName", None)
    return get_name() if get_name else repr(node)
