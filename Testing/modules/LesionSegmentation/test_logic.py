"""LesionSegmentationLogic on the real MRML library (slicer-core): the nodes a Slicer user gets.

:class:`TruthPipeline` stands in for the trained models with the phantom's known labels (the
measures are the real ones), so these tests are about nodes, tables and transactions; the last
test runs the real models when they are registered.
"""

from __future__ import annotations

import numpy as np
import pytest

slicer = pytest.importorskip("slicer")

from LesionSegmentationLib import logic

from lesionai.errors import InputError
from lesionai.spine.pipeline import SpineResult, measure

SCAN_CHECK = {"anatomy": {"label": "spine", "probabilities": {"spine": 0.97}},
              "region": {"label": "cervical", "probabilities": {"cervical": 0.9}},
              "view": {"label": "sagittal", "probabilities": {"sagittal": 1.0}},
              "contrast": {"label": "T2w", "probabilities": {"T2w": 0.95}}}


class TruthPipeline:
    """Pipeline stand-in returning the phantom's own labels (0, 1 cord, 2 lesion) on any image."""

    def __init__(self, labels: np.ndarray):
        self.labels = labels

    def run(self, image, progress=None):
        labels = image.with_array(self.labels.astype(np.uint8))
        cord, lesions = measure(labels)
        return SpineResult(labels=labels, scan_check=SCAN_CHECK, cord=cord, lesions=lesions,
                           warnings=["phantom"], models={"truth": "0"}, timing_s=0.0)


@pytest.fixture
def spine_logic(spine_phantom):
    return logic.LesionSegmentationLogic(pipeline=TruthPipeline(spine_phantom.labels))


def segment_names(segmentation_node) -> list[str]:
    segmentation = segmentation_node.GetSegmentation()
    return [segmentation.GetNthSegment(index).GetName() for index in range(segmentation.GetNumberOfSegments())]


def test_a_run_adds_cord_and_lesion_segments_with_a_3d_surface(scene, spine_volume, spine_logic):
    nodes = spine_logic.process(spine_volume)
    assert segment_names(nodes.segmentation) == ["spinal cord", "lesion"]
    cord = nodes.segmentation.GetSegmentation().GetNthSegment(0).GetRepresentation("Closed surface")
    assert cord is not None and cord.GetNumberOfPoints() > 100
    assert nodes.scan_check["anatomy"]["label"] == "spine" and nodes.warnings == ["phantom"]


def test_the_lesion_table_has_one_row_per_phantom_lesion(scene, spine_volume, spine_logic, spine_phantom):
    from scipy import ndimage

    nodes = spine_logic.process(spine_volume)
    expected = ndimage.label(spine_phantom.labels == 2, structure=np.ones((3, 3, 3)))[1]
    assert nodes.lesion_table.GetNumberOfRows() == expected == nodes.result.lesion_count
    columns = [nodes.lesion_table.GetTable().GetColumn(i).GetName() for i in range(len(logic.LESION_COLUMNS))]
    assert columns == list(logic.LESION_COLUMNS) and nodes.lesion_table.GetLocked()


def test_the_csa_table_and_plot_follow_the_cord(scene, spine_volume, spine_logic):
    nodes = spine_logic.process(spine_volume)
    per_slice = nodes.result.cord["csa_mm2_per_slice"]
    assert nodes.cord_table.GetNumberOfRows() == len(per_slice) > 5
    csa = nodes.cord_table.GetTable().GetColumnByName("csa_mm2")
    assert csa.GetValue(0) == pytest.approx(per_slice[0]["csa_mm2"])
    series = scene.GetNodeByID(nodes.csa_plot.GetPlotSeriesNodeID())
    assert series.GetTableNodeID() == nodes.cord_table.GetID() and series.GetYColumnName() == "csa_mm2"


def test_result_nodes_sit_beside_the_input_in_the_hierarchy(scene, spine_volume, spine_logic):
    nodes = spine_logic.process(spine_volume)
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    parent = hierarchy.GetItemByDataNode(spine_volume)
    for node in (nodes.segmentation, nodes.lesion_table, nodes.cord_table, nodes.csa_plot):
        assert hierarchy.GetItemParent(hierarchy.GetItemByDataNode(node)) == parent


def test_a_single_slice_image_is_refused_before_the_scene_changes(scene, spine_logic):
    from lesionai import mrml
    from lesionai.geometry import Image, radiograph_geometry

    picture = mrml.volume_node_from_image(scene, Image(np.ones((1, 64, 64), np.float32), radiograph_geometry()), "xray")
    before = scene.GetNumberOfNodes()
    with pytest.raises(InputError, match="expects a 3D spinal MRI"):
        spine_logic.process(picture)
    assert scene.GetNumberOfNodes() == before


def test_a_failing_run_leaves_the_scene_as_it_was(scene, spine_volume, spine_phantom):
    class Broken(TruthPipeline):
        def run(self, image, progress=None):
            result = super().run(image, progress)
            result.lesions = [{"index": 1}]  # a lesion without measures: its table row cannot be made
            return result

    before = scene.GetNumberOfNodes()
    with pytest.raises(KeyError):
        logic.LesionSegmentationLogic(pipeline=Broken(spine_phantom.labels)).process(spine_volume)
    assert scene.GetNumberOfNodes() == before


def test_the_sample_button_adds_a_spine_volume(scene):
    volume = logic.LesionSegmentationLogic().add_sample_volume(scene)
    assert volume.GetName().startswith(logic.SAMPLE_NAME) and volume.GetImageData().GetDimensions()[2] > 1


def test_a_background_run_through_the_real_command_line_adds_the_nodes(scene, spine_volume, tmp_path):
    from lesionai.registry import ModelRegistry

    assert "spine-cord-unet" in ModelRegistry.load(), "the spine cord model ships with the package"
    spine_logic = logic.LesionSegmentationLogic()
    job = spine_logic.start(spine_volume, tmp_path)
    nodes = spine_logic.finish(job, scene)
    assert "spinal cord" in segment_names(nodes.segmentation) and nodes.result.cord["volume_mm3"] > 0
    assert not any(tmp_path.iterdir())  # the job's files are gone
