"""LesionAI results become MRML nodes and files that Slicer shows correctly (headless MRML)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

vtk = pytest.importorskip("vtk", reason="VTK (from slicer-core) is not installed")
slicer = pytest.importorskip("slicer", reason="slicer-core (headless MRML) is not installed")

from repo_paths import CORE_SOURCE  # noqa: E402

from lesionai.errors import InputError  # noqa: E402
from lesionai.geometry import Geometry, Image, radiograph_geometry  # noqa: E402
from lesionai.imageio import read_image, write_image  # noqa: E402
from lesionai.mrml import (  # noqa: E402
    SegmentSpec,
    Terminology,
    heatmap_volume_node,
    image_from_volume_node,
    labelmap_from_segmentation,
    load_segmentation,
    load_volume,
    place_under,
    save_segmentation,
    scene_transaction,
    segmentation_node_from_labelmap,
    segmentation_node_from_labelmaps,
    table_node_from_rows,
    update_volume_node,
    volume_node_from_image,
)

ANATOMY = ("SCT", "123037004", "Anatomical Structure")
LUNG = ("SCT", "39607008", "Lung")
RIGHT, LEFT = ("SCT", "24028007", "Right"), ("SCT", "7771000", "Left")
LUNG_SEGMENTS = [
    SegmentSpec(1, "right lung", (0.5, 0.7, 0.9), Terminology(ANATOMY, LUNG, RIGHT)),
    SegmentSpec(2, "left lung", (0.9, 0.6, 0.2), Terminology(ANATOMY, LUNG, LEFT)),
    SegmentSpec(7, "lesion", (1.0, 0.0, 0.0), None),
]


@pytest.fixture
def scene():
    return slicer.vtkMRMLScene()


def oblique_geometry() -> Geometry:
    angle = np.deg2rad(20)
    rotation = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)],
                         [0, np.sin(angle), np.cos(angle)]])
    return Geometry(spacing=(0.8, 0.6, 3.0), origin=(-30.5, 12.25, 80.0), direction=rotation)


def lung_labels() -> Image:
    labels = np.zeros((1, 40, 50), np.uint8)
    labels[0, 5:35, 5:22] = 1
    labels[0, 5:35, 28:45] = 2
    return Image(labels, radiograph_geometry((0.4, 0.5)))


def node_ids(scene) -> list[str]:
    return [scene.GetNthNode(n).GetID() for n in range(scene.GetNumberOfNodes())]


def test_package_imports_without_slicer():
    code = "import sys; sys.modules['slicer'] = None; import lesionai.mrml"
    source = str(CORE_SOURCE)
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": source},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------------------------------
# Volumes


@pytest.mark.parametrize("dtype, labelmap", [(np.float32, False), (np.int16, False),
                                             (np.uint8, True)])
def test_image_to_node_and_back_is_unchanged(scene, dtype, labelmap):
    array = np.arange(3 * 4 * 5).reshape(3, 4, 5).astype(dtype)
    image = Image(array, oblique_geometry(), {"view_position": "PA", "pixel_spacing_known": False})
    node = volume_node_from_image(scene, image, "input", labelmap=labelmap)
    back = image_from_volume_node(node)
    assert back.array.dtype == dtype
    np.testing.assert_array_equal(back.array, array)
    assert back.geometry == image.geometry
    assert back.metadata["view_position"] == "PA"
    assert back.metadata["pixel_spacing_known"] is False
    assert node.IsA("vtkMRMLLabelMapVolumeNode") == labelmap
    assert node.GetDisplayNode() is not None


def test_update_volume_node_replaces_voxels_and_geometry(scene):
    node = volume_node_from_image(scene, Image(np.zeros((1, 2, 2), np.float32)), "v")
    update_volume_node(node, Image(np.ones((2, 3, 4), np.float32), oblique_geometry()))
    back = image_from_volume_node(node)
    assert back.array.shape == (2, 3, 4)
    assert back.geometry == oblique_geometry()


@pytest.mark.parametrize("suffix", [".nrrd", ".nii.gz"])
def test_file_loaded_by_slicer_matches_read_image(scene, tmp_path, suffix):
    array = np.zeros((4, 5, 6), np.int16)
    array[2, 3, 1] = 500  # a marker at a known world position
    path = write_image(Image(array, oblique_geometry()), tmp_path / f"volume{suffix}")
    from_slicer = image_from_volume_node(load_volume(path, scene))
    from_lesionai = read_image(path)
    np.testing.assert_array_equal(from_slicer.array, from_lesionai.array)
    np.testing.assert_allclose(from_slicer.geometry.ijk_to_ras(),
                               from_lesionai.geometry.ijk_to_ras(), atol=1e-4)
    marker_ras = oblique_geometry().ijk_to_ras() @ [1, 3, 2, 1]
    marker_ijk = from_slicer.geometry.ras_to_ijk() @ marker_ras
    i, j, k = np.rint(marker_ijk[:3]).astype(int)
    assert from_slicer.array[k, j, i] == 500


def test_volume_under_a_transform_is_refused(scene):
    node = volume_node_from_image(scene, Image(np.zeros((1, 3, 3), np.float32)), "moved")
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "shift")
    matrix = vtk.vtkMatrix4x4()
    matrix.SetElement(0, 3, 10.0)
    transform.SetMatrixTransformToParent(matrix)
    node.SetAndObserveTransformNodeID(transform.GetID())
    with pytest.raises(InputError, match="Harden transform"):
        image_from_volume_node(node)


def test_unreadable_volume_file_is_reported(scene, tmp_path):
    (tmp_path / "broken.nrrd").write_text("NRRD0004\ngarbage\n")
    before = node_ids(scene)
    for name in ("absent.nrrd", "broken.nrrd"):
        with pytest.raises(InputError, match=name):
            load_volume(tmp_path / name, scene)
    assert node_ids(scene) == before


# ------------------------------------------------------------------------------------------
# Segmentations


def test_terminology_matches_slicer_serialisation():
    terminology = Terminology(ANATOMY, LUNG, RIGHT)
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


def test_saved_segmentation_keeps_names_colours_terminology_and_voxels(scene, tmp_path):
    labels = lung_labels()
    reference = volume_node_from_image(scene, labels.with_array(labels.array * 100.0), "cxr")
    node = segmentation_node_from_labelmap(scene, labels, LUNG_SEGMENTS, "lungs", reference)
    path = save_segmentation(node, tmp_path / "lungs.seg.nrrd")

    other_scene = slicer.vtkMRMLScene()
    loaded = load_segmentation(path, other_scene)
    segmentation = loaded.GetSegmentation()
    segments = [segmentation.GetNthSegment(n) for n in range(segmentation.GetNumberOfSegments())]
    assert [segment.GetName() for segment in segments] == ["right lung", "left lung", "lesion"]
    for segment, spec in zip(segments, LUNG_SEGMENTS):
        np.testing.assert_allclose(segment.GetColor(), spec.color, atol=1e-6)
    reference_copy = volume_node_from_image(other_scene, image_from_volume_node(reference), "cxr")
    exported, specs = labelmap_from_segmentation(loaded, reference_copy)
    # The lesion spec has no terminology; Slicer gives such segments its generic default.
    assert [spec.terminology for spec in specs[:2]] == [s.terminology for s in LUNG_SEGMENTS[:2]]
    assert [spec.value for spec in specs] == [1, 2, 7]
    np.testing.assert_array_equal(exported.array, labels.array)  # lesion segment stays empty
    assert exported.geometry == labels.geometry


def test_seg_nrrd_holds_label_values_on_the_full_grid(scene, tmp_path):
    labels = lung_labels()
    node = segmentation_node_from_labelmap(scene, labels, LUNG_SEGMENTS, "lungs")
    on_disk = read_image(save_segmentation(node, tmp_path / "lungs.seg.nrrd"))
    np.testing.assert_array_equal(on_disk.array, labels.array)
    assert on_disk.geometry == labels.geometry
    header = (tmp_path / "lungs.seg.nrrd").read_bytes().split(b"\n\n")[0].decode()
    assert "Segment1_Name:=left lung" in header
    right_lung_tag = LUNG_SEGMENTS[0].terminology.to_slicer_string()
    assert f"Segment0_Tags:=TerminologyEntry:{right_lung_tag}" in header


def segment_mask(segmentation_node, segment_name, reference_node) -> np.ndarray:
    segmentation = segmentation_node.GetSegmentation()
    segment_id = segmentation.GetSegmentIdBySegmentName(segment_name)
    scene = segmentation_node.GetScene()
    labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode")
    assert slicer.vtkSlicerSegmentationsModuleLogic.ExportSegmentsToLabelmapNode(
        segmentation_node, [segment_id], labelmap, reference_node)
    mask = image_from_volume_node(labelmap).array > 0
    scene.RemoveNode(labelmap)
    return mask


def test_overlapping_labelmaps_keep_every_segment(scene, tmp_path):
    lungs = lung_labels()
    zones = np.zeros_like(lungs.array)
    zones[0, 5:15, 5:22], zones[0, 15:35, 5:22] = 1, 2
    zone_specs = [SegmentSpec(1, "zone A", (0, 1, 0)), SegmentSpec(2, "zone B", (0, 0, 1))]
    reference = volume_node_from_image(scene, lungs.with_array(lungs.array * 1.0), "cxr")
    node = segmentation_node_from_labelmaps(
        scene, [(lungs, LUNG_SEGMENTS[:2]), (lungs.with_array(zones), zone_specs)], "lungs+zones",
        reference)
    loaded = load_segmentation(save_segmentation(node, tmp_path / "both.seg.nrrd"), scene)
    expected = {"right lung": lungs.array == 1, "left lung": lungs.array == 2,
                "zone A": zones == 1, "zone B": zones == 2}
    for name, mask in expected.items():
        np.testing.assert_array_equal(segment_mask(loaded, name, reference), mask, err_msg=name)


def test_segmentation_has_reference_geometry(scene):
    labels = lung_labels()
    reference = volume_node_from_image(scene, labels.with_array(labels.array * 1.0), "cxr")
    for reference_node in (reference, None):
        node = segmentation_node_from_labelmap(scene, labels, LUNG_SEGMENTS[:2], "s",
                                               reference_node)
        name = slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName()
        assert node.GetSegmentation().GetConversionParameter(name)
        assert node.GetDisplayNode() is not None


def test_label_without_spec_is_refused(scene):
    labels = lung_labels()
    with pytest.raises(ValueError, match=r"\[2\]"):
        segmentation_node_from_labelmap(scene, labels, LUNG_SEGMENTS[:1], "s")


def test_unreadable_segmentation_file(scene, tmp_path):
    path = tmp_path / "broken.seg.nrrd"
    path.write_text("not a segmentation")
    with pytest.raises(InputError, match="broken.seg.nrrd"):
        load_segmentation(path, scene)


# ------------------------------------------------------------------------------------------
# Tables, heat maps, subject hierarchy


def test_table_has_typed_rows(scene):
    rows = [("A", 1, 0.5), {"zone": "B", "score": 3, "opacity": None}]
    node = table_node_from_rows(scene, "scores", ["zone", "score", "opacity"], rows)
    table = node.GetTable()
    assert table.GetNumberOfRows() == 2
    assert node.GetCellText(1, 0) == "B"
    assert table.GetColumnByName("zone").IsA("vtkStringArray")
    assert table.GetColumnByName("score").IsA("vtkDoubleArray")
    assert table.GetColumnByName("score").GetValue(1) == 3.0
    assert np.isnan(table.GetColumnByName("opacity").GetValue(1))


def test_heatmap_keeps_values_and_fits_window(scene):
    values = np.linspace(-0.5, 2.5, 60, dtype=np.float32).reshape(1, 6, 10)
    node = heatmap_volume_node(scene, Image(values, radiograph_geometry((0.3, 0.3))), "attention")
    np.testing.assert_array_equal(image_from_volume_node(node).array, values)
    display = node.GetDisplayNode()
    assert display.GetColorNode() is not None
    assert display.GetColorNode().GetName() == "Iron"
    assert display.GetWindowLevelMin() == pytest.approx(-0.5)
    assert display.GetWindowLevelMax() == pytest.approx(2.5)
    assert not display.GetAutoWindowLevel()


def test_results_go_into_the_input_study(scene):
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    patient = hierarchy.CreateSubjectItem(hierarchy.GetSceneItemID(), "patient")
    study = hierarchy.CreateStudyItem(patient, "chest study")
    volume = volume_node_from_image(scene, Image(np.zeros((1, 2, 2), np.float32)), "cxr")
    hierarchy.CreateItem(study, volume)
    table = table_node_from_rows(scene, "scores", ["zone"], [["A"]])
    item = place_under(scene, table, volume)
    assert hierarchy.GetItemParent(item) == study


def test_results_go_under_an_input_without_study(scene):
    volume = volume_node_from_image(scene, Image(np.zeros((1, 2, 2), np.float32)), "cxr")
    table = table_node_from_rows(scene, "scores", ["zone"], [["A"]])
    item = place_under(scene, table, volume)
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    assert hierarchy.GetItemDataNode(hierarchy.GetItemParent(item)) is volume


# ------------------------------------------------------------------------------------------
# Transactions


def test_failed_run_leaves_scene_unchanged(scene):
    volume = volume_node_from_image(scene, Image(np.zeros((1, 40, 50), np.float32)), "cxr")
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    hierarchy.CreateItem(hierarchy.GetSceneItemID(), volume)
    before, items_before = node_ids(scene), hierarchy.GetNumberOfItems()
    with pytest.raises(RuntimeError, match="model crashed"):
        with scene_transaction(scene):
            segmentation = segmentation_node_from_labelmap(scene, lung_labels(), LUNG_SEGMENTS,
                                                           "lungs", volume)
            place_under(scene, segmentation, volume)
            heatmap_volume_node(scene, lung_labels(), "heat")
            raise RuntimeError("model crashed")
    assert node_ids(scene) == before
    assert hierarchy.GetNumberOfItems() == items_before
    assert scene.GetFirstNodeByName("lungs") is None


def test_successful_run_keeps_its_nodes(scene):
    with scene_transaction(scene):
        table_node_from_rows(scene, "scores", ["zone"], [["A"]])
    assert scene.GetFirstNodeByName("scores") is not None
