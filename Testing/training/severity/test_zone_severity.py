"""Zone-severity classifier: Grad-CAM without autograd equals autograd's, scoring rules, and the
recipe trains, decides its score rule and exports an ONNX model the pipeline can read."""

import json

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")

from lesionai import cli
from lesionai.runtime import OnnxModel
from lesionai.severity.scoring import heat_map, scores_from_probabilities, softmax, zone_cams, zone_score_table
from lesionai.training import recipes
from lesionai.training.attention import grad_cam
from lesionai.training.config import load_config
from lesionai.training.severity.cxr_data import write_phantom_collection
from lesionai.training.severity.zone_network import ZoneEnsemble, ZoneSeverityNet
from lesionai.training.severity.zone_severity import (
    class_weights,
    group_folds,
    low_confidence_threshold,
    zone_attention_loss,
)

QUICK = {"epochs": 2, "input_size": [64, 64], "batch_size": 4, "folds": 2, "members": 2,
         "pretrain": {"epochs": 1, "learning_rate": 0.002},
         "network": {"widths": [4, 8, 8, 16], "dim": 16, "heads": 2, "layers": 1, "dropout": 0.0}}


def zone_map(size: int = 64) -> torch.Tensor:
    """(1, 1, size, size) labelmap with zones A-C in the left half, D-F in the right, in thirds."""
    zones = torch.zeros(1, 1, size, size)
    for index in range(3):
        rows = slice(8 + index * 16, 8 + (index + 1) * 16)
        zones[0, 0, rows, 4:30], zones[0, 0, rows, 34:60] = index + 1, index + 4
    return zones


def small_network() -> ZoneSeverityNet:
    return ZoneSeverityNet((64, 64), (4, 8, 8, 16), dim=16, heads=2, layers=1, dropout=0.0)


@pytest.mark.parametrize("members", [1, 3])
def test_gradcam_from_onnx_outputs_equals_autograd_gradcam(members):
    """Holds for one network and for an ensemble (averaged logits over concatenated features)."""
    torch.manual_seed(1)
    network = ZoneEnsemble([small_network() for _ in range(members)]).eval()
    image = torch.rand(1, 1, 64, 64)
    logits, features, head_weight = network(image, zone_map())
    probabilities = torch.softmax(logits, -1)
    expected_scores = probabilities @ torch.arange(4.0)
    closed_form = zone_cams(features[0].detach().double().numpy(), head_weight[0].detach().double().numpy(),
                            probabilities[0].detach().double().numpy())
    for zone in range(6):
        autograd_cam = grad_cam(features, expected_scores[:, zone])[0].detach().numpy()
        np.testing.assert_allclose(closed_form[zone], autograd_cam, rtol=1e-4, atol=1e-7)
    assert closed_form.max() > 0


def test_score_rules_and_zone_table():
    probabilities = np.array([[0.4, 0.0, 0.3, 0.3]] * 6)
    assert scores_from_probabilities(probabilities, "argmax").tolist() == [0] * 6
    assert scores_from_probabilities(probabilities, "expected").tolist() == [2] * 6  # 1.5 rounds to even
    assert scores_from_probabilities(probabilities, "median").tolist() == [2] * 6  # P(<=1) = 0.4, P(<=2) = 0.7
    assert scores_from_probabilities(np.array([0.5, 0.1, 0.1, 0.3]), "median") == 0
    table = zone_score_table(probabilities, "argmax", low_confidence=0.5)
    assert list(table) == list("ABCDEF")
    assert table["A"] == {"score": 0, "probabilities": [0.4, 0.0, 0.3, 0.3], "confidence": 0.4, "low_confidence": True}
    with pytest.raises(ValueError, match="unknown score rule"):
        scores_from_probabilities(probabilities, "mode")
    assert np.allclose(softmax(np.zeros((2, 4))), 0.25)


def test_heat_map_puts_each_zones_map_in_its_zone_and_scales_to_one():
    zones = np.zeros((32, 32), np.uint8)
    zones[:16, :16], zones[16:, 16:] = 1, 6
    cams = np.zeros((6, 4, 4))
    cams[0] = 2.0
    cams[5] = 1.0
    heat = heat_map(cams, zones)
    assert heat.dtype == np.float32 and heat.shape == (32, 32)
    assert heat[:16, :16].min() == pytest.approx(1.0) and heat[16:, 16:].max() == pytest.approx(0.5)
    assert heat[zones == 0].max() == 0
    assert heat_map(np.zeros((6, 4, 4)), zones).max() == 0


def test_class_weights_favour_rare_scores_and_folds_keep_patients_together():
    weights = class_weights(np.array([[0] * 5 + [1] * 3 + [2] * 2 + [3]]))
    assert weights.argmax() == 3 and weights.argmin() == 0 and weights.mean() == pytest.approx(1.0)
    groups = ["p1", "p1", "p2", "p3", "p3", "p4"]
    folds = group_folds(groups, 2, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(6))
    for fold in folds:
        held_out = {groups[i] for i in fold}
        assert all(groups[i] not in held_out for other in folds if other is not fold for i in other)


