"""Names of the training recipes and their modules, importable without torch (for the command line's help)."""

RECIPE_MODULES = {
    "lung-segmentation": "lesionai.training.lung_segmentation",
    "lung-alignment": "lesionai.training.alignment",
    "view-check": "lesionai.training.view",
    "opacity-segmentation": "lesionai.training.opacity_segmentation",
    "zone-severity": "lesionai.training.zone_severity",
    "finding-classifier": "lesionai.training.finding_classifier",
}
RECIPE_NAMES = tuple(RECIPE_MODULES)
