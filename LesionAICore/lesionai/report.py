"""Static HTML pages gathering several results: pictures and tables, self-contained and movable."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

REPORT_GENERATOR = "lesionai-demo-report"  # written into every HTML report's <meta name="generator">


def write_html_report(entries: list[dict], path) -> Path:
    """Write a static, self-contained HTML page with one section per case.

    Each entry holds ``name``, ``overlay`` (PNG path relative to the page, or None), ``zones``
    (``{letter: {"area_mm2": ..., ...}}``), ``warnings`` (list of str) and ``timing_s``. All text is
    HTML-escaped; pictures are linked by relative path, so the folder can be moved as a whole.
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
<title>LesionAI SeverityScoring report</title>
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
<h1>LesionAI SeverityScoring report</h1>
<p>{count} case(s). Zones follow the Brixia scheme: A-C right lung, D-F left lung (upper, middle,
lower). Research use only; not a medical device.</p>
{sections}
</body>
</html>
"""


def _case_section(entry: dict) -> str:
    name = html.escape(str(entry.get("name", "unnamed case")))
    parts = [f"<section>\n<h2>{name}</h2>", _overlay_html(entry.get("overlay"), name)]
    parts.append(_zone_table_html(entry.get("zones") or {}))
    parts.append(_warnings_html(entry.get("warnings") or []))
    parts.append(f"<p>Processing time: {float(entry.get('timing_s') or 0.0):.2f} s</p>")
    parts.append('<div class="clear"></div>\n</section>')
    return "\n".join(part for part in parts if part)


def _overlay_html(overlay, escaped_name: str) -> str:
    if not overlay:
        return "<p>No overlay picture.</p>"
    link = html.escape(quote(str(overlay).replace("\\", "/")), quote=True)
    return f'<a href="{link}"><img src="{link}" alt="overlay of {escaped_name}"></a>'


def _zone_table_html(zones: dict) -> str:
    if not zones:
        return ""
    present = dict.fromkeys(key for values in zones.values() for key in values)
    columns = [key for key in _COLUMN_ORDER if key in present] + [k for k in present if k not in _COLUMN_ORDER]
    header = "".join(f"<th>{html.escape(_column_title(column))}</th>" for column in columns)
    rows = "\n".join(
        f"<tr><td>{html.escape(str(letter))}</td>"
        + "".join(f"<td>{html.escape(_cell_text(values.get(column), column))}</td>" for column in columns)
        + "</tr>"
        for letter, values in zones.items()
    )
    return f"<table>\n<tr><th>zone</th>{header}</tr>\n{rows}\n</table>"


_COLUMN_ORDER = ("lung", "level", "area_mm2", "score", "confidence", "low_confidence", "probabilities",
                 "opacity_fraction", "opacity_score")


def _column_title(column: str) -> str:
    return {"area_mm2": "area (mm\u00b2)"}.get(column, column.replace("_", " "))


def _cell_text(value, column: str = "") -> str:
    """Areas with one decimal, probabilities and fractions with two, lists joined."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " / ".join(_cell_text(item, column) for item in value)
    if isinstance(value, float):
        return f"{value:.1f}" if column == "area_mm2" else f"{value:.2f}"
    return str(value)


def _warnings_html(warnings: list) -> str:
    if not warnings:
        return "<p>No warnings.</p>"
    items = "\n".join(f"<li>{html.escape(str(warning))}</li>" for warning in warnings)
    return f'<ul class="warnings">\n{items}\n</ul>'
