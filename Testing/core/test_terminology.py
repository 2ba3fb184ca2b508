"""Each module ships its Slicer terminology context; it matches the task's label table and every
segment code resolves in it once Slicer has loaded it from the module's Resources."""

from __future__ import annotations

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from lesionai.mrml import SegmentSpec, Terminology
from lesionai.severity.labels import LUNG_SEGMENTS, ZONE_SEGMENTS
from lesionai.terminology import CONTEXT_NAME, terminology_context, terminology_json

from repo_paths import REPO_ROOT  # noqa: E402
TERM_FILE = REPO_ROOT / "SeverityScoring" / "Resources" / "Terminology" / "LesionAI-SeverityScoring.term.json"
MODULE_FOLDERS = {"severity": "SeverityScoring", "spine": "LesionSegmentation", "nodule": "NoduleFusion"}
REGENERATE = f"python -m lesionai.terminology {TERM_FILE.relative_to(REPO_ROOT).as_posix()}"
# Properties the dcmqi segment-context schema allows at each level (it forbids any other).
CODE_KEYS = {"CodeValue", "CodeMeaning", "CodingSchemeDesignator", "recommendedDisplayRGBValue", "cid",
             "contextGroupName", "UMLSConceptUID", "SNOMEDCTConceptID"}
ALLOWED_KEYS = {"Category": CODE_KEYS | {"3dSlicerLabel", "showAnatomy", "Type"},
                "Type": CODE_KEYS | {"3dSlicerLabel", "Modifier"}, "Modifier": CODE_KEYS}
SEGMENTS = [*LUNG_SEGMENTS, *ZONE_SEGMENTS]


def committed_context() -> dict:
    return json.loads(TERM_FILE.read_text(encoding="utf-8"))


def find_code(entries: list[dict], code: tuple[str, str, str]) -> dict | None:
    scheme, value, meaning = code
    return next((entry for entry in entries if (entry["CodingSchemeDesignator"], entry["CodeValue"],
                                                entry["CodeMeaning"]) == (scheme, value, meaning)), None)


def entries_at(context: dict, level: str) -> list[dict]:
    categories = context["SegmentationCodes"]["Category"]
    if level == "Category":
        return categories
    types = [t for category in categories for t in category.get("Type", [])]
    return types if level == "Type" else [m for t in types for m in t.get("Modifier", [])]


def test_committed_file_equals_a_fresh_generation():
    assert TERM_FILE.is_file(), f"{TERM_FILE.name} is missing; create it with: {REGENERATE}"
    assert TERM_FILE.read_text(encoding="utf-8") == terminology_json(), (
        f"{TERM_FILE.name} is out of date with lesionai/severity/labels.py; regenerate it with: {REGENERATE}")


def test_context_is_named_and_declares_the_dcmqi_schema():
    context = committed_context()
    assert context["SegmentationCategoryTypeContextName"] == CONTEXT_NAME == "LesionAI - SeverityScoring"
    assert context["@schema"].endswith("qiicr/dcmqi/master/doc/schemas/segment-context-schema.json#")


@pytest.mark.parametrize("segment", SEGMENTS, ids=lambda segment: segment.name)
def test_every_code_of_the_label_table_is_in_the_file(segment):
    terms = segment.terminology
    category = find_code(entries_at(committed_context(), "Category"), terms.category)
    assert category is not None, f"category {terms.category} missing"
    term_type = find_code(category["Type"], terms.type)
    assert term_type is not None, f"type {terms.type} missing under {terms.category[2]}"
    modifier = find_code(term_type.get("Modifier", []), terms.modifier) if terms.modifier else term_type
    assert modifier is not None, f"modifier {terms.modifier} missing under {terms.type[2]}"


def test_lungs_have_their_segment_colours():
    lung = find_code(entries_at(committed_context(), "Type"), LUNG_SEGMENTS[0].terminology.type)
    for segment in LUNG_SEGMENTS:
        modifier = find_code(lung["Modifier"], segment.terminology.modifier)
        expected = [round(channel * 255) for channel in segment.color]
        assert modifier["recommendedDisplayRGBValue"] == expected, segment.name


@pytest.mark.parametrize("level", ["Category", "Type", "Modifier"])
def test_entries_use_only_properties_the_schema_allows(level):
    for entry in entries_at(committed_context(), level):
        assert set(entry) <= ALLOWED_KEYS[level], f"{level} {entry['CodeMeaning']}: {set(entry) - ALLOWED_KEYS[level]}"
        assert {"CodingSchemeDesignator", "CodeValue", "CodeMeaning"} <= set(entry)
        rgb = entry.get("recommendedDisplayRGBValue", [0, 0, 0])
        assert len(rgb) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in rgb)


