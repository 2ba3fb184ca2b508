"""NoduleFusionLogic on the real MRML library (slicer-core): the nodes a Slicer user gets.

:class:`TruthPipeline` stands in for the trained models with the phantom's known masks (so these
tests are about nodes, tables, points and transactions); the last test runs the shipped models and
the real command line.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

slicer = pytest.importorskip("slicer")

from NoduleFusionLib import logic

from lesionai.errors import InputError
from lesionai.nodule.pipeline import NoduleResult

TASK = "LIDC malignancy suspicion >= 4 vs <= 2 (radiologists' rating proxy; not invasiveness)"


class TruthPipeline:
    """Pipeline stand-in: the phantom's ground-glass (1) and solid (2) masks, fixed probabilities."""

    made: ClassVar[list] = []  # every stand-in built, so a test can see what the logic asked for

    def __init__(self, phantom, point=None, age=None, sex=None):
        self.phantom, self.point, self.age, self.sex = phantom, point, age, sex
        TruthPipeline.made.append(self)

    def run(self, image, progress=None):
        labels = self.phantom.mask.array.astype(np.uint8) + self.phantom.solid_mask.array.astype(np.uint8)
        return NoduleResult(labels=image.with_array(labels), probability=0.8, task=TASK,
                            branches={"image": 0.7, "tabular": 0.6, "fusion": 0.8},
                            texture={"label": "part-solid", "probabilities": {"part-solid": 0.9}},
                            features={"Volume": {"value": 523.6, "unit": "mm3"}, "Age": {"value": self.age, "unit": "years"}},
                            ctr=0.4, warnings=[], models={"truth": "0"}, timing_s=0.0,
                            center_ras=list(self.phantom.center_ras))


@pytest.fixture
def nodule_logic(nodule_phantom):
    TruthPipeline.made.clear()
    return logic.NoduleFusionLogic(pipeline_factory=lambda **options: TruthPipeline(nodule_phantom, **options))


def segment_names(node) -> list[str]:
    segmentation = node.GetSegmentation()
    return [segmentation.GetNthSegment(index).GetName() for index in range(segmentation.GetNumberOfSegments())]


def test_one_point_gives_ground_glass_and_solid_segments_and_a_table_row(scene, ct_volume, nodule_logic, nodule_phantom):
    nodes = nodule_logic.process(ct_volume, nodule_phantom.center_ras, age=61, sex="F")
    assert segment_names(nodes.segmentation) == ["ground-glass component", "solid component"]
    assert nodes.table.GetNumberOfRows() == 1 and nodes.table.GetLocked()
    made = TruthPipeline.made[0]
    assert made.point == pytest.approx(tuple(nodule_phantom.center_ras)) and (made.age, made.sex) == (61, "F")
    table = nodes.table.GetTable()
    assert table.GetColumnByName("probability").GetValue(0) == pytest.approx(0.8)
    assert table.GetColumnByName("task").GetValue(0) == TASK == nodes.task
    assert table.GetColumnByName("Volume (mm3)").GetValue(0) == pytest.approx(523.6)


def test_the_probability_is_always_shown_with_what_it_means(scene, ct_volume, nodule_logic, nodule_phantom):
    nodes = nodule_logic.process(ct_volume, nodule_phantom.center_ras)
    assert nodes.summary == f"nodule 1: p = 0.80 ({TASK}); part-solid, CTR 0.40"


def test_a_point_list_gives_one_row_and_one_segmentation_per_point(scene, ct_volume, nodule_logic, nodule_phantom):
    points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "nodules")
    centre = nodule_phantom.center_ras
    points.AddControlPoint(*centre)
    points.AddControlPoint(centre[0] + 5, centre[1], centre[2])
    nodes = nodule_logic.process_points(ct_volume, points)
    assert nodes.table.GetNumberOfRows() == 2 and len(nodes.segmentations) == 2
    r_column = nodes.table.GetTable().GetColumnByName("point_r_mm")
    assert [r_column.GetValue(row) for row in range(2)] == pytest.approx([centre[0], centre[0] + 5])


def test_an_empty_point_list_is_refused_before_the_scene_changes(scene, ct_volume, nodule_logic):
    points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "nodules")
    before = scene.GetNumberOfNodes()
    with pytest.raises(InputError, match="has no points"):
        nodule_logic.process_points(ct_volume, points)
    assert scene.GetNumberOfNodes() == before


def test_the_background_command_gets_the_point_and_clinical_options():
    assert logic.cli_options((-80.2, 93.9, -146.3), 61, "F") == ["--point=-80.200,93.900,-146.300", "--age", "61",
                                                                 "--sex", "F"]
    assert logic.cli_options(None, None, None) == []


def test_the_sample_ct_comes_with_its_nodule_centre(scene):
    volume, centre = logic.NoduleFusionLogic().add_sample_ct(scene)
    ijk = np.linalg.inv(_ijk_to_ras(volume)) @ np.array([*centre, 1.0])
    dimensions = volume.GetImageData().GetDimensions()
    assert all(0 <= ijk[axis] < dimensions[axis] for axis in range(3))


def _ijk_to_ras(volume):
    import vtk

    matrix = vtk.vtkMatrix4x4()
    volume.GetIJKToRASMatrix(matrix)
    return np.array([[matrix.GetElement(row, column) for column in range(4)] for row in range(4)])


def test_a_real_run_through_the_command_line_adds_the_nodes(scene, ct_volume, nodule_phantom, tmp_path):
    from lesionai.registry import ModelRegistry

    assert "nodule-segmentation-unet" in ModelRegistry.load(), "the nodule segmentation model ships with the package"
    nodule_logic = logic.NoduleFusionLogic()
    job = nodule_logic.start(ct_volume, tuple(nodule_phantom.center_ras), tmp_path)
    nodes = nodule_logic.finish(job, scene)
    assert nodes.table.GetNumberOfRows() == 1 and segment_names(nodes.segmentation)
    assert not any(tmp_path.iterdir())
