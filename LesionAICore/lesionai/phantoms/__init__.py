"""Generated sample data, one module per task: images with known ground truth for demos and tests.

``cxr``: chest radiographs with known lungs (SeverityScoring).
"""
