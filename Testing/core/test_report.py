"""The HTML report of several results."""

from lesionai.report import write_html_report


def test_html_report_escapes_text_and_links_the_overlays(tmp_path):
    entries = [
        {"name": "<script>alert('x')</script> & co", "overlay": "results/case 1/overlay.png", "row_key": "zone",
         "rows": {"A": {"area_mm2": 4012.5, "lung": "right", "level": "upper"},
                   "D": {"area_mm2": 3900.0, "lung": "left", "level": "upper"}},
         "warnings": ["lungs <small>"], "timing_s": 1.5},
        {"name": "broken.dcm", "overlay": None, "rows": {}, "warnings": ["failed: not a radiograph"],
         "timing_s": 0.0},
    ]
    page = write_html_report(entries, tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in page
    assert 'href="results/case%201/overlay.png"' in page and 'src="results/case%201/overlay.png"' in page
    assert "lungs &lt;small&gt;" in page
    assert "4012.5" in page and "3900.0" in page
    assert "broken.dcm" in page and "failed: not a radiograph" in page
    assert page.count("<section>") == 2


def test_report_tables_name_units_and_round_measures(tmp_path):
    entries = [{"name": "spine.nii.gz", "task": "LesionSegmentation", "overlay": None, "row_key": "measure",
                "rows": {"cord": {"volume_mm3": 2312.456, "csa_mm2_mean": 71.04, "lesions": 2}},
                "warnings": [], "timing_s": 0.4}]
    page = write_html_report(entries, tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<th>volume (mm\u00b3)</th>" in page and "2312.5" in page and "71.0" in page
    assert "(LesionSegmentation)" in page
