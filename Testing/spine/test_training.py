"""Spine recipes train, export ONNX and install into a registry the pipeline runs, on generated
phantoms (no development data needed). A few steps only: this checks the machinery, not accuracy."""

import json

import numpy as np
import onnxruntime
import pytest

torch = pytest.importorskip("torch")

from lesionai.phantoms.spine import generate_spine_phantom  # noqa: E402
from lesionai.registry import ModelRegistry  # noqa: E402
from lesionai.spine.pipeline import CORD_MODEL, LESION_MODEL, SpinePipeline  # noqa: E402
from lesionai.training.config import RECIPES_DIR, load_config  # noqa: E402
from lesionai.training.install import install_run  # noqa: E402
from lesionai.training.spine import cord_segmentation, lesion_segmentation  # noqa: E402

TINY = {"channels": [4, 8, 16, 32], "epochs": 1, "steps_per_epoch": 3, "batch_size": 4, "progress": False}


def _phantom_sets():
    phantoms = [generate_spine_phantom(seed=1, view="axial", shape=(8, 96, 96), spacing=(0.75, 0.75, 5.0), lesions=1),
                generate_spine_phantom(seed=2, view="sagittal", contrast="T1w", shape=(16, 96, 64),
                                       spacing=(1.0, 1.0, 1.0))]
    sets = [cord_segmentation.slice_set_of(f"phantom {n}", p.image, p.image.with_array(p.cord_mask.astype(np.uint8)))
            for n, p in enumerate(phantoms)]
    return phantoms, sets


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tiny cord and lesion networks exported and installed into an empty registry."""
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("spine_training")
    registry_path = folder / "models" / "registry.json"
    registry_path.parent.mkdir()
    registry_path.write_text(json.dumps({"schema_version": 1, "models": []}))
    phantoms, sets = _phantom_sets()
    cord_config = load_config(RECIPES_DIR / "spine_cord.yaml", TINY)
    cord_run = _run(folder / "cord", cord_config, cord_segmentation.fit(cord_config, sets))
    cord_segmentation.export(cord_run[1], 64, cord_run[0] / cord_config["onnx_name"])
    lesion_config = load_config(RECIPES_DIR / "spine_lesion.yaml", {**TINY, "copies": 1})
    copies = [lesion_segmentation.lesion_copy(s, "T2w", (5.0, 0.75, 0.75), np.random.default_rng(0), 48) for s in sets]
    lesion_run = _run(folder / "lesion", lesion_config, lesion_segmentation.fit(lesion_config, copies))
    lesion_segmentation.export(lesion_run[1], 48, lesion_run[0] / lesion_config["onnx_name"])
    for run_dir, _ in (cord_run, lesion_run):
        install_run(run_dir, registry_path)
    return ModelRegistry.load(registry_path), phantoms, cord_run[0] / cord_config["onnx_name"]


def _run(run_dir, config, network):
    from lesionai.training.runs import save_config, save_metrics

    run_dir.mkdir()
    save_config(config, run_dir)
    save_metrics(run_dir, {"train_cases": 2})
    return run_dir, network


def test_cord_network_takes_batches_of_windows(trained):
    _, _, onnx_path = trained
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"image": np.zeros((3, 1, 64, 64), np.float32)})[0]
    assert logits.shape == (3, 1, 64, 64)


def test_installed_models_run_in_the_pipeline_on_the_input_grid(trained):
    registry, phantoms, _ = trained
    assert CORD_MODEL in registry and LESION_MODEL in registry
    for phantom in phantoms:
        result = SpinePipeline(registry=registry, threads=1, scan_checker=None).run(phantom.image)
        assert result.labels.array.shape == phantom.image.array.shape
        assert result.labels.array.dtype == np.uint8
        assert result.labels.geometry == phantom.image.geometry
        assert set(np.unique(result.labels.array)) <= {0, 1, 2}
        assert set(result.models) == {CORD_MODEL, LESION_MODEL}


def test_lesion_copies_hold_lesions_in_cord_windows():
    _, sets = _phantom_sets()
    copy = lesion_segmentation.lesion_copy(sets[1], "T1w", (1.0, 0.75, 0.75), np.random.default_rng(3), 48)
    assert copy.images.shape[1:] == (48, 48) and copy.masks.shape == copy.images.shape
    assert copy.with_lesion.sum() == copy.masks.reshape(len(copy.masks), -1).any(axis=1).sum()


def test_lesion_scores_count_detections_and_false_positives():
    truth = np.zeros((10, 10, 10), bool)
    truth[1:3, 1:3, 1:3] = True
    truth[6:8, 6:8, 6:8] = True
    prediction = np.zeros_like(truth)
    prediction[1:3, 1:3, 1:3] = True
    prediction[6, 1, 8] = True
    scores = lesion_segmentation.lesion_scores(prediction, truth)
    assert (scores["lesions"], scores["detected"], scores["false_positives"]) == (2, 1, 1)
    assert scores["dice"] == pytest.approx(2 * 8 / (9 + 16))


@pytest.mark.parametrize("recipe", ["spine-cord", "spine-lesion"])
def test_recipes_train_through_the_shared_loop(recipe, spine_data, tmp_path):
    """``lesionai train <recipe>`` on the development data: checkpoint, metrics and an ONNX file that
    gives the checkpoint's logits."""
    import yaml

    from lesionai import cli
    from lesionai.runtime import OnnxModel
    from lesionai.training import recipes

    module = recipes.recipe_module(recipe)
    config = load_config(recipes.default_config(recipe), {**TINY, "epochs": 1, "steps_per_epoch": 2, "copies": 1}
                         if recipe == "spine-lesion" else {**TINY, "epochs": 1, "steps_per_epoch": 2})
    config["data_root"] = str(spine_data)
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    run_dir = tmp_path / "run"
    assert cli.main(["train", recipe, "--config", str(config_path), "--run-dir", str(run_dir)]) == 0
    assert json.loads((run_dir / "metrics.json").read_text())
    network = module.build_network(config)
    network.load_state_dict(torch.load(run_dir / "best.pt", map_location="cpu"))
    window = torch.rand(2, 1, config["window"], config["window"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = network.eval()(window).numpy()
    actual = OnnxModel(run_dir / config["onnx_name"]).run({"image": window.numpy()})[module.OUTPUT_NAMES[0]]
    np.testing.assert_allclose(actual, expected, rtol=1e-3, atol=1e-4)
