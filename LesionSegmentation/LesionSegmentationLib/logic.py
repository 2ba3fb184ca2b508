"""LesionSegmentation logic: spinal MRI volume -> scan check, spinal cord and lesions, measures.

Qt-free (see :mod:`lesionai.slicer.logic`): the same code runs in Slicer, headless and in tests.
A run adds, beside the input volume and inside one scene transaction (a failure leaves the scene
as it was):

* segmentation ``"<input> cord and lesions"``: segments "spinal cord" and "lesion" (SNOMED CT
  codes), with a closed-surface representation for the 3D view;
* table ``"<input> lesions"``: one row per lesion (volume, centroid RAS, length along the cord,
  largest axial area, vertebral level);
* table ``"<input> cord CSA"``: cross-sectional area per slice along the cord, and a plot chart
  ``"<input> cord CSA plot"`` of it.

A volume the scan check says is not a spinal MRI (brain MRI, CT, a radiograph) adds nothing:
:meth:`~LesionSegmentationLogic.process` raises ``lesionai.errors.RefusedInputError`` and
:meth:`~LesionSegmentationLogic.finish` a ProcessError, both naming the check's reasons and how to
force. ``LesionSegmentationLogic(force=True)`` (for ``process``) or ``start(..., options=["--force"])``
segments it anyway, the reasons becoming warnings.

>>> nodes = LesionSegmentationLogic().process(volume_node)      # doctest: +SKIP
>>> nodes.scan_check["anatomy"]["label"], nodes.result.lesion_count   # doctest: +SKIP
('spine', 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lesionai.errors import InputError
from lesionai.mrml import (
    create_closed_surface,
    segmentation_node_from_labelmap,
    table_node_from_rows,
    volume_node_from_image,
)
from lesionai.slicer.loading import add_nodes_beside
from lesionai.slicer.logic import TaskLogic
from lesionai.slicer.volumes import check_scalar_volume_node

SAMPLE_NAME = "Spine MRI phantom"
LESION_COLUMNS = ("lesion", "volume_mm3", "centroid_r_mm", "centroid_a_mm", "centroid_s_mm", "length_mm",
                  "largest_axial_area_mm2", "vertebral_level")
CSA_COLUMNS = ("slice", "distance_mm", "csa_mm2", "angle_deg")


@dataclass
class LesionSegmentationNodes:
    """The nodes one run added, with the scan check and warnings the user should see."""

    segmentation: Any
    lesion_table: Any
    cord_table: Any
    csa_plot: Any
    warnings: list[str]
    result: Any

    @property
    def scan_check(self) -> dict | None:
        return self.result.scan_check

    @property
    def summary(self) -> str:
        """One line, e.g. "spinal cord 2.31 cm3, mean CSA 72.4 mm2; 2 lesions (41 mm3)"."""
        cord = self.result.cord
        if not cord.get("volume_mm3"):
            return "No spinal cord segmented"
        csa = "" if cord.get("csa_mm2_mean") is None else f", mean CSA {cord['csa_mm2_mean']:.1f} mm2"
        count = self.result.lesion_count
        return (f"spinal cord {cord['volume_mm3'] / 1000:.2f} cm3{csa}; "
                f"{count} lesion{'s' if count != 1 else ''} ({self.result.lesion_volume_mm3:.0f} mm3)")


class LesionSegmentationLogic(TaskLogic):
    """Runs LesionSegmentation (``lesionai spine``) on volume nodes; see the module docstring."""

    task_name = "spine"
    expected_input = "a spinal MRI volume"

    def check_input(self, volume_node) -> None:
        check_scalar_volume_node(volume_node, self.expected_input)
        dimensions = volume_node.GetImageData().GetDimensions()
        if min(dimensions) < 2:
            raise InputError(f"Volume '{volume_node.GetName()}' is a single {dimensions[0]} x {dimensions[1]} image; "
                             "LesionSegmentation expects a 3D spinal MRI volume.")

    def add_nodes(self, scene, volume_node, result) -> LesionSegmentationNodes:
        return add_result_nodes(scene, volume_node, result)

    def add_sample_volume(self, scene, seed: int = 3):
        """Add a generated sagittal T2w cervical spine phantom with two lesions; returns the node."""
        from lesionai.phantoms.spine import generate_spine_phantom

        phantom = generate_spine_phantom(seed=seed, lesions=2)
        return volume_node_from_image(scene, phantom.image, scene.GenerateUniqueName(SAMPLE_NAME))

    def sample_nodes(self, scene) -> list:
        """The Sample Data entry: the generated spine volume (see :meth:`add_sample_volume`)."""
        return [self.add_sample_volume(scene)]


def add_result_nodes(scene, volume_node, result) -> LesionSegmentationNodes:
    """Segmentation, lesion table, cord CSA table and plot for ``result`` beside ``volume_node``."""
    from lesionai.spine.labels import SEGMENTS

    name = volume_node.GetName()

    def make_nodes() -> LesionSegmentationNodes:
        segmentation = segmentation_node_from_labelmap(scene, result.labels, SEGMENTS, f"{name} cord and lesions",
                                                       reference_volume_node=volume_node)
        create_closed_surface(segmentation)
        lesions = table_node_from_rows(scene, f"{name} lesions", list(LESION_COLUMNS), lesion_rows(result.lesions))
        cord = table_node_from_rows(scene, f"{name} cord CSA", list(CSA_COLUMNS),
                                    csa_rows(result.cord.get("csa_mm2_per_slice", [])))
        for table in (lesions, cord):
            table.SetLocked(True)
        plot = csa_plot_chart(scene, cord, f"{name} cord CSA plot")
        return LesionSegmentationNodes(segmentation, lesions, cord, plot, list(result.warnings), result)

    return add_nodes_beside(scene, volume_node, make_nodes,
                            lambda nodes: (nodes.segmentation, nodes.lesion_table, nodes.cord_table, nodes.csa_plot))


def lesion_rows(lesions: list[dict]) -> list[list]:
    """Rows of the lesion table, one per lesion, in :data:`LESION_COLUMNS` order."""
    return [[lesion["index"], lesion["volume_mm3"], *lesion["centroid_ras"], lesion["length_mm"],
             lesion["largest_axial_area_mm2"], lesion.get("vertebral_level") or ""] for lesion in lesions]


def csa_rows(per_slice: list[dict]) -> list[list]:
    """Rows of the cord CSA table, inferior to superior, in :data:`CSA_COLUMNS` order."""
    return [[entry[column] for column in CSA_COLUMNS] for entry in per_slice]


def csa_plot_chart(scene, cord_table, name: str):
    """A plot chart node showing CSA (mm2) against distance along the cord (mm)."""
    import slicer

    series = scene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", f"{name} series")
    series.SetAndObserveTableNodeID(cord_table.GetID())
    series.SetXColumnName("distance_mm")
    series.SetYColumnName("csa_mm2")
    series.SetPlotType(slicer.vtkMRMLPlotSeriesNode.PlotTypeScatter)
    chart = scene.AddNewNodeByClass("vtkMRMLPlotChartNode", name)
    chart.AddAndObservePlotSeriesNodeID(series.GetID())
    chart.SetTitle("Spinal cord cross-sectional area")
    chart.SetXAxisTitle("distance along the cord (mm)")
    chart.SetYAxisTitle("CSA (mm2)")
    return chart
