"""The pipeline's network inputs: made once per radiograph plane and size, exactly as the contract says."""

import numpy as np
import pytest

from lesionai.severity.pipeline import ALIGNMENT_MODEL, LUNG_MODEL, VIEW_MODEL, ZONE_MODEL, SeverityPipeline
from lesionai.severity.preprocess import model_input


@pytest.fixture(scope="module")
def pipeline():
    return SeverityPipeline(threads=1)


def test_models_of_one_size_share_one_input_equal_to_the_contracts(pipeline):
    plane = np.random.default_rng(0).random((300, 280)).astype(np.float32)
    lung, zone = pipeline.prepared(LUNG_MODEL, plane), pipeline.prepared(ZONE_MODEL, plane)
    view, alignment = pipeline.prepared(VIEW_MODEL, plane), pipeline.prepared(ALIGNMENT_MODEL, plane)
    assert lung is zone and view is alignment and lung.shape == (1, 1, 256, 256) and view.shape == (1, 1, 128, 128)
    np.testing.assert_array_equal(lung, model_input(plane, (256, 256)))
    np.testing.assert_array_equal(view, model_input(plane, (128, 128)))
    with pytest.raises(ValueError, match="read-only"):
        lung[0, 0, 0, 0] = 1.0


def test_another_plane_gets_its_own_inputs(pipeline):
    first = np.random.default_rng(1).random((200, 200)).astype(np.float32)
    made = pipeline.prepared(LUNG_MODEL, first)
    second = first * 2 + 1
    again = pipeline.prepared(LUNG_MODEL, second)
    assert again is not made
    np.testing.assert_array_equal(again, model_input(second, (256, 256)))
