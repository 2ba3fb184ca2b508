"""The one place where LesionAI images meet MRML nodes, one module per node kind.

Functions take the scene or nodes as arguments and never touch the Slicer application (no
``slicer.app``, ``slicer.mrmlScene`` or Qt), so they run in the desktop application, in a headless
batch job with the ``slicer-core`` wheel, and in tests. ``slicer`` and ``vtk`` are imported inside
functions: ``import lesionai.mrml`` works without them, and :class:`SegmentSpec`/:class:`Terminology`
can be used anywhere.

Geometry crosses the boundary only as the IJK-to-RAS matrix; arrays are ``[k, j, i]``.

Modules, lower ones importing upper ones only:

- :mod:`.segments`: segment descriptions (:class:`SegmentSpec`, :class:`Terminology`); no MRML.
- :mod:`.volumes`: images to and from volume nodes and files; the matrix and label-array helpers.
- :mod:`.hierarchy`: placing results in the input's study; :func:`scene_transaction`.
- :mod:`.segmentations`: label maps to and from segmentation nodes and ``.seg.nrrd`` files.
- :mod:`.tables`: result rows as typed table nodes.
- :mod:`.heatmaps`: float maps as colour-mapped volume nodes.

Callers import from the package (``from lesionai.mrml import segmentation_node_from_labelmap``);
the module layout is not part of the interface.
"""

from .heatmaps import heatmap_volume_node
from .hierarchy import place_under, scene_transaction
from .segmentations import (
    create_closed_surface,
    labelmap_from_segmentation,
    load_segmentation,
    save_segmentation,
    segmentation_node_from_labelmap,
    segmentation_node_from_labelmaps,
)
from .segments import CodedEntry, SegmentSpec, Terminology
from .tables import table_node_from_rows
from .volumes import image_from_volume_node, load_volume, update_volume_node, volume_node_from_image

__all__ = [
    "CodedEntry",
    "Terminology",
    "SegmentSpec",
    "image_from_volume_node",
    "volume_node_from_image",
    "update_volume_node",
    "load_volume",
    "segmentation_node_from_labelmap",
    "segmentation_node_from_labelmaps",
    "labelmap_from_segmentation",
    "save_segmentation",
    "load_segmentation",
    "create_closed_surface",
    "table_node_from_rows",
    "heatmap_volume_node",
    "place_under",
    "scene_transaction",
]
