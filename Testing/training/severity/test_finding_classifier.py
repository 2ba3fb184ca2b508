"""The finding classifier recipe: trains from class folders or cases.csv with three backbones, exports
ONNX that matches torch, reports classification metrics, and its attention term trains the network."""

import json

import numpy as np
import pytest
import yaml
from PIL import Image as PILImage

torch = pytest.importorskip("torch")
pytest.importorskip("monai")

from lesionai import cli
from lesionai.errors import InputError
from lesionai.phantoms.cxr import eight_bit, generate_cxr_phantom
from lesionai.runtime import OnnxModel
from lesionai.training import recipes
from lesionai.training.config import load_config
from lesionai.training.severity import finding_classifier
from lesionai.training.severity.finding_backbones import build_backbone
from lesionai.training.severity.finding_data import finding_class, split_items

RECIPE = "finding-classifier"
TINY_BACKBONES = {
    "resnet": {"layers": [1, 1, 1, 1], "width": 4},
    "densenet": {"block_config": [2, 2], "growth_rate": 4, "init_features": 8},
    "vit": {"patch_size": 8, "hidden_size": 16, "mlp_dim": 32, "num_layers": 2, "num_heads": 2, "dropout": 0.0},
}
QUICK = {"epochs": 2, "input_size": [64, 64], "batch_size": 4, "backbones": TINY_BACKBONES, "threads": 1}
FOLDER_COUNTS = {"train": 4, "val": 3, "test": 2}


def _phantom_radiograph(seed: int, abnormal: bool) -> tuple[np.ndarray, np.ndarray]:
    """An 8-bit phantom and its 0/255 lung mask; abnormal ones carry a bright blob inside a lung."""
    phantom = generate_cxr_phantom(seed=seed, size=(96, 96))
    image, lungs = phantom.image.array[0], phantom.lung_labels[0] > 0
    if abnormal:
        rows, cols = np.nonzero(lungs)
        centre = np.random.default_rng(seed).integers(len(rows))
        grid_rows, grid_cols = np.mgrid[:96, :96]
        distance = (grid_rows - rows[centre]) ** 2 + (grid_cols - cols[centre]) ** 2
        image = image + 2500 * np.exp(-distance / (2 * 6.0 ** 2))
    return eight_bit(image), lungs.astype(np.uint8) * 255


@pytest.fixture(scope="module")
def finding_folders(tmp_path_factory):
    """``{train,val,test}/{normal,pneumonia}/*.png`` generated radiographs; the masks/ tree has the
    lung masks of every other image."""
    root = tmp_path_factory.mktemp("finding-folders")
    seed = 0
    for split, count in FOLDER_COUNTS.items():
        for name in ("normal", "pneumonia"):
            for index in range(count):
                image, mask = _phantom_radiograph(seed, abnormal=name == "pneumonia")
                _save(root / split / name / f"case{index}.png", image)
                if index % 2 == 0:
                    _save(root / "masks" / split / name / f"case{index}.png", mask)
                seed += 1
    return root


def _save(path, pixels) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(pixels).save(path)


def folder_config(tmp_path, data_root, **overrides) -> str:
    config = load_config(recipes.default_config(RECIPE), QUICK)
    config.update({"source": "folders", "data_root": str(data_root), "classes": None, **overrides})
    path = tmp_path / "finding.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def train_run(tmp_path, config_path) -> tuple:
    run_dir = tmp_path / "run"
    assert cli.main(["train", RECIPE, "--config", config_path, "--run-dir", str(run_dir)]) == 0
    return run_dir, json.loads((run_dir / "metrics.json").read_text())


