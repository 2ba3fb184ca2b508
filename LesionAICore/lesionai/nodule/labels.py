"""The labels NoduleFusion writes (``nodule.nrrd``), with names, colours and DICOM codes.

Codes come from DICOM PS3.16 CID 6104 "Abnormal Opacity Finding or Feature": ground glass opacity
(DCM 112120) and nodule (SCT 27925004), in the category "Morphologically Altered Structure"
(SCT 49755003) that Slicer uses for lesions.
"""

from __future__ import annotations

from ..mrml import SegmentSpec, Terminology
from .components import GROUND_GLASS, SOLID

MORPHOLOGICALLY_ALTERED_STRUCTURE = ("SCT", "49755003", "Morphologically Altered Structure")
GROUND_GLASS_OPACITY = ("DCM", "112120", "Ground glass opacity")
NODULE = ("SCT", "27925004", "Nodule")
TERMINOLOGY_CONTEXT = "LesionAI - NoduleFusion"  # shipped in NoduleFusion/Resources/Terminology

GROUND_GLASS_NAME = "ground-glass component"
SOLID_NAME = "solid component"
GROUND_GLASS_COLOR = (0.95, 0.85, 0.2)
SOLID_COLOR = (0.9, 0.25, 0.2)

NODULE_SEGMENTS = [
    SegmentSpec(GROUND_GLASS, GROUND_GLASS_NAME, GROUND_GLASS_COLOR,
                Terminology(category=MORPHOLOGICALLY_ALTERED_STRUCTURE, type=GROUND_GLASS_OPACITY,
                            context=TERMINOLOGY_CONTEXT)),
    SegmentSpec(SOLID, SOLID_NAME, SOLID_COLOR,
                Terminology(category=MORPHOLOGICALLY_ALTERED_STRUCTURE, type=NODULE, context=TERMINOLOGY_CONTEXT)),
]


def label_table() -> dict:
    """``labels`` section of result.json: value -> name of ``nodule.nrrd``."""
    return {"nodule": {"0": "background", str(GROUND_GLASS): GROUND_GLASS_NAME, str(SOLID): SOLID_NAME}}
