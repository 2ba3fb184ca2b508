"""Segment descriptions: what a segment is called, its colour, and its DICOM terminology.

Pure data, no MRML and no ``slicer`` import: :class:`SegmentSpec` and :class:`Terminology` are used
by task label tables and by the terminology context generator as well as by
:mod:`lesionai.mrml.segmentations`. A :class:`Terminology` is written to and read from Slicer's
``TerminologyEntry`` segment tag (seven ``~``-separated fields, codes as ``scheme^value^meaning``),
the form that Slicer's terminology selector and ``.seg.nrrd`` headers hold.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CodedEntry", "Terminology", "SegmentSpec"]

CodedEntry = tuple[str, str, str]
"""A DICOM code: (coding scheme designator, code value, code meaning), e.g. ("SCT", "39607008", "Lung")."""

GENERAL_ANATOMY_CONTEXT = "Segmentation category and type - 3D Slicer General Anatomy list"
ANATOMIC_CONTEXT = "Anatomic codes - DICOM master list"
TERMINOLOGY_TAG = "TerminologyEntry"


@dataclass(frozen=True)
class Terminology:
    """What a segment is, in DICOM codes, as Slicer's terminology selector shows it.

    >>> lung = Terminology(category=("SCT", "123037004", "Anatomical Structure"),
    ...                    type=("SCT", "39607008", "Lung"), modifier=("SCT", "24028007", "Right"))
    >>> lung.to_slicer_string().split("~")[2:4]
    ['SCT^39607008^Lung', 'SCT^24028007^Right']
    """

    category: CodedEntry
    type: CodedEntry
    modifier: CodedEntry | None = None
    anatomic_region: CodedEntry | None = None
    anatomic_region_modifier: CodedEntry | None = None
    context: str = GENERAL_ANATOMY_CONTEXT
    anatomic_context: str = ANATOMIC_CONTEXT

    def to_slicer_string(self) -> str:
        """The value of Slicer's ``TerminologyEntry`` segment tag.

        Seven ``~``-separated fields: context, category, type, type modifier, anatomic context,
        anatomic region, region modifier; codes as ``scheme^value^meaning`` (empty: ``^^``).
        """
        codes = [self.category, self.type, self.modifier]
        regions = [self.anatomic_region, self.anatomic_region_modifier]
        fields = [self.context, *map(_code_text, codes), self.anatomic_context,
                  *map(_code_text, regions)]
        return "~".join(fields)

    @classmethod
    def from_slicer_string(cls, text: str) -> "Terminology | None":
        """Parse a ``TerminologyEntry`` tag; None when it names no category and type."""
        fields = text.split("~")
        if len(fields) != 7:
            return None
        context, category, type_, modifier, anatomic_context, region, region_modifier = fields
        category_code, type_code = _code_or_none(category), _code_or_none(type_)
        if category_code is None or type_code is None:
            return None
        return cls(category_code, type_code, _code_or_none(modifier), _code_or_none(region),
                   _code_or_none(region_modifier), context, anatomic_context)


def _code_text(code: CodedEntry | None) -> str:
    return "^".join(code) if code else "^^"


def _code_or_none(text: str) -> CodedEntry | None:
    parts = text.split("^")
    if len(parts) != 3 or not any(parts):
        return None
    return parts[0], parts[1], parts[2]


@dataclass(frozen=True)
class SegmentSpec:
    """One segment of a label map: its voxel value, display name, RGB colour (0..1), terminology."""

    value: int
    name: str
    color: tuple[float, float, float]
    terminology: Terminology | None = None
