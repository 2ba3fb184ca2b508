"""Segment terminology is written and read exactly as Slicer's terminology logic does."""

import pytest

slicer = pytest.importorskip("slicer", reason="slicer-core (headless MRML) is not installed")

from lesionai.mrml import Terminology  # noqa: E402


def test_terminology_matches_slicer_serialisation(lung_segments):
    terminology = lung_segments[0].terminology
    logic = slicer.vtkSlicerTerminologiesModuleLogic
    expected = logic.SerializeTerminologyEntry(
        terminology.context, "123037004", "SCT", "Anatomical Structure", "39607008", "SCT", "Lung",
        "24028007", "SCT", "Right", terminology.anatomic_context, "", "", "", "", "", "")
    assert terminology.to_slicer_string() == expected
    assert Terminology.from_slicer_string(expected) == terminology
    entry = slicer.vtkSlicerTerminologyEntry()
    assert logic.DeserializeTerminologyEntry(terminology.to_slicer_string(), entry)
    assert entry.GetTypeObject().GetCodeMeaning() == "Lung"
    assert entry.GetTypeModifierObject().GetCodeMeaning() == "Right"
