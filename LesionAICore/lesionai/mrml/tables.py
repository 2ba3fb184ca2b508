"""Table nodes: rows of results (per-zone scores, measurements) as typed ``vtkMRMLTableNode`` columns.

Numeric columns become ``vtkDoubleArray`` (missing values NaN), all others ``vtkStringArray``
(missing values ""), so Slicer's table view sorts and plots numbers as numbers. No geometry.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

__all__ = ["table_node_from_rows"]


def table_node_from_rows(scene, name: str, columns: Sequence[str],
                         rows: Iterable[Sequence | Mapping]):
    """A table node with one typed column per name: numbers become doubles, the rest strings.

    Each row is a sequence in column order or a mapping from column name to value; missing
    numbers become NaN, missing strings "".
    """
    rows = [[row.get(column) for column in columns] if isinstance(row, Mapping) else list(row)
            for row in rows]
    node = scene.AddNewNodeByClass("vtkMRMLTableNode", name)
    table = node.GetTable()
    for index, column in enumerate(columns):
        table.AddColumn(_vtk_column(column, [row[index] for row in rows]))
    node.Modified()
    return node


def _vtk_column(name: str, values: list):
    import vtk

    present = [value for value in values if value is not None]
    numeric = bool(present) and all(_is_number(value) for value in present)
    array = vtk.vtkDoubleArray() if numeric else vtk.vtkStringArray()
    array.SetName(name)
    array.SetNumberOfValues(len(values))
    for index, value in enumerate(values):
        if numeric:
            array.SetValue(index, np.nan if value is None else float(value))
        else:
            array.SetValue(index, "" if value is None else str(value))
    return array


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
