"""NoduleFusion logic: chest CT + nodule point(s) -> nodule segmentation, features, probability.

Qt-free (see :mod:`lesionai.slicer.logic`): the same code runs in Slicer, headless and in tests.
The shipped models answer the LIDC proxy task stated in each result's ``task`` (radiologists'
malignancy suspicion), not invasiveness. A run adds, beside the CT volume and inside one scene
transaction (a failure leaves the scene as it was):

* per nodule a segmentation ``"<input> nodule <n>"``: segments "ground-glass component" and "solid
  component", with a closed-surface representation for the 3D view;
* one table ``"<input> nodules"``: one row per nodule (point, probability and what it means,
  branch probabilities, texture class, CTR and the published features with their units).

>>> nodes = NoduleFusionLogic().process(ct_node, (-80.2, 93.9, -146.3))      # doctest: +SKIP
>>> nodes.table.GetNumberOfRows(), nodes.task                                 # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lesionai.errors import InputError
from lesionai.mrml import create_closed_surface, segmentation_node_from_labelmap, table_node_from_rows
from lesionai.slicer.loading import add_nodes_beside
from lesionai.slicer.logic import TaskLogic
from lesionai.tasks import task

SAMPLE_NAME = "Chest CT nodule phantom"
SUMMARY_COLUMNS = ("nodule", "point_r_mm", "point_a_mm", "point_s_mm", "probability", "task", "image_branch",
                   "tabular_branch", "texture", "ctr")


@dataclass
class NoduleFusionNodes:
    """The nodes one run added: a segmentation per nodule, one table, and the results behind them."""

    segmentations: list[Any]
    table: Any
    results: list[Any]
    warnings: list[str]

    @property
    def segmentation(self):
        """The first (often the only) nodule's segmentation."""
        return self.segmentations[0]

    @property
    def task(self) -> str:
        """What the probabilities mean (the model's task, e.g. the LIDC malignancy-suspicion proxy)."""
        return self.results[0].task

    @property
    def summary(self) -> str:
        """One line per nodule, e.g. "nodule 1: p = 0.82 (<task>); ground-glass, CTR 0.00"."""
        return "\n".join(_nodule_line(index, result) for index, result in enumerate(self.results, start=1))


class NoduleFusionLogic(TaskLogic):
    """Runs NoduleFusion (``lesionai nodule``) for points on a CT volume node.

    ``pipeline_factory(point=..., age=..., sex=...)`` makes the pipeline for one nodule (default:
    the task's pipeline); tests pass a stand-in.
    """

    task_name = "nodule"
    expected_input = "a chest CT volume (Hounsfield units)"

    def __init__(self, pipeline_factory: Callable[..., Any] | None = None, **keywords):
        super().__init__(**keywords)
        self._pipeline_factory = pipeline_factory or task(self.task_name).make_pipeline

    def process(self, volume_node, point_ras: Sequence[float] | None = None, scene=None, progress=None,
                age: float | None = None, sex: str | None = None) -> NoduleFusionNodes:
        """One nodule at ``point_ras`` (RAS mm; None: the volume is a crop around the nodule)."""
        return self.process_points(volume_node, [point_ras], scene, progress, age, sex)

    def process_points(self, volume_node, points_ras: Sequence, scene=None, progress=None,
                       age: float | None = None, sex: str | None = None) -> NoduleFusionNodes:
        """Every point of ``points_ras`` (or of a markups point list node) as one nodule; one table row each."""
        from lesionai.mrml import image_from_volume_node
        from lesionai.slicer.volumes import scene_of

        self.check_input(volume_node)
        points = control_points(points_ras)
        scene = scene_of(volume_node, scene)
        image = image_from_volume_node(volume_node)
        results = [self._pipeline_factory(point=point, age=age, sex=sex).run(image, progress=progress)
                   for point in points]
        return add_result_nodes(scene, volume_node, results, points)

    def add_nodes(self, scene, volume_node, result) -> NoduleFusionNodes:
        return add_result_nodes(scene, volume_node, [result], [result.center_ras or None])

    def finish_result(self, job):
        """Wait for ``job`` and return its result without adding nodes (to gather several nodules)."""
        return self._runner.finish(job, None, lambda scene, volume_node, result: result)

    def start(self, volume_node, point_ras: Sequence[float] | None = None, workdir=None, *, age: float | None = None,
              sex: str | None = None, threads: int = 0, use_gpu: bool = True):
        """The CLI on one nodule in a background process (see :meth:`TaskLogic.start`)."""
        return super().start(volume_node, workdir, threads=threads, use_gpu=use_gpu,
                             options=cli_options(point_ras, age, sex))

    def add_sample_ct(self, scene, seed: int = 1):
        """Add a generated chest CT region with a part-solid nodule; returns (volume node, its centre RAS)."""
        from lesionai.mrml import volume_node_from_image
        from lesionai.phantoms.nodule import generate_nodule_phantom

        phantom = generate_nodule_phantom(seed=seed, kind="part-solid")
        volume = volume_node_from_image(scene, phantom.image, scene.GenerateUniqueName(SAMPLE_NAME))
        return volume, tuple(float(v) for v in phantom.center_ras)

    def sample_nodes(self, scene) -> list:
        """The Sample Data entry: the generated CT and a point list "nodules" on the nodule's centre."""
        volume, centre = self.add_sample_ct(scene)
        points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", scene.GenerateUniqueName("nodules"))
        points.AddControlPoint(*centre)
        return [volume, points]