def assert_onnx_matches_torch(run_dir) -> None:
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    network = finding_classifier.build_network(saved)
    network.load_state_dict(torch.load(run_dir / "best.pt", map_location="cpu"))
    network.eval()
    images = torch.rand(3, 1, *saved["input_size"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = network(images).numpy()
    outputs = OnnxModel(run_dir / saved["onnx_name"]).run({"image": images.numpy()})
    np.testing.assert_allclose(outputs["finding_logits"], expected, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("backbone", sorted(TINY_BACKBONES))
def test_recipe_trains_on_class_folders_and_exports(backbone, tmp_path, finding_folders):
    run_dir, metrics = train_run(tmp_path, folder_config(tmp_path, finding_folders, backbone=backbone))
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["classes"] == ["normal", "pneumonia"] and saved["seed"] == 20261123
    assert saved["model"]["output"]["labels"] == {0: "normal", 1: "pneumonia"}
    assert metrics["backbone"] == backbone and metrics["train_counts"] == [4, 4] and metrics["val_counts"] == [3, 3]
    for split in ("val", "test"):
        per_class = metrics[f"{split}_per_class"]
        for name in ("normal", "pneumonia"):
            assert set(per_class[name]) >= {"auc", "f1", "sensitivity", "specificity"}
        # two classes: one ranking seen from both sides, so both one-vs-rest AUCs and their mean agree
        assert per_class["normal"]["auc"] == pytest.approx(per_class["pneumonia"]["auc"])
        assert metrics[f"{split}_macro_auc"] == pytest.approx(per_class["pneumonia"]["auc"])
        assert metrics[f"{split}_localization_ratio"] is not None  # the split has masked pneumonia images
        assert np.sum(metrics[f"{split}_confusion_matrix"]) == 2 * FOLDER_COUNTS[split]
    log = (run_dir / "train.log").read_text()
    assert "epoch 1" in log and "val_localization_ratio" in log
    assert_onnx_matches_torch(run_dir)
    (run_dir / saved["onnx_name"]).unlink()
    recipes.export_run(run_dir)
    assert_onnx_matches_torch(run_dir)


def test_attention_option_trains_with_the_attention_term(tmp_path, finding_folders):
    attention = {"enabled": True, "lambda": 0.5, "threshold": 0.5}
    run_dir, metrics = train_run(tmp_path, folder_config(tmp_path, finding_folders, backbone="resnet", attention=attention))
    assert metrics["attention"] is True
    epoch_lines = [line for line in (run_dir / "train.log").read_text().splitlines() if " epoch " in line]
    assert len(epoch_lines) == 2 and all("attention n/a" not in line and "lambda 0.500" in line for line in epoch_lines)


@pytest.mark.parametrize("backbone", sorted(TINY_BACKBONES))
def test_attention_term_has_gradients_for_every_backbone(backbone):
    torch.manual_seed(0)
    network = build_backbone(backbone, 2, (64, 64), TINY_BACKBONES[backbone])
    images, labels = torch.rand(4, 1, 64, 64), torch.tensor([0, 1, 1, 0])
    lung_masks = torch.zeros(4, 1, 64, 64, dtype=torch.long)
    lung_masks[:, :, 16:48, 8:28] = 1
    # threshold 0: all CAM energy counts, so the map of an untrained network has some inside and some outside
    _, attention = finding_classifier.batch_losses(network, images, labels, lung_masks, labels == 1, threshold=0.0)
    assert 0 < attention.item() < 1
    attention.backward()
    stem = next(network.parameters())  # the first layer: the term trains the whole network
    assert stem.grad is not None and stem.grad.abs().sum() > 0


def test_activation_map_is_spatial_and_drives_the_logits():
    network = build_backbone("vit", 3, (64, 64), TINY_BACKBONES["vit"])
    logits, activations = network.logits_and_activations(torch.rand(2, 1, 64, 64))
    assert logits.shape == (2, 3) and activations.shape == (2, 16, 8, 8)
    gradient, = torch.autograd.grad(logits[:, 0].sum(), activations)
    assert gradient.abs().sum() > 0


def test_unknown_backbone_and_misfit_settings_are_input_errors(tmp_path, finding_folders):
    with pytest.raises(InputError, match="Unknown backbone 'alexnet'"):
        build_backbone("alexnet", 2, (64, 64))
    with pytest.raises(InputError, match="not a multiple of the ViT patch_size"):
        build_backbone("vit", 2, (60, 64), {"patch_size": 16})
    with pytest.raises(InputError, match="do not fit the resnet backbone"):
        build_backbone("resnet", 2, (64, 64), {"depth": 18})
    with pytest.raises(InputError, match="Unknown backbone"):
        recipes.train(RECIPE, folder_config(tmp_path, finding_folders, backbone="alexnet"), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_folder_source_reads_sibling_masks_and_refuses_unknown_class_folders(tmp_path, finding_folders):
    items = split_items({"source": "folders"}, finding_folders, "train", ["normal", "pneumonia"])
    assert [item.label for item in items] == [0] * 4 + [1] * 4
    assert [item.mask_path is not None for item in items] == [True, False] * 4
    with pytest.raises(InputError, match="not among the classes"):
        split_items({"source": "folders"}, finding_folders, "val", ["normal"])
    with pytest.raises(InputError, match="Unknown data source"):
        split_items({"source": "dicomweb"}, finding_folders, "val", ["normal"])


def test_findings_map_to_classes_and_unlabelled_rows_are_skipped():
    findings = {"COVID-19": "COVID-19", "No Finding": "no finding"}
    assert finding_class("COVID-19", findings, "other pneumonia") == "COVID-19"
    assert finding_class("SARS", findings, "other pneumonia") == "other pneumonia"
    assert finding_class("SARS", findings, None) is None
    assert finding_class("todo", findings, "other pneumonia") is None
    assert finding_class(" ", findings, "other pneumonia") is None


def test_cases_source_without_findings_is_an_input_error(tmp_path):
    from lesionai.training.severity.cxr_data import write_phantom_collection

    root = write_phantom_collection(tmp_path / "cxr", {"train": 2, "val": 1}, size=(64, 64))
    config = load_config(recipes.default_config(RECIPE), {**QUICK, "data_root": str(root)})
    with pytest.raises(InputError, match="No labelled images for the 'train' split"):
        recipes.train(RECIPE, None, tmp_path / "run", config)


@pytest.mark.realdata
def test_cases_source_builds_the_documented_classes(shared_data):
    config = load_config(recipes.default_config(RECIPE))
    root = shared_data / "cxr"
    counts = {split: np.bincount([item.label for item in split_items(config, root, split, config["classes"])],
                                 minlength=3).tolist() for split in ("train", "val", "test")}
    assert counts == {"train": [235, 56, 9], "val": [68, 16, 6], "test": [0, 0, 0]}
    masked = [item.mask_path is not None for item in split_items(config, root, "val", config["classes"])]
    assert all(masked)


@pytest.mark.realdata
def test_tiny_run_on_real_radiographs(tmp_path, shared_data):
    overrides = {**QUICK, "epochs": 1, "max_cases": 3, "data_root": str(shared_data / "cxr"),
                 "attention": {"enabled": True, "lambda": 0.5}}
    metrics = recipes.train(RECIPE, None, tmp_path / "run", overrides)
    assert metrics["train_counts"] == [3, 3, 3] and metrics["val_counts"] == [3, 3, 3]
    assert metrics["val_localization_ratio"] is not None  # val has lung-masked abnormal radiographs
