"""Per-input clinical variables for a batch: ``lesionai nodule ... --clinical FILE.csv``.

The CSV has a header and one row per input: ``input`` (the file or folder name, with or without
its extensions), optional ``age`` (years), ``sex`` (F/M) and ``point_r``, ``point_a``, ``point_s``
(the nodule centre in RAS mm, for whole CTs). Empty cells mean "not given": the tabular branch then
masks the variable. ``--age``/``--sex``/``--point`` given on the command line apply to inputs the
file does not list.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from ..errors import InputError

SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd", ".dcm")
POINT_COLUMNS = ("point_r", "point_a", "point_s")


def options_for_input(options: dict, path: Path) -> dict:
    """Pipeline options for ``path``: ``clinical`` (a CSV path) replaced by that input's row."""
    table = options.pop("clinical", None)
    if table is None:
        return options
    row = clinical_rows(str(table)).get(input_key(Path(path).name))
    return {**options, **(row_options(row, table) if row else {})}


@lru_cache(maxsize=4)
def clinical_rows(table: str) -> dict[str, dict]:
    """Rows of the clinical CSV keyed by :func:`input_key` of their ``input`` column."""
    try:
        with open(table, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise InputError(f"Cannot read the clinical table {table}: {error.strerror}") from error
    if rows and "input" not in rows[0]:
        raise InputError(f"The clinical table {table} has no 'input' column; columns: {', '.join(rows[0])}")
    return {input_key(row["input"]): row for row in rows}


def input_key(name: str) -> str:
    """``name`` without image extensions, as rows and inputs are matched."""
    lowered = name.strip()
    for suffix in SUFFIXES:
        if lowered.lower().endswith(suffix):
            return lowered[: -len(suffix)]
    return lowered


def row_options(row: dict, table) -> dict:
    """``age``, ``sex`` and ``point`` of one CSV row (only those given)."""
    options = {}
    if (row.get("age") or "").strip():
        options["age"] = _number(row["age"], "age", table)
    if (row.get("sex") or "").strip():
        sex = row["sex"].strip().upper()
        if sex not in ("F", "M"):
            raise InputError(f"Clinical table {table}: sex must be F or M, got {row['sex']!r} for {row['input']}")
        options["sex"] = sex
    if all((row.get(column) or "").strip() for column in POINT_COLUMNS):
        options["point"] = tuple(_number(row[column], column, table) for column in POINT_COLUMNS)
    return options


def _number(text: str, column: str, table) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"Clinical table {table}: {column} must be a number, got {text!r}") from None
