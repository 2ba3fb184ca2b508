"""How SeverityScoring presents zone scores, on the real MRML library (slicer-core).

A run with zone scores adds a zone table with scores, confidences and low-confidence flags, the
global scores, an opacity segment and a heat-map volume; the panel's toggles switch the zones, the
opacity and the heat map; the table exports to CSV. Results are built by hand from the phantom's
known lungs (:func:`scored_result`): these tests are about what a user sees, not model accuracy.
The last test runs the real pipeline with the shipped models.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from repo_paths import REPO_ROOT as ROOT

if str(ROOT / "SeverityScoring") not in sys.path:
    sys.path.insert(0, str(ROOT / "SeverityScoring"))

slicer = pytest.importorskip("slicer")
from segmentation_checks import ZONE_LEVELS, segment_names, segment_voxel_count, zone_labels_by_thirds

if not hasattr(slicer, "vtkMRMLScene"):
    pytest.skip("the MRML library (slicer-core) is not installed", allow_module_level=True)

from SeverityScoringLib import logic, presentation

from lesionai import imageio, mrml
from lesionai.errors import InputError
from lesionai.phantoms.cxr import generate_cxr_phantom
from lesionai.severity import labels
from lesionai.severity.pipeline import SeverityResult

SCORES = {"A": 0, "B": 2, "C": 1, "D": 1, "E": 3, "F": 0}  # global score 7
OPACITY_SCORES = {"A": 0, "B": 1, "C": 1, "D": 1, "E": 3, "F": 0}  # opacity global score 6
LOW_CONFIDENCE = {"B", "E"}
OPACITY = labels.OPACITY_SEGMENT.value


# ---------------------------------------------------------------------------------------------
# A scored result built from the phantom's known lungs




def zone_entry(letter: str, zones: np.ndarray, opacity: np.ndarray, pixel_area: float) -> dict:
    inside = zones == "ABCDEF".index(letter) + 1
    score = SCORES[letter]
    probabilities = [0.1, 0.1, 0.1, 0.1]
    probabilities[score] = 0.45 if letter in LOW_CONFIDENCE else 0.7
    lung, level = ZONE_LEVELS[letter]
    return {"area_mm2": round(float(inside.sum() * pixel_area), 2), "lung": lung, "level": level,
            "score": score, "probabilities": probabilities, "confidence": probabilities[score],
            "low_confidence": letter in LOW_CONFIDENCE,
            "opacity_fraction": round(float((opacity & inside).sum() / inside.sum()), 4),
            "opacity_score": OPACITY_SCORES[letter]}


def scored_result(image, lung_labels: np.ndarray, with_heatmap: bool = True) -> SeverityResult:
    """A SeverityResult with zone scores, opacity (label 3: lower half of the left lung) and a
    heat map rising from 0 at the top row to 1 at the bottom row."""
    zones = zone_labels_by_thirds(lung_labels)
    opacity = (zones == 5) | (zones == 6)
    lungs_with_opacity = np.where(opacity, OPACITY, lung_labels).astype(np.uint8)
    pixel_area = image.geometry.spacing[0] * image.geometry.spacing[1]
    rows = image.array.shape[1]
    heat = np.broadcast_to(np.linspace(0, 1, rows, dtype=np.float32)[np.newaxis, :, np.newaxis], image.array.shape)
    return SeverityResult(
        lung_labels=image.with_array(lungs_with_opacity), zone_labels=image.with_array(zones),
        zones={letter: zone_entry(letter, zones, opacity, pixel_area) for letter in ZONE_LEVELS},
        alignment={}, warnings=[], models={"fake": "0"}, timing_s=0.0, view_probabilities={"PA": 0.9},
        global_score=sum(SCORES.values()), opacity_global_score=sum(OPACITY_SCORES.values()),
        heatmap=image.with_array(heat.copy()) if with_heatmap else None)


class ScoredPipeline:
    """Pipeline stand-in returning :func:`scored_result` for the image it is given."""

    def __init__(self, lung_labels: np.ndarray, with_heatmap: bool = True):
        self.lung_labels, self.with_heatmap = lung_labels, with_heatmap

    def run(self, image, progress=None):
        return scored_result(image, self.lung_labels, self.with_heatmap)


def write_cli_outputs(folder: Path, result: SeverityResult, with_heatmap: bool = True, with_scores: bool = True):
    """The files ``lesionai severity`` writes for ``result`` (result.json, lungs/zones/gradcam.nrrd)."""
    folder.mkdir(parents=True)
    imageio.write_image(result.lung_labels, folder / "lungs.nrrd")
    imageio.write_image(result.zone_labels, folder / "zones.nrrd")
    if with_heatmap:
        imageio.write_image(result.heatmap, folder / "gradcam.nrrd")
    summary = result.summary()
    if not with_scores:  # as written before zone scoring existed
        summary = {key: value for key, value in summary.items() if "global" not in key}
        summary["zones"] = {letter: {key: zone[key] for key in ("area_mm2", "lung", "level")}
                            for letter, zone in result.zones.items()}
    (folder / "result.json").write_text(json.dumps(summary), encoding="utf-8")


class FinishedCli:
    """``process_factory`` stand-in: a child that already exited after writing ``write(folder)``."""

    def __init__(self, write):
        self.write = write
        self.cancelled, self.stderr = False, ""

    def __call__(self, argv, env=None):
        arguments = [str(argument) for argument in argv]
        self.input_path = Path(arguments[arguments.index("severity") + 1])
        self.output_root = Path(arguments[arguments.index("-o") + 1])
        return self

    def start(self):
        self.write(self.output_root / self.input_path.stem, imageio.read_image(self.input_path))

    running = False

    def poll(self):
        return []

    def wait(self, timeout=None):
        return 0


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture
def nodes(radiograph, phantom):
    return logic.SeverityScoringLogic(pipeline=ScoredPipeline(phantom.lung_labels)).process(radiograph)


def table_rows(table_node) -> list[list]:
    return presentation.table_cells(table_node)[1]




def hierarchy_parent(scene, node) -> int:
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    return hierarchy.GetItemParent(hierarchy.GetItemByDataNode(node))


def hierarchy_item(scene, node) -> int:
    return slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene).GetItemByDataNode(node)


def ijk_to_ras(volume_node) -> np.ndarray:
    import vtk

    matrix = vtk.vtkMatrix4x4()
    volume_node.GetIJKToRASMatrix(matrix)
    return np.array([[matrix.GetElement(row, col) for col in range(4)] for row in range(4)])


def slice_views(scene, count: int = 3) -> list:
    """Slice composite nodes, as the Red, Green and Yellow views of the application have."""
    return [scene.AddNewNodeByClass("vtkMRMLSliceCompositeNode") for _ in range(count)]


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def opacity_names() -> list[str]:
    return [labels.OPACITY_SEGMENT.name]


def zone_names() -> list[str]:
    return [spec.name for spec in labels.ZONE_SEGMENTS]


# ---------------------------------------------------------------------------------------------
# Nodes of a scored run


def test_zone_table_has_six_rows_with_scores_confidence_and_flags(nodes):
    columns, rows = presentation.table_cells(nodes.table)
    assert nodes.table.GetName() == "chest zone scores"
    assert columns == list(presentation.TABLE_COLUMNS)
    assert [row[0] for row in rows] == list("ABCDEF")
    for row in rows:
        record = dict(zip(columns, row))
        zone = nodes.result.zones[record["zone"]]
        assert (record["lung"], record["level"]) == ZONE_LEVELS[record["zone"]]
        assert record["area_mm2"] == pytest.approx(zone["area_mm2"]) and record["area_mm2"] > 0
        assert record["score"] == SCORES[record["zone"]]
        assert record["confidence"] == pytest.approx(zone["confidence"])
        assert record["opacity_fraction"] == pytest.approx(zone["opacity_fraction"])
        assert record["opacity_score"] == OPACITY_SCORES[record["zone"]]
        assert record["low_confidence"] == ("yes" if record["zone"] in LOW_CONFIDENCE else "no")


def test_opacity_fraction_column_follows_the_opacity(nodes):
    fractions = dict(zip("ABCDEF", (row[6] for row in table_rows(nodes.table))))
    assert fractions["E"] == pytest.approx(1.0) and fractions["F"] == pytest.approx(1.0)
    assert fractions["A"] == fractions["B"] == fractions["C"] == fractions["D"] == 0.0


def test_zone_table_is_locked_against_editing(nodes):
    assert nodes.table.GetLocked()


def test_global_scores_and_summary_line(nodes):
    assert (nodes.global_score, nodes.opacity_global_score) == (7, 6)
    assert nodes.low_confidence_zones == ["B", "E"]
    assert nodes.summary == "Brixia global score 7 / 18 (opacity score 6 / 18); low confidence: B, E"
    assert presentation.global_scores(nodes.table) == (7, 6)


def test_panel_texts_come_from_the_table_node(nodes):
    assert presentation.score_text(nodes.table) == "Brixia global score 7 / 18 (opacity score 6 / 18)"
    assert presentation.low_confidence_text(nodes.table) == (
        "Low confidence in zones B, E: check the score on the image.")
    assert presentation.score_text(None) == presentation.low_confidence_text(None) == ""


def test_opacity_segment_holds_label_3(nodes, phantom):
    opacity_voxels = int((nodes.result.lung_labels.array == OPACITY).sum())
    assert opacity_voxels > 0
    (opacity_name,) = opacity_names()
    expected = [spec.name for spec in labels.LUNG_SEGMENTS] + [opacity_name] + zone_names()
    assert segment_names(nodes.segmentation) == expected
    assert segment_voxel_count(nodes.segmentation, opacity_name) == opacity_voxels


def test_heatmap_volume_on_the_input_grid(scene, radiograph, nodes):
    assert nodes.heatmap.GetName() == "chest severity heat map"
    assert nodes.heatmap.IsA("vtkMRMLScalarVolumeNode") and not nodes.heatmap.IsA("vtkMRMLLabelMapVolumeNode")
    np.testing.assert_allclose(ijk_to_ras(nodes.heatmap), ijk_to_ras(radiograph))
    values = slicer.util.arrayFromVolume(nodes.heatmap)
    assert values.dtype == np.float32 and values.shape == slicer.util.arrayFromVolume(radiograph).shape
    np.testing.assert_array_equal(values, nodes.result.heatmap.array)
    assert (values.min(), values.max()) == (0.0, 1.0)


def test_cold_heat_is_transparent_so_the_radiograph_shows_through(nodes):
    display = nodes.heatmap.GetDisplayNode()
    assert display.GetApplyThreshold()
    assert display.GetLowerThreshold() == pytest.approx(presentation.HEATMAP_FLOOR)
    assert display.GetUpperThreshold() >= 1.0


def test_results_sit_beside_the_input(scene, radiograph, nodes):
    for node in (nodes.segmentation, nodes.table, nodes.heatmap):
        assert hierarchy_parent(scene, node) == hierarchy_item(scene, radiograph)


def test_result_without_heatmap_adds_no_heatmap_node(scene, radiograph, phantom):
    pipeline = ScoredPipeline(phantom.lung_labels, with_heatmap=False)
    nodes = logic.SeverityScoringLogic(pipeline=pipeline).process(radiograph)
    assert nodes.heatmap is None
    assert scene.GetFirstNodeByName("chest severity heat map") is None
    assert nodes.table.GetNumberOfRows() == 6


def test_failure_while_adding_the_heatmap_leaves_scene_unchanged(scene, radiograph, phantom, monkeypatch):
    def broken_heatmap(*arguments, **keywords):
        raise MemoryError("no room for the heat map")

    monkeypatch.setattr(logic, "heatmap_volume_node", broken_heatmap)
    before = scene.GetNumberOfNodes()
    with pytest.raises(MemoryError):
        logic.SeverityScoringLogic(pipeline=ScoredPipeline(phantom.lung_labels)).process(radiograph)
    assert scene.GetNumberOfNodes() == before
    assert scene.GetFirstNodeByClass("vtkMRMLSegmentationNode") is None
    assert scene.GetFirstNodeByClass("vtkMRMLTableNode") is None


def test_undescribed_label_fails_before_any_node_is_kept(scene, radiograph, phantom):
    class StrayLabelPipeline:
        def run(self, image, progress=None):
            result = scored_result(image, phantom.lung_labels)
            result.lung_labels.array[0, 0, 0] = 9
            return result

    before = scene.GetNumberOfNodes()
    with pytest.raises(ValueError, match="9"):
        logic.SeverityScoringLogic(pipeline=StrayLabelPipeline()).process(radiograph)
    assert scene.GetNumberOfNodes() == before


# ---------------------------------------------------------------------------------------------
# Toggles


def test_show_zones_switches_the_six_zones_only(nodes):
    presentation.show_zones(nodes.segmentation, False)
    assert not any(presentation.segment_visible(nodes.segmentation, name) for name in zone_names())
    assert presentation.segment_visible(nodes.segmentation, "right lung")
    assert all(presentation.segment_visible(nodes.segmentation, name) for name in opacity_names())
    presentation.show_zones(nodes.segmentation, True)
    assert all(presentation.segment_visible(nodes.segmentation, name) for name in zone_names())


def test_show_opacity_switches_the_opacity_segment_only(nodes):
    presentation.show_opacity(nodes.segmentation, False)
    assert not any(presentation.segment_visible(nodes.segmentation, name) for name in opacity_names())
    assert all(presentation.segment_visible(nodes.segmentation, name) for name in zone_names())
    presentation.show_opacity(nodes.segmentation, True)
    assert all(presentation.segment_visible(nodes.segmentation, name) for name in opacity_names())


def test_show_heatmap_makes_it_the_foreground_of_every_slice_view(scene, nodes):
    views = slice_views(scene)
    presentation.show_heatmap(nodes.heatmap, True)
    assert presentation.heatmap_shown(nodes.heatmap)
    assert all(view.GetForegroundVolumeID() == nodes.heatmap.GetID() for view in views)
    assert all(view.GetForegroundOpacity() == presentation.HEATMAP_OPACITY for view in views)
    presentation.show_heatmap(nodes.heatmap, False)
    assert not presentation.heatmap_shown(nodes.heatmap)
    assert all(view.GetForegroundVolumeID() is None for view in views)


def test_hiding_the_heatmap_leaves_other_foregrounds_alone(scene, radiograph, nodes):
    other, mine = slice_views(scene, 2)
    presentation.show_heatmap(nodes.heatmap, True)
    other.SetForegroundVolumeID(radiograph.GetID())
    presentation.show_heatmap(nodes.heatmap, False)
    assert other.GetForegroundVolumeID() == radiograph.GetID()
    assert mine.GetForegroundVolumeID() is None


def test_show_results_applies_all_three_choices_and_skips_missing_nodes(scene, nodes):
    slice_views(scene)
    presentation.show_results(nodes.segmentation, nodes.heatmap, zones=False, opacity=False, heatmap=True)
    assert not presentation.segment_visible(nodes.segmentation, zone_names()[0])
    assert not presentation.segment_visible(nodes.segmentation, opacity_names()[0])
    assert presentation.heatmap_shown(nodes.heatmap)
    presentation.show_results(None, None, zones=True, opacity=True, heatmap=False)  # nothing chosen yet
    assert presentation.heatmap_shown(nodes.heatmap)


# ---------------------------------------------------------------------------------------------
# CSV export


def test_csv_export_round_trips_with_a_global_row(nodes, tmp_path):
    path = presentation.export_table_csv(nodes.table, tmp_path / "zones.csv")
    header, *rows, global_row = read_csv(path)
    assert header == list(presentation.TABLE_COLUMNS)
    assert [row[0] for row in rows] == list("ABCDEF")
    for row in rows:
        record = dict(zip(header, row))
        zone = nodes.result.zones[record["zone"]]
        assert float(record["area_mm2"]) == pytest.approx(zone["area_mm2"])
        assert record["score"] == str(SCORES[record["zone"]])  # whole numbers without ".0"
        assert float(record["confidence"]) == pytest.approx(zone["confidence"])
        assert record["low_confidence"] == ("yes" if record["zone"] in LOW_CONFIDENCE else "no")
    record = dict(zip(header, global_row))
    assert (record["zone"], record["score"], record["opacity_score"]) == ("global", "7", "6")
    assert record["area_mm2"] == record["confidence"] == ""


def test_csv_export_refuses_to_overwrite_unless_told(nodes, tmp_path):
    path = tmp_path / "zones.csv"
    path.write_text("the user's own file\n", encoding="utf-8")
    with pytest.raises(InputError, match="already exists"):
        presentation.export_table_csv(nodes.table, path)
    assert path.read_text(encoding="utf-8") == "the user's own file\n"
    presentation.export_table_csv(nodes.table, path, overwrite=True)
    assert read_csv(path)[0] == list(presentation.TABLE_COLUMNS)
    assert sorted(item.name for item in tmp_path.iterdir()) == ["zones.csv"]


@pytest.mark.parametrize("case", ["missing folder", "folder as file name"])
def test_csv_export_to_an_unusable_path_is_an_input_error(nodes, tmp_path, case):
    path = tmp_path / "no such folder" / "zones.csv" if case == "missing folder" else tmp_path
    message = "does not exist" if case == "missing folder" else "is a folder"
    with pytest.raises(InputError, match=message):
        presentation.export_table_csv(nodes.table, path)
    assert list(tmp_path.iterdir()) == []


def test_failed_csv_export_leaves_no_file_behind(nodes, tmp_path, monkeypatch):
    path = tmp_path / "zones.csv"
    path.write_text("earlier export\n", encoding="utf-8")

    def full_disk(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(presentation.os, "replace", full_disk)
    with pytest.raises(InputError, match="No space left on device"):
        presentation.export_table_csv(nodes.table, path, overwrite=True)
    assert path.read_text(encoding="utf-8") == "earlier export\n"
    assert sorted(item.name for item in tmp_path.iterdir()) == ["zones.csv"]


def test_csv_file_name_is_safe(nodes):
    nodes.table.SetName("chest 2024/05 zone scores")
    assert presentation.csv_file_name(nodes.table) == "chest 2024_05 zone scores.csv"


# ---------------------------------------------------------------------------------------------
# Background runs: the CLI's files


def finish_with(scene, radiograph, write) -> logic.SeverityNodes:
    logic_ = logic.SeverityScoringLogic(process_factory=FinishedCli(write))
    return logic_.finish(logic_.start(radiograph), scene)


def test_finish_builds_the_same_nodes_from_the_cli_files(scene, radiograph, phantom):
    def write(folder, image):
        write_cli_outputs(folder, scored_result(image, phantom.lung_labels))

    nodes = finish_with(scene, radiograph, write)
    direct = scored_result(phantom.image, phantom.lung_labels)
    assert nodes.summary == "Brixia global score 7 / 18 (opacity score 6 / 18); low confidence: B, E"
    assert [row[4] for row in table_rows(nodes.table)] == [SCORES[letter] for letter in "ABCDEF"]
    assert segment_voxel_count(nodes.segmentation, opacity_names()[0]) == int((direct.lung_labels.array == OPACITY).sum())
    assert nodes.heatmap.GetName() == "chest severity heat map"
    np.testing.assert_allclose(ijk_to_ras(nodes.heatmap), ijk_to_ras(radiograph))
    np.testing.assert_allclose(slicer.util.arrayFromVolume(nodes.heatmap), direct.heatmap.array, atol=1e-6)
    assert hierarchy_parent(scene, nodes.heatmap) == hierarchy_item(scene, radiograph)


def test_finish_without_gradcam_file_adds_no_heatmap(scene, radiograph, phantom):
    def write(folder, image):
        write_cli_outputs(folder, scored_result(image, phantom.lung_labels), with_heatmap=False)

    nodes = finish_with(scene, radiograph, write)
    assert nodes.heatmap is None and nodes.global_score == 7
    assert scene.GetFirstNodeByName("chest severity heat map") is None


def test_finish_reads_results_from_before_zone_scoring(scene, radiograph, phantom):
    def write(folder, image):
        write_cli_outputs(folder, scored_result(image, phantom.lung_labels), with_heatmap=False, with_scores=False)

    nodes = finish_with(scene, radiograph, write)
    columns, rows = presentation.table_cells(nodes.table)
    assert columns == list(presentation.TABLE_COLUMNS) and len(rows) == 6
    assert all(value in ("", None) or np.isnan(value) for row in rows for value in row[4:])  # empty cells
    assert (nodes.global_score, nodes.low_confidence_zones) == (None, [])
    assert presentation.score_text(nodes.table).startswith("No Brixia scores")
    assert presentation.low_confidence_text(nodes.table) == ""


def test_csv_of_a_result_without_scores_has_no_global_row(scene, radiograph, phantom, tmp_path):
    def write(folder, image):
        write_cli_outputs(folder, scored_result(image, phantom.lung_labels), with_heatmap=False, with_scores=False)

    nodes = finish_with(scene, radiograph, write)
    _header, *rows = read_csv(presentation.export_table_csv(nodes.table, tmp_path / "zones.csv"))
    assert [row[0] for row in rows] == list("ABCDEF")
    assert all(row[4:] == [""] * 5 for row in rows)


# ---------------------------------------------------------------------------------------------
# Qt-free


@pytest.mark.parametrize("module_name", ["presentation"])
def test_presentation_imports_without_qt_or_the_slicer_application(module_name):
    import subprocess

    code = ("import sys; sys.modules.update(qt=None, ctk=None, slicer=None); "
            f"from SeverityScoringLib import {module_name}")
    environment_path = [str(ROOT / "SeverityScoring"), str(ROOT / "LesionAICore")]
    completed = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                               env={"PYTHONPATH": os.pathsep.join(environment_path)})
    assert completed.returncode == 0, completed.stderr


def test_presentation_never_reaches_for_the_application():
    text = (ROOT / "SeverityScoring" / "SeverityScoringLib" / "presentation.py").read_text(encoding="utf-8")
    assert "slicer.app" not in text and "slicer.mrmlScene" not in text and "import qt" not in text


# ---------------------------------------------------------------------------------------------
# With the shipped models


ZONE_SEVERITY_MODEL = "cxr-zone-severity"


def test_real_pipeline_scores_the_phantom(scene):
    from lesionai.registry import ModelRegistry
    from lesionai.severity.pipeline import SeverityPipeline

    registry = ModelRegistry.load()
    assert ZONE_SEVERITY_MODEL in registry, "the zone-severity model ships with the package"
    assert [result.message for result in registry.verify() if not result.ok] == []
    image = generate_cxr_phantom(seed=3, size=(512, 448)).image
    radiograph = mrml.volume_node_from_image(scene, image, "chest")
    nodes = logic.SeverityScoringLogic(pipeline=SeverityPipeline(registry=registry, threads=1)).process(radiograph)
    scores = [row[4] for row in table_rows(nodes.table)]
    assert scores == [nodes.result.zones[letter]["score"] for letter in "ABCDEF"]
    assert nodes.global_score is not None and nodes.global_score == sum(scores)
    assert opacity_names()[0] in segment_names(nodes.segmentation)
    assert nodes.summary.startswith(f"Brixia global score {nodes.global_score} / 18")
