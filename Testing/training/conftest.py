"""Fixtures of the training tests: generated radiographs in the chest X-ray collection's layout."""

import pytest


@pytest.fixture(scope="module")
def phantom_collection(tmp_path_factory):
    """Generated radiographs in the development collection's layout: the recipes run without the data."""
    pytest.importorskip("torch")
    from lesionai.training.severity.cxr_data import write_phantom_collection

    return write_phantom_collection(tmp_path_factory.mktemp("phantom-cxr"), {"train": 6, "val": 3}, size=(160, 160))
