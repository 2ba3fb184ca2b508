"""SeverityScoring in Slicer on an image the radiograph check refuses: a clear error, scene untouched,
scored with the reasons as warnings when forced (real MRML nodes, real models)."""

import sys

import numpy as np
import pytest
from repo_paths import REPO_ROOT

slicer = pytest.importorskip("slicer")
sys.path.insert(0, str(REPO_ROOT / "SeverityScoring"))

from SeverityScoringLib import logic

from lesionai import mrml
from lesionai.errors import ProcessError, RefusedInputError
from lesionai.geometry import Image, radiograph_geometry
from lesionai.phantoms.non_radiographs import non_radiograph


@pytest.fixture
def noise_node(scene):
    """Gaussian noise as a single-slice scalar volume: no chest radiograph at all."""
    return mrml.volume_node_from_image(scene, Image(non_radiograph("gaussian noise", 7)[np.newaxis],
                                                    radiograph_geometry()), "noise")


def test_process_refuses_the_image_with_its_reasons_and_leaves_the_scene_unchanged(scene, noise_node):
    before = scene.GetNumberOfNodes()
    with pytest.raises(RefusedInputError, match="look like noise") as refused:
        logic.SeverityScoringLogic().process(noise_node)
    assert "Score anyway" in str(refused.value)
    assert scene.GetNumberOfNodes() == before


def test_forced_logic_adds_the_nodes_and_returns_the_reasons_as_warnings(scene, noise_node):
    nodes = logic.SeverityScoringLogic(force=True).process(noise_node)
    assert nodes.segmentation is not None and nodes.table.GetNumberOfRows() == 6
    assert any(warning.startswith("scored anyway (force): the pixels look like noise") for warning in nodes.warnings)


def test_a_background_run_reports_the_refusal_and_adds_nothing(scene, noise_node):
    logic_ = logic.SeverityScoringLogic()
    job = logic_.start(noise_node, threads=1)
    job.process.wait(timeout=300)
    before = scene.GetNumberOfNodes()
    with pytest.raises(ProcessError, match="Not scored") as failed:
        logic_.finish(job, scene)
    assert "look like noise" in str(failed.value) and "--force" in str(failed.value)
    assert scene.GetNumberOfNodes() == before and not job.job_folder.exists()
