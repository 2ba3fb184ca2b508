"""The package imports without Slicer and offers every adapter under ``lesionai.mrml``."""

import os
import subprocess
import sys

from repo_paths import CORE_SOURCE

import lesionai.mrml


def test_package_imports_without_slicer():
    code = "import sys; sys.modules['slicer'] = None; import lesionai.mrml"
    source = str(CORE_SOURCE)
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": source},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_public_name_is_importable_from_the_package():
    exported = {"CodedEntry", "Terminology", "SegmentSpec", "image_from_volume_node",
                "volume_node_from_image", "update_volume_node", "load_volume",
                "segmentation_node_from_labelmap", "segmentation_node_from_labelmaps",
                "labelmap_from_segmentation", "save_segmentation", "load_segmentation", "create_closed_surface",
                "table_node_from_rows", "heatmap_volume_node", "place_under", "scene_transaction"}
    assert set(lesionai.mrml.__all__) == exported
    namespace = {}
    exec("from lesionai.mrml import *", namespace)
    assert exported <= set(namespace)
