"""Networks of the nodule classifier: a depthwise-separable 3-D ResNet-18, a masked tabular
embedding network and the fusion head over both frozen encoders.

Inputs and outputs (all float32):

* image branch: ``crop`` (B, 2, D, H, W): channel 0 = HU mapped linearly from [-1000, 400] to [0, 1]
  (clipped), channel 1 = the nodule mask (0/1), on the grid of :mod:`lesionai.nodule.crop`.
  Outputs the malignancy-proxy logit (B,) and texture logits (B, 3) (ground-glass, part-solid, solid).
* tabular branch: ``features`` (B, F) in physical units (missing values: any number, e.g. 0) and
  ``feature_mask`` (B, F): 1 where the value is missing. A masked value is replaced by a learned
  mask token *before* anything else sees it, so the number in ``features`` cannot leak through.
* fusion: both encoders' representations -> linear projections -> concatenation -> MLP (dropout) ->
  malignancy-proxy logit.
"""

from __future__ import annotations

import torch
from torch import nn


class SeparableConv3d(nn.Module):
    """Depthwise 3x3x3 convolution (one filter per channel) followed by a pointwise 1x1x1 one."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.depthwise = nn.Conv3d(in_channels, in_channels, 3, stride, 1, groups=in_channels, bias=False)
        self.pointwise = nn.Conv3d(in_channels, out_channels, 1, bias=False)

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(volume))


class SeparableBasicBlock(nn.Module):
    """ResNet basic block (two 3x3x3 convolutions and a shortcut) with separable convolutions."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            SeparableConv3d(in_channels, out_channels, stride), nn.BatchNorm3d(out_channels), nn.ReLU(inplace=True),
            SeparableConv3d(out_channels, out_channels), nn.BatchNorm3d(out_channels))
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv3d(in_channels, out_channels, 1, stride, bias=False),
                                          nn.BatchNorm3d(out_channels))

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(volume) + self.shortcut(volume))


class SeparableResNet3d(nn.Module):
    """3-D ResNet-18 layout ([2, 2, 2, 2] basic blocks) with depthwise-separable convolutions.

    ``width`` is the first stage's channel count (64 in the published ResNet-18; a smaller width
    keeps training CPU-feasible); stages have width x (1, 2, 4, 8) channels. The representation is
    the global average of the last stage, ``8 * width`` values. Any input size divisible by 16 works
    (the network is trained at progressive sizes).
    """

    def __init__(self, in_channels: int = 2, width: int = 16, layers=(2, 2, 2, 2), texture_classes: int = 3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv3d(in_channels, width, 3, 2, 1, bias=False), nn.BatchNorm3d(width),
                                  nn.ReLU(inplace=True))
        blocks, channels = [], width
        for stage, count in enumerate(layers):
            out_channels = width * 2 ** stage
            for index in range(count):
                blocks.append(SeparableBasicBlock(channels, out_channels, 2 if index == 0 and stage > 0 else 1))
                channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.representation_size = channels
        self.malignancy_head = nn.Linear(channels, 1)
        self.texture_head = nn.Linear(channels, texture_classes)

    def encode(self, crop: torch.Tensor) -> torch.Tensor:
        """(B, 8 * width) representation of (B, C, D, H, W) crops."""
        return self.blocks(self.stem(crop)).mean(dim=(2, 3, 4))

    def forward(self, crop: torch.Tensor):
        """(malignancy logit (B,), texture logits (B, 3))."""
        representation = self.encode(crop)
        return self.malignancy_head(representation).squeeze(1), self.texture_head(representation)


# Defaults for variables a training cohort never gives (LIDC has no age or sex), so that their
# standardised values stay near 0 if a later cohort provides them.
DEFAULT_STANDARDISATION = {"Gender": (0.5, 0.5), "Age": (60.0, 12.0)}