def control_points(points) -> list:
    """RAS points from a list of (R, A, S) / None, or from a markups point list node."""
    if hasattr(points, "GetNumberOfControlPoints"):
        count = points.GetNumberOfControlPoints()
        if count == 0:
            raise InputError(f"Point list '{points.GetName()}' has no points; place a point on each nodule.")
        return [tuple(points.GetNthControlPointPositionWorld(index)) for index in range(count)]
    return [None if point is None else tuple(float(v) for v in point) for point in points]


def cli_options(point_ras, age, sex) -> list[str]:
    """``lesionai nodule`` options for one nodule."""
    options = [] if point_ras is None else ["--point=" + ",".join(f"{v:.3f}" for v in point_ras)]
    options += [] if age is None else ["--age", str(age)]
    return options + ([] if sex is None else ["--sex", sex])


def add_result_nodes(scene, volume_node, results: list, points: list) -> NoduleFusionNodes:
    """One segmentation per nodule and one table (a row per nodule) beside ``volume_node``."""
    from lesionai.nodule.labels import NODULE_SEGMENTS as SEGMENTS

    name = volume_node.GetName()

    def make_nodes() -> NoduleFusionNodes:
        segmentations = []
        for index, result in enumerate(results, start=1):
            node = segmentation_node_from_labelmap(scene, result.labels, SEGMENTS, f"{name} nodule {index}",
                                                   reference_volume_node=volume_node)
            create_closed_surface(node)
            segmentations.append(node)
        rows = [table_row(index, result, point) for index, (result, point) in enumerate(zip(results, points), 1)]
        columns = list(dict.fromkeys(column for row in rows for column in row))
        table = table_node_from_rows(scene, f"{name} nodules", columns, rows)
        table.SetLocked(True)
        warnings = [f"nodule {i}: {w}" if len(results) > 1 else w for i, r in enumerate(results, 1) for w in r.warnings]
        return NoduleFusionNodes(segmentations, table, list(results), warnings)

    return add_nodes_beside(scene, volume_node, make_nodes, lambda nodes: [*nodes.segmentations, nodes.table])


def table_row(index: int, result, point) -> dict:
    """The table row of one nodule: summary columns, then each feature as ``<name> (<unit>)``."""
    point = point if point is not None else (result.center_ras or [None] * 3)
    branches, texture = result.branches or {}, result.texture or {}
    row = dict(zip(SUMMARY_COLUMNS, (index, *point, result.probability, result.task, branches.get("image"),
                                     branches.get("tabular"), texture.get("label"), round(result.ctr, 3))))
    for feature, entry in result.features.items():
        unit = entry.get("unit") if isinstance(entry, dict) else None
        value = entry.get("value") if isinstance(entry, dict) else entry
        row[f"{feature} ({unit})" if unit else feature] = value
    return row


def _nodule_line(index: int, result) -> str:
    probability = "no classifier" if result.probability is None else f"p = {result.probability:.2f}"
    texture = (result.texture or {}).get("label", "texture unknown")
    return f"nodule {index}: {probability} ({result.task}); {texture}, CTR {result.ctr:.2f}"
