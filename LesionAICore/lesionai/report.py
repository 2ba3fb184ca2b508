"""Static HTML pages gathering several results: pictures and tables, self-contained and movable."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

REPORT_GENERATOR = "lesionai-demo-report"  # written into every HTML report's <meta name="generator">


def write_html_report(entries: list[dict], path) -> Path:
    """Write a static, self-contained HTML page with one section per case.

    Each entry holds ``name``, ``overlay`` (PNG path relative to the page, or None), ``rows`` (a
    table: row name -> {column: value}, e.g. ``{"A": {"area_mm2": 4012.5, ...}}``), ``row_key``
    (the title of the row-name column, e.g. "zone"), optionally ``task`` (the module that made it),
    ``warnings`` (list of str) and ``timing_s``. Columns ending in ``_mm``, ``_mm2``, ``_mm3`` are
    titled with their unit and shown with one decimal. All text is HTML-escaped; pictures are linked
    by relative path, so the folder can be moved as a whole.
    """
    sections = "\n".join(_case_section(entry) for entry in entries)
    page = _PAGE.format(generator=REPORT_GENERATOR, count=len(entries), sections=sections)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="{generator}">
<title>LesionAI report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; background: #fafafa; color: #222; }}
section {{ background: #fff; border: 1px solid #ddd; padding: 1em; margin-bottom: 1.5em; }}
img {{ max-width: 512px; height: auto; float: left; margin-right: 1.5em; }}
table {{ border-collapse: collapse; margin-bottom: 1em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }}
th:first-child, td:first-child {{ text-align: center; }}
.warnings li {{ color: #a03000; }}
.clear {{ clear: both; }}
</style>
</head>
<body>
<h1>LesionAI report</h1>
<p>{count} case(s). SeverityScoring zones follow the Brixia scheme: A-C right lung, D-F left lung
(upper, middle, lower). Research use only; not a medical device.</p>
{sections}
</body>
</html>
"""


def _case_section(entry: dict) -> str:
    name = html.escape(str(entry.get("name", "unnamed case")))
    task = f" <small>({html.escape(str(entry['task']))})</small>" if entry.get("task") else ""
    parts = [f"<section>\n<h2>{name}{task}</h2>", _overlay_html(entry.get("overlay"), name)]
    parts.append(_table_html(entry.get("rows") or {}, str(entry.get("row_key", ""))))
    parts.append(_warnings_html(entry.get("warnings") or []))
    parts.append(f"<p>Processing time: {float(entry.get('timing_s') or 0.0):.2f} s</p>")
    parts.append('<div class="clear"></div>\n</section>')
    return "\n".join(part for part in parts if part)


def _overlay_html(overlay, escaped_name: str) -> str:
    if not overlay:
        return "<p>No overlay picture.</p>"
    link = html.escape(quote(str(overlay).replace("\\", "/")), quote=True)
    return f'<a href="{link}"><img src="{link}" alt="overlay of {escaped_name}"></a>'


def _table_html(rows: dict, row_key: str) -> str:
    if not rows:
        return ""
    columns = list(dict.fromkeys(key for values in rows.values() for key in values))
    header = "".join(f"<th>{html.escape(_column_title(column))}</th>" for column in columns)
    body = "\n".join(
        f"<tr><td>{html.escape(str(name))}</td>"
        + "".join(f"<td>{html.escape(_cell_text(values.get(column), column))}</td>" for column in columns)
        + "</tr>"
        for name, values in rows.items()
    )
    return f"<table>\n<tr><th>{html.escape(row_key)}</th>{header}</tr>\n{body}\n</table>"


_UNITS = {"_mm": "mm", "_mm2": "mm\u00b2", "_mm3": "mm\u00b3"}


def _column_title(column: str) -> str:
    """``area_mm2`` -> "area (mm²)", ``low_confidence`` -> "low confidence"."""
    for suffix in ("_mm3", "_mm2", "_mm"):
        if column.endswith(suffix):
            return f"{column[: -len(suffix)].replace('_', ' ')} ({_UNITS[suffix]})"
    return column.replace("_", " ")


def _cell_text(value, column: str = "") -> str:
    """Physical measures (``*_mm``, ``*_mm2``, ``*_mm3``) with one decimal, other floats with two."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " / ".join(_cell_text(item, column) for item in value)
    if isinstance(value, float):
        return f"{value:.1f}" if column.endswith(("_mm", "_mm2", "_mm3")) else f"{value:.2f}"
    return str(value)


def _warnings_html(warnings: list) -> str:
    if not warnings:
        return "<p>No warnings.</p>"
    items = "\n".join(f"<li>{html.escape(str(warning))}</li>" for warning in warnings)
    return f'<ul class="warnings">\n{items}\n</ul>'