class AttentionBlock(nn.Module):
    """Pre-norm transformer block (multi-head self-attention + MLP) over (B, T, C) tokens."""

    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.norm_attention, self.norm_mlp = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.projection = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * width, width))
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, count, width = tokens.shape
        qkv = self.qkv(self.norm_attention(tokens)).reshape(batch, count, 3, self.heads, width // self.heads)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        query, key, value = qkv[0], qkv[1], qkv[2]
        weights = torch.softmax(query @ key.transpose(-1, -2) / (width // self.heads) ** 0.5, -1)
        attended = (weights @ value).transpose(1, 2).reshape(batch, count, width)
        tokens = tokens + self.dropout(self.projection(attended))
        return tokens + self.dropout(self.mlp(self.norm_mlp(tokens)))


class MaskedTabularEncoder(nn.Module):
    """Embedding network over F variables with feature masking (masked tabular modelling).

    Each variable becomes a token ``value x w_f + b_f`` after a fixed transform (log1p for the
    ``log_features``, then standardisation with training-cohort statistics held as buffers); a
    masked variable's token is ``mask_token_f + b_f`` whatever its value. A class token and the F
    variable tokens pass ``depth`` attention blocks; the class token is the representation. Heads:
    binary logit, texture logits, and a per-token reconstruction of each standardised value (trained
    on randomly masked variables).
    """

    def __init__(self, feature_names, log_features=(), width: int = 32, depth: int = 2, heads: int = 4,
                 dropout: float = 0.1, texture_classes: int = 3):
        super().__init__()
        count = len(feature_names)
        self.feature_names = tuple(feature_names)
        self.register_buffer("log_flags", torch.tensor([name in log_features for name in feature_names]))
        self.register_buffer("centre", torch.zeros(count))
        self.register_buffer("scale", torch.ones(count))
        self.value_weight = nn.Parameter(torch.randn(count, width) * 0.1)
        self.feature_bias = nn.Parameter(torch.randn(count, width) * 0.1)
        self.mask_token = nn.Parameter(torch.randn(count, width) * 0.1)
        self.class_token = nn.Parameter(torch.zeros(1, 1, width))
        self.blocks = nn.Sequential(*[AttentionBlock(width, heads, dropout) for _ in range(depth)])
        self.norm = nn.LayerNorm(width)
        self.representation_size = width
        self.malignancy_head, self.texture_head = nn.Linear(width, 1), nn.Linear(width, texture_classes)
        self.reconstruction_head = nn.Linear(width, 1)

    def set_standardisation(self, features: torch.Tensor, missing: torch.Tensor) -> None:
        """Centre and scale of every variable from a cohort's (N, F) values where not missing."""
        transformed = self._transformed(features)
        for index, name in enumerate(self.feature_names):
            present = transformed[missing[:, index] < 0.5, index]
            if len(present) > 1:
                centre, scale = float(present.mean()), float(present.std().clamp(min=1e-6))
            else:
                centre, scale = DEFAULT_STANDARDISATION.get(name, (0.0, 1.0))
            self.centre[index], self.scale[index] = centre, scale

    def _transformed(self, features: torch.Tensor) -> torch.Tensor:
        return torch.where(self.log_flags, torch.log1p(features.clamp(min=0)), features)

    def standardised(self, features: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        """(B, F) standardised values; 0 where missing (the value never reaches the network)."""
        values = (self._transformed(features) - self.centre) / self.scale
        return torch.where(missing > 0.5, torch.zeros_like(values), values)

    def tokens(self, features: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        """(B, 1 + F, width) encoded tokens: class token first."""
        values = self.standardised(features, missing).unsqueeze(-1)
        embedded = torch.where(missing.unsqueeze(-1) > 0.5, self.mask_token, values * self.value_weight)
        class_token = torch.zeros_like(features[:, :1]).unsqueeze(-1) + self.class_token  # (B, 1, width), any B
        tokens = torch.cat([class_token, embedded + self.feature_bias], 1)
        return self.norm(self.blocks(tokens))

    def encode(self, features: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        """(B, width) representation (the class token)."""
        return self.tokens(features, missing)[:, 0]

    def reconstruct(self, features: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        """(B, F) predicted standardised value of every variable."""
        return self.reconstruction_head(self.tokens(features, missing)[:, 1:]).squeeze(-1)

    def forward(self, features: torch.Tensor, missing: torch.Tensor):
        """(binary logit (B,), texture logits (B, 3))."""
        representation = self.encode(features, missing)
        return self.malignancy_head(representation).squeeze(1), self.texture_head(representation)


class FusionHead(nn.Module):
    """Linear projection of each frozen encoder's representation, concatenation, MLP with dropout."""

    def __init__(self, image_size: int, tabular_size: int, projection: int = 32, hidden: int = 32,
                 dropout: float = 0.5):
        super().__init__()
        self.image_projection = nn.Linear(image_size, projection)
        self.tabular_projection = nn.Linear(tabular_size, projection)
        self.mlp = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(2 * projection, hidden), nn.ReLU(),
                                 nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, image_representation: torch.Tensor, tabular_representation: torch.Tensor) -> torch.Tensor:
        """(B,) fusion logit."""
        joined = torch.cat([self.image_projection(image_representation),
                            self.tabular_projection(tabular_representation)], 1)
        return self.mlp(joined).squeeze(1)


class FusedClassifier(nn.Module):
    """Image branch + tabular branch + fusion head in one graph (the exported model).

    Inputs: ``crop`` (B, 2, D, H, W), ``features`` (B, F), ``feature_mask`` (B, F) 1 = missing.
    Outputs: ``fusion_probability`` (B,), ``image_probability`` (B,), ``tabular_probability`` (B,),
    ``texture_probabilities`` (B, 3) from the image branch.
    """

    def __init__(self, image: SeparableResNet3d, tabular: MaskedTabularEncoder, head: FusionHead):
        super().__init__()
        self.image, self.tabular, self.head = image, tabular, head

    def forward(self, crop: torch.Tensor, features: torch.Tensor, feature_mask: torch.Tensor):
        image_representation = self.image.encode(crop)
        tabular_representation = self.tabular.encode(features, feature_mask)
        return (torch.sigmoid(self.head(image_representation, tabular_representation)),
                torch.sigmoid(self.image.malignancy_head(image_representation).squeeze(1)),
                torch.sigmoid(self.tabular.malignancy_head(tabular_representation).squeeze(1)),
                torch.softmax(self.image.texture_head(image_representation), 1))
