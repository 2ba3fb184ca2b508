"""Batch tables (``OUTDIR/<table>.csv``): one row per case, merged across batches, never over a user's file."""

import csv

from lesionai.batch import write_batch_table


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_rows_of_a_later_batch_are_merged_and_a_rerun_case_replaces_its_row(tmp_path):
    table = tmp_path / "nodules.csv"
    write_batch_table(table, [{"case": "a", "probability": 0.2}, {"case": "b", "probability": 0.9}])
    write_batch_table(table, [{"case": "b", "probability": 0.7, "ctr": 0.1}, {"case": "c", "probability": 0.5}])
    rows = read_rows(table)
    assert [row["case"] for row in rows] == ["a", "b", "c"]
    assert rows[1]["probability"] == "0.7" and rows[1]["ctr"] == "0.1" and rows[0]["ctr"] == ""


def test_a_file_of_that_name_made_by_someone_else_is_left_alone(tmp_path, capsys):
    table = tmp_path / "nodules.csv"
    table.write_text("patient,notes\nP1,my own notes\n")
    assert write_batch_table(table, [{"case": "a", "probability": 0.2}]) is None
    assert table.read_text() == "patient,notes\nP1,my own notes\n"
    assert "was not written by LesionAI" in capsys.readouterr().err
