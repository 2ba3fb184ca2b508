"""The labels LesionSegmentation writes, with names, colours and SNOMED CT codes.

Single source for ``labels.nrrd`` values, Slicer segment names and ``result.json``.
"""

from __future__ import annotations

from ..mrml import SegmentSpec, Terminology

BACKGROUND, CORD, LESION = 0, 1, 2
ANATOMICAL_STRUCTURE = ("SCT", "123037004", "Anatomical Structure")
SPINAL_CORD = ("SCT", "2748008", "Spinal cord")
MORPHOLOGICALLY_ALTERED_STRUCTURE = ("SCT", "49755003", "Morphologically Altered Structure")
LESION_TYPE = ("SCT", "52988006", "Lesion")
TERMINOLOGY_CONTEXT = "LesionAI - LesionSegmentation"  # shipped in LesionSegmentation/Resources/Terminology

NAMES = {CORD: "spinal cord", LESION: "lesion"}
COLORS = {CORD: (0.99, 0.85, 0.35), LESION: (0.90, 0.20, 0.15)}

SEGMENTS = [
    SegmentSpec(CORD, NAMES[CORD], COLORS[CORD], Terminology(category=ANATOMICAL_STRUCTURE, type=SPINAL_CORD,
                                                                  context=TERMINOLOGY_CONTEXT)),
    SegmentSpec(LESION, NAMES[LESION], COLORS[LESION],
                Terminology(category=MORPHOLOGICALLY_ALTERED_STRUCTURE, type=LESION_TYPE, context=TERMINOLOGY_CONTEXT)),
]


def label_table() -> dict:
    """``labels`` section of result.json: labelmap -> value -> name."""
    return {"labels": {"0": "background", **{str(value): name for value, name in NAMES.items()}}}