def test_slicer_loads_the_context_and_finds_each_segment_colour():
    slicer = pytest.importorskip("slicer")
    logic = slicer.vtkSlicerTerminologiesModuleLogic()
    assert logic.LoadTerminologyFromFile(str(TERM_FILE)) == CONTEXT_NAME
    for segment in SEGMENTS:
        entry = slicer.vtkSlicerTerminologyEntry()
        tag = dataclasses.replace(segment.terminology, context=CONTEXT_NAME).to_slicer_string()
        assert logic.DeserializeTerminologyEntry(tag, entry)
        assert logic.UpdateEntryFromLoadedTerminologies(entry, [CONTEXT_NAME], [])
        lung = next(spec for spec in LUNG_SEGMENTS if spec.terminology.modifier == segment.terminology.modifier)
        expected = tuple(round(channel * 255) for channel in lung.color)
        assert entry.GetTypeModifierObject().GetRecommendedDisplayRGBValue() == expected, segment.name


def test_command_line_writes_the_same_file(tmp_path):
    outfile = tmp_path / "nested" / "severity.term.json"
    completed = subprocess.run([sys.executable, "-m", "lesionai.terminology", str(outfile)], capture_output=True,
                               text=True, cwd=REPO_ROOT / "LesionAICore", timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert outfile.read_text(encoding="utf-8") == TERM_FILE.read_text(encoding="utf-8")


def test_one_code_with_two_meanings_is_refused():
    anatomy, lung = ("SCT", "123037004", "Anatomical Structure"), ("SCT", "39607008", "Lung")
    segments = [SegmentSpec(1, "a", (1.0, 0.0, 0.0), Terminology(anatomy, lung)),
                SegmentSpec(2, "b", (0.0, 1.0, 0.0), Terminology(anatomy, ("SCT", "39607008", "Pulmo")))]
    with pytest.raises(ValueError, match="39607008"):
        terminology_context("clash", segments)


def test_the_module_loads_its_shipped_context_into_slicer_once(tmp_path):
    slicer = pytest.importorskip("slicer")
    from lesionai.terminology import load_into_slicer

    logic = slicer.vtkSlicerTerminologiesModuleLogic()
    assert not logic.IsTerminologyContextLoaded(CONTEXT_NAME)
    assert load_into_slicer(logic, REPO_ROOT / "SeverityScoring") == CONTEXT_NAME
    assert logic.IsTerminologyContextLoaded(CONTEXT_NAME)
    assert load_into_slicer(logic, tmp_path) == CONTEXT_NAME  # already loaded: the folder is not read


def test_a_missing_shipped_file_is_named(tmp_path):
    slicer = pytest.importorskip("slicer")
    from lesionai.terminology import load_into_slicer

    with pytest.raises(FileNotFoundError, match="LesionAI-SeverityScoring.term.json is missing"):
        load_into_slicer(slicer.vtkSlicerTerminologiesModuleLogic(), tmp_path)
    assert not any(tmp_path.iterdir())  # nothing is generated in its place


@pytest.mark.parametrize("task_name", sorted(MODULE_FOLDERS))
def test_every_task_ships_its_context_and_each_segment_resolves_in_slicer(task_name):
    from lesionai.tasks import terminology_segments
    from lesionai.terminology import context_name, load_into_slicer, shipped_path

    module_folder = REPO_ROOT / MODULE_FOLDERS[task_name]
    shipped = shipped_path(module_folder, task_name)
    assert shipped.read_text(encoding="utf-8") == terminology_json(task_name=task_name), (
        f"{shipped.name} is out of date; regenerate it with: python -m lesionai.terminology "
        f"{shipped.relative_to(REPO_ROOT).as_posix()} --task {task_name}")
    slicer = pytest.importorskip("slicer")
    logic = slicer.vtkSlicerTerminologiesModuleLogic()
    name = load_into_slicer(logic, module_folder, task_name)
    assert name == context_name(task_name)
    for segment in terminology_segments(task_name):
        assert segment.terminology.context == name, f"{segment.name} refers to {segment.terminology.context!r}"
        entry = slicer.vtkSlicerTerminologyEntry()
        tag = segment.terminology.to_slicer_string()  # the tag written into results, as it is
        assert logic.DeserializeTerminologyEntry(tag, entry)
        assert logic.UpdateEntryFromLoadedTerminologies(entry, [name], []), f"{segment.name} does not resolve"
        found = entry.GetTypeModifierObject() if segment.terminology.modifier else entry.GetTypeObject()
        assert found.GetCodeValue() == (segment.terminology.modifier or segment.terminology.type)[1], segment.name
