"""Names of the training recipes, importable without torch (for the command line's help)."""

RECIPE_NAMES = ("lung-segmentation", "lung-alignment", "view-check")
