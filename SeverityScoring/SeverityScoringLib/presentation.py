"""How a severity run is shown: zone table rows, the global score line, what is visible, CSV export.

Qt-free like :mod:`.logic`: functions take nodes (or plain values) and never touch the Slicer
application, so they run headlessly on the real MRML library.

* The zone table has one row per Brixia zone with :data:`TABLE_COLUMNS`; the global scores ride on
  the table node as attributes (:data:`GLOBAL_SCORE_ATTRIBUTE`), so any zone table in the scene,
  also one loaded from a saved scene, can be summarised (:func:`score_text`,
  :func:`low_confidence_text`).
* Visibility: zone and opacity segments are switched on the segmentation's display node
  (``SetSegmentVisibility``); the heat map is shown as the foreground layer, at
  :data:`HEATMAP_OPACITY`, of every slice view (each ``vtkMRMLSliceCompositeNode`` in the scene);
  heat under :data:`HEATMAP_FLOOR` is transparent (:func:`hide_cold_heat`). A scene without slice
  views (a headless batch scene) has nothing to switch for the heat map.
* :func:`export_table_csv` writes a zone table to a CSV file, never half-written, never over an
  existing file unless asked to.

>>> summary_line(7, 6, ["B", "E"])
'Brixia global score 7 / 18 (opacity score 6 / 18); low confidence: B, E'
"""

from __future__ import annotations

import csv
import math
import os
import uuid
from pathlib import Path
from typing import Iterable, Sequence

from lesionai.errors import InputError

TABLE_COLUMNS = ("zone", "lung", "level", "area_mm2", "score", "confidence", "opacity_fraction",
                 "opacity_score", "low_confidence")
GLOBAL_SCORE_ATTRIBUTE = "LesionAI.globalScore"
OPACITY_GLOBAL_SCORE_ATTRIBUTE = "LesionAI.opacityGlobalScore"
MAX_GLOBAL_SCORE = 18  # six zones, 0-3 each
GLOBAL_ROW_ZONE = "global"
HEATMAP_OPACITY = 0.5
HEATMAP_FLOOR = 0.05  # heat below this is left transparent, so the radiograph shows through
YES, NO = "yes", "no"


# --------------------------------------------------------------------------------------------
# Zone table


def zone_rows(zones: dict) -> list[list]:
    """Table rows in :data:`TABLE_COLUMNS` order, sorted by zone letter.

    Score fields missing from ``zones`` (a result from before zone scoring) become None, which
    the table shows as empty cells.

    >>> zone_rows({"B": {"lung": "right", "level": "middle", "area_mm2": 2.0, "score": 1,
    ...                  "confidence": 0.9, "opacity_fraction": 0.2, "opacity_score": 1,
    ...                  "low_confidence": False}})
    [['B', 'right', 'middle', 2.0, 1, 0.9, 0.2, 1, 'no']]
    """
    return [zone_row(letter, zone) for letter, zone in sorted(zones.items())]


def zone_row(letter: str, zone: dict) -> list:
    """One zone's row in :data:`TABLE_COLUMNS` order."""
    flag = zone.get("low_confidence")
    return [letter, zone["lung"], zone["level"], float(zone["area_mm2"]), zone.get("score"),
            zone.get("confidence"), zone.get("opacity_fraction"), zone.get("opacity_score"),
            None if flag is None else (YES if flag else NO)]


def low_confidence_zones(zones: dict) -> list[str]:
    """Letters of the zones whose score the model was unsure about, sorted."""
    return sorted(letter for letter, zone in zones.items() if zone.get("low_confidence"))


def record_global_scores(table_node, global_score: int | None, opacity_global_score: int | None) -> None:
    """Keep the global scores on ``table_node`` (attributes; a missing score is not written)."""
    for attribute, score in ((GLOBAL_SCORE_ATTRIBUTE, global_score),
                             (OPACITY_GLOBAL_SCORE_ATTRIBUTE, opacity_global_score)):
        if score is not None:
            table_node.SetAttribute(attribute, str(int(score)))


def global_scores(table_node) -> tuple[int | None, int | None]:
    """(global score, opacity global score) recorded on ``table_node``; None where absent."""
    return _int_attribute(table_node, GLOBAL_SCORE_ATTRIBUTE), _int_attribute(
        table_node, OPACITY_GLOBAL_SCORE_ATTRIBUTE)


def table_low_confidence_zones(table_node) -> list[str]:
    """Letters in the ``zone`` column of rows whose ``low_confidence`` cell says yes."""
    columns, rows = table_cells(table_node)
    if "low_confidence" not in columns or "zone" not in columns:
        return []
    zone, flag = columns.index("zone"), columns.index("low_confidence")
    return [row[zone] for row in rows if row[flag] == YES]


