"""End-to-end: the ``lesionai`` command line on phantoms, real radiographs and bad inputs."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image as PILImage
from repo_paths import REPO_ROOT

from lesionai import cli
from lesionai.geometry import Image
from lesionai.imageio import read_image, write_image
from lesionai.phantoms.cxr import generate_cxr_phantom
from lesionai.registry import ModelRegistry
from lesionai.severity.outputs import CASE_FILES
from lesionai.severity.pipeline import MODELS


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * (a & b).sum() / (a.sum() + b.sum())


@pytest.fixture(scope="module")
def phantom_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    frontal = generate_cxr_phantom(seed=11, size=(768, 640))
    write_image(frontal.image, folder / "frontal.nrrd")
    png = generate_cxr_phantom(seed=12, size=(512, 512))
    PILImage.fromarray((png.image.array[0] / 16).astype(np.uint8)).save(folder / "frontal_png.png")
    lateral = generate_cxr_phantom(seed=13, size=(512, 512), view="lateral")
    write_image(lateral.image, folder / "lateral.nrrd")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png")
    write_image(Image(np.zeros((5, 256, 256), np.float32)), folder / "volume.nrrd")
    return folder, frontal, png


@pytest.fixture(scope="module")
def batch_run(phantom_files, tmp_path_factory):
    folder, _, _ = phantom_files
    output = tmp_path_factory.mktemp("results")
    names = ["frontal.nrrd", "frontal_png.png", "lateral.nrrd", "corrupt.png", "volume.nrrd"]
    status = cli.main(["severity", *[str(folder / n) for n in names], "-o", str(output), "--progress", "none"])
    return status, output


def test_batch_skips_bad_files_and_reports_failure(batch_run):
    status, output = batch_run
    assert status == 1
    assert sorted(p.name for p in output.iterdir()) == ["frontal", "frontal_png"]  # the lateral view is refused


def test_case_folder_holds_the_output_contract(batch_run):
    _, output = batch_run
    case = output / "frontal"
    assert {p.name for p in case.iterdir()} == set(CASE_FILES)
    record = json.loads((case / "result.json").read_text())
    assert set(record) >= {"input", "labels", "zones", "alignment", "warnings", "models", "timing_s", "global_score",
                           "opacity_global_score"}
    assert list(record["zones"]) == ["A", "B", "C", "D", "E", "F"]
    assert all(zone["area_mm2"] > 0 for zone in record["zones"].values())
    assert record["labels"]["lungs"]["1"] == "right lung" and record["labels"]["zones"]["6"].startswith("zone F")
    assert record["labels"]["lungs"]["3"] == "opacity"
    assert np.array(record["alignment"]["theta"]).shape == (2, 3)
    assert set(record["models"]) == set(MODELS)


def test_result_holds_zone_scores_that_follow_the_registry_rules(batch_run):
    _, output = batch_run
    record = json.loads((output / "frontal" / "result.json").read_text())
    registry = ModelRegistry.load()
    classifier = registry.get("cxr-zone-severity").output
    levels = [registry.get("cxr-opacity-unet").output.thresholds[f"score_{n}"] for n in (1, 2, 3)]
    assert classifier.score_rule == "expected"
    zones = record["zones"].values()
    for zone in zones:
        probabilities = zone["probabilities"]
        assert len(probabilities) == 4 and sum(probabilities) == pytest.approx(1, abs=1e-3)
        expected_score = float(np.dot(probabilities, range(4)))
        assert abs(zone["score"] - expected_score) <= 0.5 + 1e-3  # the rounded expected score (4-digit probabilities)
        assert zone["confidence"] == probabilities[zone["score"]]
        assert zone["low_confidence"] == (zone["confidence"] < classifier.thresholds["low_confidence"])
        assert zone["opacity_score"] == sum(zone["opacity_fraction"] >= level for level in levels)
    assert record["global_score"] == sum(zone["score"] for zone in zones)
    assert record["opacity_global_score"] == sum(zone["opacity_score"] for zone in zones)


def test_gradcam_is_a_float_map_in_the_input_geometry_inside_the_lungs(batch_run, phantom_files):
    _, output = batch_run
    _, frontal, _ = phantom_files
    heat = read_image(output / "frontal" / "gradcam.nrrd")
    zones = read_image(output / "frontal" / "zones.nrrd")
    assert heat.geometry == frontal.image.geometry and heat.array.dtype == np.float32
    assert heat.array.min() == 0 and heat.array.max() == pytest.approx(1, abs=0.05)  # scaled to its peak
    assert (heat.array[zones.array == 0] == 0).all()


def test_labelmaps_keep_the_input_geometry_and_find_the_phantom_lungs(batch_run, phantom_files):
    _, output = batch_run
    _, frontal, _ = phantom_files
    lungs = read_image(output / "frontal" / "lungs.nrrd")
    zones = read_image(output / "frontal" / "zones.nrrd")
    assert lungs.geometry == frontal.image.geometry and lungs.array.shape == frontal.image.array.shape
    assert {0, 1, 2} <= set(np.unique(lungs.array)) <= {0, 1, 2, 3} and set(np.unique(zones.array)) == set(range(7))
    for side in (1, 2):
        lung = (zones.array > 0) & ((zones.array <= 3) if side == 1 else (zones.array > 3))
        assert overlap(lung, frontal.lung_labels == side) > 0.85
    assert ((zones.array > 0) == (lungs.array > 0)).all()


def test_segmentation_file_opens_with_named_segments(batch_run):
    slicer = pytest.importorskip("slicer")
    from lesionai.mrml import load_segmentation

    _, output = batch_run
    scene = slicer.vtkMRMLScene()
    node = load_segmentation(output / "frontal" / "segmentation.seg.nrrd", scene)
    segmentation = node.GetSegmentation()
    names = [segmentation.GetNthSegment(i).GetName() for i in range(segmentation.GetNumberOfSegments())]
    assert names[:3] == ["right lung", "left lung", "opacity"] and len(names) == 9
    assert names[3].startswith("zone A")


def test_lateral_view_is_refused_and_forced_scoring_keeps_the_reason(phantom_files, tmp_path):
    folder, _, _ = phantom_files
    arguments = ["severity", str(folder / "lateral.nrrd"), "-o", str(tmp_path), "--progress", "none"]
    assert cli.main(arguments) == 1 and not (tmp_path / "lateral").exists()
    assert cli.main(arguments + ["--force"]) == 0
    warnings = json.loads((tmp_path / "lateral" / "result.json").read_text())["warnings"]
    assert any(w.startswith("scored anyway (force): looks like a lateral view") for w in warnings)


def test_existing_results_are_never_replaced_without_permission(phantom_files, tmp_path):
    folder, _, _ = phantom_files
    user_folder = tmp_path / "frontal"
    user_folder.mkdir()
    (user_folder / "notes.txt").write_text("mine")
    status = cli.main(["severity", str(folder / "frontal.nrrd"), "-o", str(tmp_path), "--progress", "none"])
    assert status == 1 and (user_folder / "notes.txt").read_text() == "mine"
    status = cli.main(["severity", str(folder / "frontal.nrrd"), "-o", str(tmp_path), "--progress", "none", "--overwrite"])
    assert status == 1 and sorted(p.name for p in user_folder.iterdir()) == ["notes.txt"]


def test_overwrite_replaces_an_earlier_lesionai_result(phantom_files, tmp_path):
    folder, _, _ = phantom_files
    arguments = ["severity", str(folder / "frontal_png.png"), "-o", str(tmp_path), "--progress", "none"]
    assert cli.main(arguments) == 0
    assert cli.main(arguments) == 1
    assert cli.main(arguments + ["--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frontal_png"]


def test_json_progress_from_a_real_subprocess(phantom_files, tmp_path):
    folder, _, _ = phantom_files
    completed = subprocess.run(
        [sys.executable, "-m", "lesionai.cli", "severity", str(folder / "frontal_png.png"), "-o", str(tmp_path),
         "--progress", "json"], check=False, capture_output=True, text=True, cwd=REPO_ROOT / "LesionAICore",
        timeout=300)
    events = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    assert completed.returncode == 0, completed.stderr
    fractions = [e["fraction"] for e in events if e["event"] == "progress"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert next(e for e in events if e["event"] == "result")["output"].endswith("frontal_png")


def test_models_list_and_verify(capsys):
    assert cli.main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert all(model in listed for model in ("cxr-lung-unet", "cxr-lung-stn", "cxr-view-check"))
    assert cli.main(["models", "verify"]) == 0


def test_demo_writes_a_report(tmp_path):
    assert cli.main(["demo", "-o", str(tmp_path), "--phantoms", "2", "--tasks", "severity", "--progress", "none"]) == 0
    report = (tmp_path / "index.html").read_text()
    assert "Not scored" in report and "lateral view" in report  # the lateral phantom is refused, and shown
    assert "phantom-1-frontal" in report and (tmp_path / "results" / "severity" / "phantom-1-frontal" / "overlay.png").is_file()
    assert cli.main(["demo", "-o", str(tmp_path), "--phantoms", "2", "--tasks", "severity", "--progress", "none"]) == 0


def test_the_segmentation_file_needs_no_mrml_library(phantom_files, tmp_path, monkeypatch):
    import sys

    folder, _, _ = phantom_files
    monkeypatch.setitem(sys.modules, "slicer", None)  # "import slicer" fails, as without slicer-core
    assert cli.main(["severity", str(folder / "frontal_png.png"), "-o", str(tmp_path), "--progress", "none"]) == 0
    case = tmp_path / "frontal_png"
    assert (case / "segmentation.seg.nrrd").is_file() and (case / "lungs.nrrd").is_file()
    assert not any("segmentation.seg.nrrd" in w for w in json.loads((case / "result.json").read_text())["warnings"])


def test_a_tampered_model_file_stops_the_pipeline_with_a_clear_error(tmp_path, phantom_files):
    import shutil

    from lesionai.errors import ModelError
    from lesionai.registry import ModelRegistry
    from lesionai.severity.pipeline import SeverityPipeline

    packaged = ModelRegistry.load()
    models = tmp_path / "models"
    shutil.copytree(packaged.models_dir, models)
    weights = models / packaged.get("cxr-lung-unet").file
    content = bytearray(weights.read_bytes())
    content[len(content) // 2] ^= 0xFF  # one flipped byte in the middle of the weights
    weights.write_bytes(bytes(content))
    pipeline = SeverityPipeline(ModelRegistry.load(models / "registry.json"))
    with pytest.raises(ModelError, match="cxr-lung-unet"):
        pipeline.run(phantom_files[1].image)


def test_a_failing_segmentation_file_costs_that_file_and_a_warning_not_the_run(phantom_files, tmp_path, monkeypatch):
    from lesionai import results

    def broken(*arguments):
        raise RuntimeError("vtkMRMLSegmentationStorageNode could not write")

    folder, _, _ = phantom_files
    monkeypatch.setattr(results, "write_segmentation_file", broken)
    assert cli.main(["severity", str(folder / "frontal_png.png"), "-o", str(tmp_path), "--progress", "none"]) == 0
    case = tmp_path / "frontal_png"
    assert not (case / "segmentation.seg.nrrd").exists() and (case / "lungs.nrrd").is_file()
    warnings = json.loads((case / "result.json").read_text())["warnings"]
    assert any("could not write" in w and "label maps hold the same labels" in w for w in warnings)
