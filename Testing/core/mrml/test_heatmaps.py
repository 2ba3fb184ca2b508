"""Heat maps become colour-mapped volume nodes that keep their values (headless MRML)."""

import numpy as np
import pytest

pytest.importorskip("slicer", reason="slicer-core (headless MRML) is not installed")

from lesionai.geometry import Image, radiograph_geometry  # noqa: E402
from lesionai.mrml import heatmap_volume_node, image_from_volume_node  # noqa: E402


def test_heatmap_keeps_values_and_fits_window(scene):
    values = np.linspace(-0.5, 2.5, 60, dtype=np.float32).reshape(1, 6, 10)
    node = heatmap_volume_node(scene, Image(values, radiograph_geometry((0.3, 0.3))), "attention")
    np.testing.assert_array_equal(image_from_volume_node(node).array, values)
    display = node.GetDisplayNode()
    assert display.GetColorNode() is not None
    assert display.GetColorNode().GetName() == "Iron"
    assert display.GetWindowLevelMin() == pytest.approx(-0.5)
    assert display.GetWindowLevelMax() == pytest.approx(2.5)
    assert not display.GetAutoWindowLevel()
