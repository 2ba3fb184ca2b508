"""LesionSegmentation in Slicer on a volume the scan check refuses (a chest CT): a clear error, scene
untouched, segmented with the reason as a warning when forced (real MRML nodes, real models)."""

import pytest

slicer = pytest.importorskip("slicer")

from LesionSegmentationLib import logic

from lesionai import mrml
from lesionai.errors import ProcessError, RefusedInputError
from lesionai.phantoms.nodule import generate_nodule_phantom


@pytest.fixture
def ct_node(scene):
    """A chest CT block with a nodule (Hounsfield units) as a scalar volume node: no spinal MRI."""
    return mrml.volume_node_from_image(scene, generate_nodule_phantom(seed=1).image, "chest CT")


def test_process_refuses_the_ct_with_its_reason_and_leaves_the_scene_unchanged(scene, ct_node):
    before = scene.GetNumberOfNodes()
    with pytest.raises(RefusedInputError, match="not a spinal MRI") as refused:
        logic.LesionSegmentationLogic(threads=1).process(ct_node)
    assert refused.value.reasons[0].startswith("anatomy: CT (p=")
    assert "Process even if the scan check says it is not a spinal MRI" in str(refused.value)
    assert scene.GetNumberOfNodes() == before


def test_forced_logic_adds_the_nodes_and_keeps_the_reason_as_a_warning(scene, ct_node):
    nodes = logic.LesionSegmentationLogic(threads=1, force=True, lesions=False).process(ct_node)
    assert nodes.segmentation is not None and nodes.scan_check["anatomy"]["label"] == "CT"
    assert nodes.warnings[0].startswith("segmented anyway (force): anatomy: CT (p=")


def test_a_background_run_names_the_volume_in_the_refusal_and_adds_nothing(scene, ct_node, tmp_path):
    spine_logic = logic.LesionSegmentationLogic()
    job = spine_logic.start(ct_node, tmp_path, threads=1)
    job.process.wait(timeout=300)
    before = scene.GetNumberOfNodes()
    with pytest.raises(ProcessError, match="Not segmented") as failed:
        spine_logic.finish(job, scene)
    message = str(failed.value)
    assert "'chest CT'" in message and "input.nrrd" not in message
    assert "anatomy: CT (p=" in message and "--force" in message
    assert scene.GetNumberOfNodes() == before and not any(tmp_path.iterdir())


def test_a_forced_background_run_adds_the_nodes(scene, ct_node, tmp_path):
    spine_logic = logic.LesionSegmentationLogic()
    job = spine_logic.start(ct_node, tmp_path, threads=1, options=["--force", "--no-lesions"])
    nodes = spine_logic.finish(job, scene)
    assert nodes.segmentation is not None and nodes.warnings[0].startswith("segmented anyway (force)")
    assert not any(tmp_path.iterdir())
