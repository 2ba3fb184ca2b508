"""Result rows become table nodes with typed columns (headless MRML)."""

import numpy as np
import pytest

pytest.importorskip("slicer", reason="slicer-core (headless MRML) is not installed")

from lesionai.mrml import table_node_from_rows  # noqa: E402


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
