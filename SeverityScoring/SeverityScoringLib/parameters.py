"""Typed parameters of the SeverityScoring module.

:class:`SeverityScoringParameters` lists every user choice with its type and default. Each field
name is the ``SlicerParameterName`` dynamic property of the widget bound to it in
``Resources/UI/SeverityScoring.ui``. Slicer's ``parameterNodeWrapper`` (which exists only inside
the application) turns the class into a parameter node stored in the scene; this module stays
importable without Slicer: node types are named, not imported, and resolved by
:func:`wrapper_namespace` when the wrapper is built.
"""

from __future__ import annotations

import dataclasses
import typing

if typing.TYPE_CHECKING:  # names only: the module must import without Slicer
    from slicer import vtkMRMLScalarVolumeNode, vtkMRMLSegmentationNode, vtkMRMLTableNode, vtkMRMLVectorVolumeNode

    RadiographNode = typing.Union[vtkMRMLScalarVolumeNode, vtkMRMLVectorVolumeNode]

MRML_NODE_CLASS_NAMES = ("vtkMRMLScalarVolumeNode", "vtkMRMLSegmentationNode", "vtkMRMLTableNode")
RADIOGRAPH_NODE_TYPES = ("vtkMRMLScalarVolumeNode", "vtkMRMLVectorVolumeNode")
"""A radiograph is a grey (scalar) or a colour (vector, e.g. an RGB PNG) volume. The wrapper sets the
input selector's node types from this union, so both kinds can be chosen."""
NODE_TYPES_OF_ANNOTATION = {**{name: (name,) for name in MRML_NODE_CLASS_NAMES}, "RadiographNode": RADIOGRAPH_NODE_TYPES}
MAX_THREADS = 64


@dataclasses.dataclass
class SeverityScoringParameters:
    """What the user chose in the SeverityScoring panel.

    Node fields are None until a node is selected. ``useGPU``: run on a CUDA GPU when the installed
    onnxruntime offers one (False: always the CPU). ``threads``: CPU threads for inference, 0 meaning
    "let the runtime decide" (1..:data:`MAX_THREADS` otherwise). ``showZones``, ``showOpacity``,
    ``showHeatmap``: whether the zone segments, the opacity segment and the heat map of the chosen
    results are shown in the slice views. ``force``: score even an image the radiograph check refuses
    (its reasons are then shown as warnings).
    """

    inputVolume: RadiographNode = None
    outputSegmentation: vtkMRMLSegmentationNode = None
    outputTable: vtkMRMLTableNode = None
    outputHeatmap: vtkMRMLScalarVolumeNode = None
    useGPU: bool = True
    threads: int = 0
    showZones: bool = True
    showOpacity: bool = True
    showHeatmap: bool = False
    force: bool = False


def field_names() -> list[str]:
    """Names of the parameters, in declaration order."""
    return [field.name for field in dataclasses.fields(SeverityScoringParameters)]


def resolved_types(mrml) -> dict[str, type]:
    """Parameter name -> Python type, with node classes taken from ``mrml`` (the ``slicer`` module).

    Annotations are plain names looked up directly (not ``typing.get_type_hints``, which turns a
    None default into ``Optional`` on older Pythons and would hide the node type from the wrapper).

    >>> import slicer  # doctest: +SKIP
    >>> resolved_types(slicer)["outputHeatmap"] is slicer.vtkMRMLScalarVolumeNode  # doctest: +SKIP
    True
    """
    known = {"bool": bool, "int": int, "float": float, "str": str}
    known.update({name: getattr(mrml, name) for name in MRML_NODE_CLASS_NAMES})
    known["RadiographNode"] = typing.Union[tuple(getattr(mrml, name) for name in RADIOGRAPH_NODE_TYPES)]
    return {field.name: known[field.type] for field in dataclasses.fields(SeverityScoringParameters)}


def wrapper_namespace(mrml) -> dict[str, object]:
    """Class body (annotations and non-None defaults) from which ``parameterNodeWrapper`` builds
    the parameter node class.

    A fresh namespace is returned because ``parameterNodeWrapper`` rewrites the class it is given;
    the dataclass itself stays untouched. Node fields get no default: the wrapper's own default for
    nodes is None.
    """
    defaults = {
        field.name: field.default
        for field in dataclasses.fields(SeverityScoringParameters)
        if field.default is not None
    }
    return {"__annotations__": resolved_types(mrml), **defaults}
