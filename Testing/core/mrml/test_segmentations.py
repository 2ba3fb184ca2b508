"""Label maps become segmentation nodes and ``.seg.nrrd`` files that Slicer shows correctly."""

import numpy as np
import pytest

slicer = pytest.importorskip("slicer", reason="slicer-core (headless MRML) is not installed")

from lesionai.errors import InputError  # noqa: E402
from lesionai.imageio import read_image  # noqa: E402
from lesionai.mrml import (  # noqa: E402
    SegmentSpec,
    image_from_volume_node,
    labelmap_from_segmentation,
    load_segmentation,
    save_segmentation,
    segmentation_node_from_labelmap,
    segmentation_node_from_labelmaps,
    volume_node_from_image,
)


def test_saved_segmentation_keeps_names_colours_terminology_and_voxels(scene, tmp_path, lung_labels, lung_segments):
    labels = lung_labels()
    reference = volume_node_from_image(scene, labels.with_array(labels.array * 100.0), "cxr")
    node = segmentation_node_from_labelmap(scene, labels, lung_segments, "lungs", reference)
    path = save_segmentation(node, tmp_path / "lungs.seg.nrrd")

    other_scene = slicer.vtkMRMLScene()
    loaded = load_segmentation(path, other_scene)
    segmentation = loaded.GetSegmentation()
    segments = [segmentation.GetNthSegment(n) for n in range(segmentation.GetNumberOfSegments())]
    assert [segment.GetName() for segment in segments] == ["right lung", "left lung", "lesion"]
    for segment, spec in zip(segments, lung_segments):
        np.testing.assert_allclose(segment.GetColor(), spec.color, atol=1e-6)
    reference_copy = volume_node_from_image(other_scene, image_from_volume_node(reference), "cxr")
    exported, specs = labelmap_from_segmentation(loaded, reference_copy)
    # The lesion spec has no terminology; Slicer gives such segments its generic default.
    assert [spec.terminology for spec in specs[:2]] == [s.terminology for s in lung_segments[:2]]
    assert [spec.value for spec in specs] == [1, 2, 7]
    np.testing.assert_array_equal(exported.array, labels.array)  # lesion segment stays empty
    assert exported.geometry == labels.geometry


def test_seg_nrrd_holds_label_values_on_the_full_grid(scene, tmp_path, lung_labels, lung_segments):
    labels = lung_labels()
    node = segmentation_node_from_labelmap(scene, labels, lung_segments, "lungs")
    on_disk = read_image(save_segmentation(node, tmp_path / "lungs.seg.nrrd"))
    np.testing.assert_array_equal(on_disk.array, labels.array)
    assert on_disk.geometry == labels.geometry
    header = (tmp_path / "lungs.seg.nrrd").read_bytes().split(b"\n\n")[0].decode()
    assert "Segment1_Name:=left lung" in header
    right_lung_tag = lung_segments[0].terminology.to_slicer_string()
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


def test_overlapping_labelmaps_keep_every_segment(scene, tmp_path, lung_labels, lung_segments):
    lungs = lung_labels()
    zones = np.zeros_like(lungs.array)
    zones[0, 5:15, 5:22], zones[0, 15:35, 5:22] = 1, 2
    zone_specs = [SegmentSpec(1, "zone A", (0, 1, 0)), SegmentSpec(2, "zone B", (0, 0, 1))]
    reference = volume_node_from_image(scene, lungs.with_array(lungs.array * 1.0), "cxr")
    node = segmentation_node_from_labelmaps(
        scene, [(lungs, lung_segments[:2]), (lungs.with_array(zones), zone_specs)], "lungs+zones",
        reference)
    loaded = load_segmentation(save_segmentation(node, tmp_path / "both.seg.nrrd"), scene)
    expected = {"right lung": lungs.array == 1, "left lung": lungs.array == 2,
                "zone A": zones == 1, "zone B": zones == 2}
    for name, mask in expected.items():
        np.testing.assert_array_equal(segment_mask(loaded, name, reference), mask, err_msg=name)


def test_segmentation_has_reference_geometry(scene, lung_labels, lung_segments):
    labels = lung_labels()
    reference = volume_node_from_image(scene, labels.with_array(labels.array * 1.0), "cxr")
    for reference_node in (reference, None):
        node = segmentation_node_from_labelmap(scene, labels, lung_segments[:2], "s",
                                               reference_node)
        name = slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName()
        assert node.GetSegmentation().GetConversionParameter(name)
        assert node.GetDisplayNode() is not None


def test_label_without_spec_is_refused(scene, lung_labels, lung_segments):
    labels = lung_labels()
    with pytest.raises(ValueError, match=r"\[2\]"):
        segmentation_node_from_labelmap(scene, labels, lung_segments[:1], "s")


def test_unreadable_segmentation_file(scene, tmp_path):
    path = tmp_path / "broken.seg.nrrd"
    path.write_text("not a segmentation")
    with pytest.raises(InputError, match="broken.seg.nrrd"):
        load_segmentation(path, scene)


def test_a_closed_surface_is_made_for_the_3d_view_even_headless(scene, lung_segments, lung_labels):
    from lesionai.mrml import create_closed_surface, segmentation_node_from_labelmap

    node = segmentation_node_from_labelmap(scene, lung_labels(), lung_segments, "lungs")
    assert create_closed_surface(node)
    segment = node.GetSegmentation().GetNthSegment(0)
    surface = segment.GetRepresentation("Closed surface")
    assert surface is not None and surface.GetNumberOfPoints() > 0
