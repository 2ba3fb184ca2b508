"""``.seg.nrrd`` files written without MRML read back in Slicer's own storage node as they were meant."""

import numpy as np
import pytest
from segmentation_checks import segment_names, segment_voxel_count

from lesionai.geometry import Geometry, Image, radiograph_geometry
from lesionai.imageio import read_image
from lesionai.mrml.segments import SegmentSpec, Terminology
from lesionai.segmentation_nrrd import write_segmentation_nrrd

LUNG = Terminology(("SCT", "123037004", "Anatomical Structure"), ("SCT", "39607008", "Lung"),
                   ("SCT", "24028007", "Right"))
LUNGS = [SegmentSpec(1, "right lung", (0.1, 0.85, 0.9), LUNG), SegmentSpec(2, "left lung", (0.95, 0.3, 0.7)),
         SegmentSpec(3, "opacity", (1.0, 0.85, 0.0))]
ZONES = [SegmentSpec(value, f"zone {letter}", (0.2, 0.1 * value, 0.5)) for value, letter in enumerate("ABCD", 1)]


def lungs_and_zones(geometry=None) -> tuple[Image, Image]:
    """Overlapping layers on one (1, 40, 60) grid: two lungs (opacity in one), four zones."""
    lungs = np.zeros((1, 40, 60), np.uint8)
    lungs[0, 5:35, 5:25], lungs[0, 5:35, 35:55] = 1, 2
    lungs[0, 20:30, 10:20] = 3  # opacity inside the right lung: every segment has voxels
    zones = np.zeros_like(lungs)
    zones[0, 5:20, 5:25], zones[0, 20:35, 5:25], zones[0, 5:20, 35:55], zones[0, 20:35, 35:55] = 1, 2, 3, 4
    geometry = geometry or radiograph_geometry((0.4, 0.5))
    return Image(lungs, geometry), Image(zones, geometry)


def exported_layer(node, names: list[str], reference: Image) -> np.ndarray:
    """The label map of the segments ``names`` (their label values) exported by Slicer's logic."""
    from lesionai.mrml import labelmap_from_segmentation

    segmentation = node.GetSegmentation()
    for name in segment_names(node):
        if name not in names:
            segmentation.RemoveSegment(segmentation.GetSegmentIdBySegmentName(name))
    labels, _ = labelmap_from_segmentation(node)
    assert labels.geometry == reference.geometry
    return labels.array


def test_slicer_reads_every_segment_with_its_name_colour_value_and_layer(scene, tmp_path):
    from lesionai.mrml import load_segmentation

    lungs, zones = lungs_and_zones()
    path = write_segmentation_nrrd(tmp_path / "both.seg.nrrd", [(lungs, LUNGS), (zones, ZONES)])
    node = load_segmentation(path, scene)
    segmentation = node.GetSegmentation()
    assert segment_names(node) == [spec.name for spec in LUNGS + ZONES]
    assert segmentation.GetNumberOfLayers() == 2
    for spec in LUNGS + ZONES:
        segment = segmentation.GetSegment(segmentation.GetSegmentIdBySegmentName(spec.name))
        layer = lungs if spec in LUNGS else zones
        assert segment.GetLabelValue() == spec.value and segment.GetColor() == pytest.approx(spec.color)
        assert segment_voxel_count(node, spec.name) == (layer.array == spec.value).sum() > 0


def test_terminology_and_reference_geometry_reach_slicer(scene, tmp_path):
    import vtk

    from lesionai.mrml import load_segmentation
    from lesionai.mrml.segments import TERMINOLOGY_TAG

    lungs, _ = lungs_and_zones()
    node = load_segmentation(write_segmentation_nrrd(tmp_path / "lungs.seg.nrrd", [(lungs, LUNGS)]), scene)
    segmentation = node.GetSegmentation()
    tag = vtk.reference("")
    assert segmentation.GetSegment(segmentation.GetSegmentIdBySegmentName("right lung")).GetTag(TERMINOLOGY_TAG, tag)
    assert Terminology.from_slicer_string(str(tag)) == LUNG
    geometry = segmentation.GetConversionParameter("Reference image geometry").split(";")
    assert [float(v) for v in geometry[:16]] == pytest.approx(lungs.geometry.ijk_to_ras().ravel().tolist())
    assert geometry[16:22] == ["0", "59", "0", "39", "0", "0"]


def test_an_oblique_grid_exports_back_to_the_same_label_map(scene, tmp_path):
    from lesionai.mrml import load_segmentation

    angle = np.deg2rad(20)
    direction = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    lungs, zones = lungs_and_zones(Geometry((0.7, 0.6, 2.5), (-12.5, 30.25, 7.0), direction))
    path = write_segmentation_nrrd(tmp_path / "oblique.seg.nrrd", [(lungs, LUNGS), (zones, ZONES)])
    node = load_segmentation(path, scene)
    np.testing.assert_array_equal(exported_layer(node, [spec.name for spec in ZONES], zones), zones.array)


def test_a_single_layer_is_a_plain_label_volume_for_any_nrrd_reader(tmp_path):
    lungs, _ = lungs_and_zones()
    on_disk = read_image(write_segmentation_nrrd(tmp_path / "lungs.seg.nrrd", [(lungs, LUNGS)]))
    np.testing.assert_array_equal(on_disk.array, lungs.array)
    assert on_disk.geometry == lungs.geometry
    header = (tmp_path / "lungs.seg.nrrd").read_bytes().split(b"\n\n")[0].decode()
    assert "Segment0_Name:=right lung" in header and "Segment2_LabelValue:=3" in header
    assert f"Segment0_Tags:=TerminologyEntry:{LUNG.to_slicer_string()}|" in header


def test_label_values_over_255_are_stored_in_16_bits(tmp_path):
    labels = np.zeros((2, 8, 9), np.uint16)
    labels[1, 2:5, 3:6] = 300
    image = Image(labels, Geometry((1.0, 1.0, 3.0)))
    on_disk = read_image(write_segmentation_nrrd(tmp_path / "big.seg.nrrd", [(image, [SegmentSpec(300, "x", (1, 0, 0))])]))
    assert on_disk.array.dtype == np.uint16
    np.testing.assert_array_equal(on_disk.array, labels)


@pytest.mark.parametrize("problem, layers, message", [
    ("value without a segment", lambda lungs, zones: [(lungs, LUNGS[:2])], r"Label values \[3\] have no SegmentSpec"),
    ("repeated value", lambda lungs, zones: [(lungs, [*LUNGS, SegmentSpec(1, "again", (0, 0, 0))])], "distinct"),
    ("another grid", lambda lungs, zones: [(lungs, LUNGS), (Image(zones.array[:, :20]), ZONES)], "reference grid"),
])
def test_a_label_map_the_file_cannot_hold_is_refused_and_nothing_is_written(problem, layers, message, tmp_path):
    lungs, zones = lungs_and_zones()
    with pytest.raises(ValueError, match=message):
        write_segmentation_nrrd(tmp_path / "bad.seg.nrrd", layers(lungs, zones))
    assert not (tmp_path / "bad.seg.nrrd").exists()


def test_overlapping_layers_compress_like_the_label_maps_themselves(tmp_path):
    lungs, zones = (Image(np.kron(layer.array, np.ones((1, 10, 10), np.uint8)), layer.geometry)
                    for layer in lungs_and_zones())  # 400 x 600 pixels, big flat regions
    path = write_segmentation_nrrd(tmp_path / "both.seg.nrrd", [(lungs, LUNGS), (zones, ZONES)])
    raw_bytes = 2 * lungs.array.size
    assert path.stat().st_size < 0.03 * raw_bytes
