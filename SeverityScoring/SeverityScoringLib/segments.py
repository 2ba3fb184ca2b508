"""Which segments the lungs label map (``SeverityResult.lung_labels``) becomes.

``lesionai.severity.labels`` is the single source of segment names, colours and codes: the lung
segments (``LUNG_SEGMENTS``) and the opacity segment (label 3, inside either lung), declared as an
``OPACITY...`` spec or list of specs, or as a non-lung entry of ``LUNG_SEGMENTS``. Until it
declares one, :data:`PROVISIONAL_OPACITY_SEGMENT` describes label 3, so that results which hold
opacity still load.
"""

from __future__ import annotations

from lesionai.mrml import SegmentSpec

OPACITY_LABEL = 3  # SeverityResult.lung_labels: 0 background, 1 right lung, 2 left lung, 3 opacity
PROVISIONAL_OPACITY_SEGMENT = SegmentSpec(OPACITY_LABEL, "opacity", (1.0, 0.8, 0.0))


def lung_layer_segments() -> list[SegmentSpec]:
    """Specs for every value of ``lung_labels``: the lungs, then the opacity segments."""
    from lesionai.severity import labels

    specs = list(labels.LUNG_SEGMENTS)
    known_values = {spec.value for spec in specs}
    return specs + [spec for spec in opacity_segments() if spec.value not in known_values]


def opacity_segments() -> list[SegmentSpec]:
    """The opacity segment specs ``lesionai.severity.labels`` declares, ordered by label value."""
    from lesionai.severity import labels

    declared = [spec for spec in labels.LUNG_SEGMENTS if spec.value not in labels.LUNG_NAMES]
    for name in dir(labels):
        if name.startswith("OPACITY"):
            declared += _specs_in(getattr(labels, name))
    if not declared:
        declared = [PROVISIONAL_OPACITY_SEGMENT]
    return sorted({spec.value: spec for spec in declared}.values(), key=lambda spec: spec.value)


def _specs_in(value) -> list[SegmentSpec]:
    if isinstance(value, SegmentSpec):
        return [value]
    if isinstance(value, (list, tuple)):
        return [item for item in value if isinstance(item, SegmentSpec)]
    return []
