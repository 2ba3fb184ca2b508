"""Training recipes of SeverityScoring (frontal chest radiographs): lungs, alignment, view check,
opacities, zone severity and the finding classifier, with their chest X-ray data readers."""
