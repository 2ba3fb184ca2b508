"""Pretraining of the zone classifier's trunk and transformer on radiographs without zone scores.

Only about a hundred radiographs carry Brixia scores, but several hundred carry lung outlines.
Into those real lungs this step paints synthetic opacities
(:func:`lesionai.training.severity.opacities.add_synthetic_opacities`) and trains the network to tell,
for every token of its feature grid, which share of that token the opacities cover. The trunk,
projection, position embedding and transformer learn to see opacities where they are; the zone
head is then trained on the scored radiographs from these weights.

Config block::

    pretrain:
      epochs: 12          # 0 turns pretraining off
      learning_rate: 0.002
      opacities: {}       # overrides of opacities.DEFAULT_SETTINGS
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from ..augment.planar import random_affine_pairs, random_intensity
from ..config import optimizer_settings
from ..loop import train_batches
from .cxr_data import limited, load_segmentation_arrays, read_cases
from .opacities import add_synthetic_opacities
from .zone_network import ZoneSeverityNet


class CoverageHead(nn.Module):
    """Token features -> logit of the share of each token covered by opacity."""

    def __init__(self, network: ZoneSeverityNet):
        super().__init__()
        self.network = network
        self.coverage = nn.Conv2d(network.head.in_features, 1, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.coverage(self.network.token_features(image))


def painted_batch(images: np.ndarray, lungs: np.ndarray, rng: np.random.Generator, settings: dict):
    """Images (B, 1, H, W) with synthetic opacities and their masks (B, 1, H, W) float."""
    painted, masks = zip(*(add_synthetic_opacities(image[0], lung[0], rng, settings) for image, lung in zip(images, lungs)))
    return (torch.from_numpy(np.stack(painted)[:, None]).float(),
            torch.from_numpy(np.stack(masks)[:, None].astype(np.float32)))


def coverage_loss(logits: torch.Tensor, opacity: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of each token's predicted coverage against the painted share."""
    return F.binary_cross_entropy_with_logits(logits, F.adaptive_avg_pool2d(opacity, logits.shape[-2:]))


def pretrain(config: dict, network: ZoneSeverityNet, root, device, log) -> dict:
    """Train ``network`` (all but its zone head) on the coverage task; returns its state dict."""
    settings = config["pretrain"]
    shape = tuple(config["input_size"])
    cases = limited([c for c in read_cases(root) if c.has_lung_mask and c.split == "train"], config)
    images, masks = load_segmentation_arrays(cases, root, shape)
    lungs = masks == 1
    model = CoverageHead(network).to(device)
    recipe_optimizer = optimizer_settings(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.get("learning_rate", recipe_optimizer["lr"]),
                                  weight_decay=recipe_optimizer["weight_decay"])
    rng = np.random.default_rng(config["seed"])
    for epoch in tqdm(range(settings["epochs"]), desc="zone-severity pretrain", unit="epoch", leave=False):
        loss = _epoch(model, optimizer, images, lungs, rng, config, device)
        log.info("pretrain epoch %d coverage loss %.4f (%d radiographs)", epoch, loss, len(images))
    return {key: value for key, value in network.state_dict().items() if not key.startswith("head.")}


def _epoch(model, optimizer, images, lungs, rng, config, device) -> float:
    settings = config["pretrain"].get("opacities", {})

    def batch_loss(batch):
        batch = batch.numpy()
        painted, opacity = painted_batch(images[batch], lungs[batch], rng, settings)
        painted, opacity = random_affine_pairs(painted.to(device), opacity.to(device), config["augment"])
        return coverage_loss(model(random_intensity(painted, config["augment"])), opacity.float())

    return train_batches(model, optimizer, torch.randperm(len(images)), config["batch_size"], batch_loss)
