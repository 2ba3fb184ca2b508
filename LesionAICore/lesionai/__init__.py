"""LesionAI: deep-learning lesion analysis for 3D Slicer and the command line.

The package is the shared core of the LesionAI extension. Everything in it runs without Qt and
without the Slicer application; code that needs MRML imports ``slicer`` lazily.
"""

__version__ = "0.1.0"
