"""Backbones of the finding classifier, trained from scratch: a ResNet, a DenseNet and a ViT (MONAI).

Each network is split into an *activation map* (B, K, h, w) and a *classifier* from that map to the
logits, so that a Grad-CAM of any logit can be taken on the map (see ``training/attention.py``):

- ResNet / DenseNet: the last feature map before global average pooling.
- ViT: the patch tokens entering the last transformer block, reshaped to the patch grid (the class
  token is kept aside). After the last block the class token -- the only token the head reads --
  no longer mixes with the patch tokens, so a map taken there would get no gradient.

``forward(image)`` returns the logits only (what the ONNX export has as ``finding_logits``);
``logits_and_activations(image)`` returns both for training and for the Grad-CAM. (A flag argument
of ``forward`` would not do: the TorchScript-based ONNX exporter turns default arguments into graph
inputs.)
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ...errors import InputError

BACKBONES = ("resnet", "densenet", "vit")


class FindingNetwork(nn.Module):
    """(B, 1, H, W) radiograph in [0, 1] -> (B, C) finding logits, through a spatial activation map."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.logits_and_activations(image)[0]

    def logits_and_activations(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, C), activations (B, K, h, w)), the logits computed from the activations."""
        activations, context = self.activation_map(image)
        return self.classify(activations, context), activations

    def activation_map(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(activations (B, K, h, w), whatever else ``classify`` needs, or None)."""
        raise NotImplementedError

    def classify(self, activations: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError


class ResNetFinding(FindingNetwork):
    """MONAI ResNet with basic blocks (``layers`` [2, 2, 2, 2] = ResNet-18; ``width`` 64 = its
    published channel widths). The stem has stride 2 and no max pooling, so the map is 1/16 of the
    input (8 x 8 at 128 px)."""

    def __init__(self, class_count: int, width: int = 16, layers=(2, 2, 2, 2)):
        super().__init__()
        from monai.networks.nets import ResNet

        self.net = ResNet("basic", list(layers), [width * 2 ** level for level in range(4)], spatial_dims=2,
                          n_input_channels=1, conv1_t_size=7, conv1_t_stride=2, no_max_pool=True,
                          num_classes=class_count)

    def activation_map(self, image):
        net = self.net
        stem = net.act(net.bn1(net.conv1(image)))
        return net.layer4(net.layer3(net.layer2(net.layer1(stem)))), None

    def classify(self, activations, context):
        return self.net.fc(self.net.avgpool(activations).flatten(1))


class DenseNetFinding(FindingNetwork):
    """MONAI DenseNet. ``block_config`` [6, 12, 24, 16], ``growth_rate`` 32, ``init_features`` 64 is
    DenseNet-121 (map 1/32 of the input); the recipe's compact default has three dense blocks (map
    1/16 of the input) so that it trains on a CPU."""

    def __init__(self, class_count: int, block_config=(4, 8, 12), growth_rate: int = 16, init_features: int = 32):
        super().__init__()
        from monai.networks.nets import DenseNet

        self.net = DenseNet(spatial_dims=2, in_channels=1, out_channels=class_count, init_features=init_features,
                            growth_rate=growth_rate, block_config=tuple(block_config))

    def activation_map(self, image):
        return self.net.class_layers.relu(self.net.features(image)), None

    def classify(self, activations, context):
        layers = self.net.class_layers
        return layers.out(layers.flatten(layers.pool(activations)))


class ViTFinding(FindingNetwork):
    """MONAI ViT with a class token and a linear head on it (no tanh), on a ``patch_size`` grid."""

    def __init__(self, class_count: int, input_size, patch_size: int = 16, hidden_size: int = 128,
                 mlp_dim: int = 256, num_layers: int = 4, num_heads: int = 4, dropout: float = 0.1):
        super().__init__()
        from monai.networks.nets import ViT

        self.grid = _patch_grid(input_size, patch_size)
        self.vit = ViT(in_channels=1, img_size=tuple(input_size), patch_size=patch_size, hidden_size=hidden_size,
                       mlp_dim=mlp_dim, num_layers=num_layers, num_heads=num_heads, classification=True,
                       num_classes=class_count, dropout_rate=dropout, spatial_dims=2, post_activation=None)

    def activation_map(self, image):
        vit = self.vit
        patches = vit.patch_embedding(image)
        tokens = torch.cat((vit.cls_token.expand(patches.shape[0], -1, -1), patches), dim=1)
        for block in vit.blocks[:-1]:
            tokens = block(tokens)
        return tokens[:, 1:].transpose(1, 2).unflatten(2, self.grid), tokens[:, :1]

    def classify(self, activations, class_token):
        tokens = torch.cat((class_token, activations.flatten(2).transpose(1, 2)), dim=1)
        return self.vit.classification_head(self.vit.norm(self.vit.blocks[-1](tokens))[:, 0])


def _patch_grid(input_size, patch_size: int) -> tuple[int, int]:
    rows, cols = (int(n) for n in input_size)
    if rows % patch_size or cols % patch_size:
        raise InputError(f"input_size {rows} x {cols} is not a multiple of the ViT patch_size {patch_size}; "
                         "choose sizes that the patch size divides")
    return rows // patch_size, cols // patch_size


def build_backbone(name: str, class_count: int, input_size, settings: dict | None = None) -> FindingNetwork:
    """The backbone ``name`` (resnet, densenet or vit) built with ``settings`` (its keyword arguments)."""
    if name not in BACKBONES:
        raise InputError(f"Unknown backbone '{name}'; choose one of: {', '.join(BACKBONES)}")
    try:
        if name == "vit":
            return ViTFinding(class_count, input_size, **(settings or {}))
        return {"resnet": ResNetFinding, "densenet": DenseNetFinding}[name](class_count, **(settings or {}))
    except TypeError as error:
        raise InputError(f"Settings {settings} do not fit the {name} backbone: {error}") from error