def test_low_confidence_threshold_separates_wrong_scores_from_right_ones():
    probabilities = np.zeros((4, 6, 4))
    probabilities[..., 0] = 0.9
    probabilities[..., 1] = 0.1
    probabilities[:2, :, 0], probabilities[:2, :, 1] = 0.45, 0.55  # unsure zones, all wrong
    targets = np.zeros((4, 6), int)
    targets[:2] = 0
    assert low_confidence_threshold(probabilities, targets, "argmax") == pytest.approx(0.6)  # 0.55 < t <= 0.9


def test_zone_attention_term_has_gradients_for_abnormal_zones_only():
    torch.manual_seed(1)  # a seed whose maps have several tokens above the threshold (one alone has no gradient)
    network = small_network()
    zones = zone_map().repeat(2, 1, 1, 1)
    logits, features, _ = network(torch.rand(2, 1, 64, 64), zones)
    normal = zone_attention_loss(logits, features, zones, torch.zeros(2, 6, dtype=torch.long), 0.5)
    assert normal.item() == 0.0
    abnormal = zone_attention_loss(logits, features, zones, torch.full((2, 6), 2, dtype=torch.long), 0.5)
    abnormal.backward()
    assert abnormal.item() > 0.5  # each zone is a sixth of the image: most of the map lies outside it
    assert network.project.weight.grad.abs().sum() > 0


def test_zone_attention_term_is_zero_when_the_zone_holds_the_whole_map():
    torch.manual_seed(1)
    network, image = small_network(), torch.rand(2, 1, 64, 64)
    whole_image_is_zone_a = torch.ones(2, 1, 64, 64)
    zone_a_abnormal = torch.zeros(2, 6, dtype=torch.long)
    zone_a_abnormal[:, 0] = 2
    logits, features, _ = network(image, whole_image_is_zone_a)
    inside = zone_attention_loss(logits, features, whole_image_is_zone_a, zone_a_abnormal, 0.5)
    logits, features, _ = network(image, zone_map().repeat(2, 1, 1, 1))
    outside = zone_attention_loss(logits, features, zone_map().repeat(2, 1, 1, 1), zone_a_abnormal, 0.5)
    assert inside.item() == pytest.approx(0.0, abs=1e-6) and outside.item() > 0.5


@pytest.fixture(scope="module")
def scored_phantoms(tmp_path_factory):
    return write_phantom_collection(tmp_path_factory.mktemp("scored-cxr"), {"train": 6, "val": 3}, size=(160, 160),
                                    zone_scores=True)


def test_the_baseline_constant_is_chosen_on_the_train_split():
    from lesionai.training.severity.zone_evaluation import best_constant

    train = np.array([[0, 1, 1, 2, 1, 3], [1, 1, 0, 1, 2, 1]])
    assert best_constant(train) == 1
    assert best_constant(np.full((2, 6), 3)) == 3 and best_constant(np.array([[0, 3]])) == 0  # ties: lowest


def test_recipe_trains_with_folds_and_exports_onnx_that_matches_torch(scored_phantoms, tmp_path):
    config = load_config(recipes.default_config("zone-severity"), QUICK)
    config.update(data_root=str(scored_phantoms), attention={"enabled": True, "lambda": "adaptive", "threshold": 0.5})
    (tmp_path / "zone.yaml").write_text(yaml.safe_dump(config))
    run_dir = tmp_path / "run"
    assert cli.main(["train", "zone-severity", "--config", str(tmp_path / "zone.yaml"), "--run-dir", str(run_dir)]) == 0
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["train_cases"] == 6 and metrics["val_cases"] == 3
    assert {"cv_zone_mae_argmax", "cv_zone_mae_expected", "val_zone_mae", "val_zone_mae_junior", "val_cam_in_zone",
            "val_zone_mae_member_mean"} <= set(metrics)
    assert "val_zone_mae_mean_predictor" not in metrics  # the baseline is chosen on train, never on val
    assert metrics["train_constant"] in (0, 1, 2, 3)
    assert "pretrain epoch 0" in (run_dir / "train.log").read_text()
    assert saved["model"]["output"]["score_rule"] in ("argmax", "expected", "median")
    assert saved["model"]["output"]["thresholds"]["low_confidence"] == pytest.approx(metrics["low_confidence_threshold"])

    network = recipes.recipe_module("zone-severity").build_network(saved)
    network.load_state_dict(torch.load(run_dir / "best.pt", map_location="cpu"))
    image, zones = torch.rand(2, 1, 64, 64), zone_map().repeat(2, 1, 1, 1)
    with torch.no_grad():
        expected = [tensor.numpy() for tensor in network.eval()(image, zones)]
    actual = OnnxModel(run_dir / saved["onnx_name"]).run({"image": image.numpy(), "zones": zones.numpy()})
    assert actual["features"].shape[1] == 2 * 16 and actual["head_weight"].shape == (2, 4, 32)  # two members
    for name, value in zip(("zone_logits", "features", "head_weight"), expected):
        np.testing.assert_allclose(actual[name], value, rtol=1e-3, atol=1e-4)
    assert recipes.export_run(run_dir).is_file()
