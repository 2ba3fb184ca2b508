"""The classifier networks: separable ResNet shapes, feature masking, fusion head, ONNX parity."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from lesionai.nodule.classifier_input import FEATURE_NAMES
from lesionai.runtime import OnnxModel
from lesionai.training.export import export_onnx
from lesionai.training.nodule.classifier_networks import (
    FusedClassifier,
    FusionHead,
    MaskedTabularEncoder,
    SeparableResNet3d,
)

AGE = FEATURE_NAMES.index("Age")


def tabular_network(seed=0):
    torch.manual_seed(seed)
    network = MaskedTabularEncoder(FEATURE_NAMES, ("Volume",), width=16, depth=1, heads=2).eval()
    features = torch.rand(64, len(FEATURE_NAMES)) * 100
    network.set_standardisation(features, torch.zeros_like(features))
    return network


def test_separable_resnet_runs_at_every_progressive_size():
    network = SeparableResNet3d(width=4).eval()
    for shape in ((8, 16, 16), (16, 32, 32)):
        logit, texture = network(torch.zeros(3, 2, *shape))
        assert logit.shape == (3,) and texture.shape == (3, 3)
    depthwise = [m for m in network.modules() if isinstance(m, torch.nn.Conv3d) and m.groups > 1]
    assert depthwise and all(m.groups == m.in_channels for m in depthwise)


def test_a_masked_value_never_reaches_the_network():
    network = tabular_network()
    features, missing = torch.full((1, len(FEATURE_NAMES)), 50.0), torch.zeros(1, len(FEATURE_NAMES))
    missing[0, AGE] = 1.0
    with torch.no_grad():
        reference = network(features, missing)[0]
        features[0, AGE] = 95.0  # a different age behind the mask
        assert network(features, missing)[0] == pytest.approx(reference.item(), abs=1e-6)


def test_a_given_value_changes_the_prediction_and_masking_it_uses_the_mask_token():
    network = tabular_network()
    features, missing = torch.full((2, len(FEATURE_NAMES)), 50.0), torch.zeros(2, len(FEATURE_NAMES))
    features[1, AGE] = 80.0
    with torch.no_grad():
        given = network(features, missing)[0]
        missing[:, AGE] = 1.0
        masked = network(features, missing)[0]
    assert given[0] != pytest.approx(given[1].item(), abs=1e-6)
    assert masked[0] == pytest.approx(masked[1].item(), abs=1e-6)
    assert masked[0] != pytest.approx(given[0].item(), abs=1e-6)


def test_reconstruction_predicts_every_variable():
    network = tabular_network()
    features, missing = torch.rand(5, len(FEATURE_NAMES)), torch.ones(5, len(FEATURE_NAMES))
    assert network.reconstruct(features, missing).shape == (5, len(FEATURE_NAMES))


def test_fused_model_exports_to_onnx_with_the_same_outputs(tmp_path):
    torch.manual_seed(1)
    image = SeparableResNet3d(width=4)
    tabular = tabular_network()
    model = FusedClassifier(image, tabular, FusionHead(image.representation_size, tabular.representation_size)).eval()
    crop, features = torch.rand(2, 2, 8, 16, 16), torch.rand(2, len(FEATURE_NAMES)) * 10
    mask = torch.zeros(2, len(FEATURE_NAMES))
    mask[:, :2] = 1
    names = ["fusion_probability", "image_probability", "tabular_probability", "texture_probabilities"]
    path = export_onnx(model, (crop[:1], features[:1], mask[:1]), tmp_path / "fused.onnx",
                       ["crop", "features", "feature_mask"], names)
    outputs = OnnxModel(path, threads=1).run({"crop": crop.numpy(), "features": features.numpy(),
                                              "feature_mask": mask.numpy()})
    with torch.no_grad():
        expected = model(crop, features, mask)
    for name, value in zip(names, expected):
        np.testing.assert_allclose(outputs[name], value.numpy(), atol=1e-5)
    assert np.allclose(outputs["texture_probabilities"].sum(1), 1.0, atol=1e-5)
