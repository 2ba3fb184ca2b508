"""Qt-free parts of the SeverityScoring module.

``parameters``: the typed module parameters (bound to the .ui through ``SlicerParameterName``).
``logic``: running the pipeline on a volume node and adding the result nodes to a scene.
Nothing here imports Qt or needs the Slicer application; MRML comes from ``slicer`` (the
application or the ``slicer-core`` wheel).
"""