def summary_line(global_score: int | None, opacity_global_score: int | None,
                 low_confidence: Sequence[str] = ()) -> str:
    """The result in one line, e.g. "Brixia global score 7 / 18 (opacity score 6 / 18); low
    confidence: B, E"; says so when the result holds no scores."""
    if global_score is None:
        return "No Brixia scores in this result (the zone-severity model did not run)."
    line = f"Brixia global score {global_score} / {MAX_GLOBAL_SCORE}"
    if opacity_global_score is not None:
        line += f" (opacity score {opacity_global_score} / {MAX_GLOBAL_SCORE})"
    if low_confidence:
        line += f"; low confidence: {', '.join(low_confidence)}"
    return line


def score_text(table_node) -> str:
    """The global scores of a zone table node in one line ("" when no table is chosen)."""
    return "" if table_node is None else summary_line(*global_scores(table_node))


def low_confidence_text(table_node) -> str:
    """A warning naming the zone table's low-confidence zones ("" when there are none).

    >>> low_confidence_text(None)
    ''
    """
    letters = [] if table_node is None else table_low_confidence_zones(table_node)
    if not letters:
        return ""
    zones = "zone" if len(letters) == 1 else "zones"
    return f"Low confidence in {zones} {', '.join(letters)}: check the score on the image."


def csv_file_name(table_node) -> str:
    """A file name for exporting ``table_node``: its name with path separators replaced, ``.csv``."""
    name = table_node.GetName() or "zone scores"
    return "".join("_" if character in '/\\:*?"<>|' else character for character in name) + ".csv"


def table_cells(table_node) -> tuple[list[str], list[list]]:
    """Column names and rows of ``table_node``: numbers as floats, text as str."""
    table = table_node.GetTable()
    columns = [table.GetColumn(index) for index in range(table.GetNumberOfColumns())]
    rows = [[column.GetValue(row) for column in columns] for row in range(table.GetNumberOfRows())]
    return [column.GetName() for column in columns], rows


def _int_attribute(node, name: str) -> int | None:
    value = node.GetAttribute(name)
    return int(value) if value not in (None, "") else None


# --------------------------------------------------------------------------------------------
# What is visible


class DisplayFollower:
    """Applies the display settings (zones, opacity, heat map) only when they change.

    The panel calls :meth:`update` on every parameter-node change; the settings are applied only
    when a toggle changed or another result was chosen (a new run's nodes), so a user's own changes
    to segment visibility or slice layers survive unrelated edits. :meth:`adopt` takes the current
    settings as already shown (entering the module changes nothing on screen).

    ``parameters`` has ``outputSegmentation``, ``outputHeatmap``, ``showZones``, ``showOpacity``
    and ``showHeatmap`` (the module's parameter node).
    """

    def __init__(self, apply=None):
        self._apply = apply or show_results
        self._shown = None

    @staticmethod
    def settings(parameters) -> tuple:
        """What the display depends on: the result nodes (by ID) and the three toggles."""
        return (_node_id(parameters.outputSegmentation), _node_id(parameters.outputHeatmap),
                bool(parameters.showZones), bool(parameters.showOpacity), bool(parameters.showHeatmap))

    def adopt(self, parameters) -> None:
        self._shown = None if parameters is None else self.settings(parameters)

    def update(self, parameters) -> bool:
        """Apply the settings of ``parameters`` if they differ from those last shown; True if applied."""
        settings = self.settings(parameters)
        if settings == self._shown:
            return False
        self._apply(parameters.outputSegmentation, parameters.outputHeatmap, zones=parameters.showZones,
                    opacity=parameters.showOpacity, heatmap=parameters.showHeatmap)
        self._shown = settings
        return True


def _node_id(node):
    return None if node is None else node.GetID()


def show_results(segmentation_node, heatmap_node, *, zones: bool, opacity: bool, heatmap: bool) -> None:
    """Show or hide the zone segments, the opacity segments and the heat map; None nodes are skipped."""
    if segmentation_node is not None:
        show_zones(segmentation_node, zones)
        show_opacity(segmentation_node, opacity)
    if heatmap_node is not None:
        show_heatmap(heatmap_node, heatmap)


def show_zones(segmentation_node, visible: bool) -> None:
    """Show or hide the six zone segments (the lung segments stay as they are)."""
    from lesionai.severity.labels import ZONE_SEGMENTS

    set_segments_visible(segmentation_node, [spec.name for spec in ZONE_SEGMENTS], visible)


def show_opacity(segmentation_node, visible: bool) -> None:
    """Show or hide the opacity segments."""
    from lesionai.severity.labels import OPACITY_SEGMENT

    set_segments_visible(segmentation_node, [OPACITY_SEGMENT.name], visible)


