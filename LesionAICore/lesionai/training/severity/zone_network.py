"""The position-aware zone classifier: CNN trunk -> 1x1 projection -> transformer with a learned 2D
position embedding -> pooling over each Brixia zone -> one shared head (4 score logits per zone).

Inputs: ``image`` (B, 1, H, W) in [0, 1] and ``zones`` (B, 1, H, W), the zone labelmap (0 outside the
lungs, 1-6 = zones A-F of the STN-aligned frame) on the same grid. Outputs:

* ``zone_logits`` (B, 6, 4): logits of scores 0-3 for zones A-F;
* ``features`` (B, D, h, w): the token features the zones are pooled from (after the final norm);
* ``head_weight`` (B, 4, D): the shared head's weights, repeated per image (an output that depends
  on the input keeps the ONNX exporter from folding it into a nameless constant).

Because pooling is a weighted mean of ``features`` and the head is linear, the gradient of any
zone's logits with respect to ``features`` is known in closed form; that is what lets the
pipeline draw Grad-CAM maps from the ONNX outputs without autograd
(:func:`lesionai.severity.scoring.zone_cams`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ZONE_COUNT, SCORE_COUNT = 6, 4


def _conv(channels_in: int, channels_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels_in, channels_out, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(channels_out), nn.ReLU(inplace=True))


class Trunk(nn.Sequential):
    """Four stride-2 stages (1/16 of the input), two convolutions each after the first."""

    def __init__(self, widths: tuple[int, ...]):
        layers, channels = [], 1
        for index, width in enumerate(widths):
            layers.append(_conv(channels, width, stride=2))
            if index > 0:
                layers.append(_conv(width, width))
            channels = width
        super().__init__(*layers)


class SelfAttention(nn.Module):
    """Multi-head self-attention written with plain matrix products (exports to any ONNX opset)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv, self.out = nn.Linear(dim, dim * 3), nn.Linear(dim, dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, count, dim = tokens.shape
        qkv = self.qkv(tokens).reshape(batch, count, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        weights = torch.softmax(qkv[0] @ qkv[1].transpose(-2, -1) * self.scale, dim=-1)
        return self.out((weights @ qkv[2]).transpose(1, 2).reshape(batch, count, dim))


class EncoderBlock(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.norm1, self.attention = nn.LayerNorm(dim), SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim * 2, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens + self.dropout(self.attention(self.norm1(tokens)))
        return tokens + self.dropout(self.mlp(self.norm2(tokens)))


class ZoneSeverityNet(nn.Module):
    def __init__(self, input_size: tuple[int, int], widths=(16, 32, 64, 96), dim: int = 64, heads: int = 4,
                 layers: int = 2, dropout: float = 0.1):
        super().__init__()
        self.grid = (input_size[0] // 16, input_size[1] // 16)
        self.trunk = Trunk(tuple(widths))
        self.project = nn.Conv2d(widths[-1], dim, 1)
        self.position = nn.Parameter(torch.randn(1, dim, *self.grid) * 0.02)
        self.encoder = nn.Sequential(*[EncoderBlock(dim, heads, dropout) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(dim, SCORE_COUNT)
        # Per-zone score prior (lower zones are affected more often); a bias leaves Grad-CAM unchanged.
        self.zone_bias = nn.Parameter(torch.zeros(ZONE_COUNT, SCORE_COUNT))

    def forward(self, image: torch.Tensor, zones: torch.Tensor):
        features = self.token_features(image)
        pooled = torch.einsum("bzhw,bdhw->bzd", zone_weights(zones, self.grid), features)
        head_weight = self.head.weight.unsqueeze(0).expand(image.shape[0], -1, -1)
        return self.head(self.dropout(pooled)) + self.zone_bias, features, head_weight

    def token_features(self, image: torch.Tensor) -> torch.Tensor:
        """(B, D, h, w) position-aware token features."""
        maps = self.project(self.trunk(image)) + self.position
        batch, dim, height, width = maps.shape
        tokens = self.norm(self.encoder(maps.flatten(2).transpose(1, 2)))
        return tokens.transpose(1, 2).reshape(batch, dim, height, width)


class ZoneEnsemble(nn.Module):
    """Members averaged in logit space, exported as one model with the same three outputs.

    Averaging logits of members ``W_m . pool(F_m) + b_m`` equals one linear head
    ``[W_1 .. W_M] / M`` over the concatenated features ``[F_1 .. F_M]`` plus the mean biases, so
    ``features`` (B, M D, h, w) and ``head_weight`` (B, 4, M D) keep the closed-form Grad-CAM exact.
    """

    def __init__(self, members: list[ZoneSeverityNet]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, image: torch.Tensor, zones: torch.Tensor):
        features = torch.cat([member.token_features(image) for member in self.members], dim=1)
        weight = torch.cat([member.head.weight for member in self.members], dim=1) / len(self.members)
        bias = torch.stack([member.head.bias + member.zone_bias for member in self.members]).mean(0)
        pooled = torch.einsum("bzhw,bdhw->bzd", zone_weights(zones, self.members[0].grid), features)
        return pooled @ weight.T + bias, features, weight.unsqueeze(0).expand(image.shape[0], -1, -1)


def zone_weights(zones: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """(B, 6, h, w) pooling weights: each zone's area share per token, normalised to sum 1 per zone
    (all zeros for a zone that is absent)."""
    one_hot = torch.cat([(zones == index + 1).float() for index in range(ZONE_COUNT)], dim=1)
    shares = F.adaptive_avg_pool2d(one_hot, grid)
    return shares / shares.sum(dim=(2, 3), keepdim=True).clamp(min=1e-6)
