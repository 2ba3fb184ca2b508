"""The localization-aware attention loss: a Grad-CAM that is differentiable and a loss that moves attention."""

import pytest

torch = pytest.importorskip("torch")

from lesionai.errors import InputError  # noqa: E402
from lesionai.training.attention import (  # noqa: E402
    AttentionSettings,
    attention_loss,
    combined_loss,
    grad_cam,
    localization_ratio,
    region_on_grid,
)


class LinearHead(torch.nn.Module):
    """Global average pooling + linear layer: Grad-CAM of class c is relu(sum_k W_ck A_k) / (h w)."""

    def __init__(self, channels=3, classes=2):
        super().__init__()
        self.linear = torch.nn.Linear(channels, classes)

    def forward(self, activations):
        return self.linear(activations.mean(dim=(2, 3)))


def test_grad_cam_matches_the_closed_form_of_a_pooled_linear_head():
    torch.manual_seed(0)
    head, activations = LinearHead(), torch.randn(2, 3, 4, 5, requires_grad=True)
    logits = head(activations)
    cam = grad_cam(activations, logits[:, 1])
    expected = torch.relu(torch.einsum("k,bkhw->bhw", head.linear.weight[1], activations)) / 20
    assert torch.allclose(cam, expected, atol=1e-6)


def test_ratio_counts_energy_above_the_threshold_inside_the_region():
    cam = torch.zeros(1, 4, 4)
    cam[0, 0, 0], cam[0, 3, 3], cam[0, 1, 1] = 1.0, 1.0, 0.1  # 0.1 is under half the maximum
    region = torch.zeros(1, 4, 4)
    region[0, :2, :2] = 1
    assert localization_ratio(cam, region).item() == pytest.approx(0.5)
    assert localization_ratio(cam, torch.ones_like(region)).item() == pytest.approx(1.0)
    assert localization_ratio(torch.zeros_like(cam), region).item() == 1.0


def test_loss_applies_only_to_flagged_samples():
    cam = torch.ones(2, 2, 2)
    region = torch.zeros(2, 2, 2)
    region[1] = 1
    assert attention_loss(cam, region, torch.tensor([True, False])).item() == pytest.approx(1.0)
    assert attention_loss(cam, region, torch.tensor([False, True])).item() == pytest.approx(0.0)
    assert attention_loss(cam, region, torch.tensor([False, False])).item() == 0.0


def test_region_is_averaged_onto_the_map_grid():
    region = torch.zeros(1, 8, 8)
    region[0, :, :4] = 1
    assert region_on_grid(region, (2, 2)).tolist() == [[[1.0, 0.0], [1.0, 0.0]]]


def test_attention_term_trains_the_network_towards_the_region():
    """The published code computed the map on a detached copy; here the term has gradients and
    optimising it alone moves the activation energy into the region."""
    torch.manual_seed(0)
    conv, head = torch.nn.Conv2d(1, 4, 3, padding=1), LinearHead(4, 2)
    images = torch.rand(4, 1, 8, 8) * 0.2
    images[:, :, :, 4:] += 1  # the bright half draws the activation energy ...
    region = torch.zeros(4, 8, 8)
    region[:, :, :4] = 1  # ... away from the target region
    parameters = list(conv.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(parameters, lr=0.05)

    def ratio_and_loss():
        activations = conv(images)
        cam = grad_cam(activations, head(activations)[:, 1])
        return localization_ratio(cam, region).mean(), attention_loss(cam, region, torch.ones(4, dtype=torch.bool))

    before, loss = ratio_and_loss()
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in conv.parameters())
    for _ in range(60):
        optimizer.zero_grad()
        ratio_and_loss()[1].backward()
        optimizer.step()
    assert ratio_and_loss()[0].item() > before.item() + 0.2


def test_lambda_schedules_and_bad_settings():
    adaptive = AttentionSettings({"enabled": True})
    assert [adaptive.weight(e) for e in (0, 10, 40)] == pytest.approx([1.0, 0.77, 0.2])
    assert AttentionSettings({"enabled": True, "lambda": 0.6}).weight(30) == 0.6
    assert AttentionSettings(None).weight(0) == 1.0
    assert combined_loss(torch.tensor(2.0), torch.tensor(1.0), 0.25).item() == pytest.approx(1.25)
    with pytest.raises(InputError, match="attention.lambda"):
        AttentionSettings({"enabled": True, "lambda": 1.5})
    with pytest.raises(InputError, match="attention.threshold"):
        AttentionSettings({"enabled": True, "threshold": 1.0})
