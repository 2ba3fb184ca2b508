"""Qt-free parts of the SeverityScoring module.

``parameters``: the typed module parameters (bound to the .ui through ``SlicerParameterName``).
``logic``: running the pipeline on a volume node and adding the result nodes to a scene.
``presentation``: zone table rows, the global score line, segment and heat-map visibility, CSV export.
Nothing here imports Qt or needs the Slicer application; MRML comes from ``slicer`` (the
application or the ``slicer-core`` wheel).
"""
