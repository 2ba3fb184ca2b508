"""SeverityScoring logic: chest radiograph volume -> lungs, opacity and Brixia zones + zone scores.

Qt-free: every function takes the MRML scene or nodes as arguments and never touches
``slicer.app``, ``slicer.mrmlScene`` or the GUI, so the same code runs in the Slicer application,
in a headless batch job and in tests on the real MRML library (``slicer-core``).

Two ways to run the pipeline:

* :meth:`SeverityScoringLogic.process` runs it in this process and blocks until the nodes exist;
* :meth:`SeverityScoringLogic.start` runs ``python -m lesionai.cli severity`` in a child process
  (the shared :class:`lesionai.slicer.jobs.TaskRunner`) and returns a job; the caller polls the job
  (the module widget does it from a Qt timer) and then calls :meth:`SeverityScoringLogic.finish` to
  add the nodes to the scene, or :meth:`SeverityScoringLogic.cancel`.

Both add the same nodes, inside one scene transaction (a failure leaves the scene as it was):

* segmentation ``"<input> lungs and zones"``: segments "right lung", "left lung", the opacity
  segment and the six zones A-F, on the grid of the input volume;
* table ``"<input> zone scores"`` (locked against editing): one row per zone with the columns
  :data:`~.presentation.TABLE_COLUMNS` (area, Brixia score and its confidence, opacity fraction
  and score, low-confidence flag); the global scores are attributes of the table node;
* scalar volume ``"<input> severity heat map"`` (Grad-CAM, 0-1) when the result has one;

all placed beside the input volume in its study (under the volume when it has no study).
:mod:`.presentation` summarises, shows/hides and exports them.

>>> nodes = SeverityScoringLogic().process(volume_node)          # doctest: +SKIP
>>> nodes.table.GetNumberOfRows(), nodes.summary                 # doctest: +SKIP
(6, 'Brixia global score 7 / 18 (opacity score 6 / 18); low confidence: B, E')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lesionai.errors import InputError
from lesionai.mrml import heatmap_volume_node, segmentation_node_from_labelmaps, table_node_from_rows
from lesionai.slicer.loading import add_nodes_beside
from lesionai.slicer.logic import TaskLogic
from lesionai.slicer.volumes import check_scalar_volume_node

from .presentation import (
    TABLE_COLUMNS,
    hide_cold_heat,
    low_confidence_zones,
    record_global_scores,
    summary_line,
    zone_rows,
)

TASK = "severity"
SAMPLE_NAME = "Chest radiograph phantom"


@dataclass
class SeverityNodes:
    """The nodes one severity run added to the scene, with what the user should know about it.

    ``result`` is the pipeline's ``SeverityResult`` (labelmaps, zone scores, alignment, models
    used); ``heatmap`` the heat-map volume node, None when the result has no heat map.
    """

    segmentation: Any
    table: Any
    warnings: list[str]
    result: Any
    heatmap: Any = None

    @property
    def global_score(self) -> int | None:
        """Brixia global score 0-18 (None when the zone-severity model did not run)."""
        return getattr(self.result, "global_score", None)

    @property
    def opacity_global_score(self) -> int | None:
        """Sum of the six opacity-extent zone scores, 0-18 (None when not computed)."""
        return getattr(self.result, "opacity_global_score", None)

    @property
    def low_confidence_zones(self) -> list[str]:
        """Letters of the zones whose score the model was unsure about."""
        return low_confidence_zones(self.result.zones)

    @property
    def summary(self) -> str:
        """One line for the user, e.g. "Brixia global score 7 / 18 (opacity score 6 / 18); ..."."""
        return summary_line(self.global_score, self.opacity_global_score, self.low_confidence_zones)


class SeverityScoringLogic(TaskLogic):
    """Runs SeverityScoring on a volume node and adds the result nodes to a scene.

    ``pipeline``: an object with ``run(image, progress=None) -> SeverityResult`` used by
    :meth:`process`; by default a ``lesionai.severity.pipeline.SeverityPipeline`` created on first
    use (pass ``SeverityPipeline(threads=4)`` to choose threads). ``process_factory``: called as
    ``process_factory(argv, env=...)`` by :meth:`start`; by default
    :class:`lesionai.process.BackgroundProcess`. :meth:`start` writes the input to ``input.nrrd``
    in a fresh temporary folder (inside ``workdir`` when given; never beside the user's files),
    which :meth:`finish` and :meth:`cancel` delete.

    An image the radiograph check refuses (not a frontal chest radiograph that can be scored) adds
    nothing: :meth:`process` raises ``lesionai.errors.RefusedInputError`` and :meth:`finish` a
    ProcessError, both naming the reasons. ``SeverityScoringLogic(force=True)`` (for :meth:`process`)
    or ``start(..., options=["--force"])`` scores it anyway, the reasons becoming warnings.
    """

    task_name = TASK
    expected_input = "a chest radiograph"

    def check_input(self, volume_node) -> None:
        check_radiograph_node(volume_node)

    def add_nodes(self, scene, volume_node, result) -> SeverityNodes:
        return add_result_nodes(scene, volume_node, result)

    def add_sample_radiograph(self, scene, seed: int = 7):
        """Add a generated chest radiograph phantom (1024 x 1024, 0.42 mm pixels, known lungs) to
        ``scene`` as a new scalar volume, to try the module without patient data. Returns the node."""
        from lesionai.mrml import volume_node_from_image
        from lesionai.phantoms.cxr import generate_cxr_phantom

        image = generate_cxr_phantom(seed=seed, size=(1024, 1024)).image
        return volume_node_from_image(scene, image, scene.GenerateUniqueName(SAMPLE_NAME))

    def sample_nodes(self, scene) -> list:
        """The Sample Data entry: the generated radiograph (see :meth:`add_sample_radiograph`)."""
        return [self.add_sample_radiograph(scene)]


def check_radiograph_node(volume_node) -> None:
    """Raise InputError unless ``volume_node`` is a single-slice scalar volume holding voxels.

    Colour (vector) volumes pass: the node adapter turns them into grey luma. Label maps do not.
    Touches nothing: callers run it before creating any node or file.
    """
    check_scalar_volume_node(volume_node, "a chest radiograph")
    slices = volume_node.GetImageData().GetDimensions()[2]
    if slices != 1:
        raise InputError(f"Input has {slices} slices; SeverityScoring expects a single 2D chest radiograph.")


def add_result_nodes(scene, volume_node, result) -> SeverityNodes:
    """Add the segmentation, zone table and heat map for ``result`` to ``scene``, beside
    ``volume_node``.

    All or nothing: if anything fails, the nodes added so far are removed again.
    """
    name = volume_node.GetName()

    def make_nodes() -> SeverityNodes:
        segmentation = segmentation_node_from_labelmaps(
            scene, result_labelmaps(result), f"{name} lungs and zones", reference_volume_node=volume_node)
        table = table_node_from_rows(scene, f"{name} zone scores", list(TABLE_COLUMNS), zone_rows(result.zones))
        record_global_scores(table, result.global_score, result.opacity_global_score)
        table.SetLocked(True)  # the model's scores: edited cells would make the exported CSV misleading
        heatmap = add_heatmap_node(scene, result.heatmap, f"{name} severity heat map")
        return SeverityNodes(segmentation, table, list(result.warnings), result, heatmap)

    return add_nodes_beside(scene, volume_node, make_nodes, lambda nodes: (nodes.segmentation, nodes.table,
                                                                           nodes.heatmap))


def result_labelmaps(result) -> list[tuple]:
    """(label map, segment specs) layers of the segmentation: lungs with opacity, then zones."""
    from lesionai.severity.outputs import segmentation_layers

    return segmentation_layers(result)


def add_heatmap_node(scene, heatmap, name: str):
    """A heat-map volume node for the ``heatmap`` Image (cold pixels transparent), or None when
    there is none."""
    if heatmap is None:
        return None
    node = heatmap_volume_node(scene, heatmap, name)
    hide_cold_heat(node)
    return node
