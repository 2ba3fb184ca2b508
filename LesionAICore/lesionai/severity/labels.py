"""The labels SeverityScoring writes, with names, colours and standard terminology codes.

Single source for ``lungs.nrrd`` / ``zones.nrrd`` values, Slicer segment names and ``result.json``.
"""

from __future__ import annotations

from ..mrml import SegmentSpec, Terminology
from .overlay import LUNG_COLORS, OPACITY_COLOR, ZONE_COLORS
from .lungs import LEFT_LUNG, OPACITY, RIGHT_LUNG
from .zones import ZONES

ANATOMICAL_STRUCTURE = ("SCT", "123037004", "Anatomical Structure")
LUNG = ("SCT", "39607008", "Lung")
RIGHT = ("SCT", "24028007", "Right")
LEFT = ("SCT", "7771000", "Left")
MORPHOLOGICALLY_ALTERED_STRUCTURE = ("SCT", "49755003", "Morphologically Altered Structure")
LESION = ("SCT", "52988006", "Lesion")
TERMINOLOGY_CONTEXT = "LesionAI - SeverityScoring"  # shipped in SeverityScoring/Resources/Terminology

LUNG_NAMES = {RIGHT_LUNG: "right lung", LEFT_LUNG: "left lung"}
OPACITY_NAME = "opacity"
ZONE_NAMES = {index + 1: f"zone {zone.letter} ({zone.lung} {zone.level})" for index, zone in enumerate(ZONES)}


def _lung_terminology(side: str) -> Terminology:
    return Terminology(category=ANATOMICAL_STRUCTURE, type=LUNG, modifier=RIGHT if side == "right" else LEFT,
                       context=TERMINOLOGY_CONTEXT)


LUNG_SEGMENTS = [
    SegmentSpec(RIGHT_LUNG, LUNG_NAMES[RIGHT_LUNG], LUNG_COLORS[RIGHT_LUNG], _lung_terminology("right")),
    SegmentSpec(LEFT_LUNG, LUNG_NAMES[LEFT_LUNG], LUNG_COLORS[LEFT_LUNG], _lung_terminology("left")),
]
OPACITY_SEGMENT = SegmentSpec(OPACITY, OPACITY_NAME, OPACITY_COLOR,
                              Terminology(category=MORPHOLOGICALLY_ALTERED_STRUCTURE, type=LESION,
                                          context=TERMINOLOGY_CONTEXT))
# Every value of the pipeline's lung labelmap (lungs.nrrd): the two lungs and the opacity inside them.
LUNG_LAYER_SEGMENTS = LUNG_SEGMENTS + [OPACITY_SEGMENT]
ZONE_SEGMENTS = [
    SegmentSpec(index + 1, ZONE_NAMES[index + 1], ZONE_COLORS[zone.letter], _lung_terminology(zone.lung))
    for index, zone in enumerate(ZONES)
]


def label_table() -> dict:
    """``labels`` section of result.json: value -> name for both labelmaps."""
    return {"lungs": {"0": "background", **{str(k): v for k, v in LUNG_NAMES.items()}, str(OPACITY): OPACITY_NAME},
            "zones": {"0": "background", **{str(k): v for k, v in ZONE_NAMES.items()}}}
