"""The one table of training recipes: name -> module, importable without torch.

``lesionai train --help`` lists these names without importing PyTorch; :mod:`.recipes` imports a
module when its recipe runs. A new task adds one line per recipe here, pointing into its own
training subpackage (``lesionai.training.<task>``), and its YAML as
``training/recipes/<name with underscores>.yaml``.
"""

RECIPE_MODULES = {
    "lung-segmentation": "lesionai.training.severity.lung_segmentation",
    "lung-alignment": "lesionai.training.severity.alignment",
    "view-check": "lesionai.training.severity.view",
    "opacity-segmentation": "lesionai.training.severity.opacity_segmentation",
    "zone-severity": "lesionai.training.severity.zone_severity",
    "finding-classifier": "lesionai.training.severity.finding_classifier",
    "nodule-image": "lesionai.training.nodule.image",
    "nodule-tabular": "lesionai.training.nodule.tabular",
    "nodule-fusion": "lesionai.training.nodule.fusion",
    "nodule-segmentation": "lesionai.training.nodule.segmentation",
    "nodule-csn": "lesionai.training.nodule.csn",
    "spine-cord": "lesionai.training.spine.cord_segmentation",
    "spine-lesion": "lesionai.training.spine.lesion_segmentation",
    "spine-scan-check": "lesionai.training.spine.scan_check",
}
RECIPE_NAMES = tuple(RECIPE_MODULES)


def config_file_name(recipe: str) -> str:
    """The bundled YAML's file name of ``recipe`` (``lung-segmentation`` -> ``lung_segmentation.yaml``)."""
    return f"{recipe.replace('-', '_')}.yaml"