def set_segments_visible(segmentation_node, names: Iterable[str], visible: bool) -> None:
    """Segment visibility on the display node; names the segmentation lacks are skipped."""
    display = segmentation_node.GetDisplayNode()
    if display is None:
        segmentation_node.CreateDefaultDisplayNodes()
        display = segmentation_node.GetDisplayNode()
    segmentation = segmentation_node.GetSegmentation()
    for name in names:
        segment_id = segmentation.GetSegmentIdBySegmentName(name)
        if segment_id:
            display.SetSegmentVisibility(segment_id, bool(visible))


def segment_visible(segmentation_node, name: str) -> bool:
    """Whether the segment called ``name`` is shown (False when there is no such segment)."""
    segment_id = segmentation_node.GetSegmentation().GetSegmentIdBySegmentName(name)
    display = segmentation_node.GetDisplayNode()
    return bool(segment_id and display is not None and display.GetSegmentVisibility(segment_id))


def show_heatmap(heatmap_node, visible: bool, opacity: float = HEATMAP_OPACITY) -> None:
    """Make the heat map the foreground of every slice view, or take it away where it is shown.

    Hiding it leaves other foreground volumes alone.
    """
    node_id = heatmap_node.GetID()
    for composite in slice_composite_nodes(heatmap_node.GetScene()):
        if visible:
            composite.SetForegroundVolumeID(node_id)
            composite.SetForegroundOpacity(opacity)
        elif composite.GetForegroundVolumeID() == node_id:
            composite.SetForegroundVolumeID(None)


def hide_cold_heat(heatmap_node, floor: float = HEATMAP_FLOOR) -> None:
    """Make heat-map pixels under ``floor`` transparent in the slice views (display threshold)."""
    display = heatmap_node.GetDisplayNode()
    high = heatmap_node.GetImageData().GetScalarRange()[1]
    display.AutoThresholdOff()
    display.SetThreshold(floor, max(high, floor))
    display.ApplyThresholdOn()


def heatmap_shown(heatmap_node) -> bool:
    """Whether some slice view shows the heat map as its foreground, with some opacity."""
    node_id = heatmap_node.GetID()
    return any(composite.GetForegroundVolumeID() == node_id and composite.GetForegroundOpacity() > 0
               for composite in slice_composite_nodes(heatmap_node.GetScene()))


def slice_composite_nodes(scene) -> list:
    """The layer settings of each slice view in ``scene`` (none in a scene without views)."""
    if scene is None:
        return []
    nodes = scene.GetNodesByClass("vtkMRMLSliceCompositeNode")
    return [nodes.GetItemAsObject(index) for index in range(nodes.GetNumberOfItems())]


# --------------------------------------------------------------------------------------------
# CSV export


def export_table_csv(table_node, path, overwrite: bool = False) -> Path:
    """Write the zone table to the CSV file ``path`` and return it.

    First line: the column names; then one line per row; then, when the table records a global
    score, a ``global`` row holding the global scores in the ``score`` and ``opacity_score``
    columns. Whole numbers are written without a decimal point, missing numbers as empty cells.
    The file is written beside ``path`` under a temporary name and moved into place, so a
    failure never leaves a half-written file. Raises InputError when the folder does not exist,
    ``path`` is a folder, or ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    check_csv_target(path, overwrite)
    columns, rows = table_cells(table_node)
    lines = [columns, *([_csv_cell(value) for value in row] for row in rows)]
    lines += global_score_rows(columns, *global_scores(table_node))
    write_csv_atomically(path, lines)
    return path


def check_csv_target(path: Path, overwrite: bool) -> None:
    """Raise InputError unless ``path`` can receive the CSV file."""
    if not path.parent.is_dir():
        raise InputError(f"Folder {path.parent} does not exist; choose an existing folder for the CSV file.")
    if path.is_dir():
        raise InputError(f"{path} is a folder; choose a file name for the CSV file.")
    if path.exists() and not overwrite:
        raise InputError(f"{path} already exists; choose another file name or allow replacing it.")


def global_score_rows(columns: Sequence[str], global_score: int | None,
                      opacity_global_score: int | None) -> list[list[str]]:
    """The ``global`` CSV row (empty list when there is no global score)."""
    if global_score is None or "zone" not in columns:
        return []
    values = {"zone": GLOBAL_ROW_ZONE, "score": global_score, "opacity_score": opacity_global_score}
    return [[_csv_cell(values.get(column)) for column in columns]]


def write_csv_atomically(path: Path, lines: Iterable[Sequence[str]]) -> None:
    """Write ``lines`` to a temporary sibling of ``path``, then rename it to ``path``.

    The temporary file is created like any new file (usual permissions) and removed on failure.
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(temporary, "x", newline="", encoding="utf-8") as stream:
            csv.writer(stream).writerows(lines)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InputError(f"Could not write the zone table to {path}: {error.strerror or error}") from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
