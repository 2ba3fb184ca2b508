"""Networks of the cross-scanner normalisation (CSN) recipe.

* :class:`CrossScannerNet`: 2-D encoder-decoder on axial slices. Encoder: ResNet-34 layout (basic
  blocks 3-4-6-3) at reduced width (``width`` channels in the first stage, 8 by default instead of
  64, so that a region's slices take milliseconds on a CPU);
  decoder: U-Net (upsample, concatenate the encoder's features, two convolutions). As in ResNet the
  stem halves the resolution; a full-resolution convolution of the input is the last skip. It
  predicts a correction added to its input, so an image that needs nothing passes through unchanged.
* :class:`PatchDiscriminator`: PatchGAN-style critic (real / restored per 8x8 patch).
* :class:`FeatureEncoder`: the fixed feature extractor of the perceptual loss. No pretrained
  network (e.g. VGG) is available offline, so this is a randomly initialised, frozen convolution
  stack; random convolutional features still measure structure (edges, texture) beyond pixel L1.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

RESNET34_BLOCKS = (3, 4, 6, 3)


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convolutions with batch norm and a (projected) shortcut."""

    def __init__(self, channels_in: int, channels_out: int, stride: int = 1):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False), nn.BatchNorm2d(channels_out),
            nn.ReLU(inplace=True), nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels_out))
        self.shortcut = nn.Identity() if stride == 1 and channels_in == channels_out else nn.Sequential(
            nn.Conv2d(channels_in, channels_out, 1, stride, bias=False), nn.BatchNorm2d(channels_out))

    def forward(self, x):
        return F.relu(self.body(x) + self.shortcut(x))


def resnet_stage(channels_in: int, channels_out: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [BasicBlock(channels_in, channels_out, stride)]
    layers += [BasicBlock(channels_out, channels_out) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNet34Encoder(nn.Module):
    """Features at 1/2, 1/4, 1/8 and 1/16 of the input size (``width`` x 1, 2, 4, 8 channels)."""

    def __init__(self, width: int = 8, blocks=RESNET34_BLOCKS):
        super().__init__()
        widths = [width * 2 ** n for n in range(4)]
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.stages = nn.ModuleList(resnet_stage(a, b, n, 1 if i == 0 else 2)
                                    for i, (a, b, n) in enumerate(zip([width] + widths[:-1], widths, blocks)))
        self.widths = widths

    def forward(self, x):
        features, x = [], self.stem(x)
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


def conv_block(channels_in: int, channels_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels_in, channels_out, 3, 1, 1, bias=False), nn.BatchNorm2d(channels_out),
                         nn.ReLU(inplace=True), nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(channels_out), nn.ReLU(inplace=True))


class CrossScannerNet(nn.Module):
    """Slices ``[N, 1, H, W]`` (H, W multiples of 16; HU / 1000 + 1) -> normalised slices, same scale."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.encoder = ResNet34Encoder(width)
        widths = self.encoder.widths
        self.decoder = nn.ModuleList(conv_block(deep + skip, skip) for deep, skip in zip(widths[:0:-1], widths[-2::-1]))
        self.full_resolution = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1), nn.ReLU(inplace=True))
        self.last = conv_block(2 * width, width)
        self.head = nn.Conv2d(width, 1, 1)
        nn.init.zeros_(self.head.weight)  # start as the identity: the correction grows from nothing
        nn.init.zeros_(self.head.bias)

    def forward(self, slices):
        features = self.encoder(slices)
        x = features[-1]
        for block, skip in zip(self.decoder, features[-2::-1]):
            x = block(torch.cat([_upsampled(x), skip], dim=1))
        x = self.last(torch.cat([_upsampled(x), self.full_resolution(slices)], dim=1))
        return slices + self.head(x)


def _upsampled(x):
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


class PatchDiscriminator(nn.Module):
    """One real/restored logit per patch of the slice (PatchGAN)."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.InstanceNorm2d(2 * width), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * width, 1, 3, 1, 1))

    def forward(self, slices):
        return self.layers(slices)


class FeatureEncoder(nn.Module):
    """Frozen, randomly initialised convolution stack; returns its features at two scales."""

    def __init__(self, seed: int = 0, width: int = 32):
        super().__init__()
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        self.first = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1), nn.ReLU(), nn.Conv2d(width, width, 3, 1, 1), nn.ReLU())
        self.second = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(width, 2 * width, 3, 1, 1), nn.ReLU())
        torch.random.set_rng_state(generator_state)
        self.requires_grad_(False)

    def forward(self, slices):
        first = self.first(slices)
        return [first, self.second(first)]
