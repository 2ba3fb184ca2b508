"""Recipe ``nodule-csn``: cross-scanner normalisation of CT regions (NoduleFusion).

Pairs are made from LIDC nodule regions (cut as the pipeline cuts a crop): the input is the
region as another scanner would show it (:mod:`.scanner`: kernel, slice thickness, noise, HU
calibration), the target the region itself. The 2-D network (:mod:`.csn_network`) is trained on
axial slices with L1 + perceptual (frozen random-feature encoder) + adversarial (PatchGAN, least
squares) losses. The last epoch is kept. Reported on the ``val`` split's regions, each degraded
once with a fixed seed: MAE (HU) and PSNR (dB over the -1000..400 HU window) before and after,
and the change CSN makes to undegraded regions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from ...nodule.csn import TILE, from_network_scale, to_network_scale
from ...nodule.region import BASE_SPACING_MM, region_from_crop
from ..config import resolve_data_root
from ..loop import train_batches
from .csn_network import CrossScannerNet, FeatureEncoder, PatchDiscriminator
from .data import read_cases
from .scanner import simulate_scanner

NAME = "nodule-csn"
INPUT_NAMES, OUTPUT_NAMES = ["slices"], ["normalized_slices"]
MONITOR = None
WINDOW_HU = (-1000.0, 400.0)


@dataclass
class CsnData:
    """Training crops, fixed validation pairs ``[N, K, H, W]`` (HU) and the adversarial machinery."""

    train_images: list
    val_inputs: np.ndarray
    val_targets: np.ndarray
    discriminator: torch.nn.Module
    discriminator_optimizer: torch.optim.Optimizer
    features: torch.nn.Module
    rng: np.random.Generator


def build_network(config: dict) -> torch.nn.Module:
    return CrossScannerNet(config["width"])


def example_inputs(config: dict) -> tuple:
    return (torch.zeros(1, 1, TILE, TILE),)


def load_data(run) -> CsnData:
    from ...imageio import read_image

    config = run.config
    root = resolve_data_root(config)
    cases = read_cases(root)
    limit = config.get("max_cases") or None
    images = {split: [read_image(root / c.image) for c in cases if c.split == split][:limit] for split in ("train", "val")}
    val_inputs, val_targets = validation_pairs(images["val"], config)
    discriminator = PatchDiscriminator().to(run.device)
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=config["discriminator_lr"], betas=(0.5, 0.999))
    return CsnData(images["train"], val_inputs, val_targets, discriminator, optimizer,
                   FeatureEncoder(config["seed"]).to(run.device), np.random.default_rng(config["seed"]))


def validation_pairs(images: list, config: dict) -> tuple[np.ndarray, np.ndarray]:
    """(degraded, original) regions of ``images``, each degraded once with a fixed seed."""
    rng = np.random.default_rng(config["seed"] + 1)
    targets = np.stack([region_from_crop(image).image.array for image in images])
    inputs = np.stack([simulate_scanner(target, BASE_SPACING_MM, rng, config.get("scanner")) for target in targets])
    return inputs, targets


def training_slices(data: CsnData, config: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(input, target) axial slices ``[N, 1, H, W]`` on the network scale from fresh random regions."""
    rng, inputs, targets = data.rng, [], []
    for index in rng.choice(len(data.train_images), config["regions_per_epoch"]):
        spacing = BASE_SPACING_MM * float(rng.uniform(1.0, 1.6))
        target = region_from_crop(data.train_images[index], spacing_mm=spacing, center_shift_mm=rng.uniform(-4, 4, 3),
                                  seed=int(rng.integers(1 << 30))).image.array
        chosen = rng.choice(target.shape[0], config["slices_per_region"], replace=False)
        inputs.append(simulate_scanner(target, spacing, rng, config.get("scanner"))[chosen])
        targets.append(target[chosen])
    as_tensor = lambda arrays: torch.from_numpy(to_network_scale(np.concatenate(arrays))[:, None])
    return as_tensor(inputs), as_tensor(targets)


def train_epoch(network, optimizer, data: CsnData, run, epoch: int) -> dict:
    config, device = run.config, run.device
    inputs, targets = (t.to(device) for t in training_slices(data, config))
    terms, critic, pending = [], [], []

    def batch_loss(batch):
        # The critic learns from the previous batch: the generator's backward pass of that batch
        # needed the critic's weights as they were.
        critic.extend(discriminator_step(*pending.pop(), data) for _ in range(len(pending)))
        restored = network(inputs[batch])
        loss, parts = generator_loss(restored, targets[batch], data, config)
        terms.append(parts)
        pending.append((restored.detach(), targets[batch]))
        return loss

    loss = train_batches(network, optimizer, torch.randperm(len(inputs)), config["batch_size"], batch_loss)
    critic.extend(discriminator_step(*pending.pop(), data) for _ in range(len(pending)))
    (l1, perceptual, adversarial), critic = np.mean(terms, axis=0), float(np.mean(critic))
    return {"loss": loss, "l1": l1, "perceptual": perceptual, "adversarial": adversarial, "discriminator": critic}


def generator_loss(restored, target, data: CsnData, config: dict) -> tuple[torch.Tensor, list[float]]:
    """L1 + weighted perceptual and adversarial terms; also the terms as floats."""
    l1 = F.l1_loss(restored, target)
    perceptual = sum(F.l1_loss(a, b) for a, b in zip(data.features(restored), data.features(target)))
    adversarial = F.mse_loss(data.discriminator(restored), torch.ones_like(data.discriminator(restored)))
    weights = config["loss_weights"]
    total = l1 + weights["perceptual"] * perceptual + weights["adversarial"] * adversarial
    return total, [l1.item(), perceptual.item(), adversarial.item()]


def discriminator_step(restored, target, data: CsnData) -> float:
    """One least-squares GAN update of the critic (real: original slices, fake: restored ones)."""
    real, fake = data.discriminator(target), data.discriminator(restored)
    loss = 0.5 * (F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, torch.zeros_like(fake)))
    data.discriminator_optimizer.zero_grad()
    loss.backward()
    data.discriminator_optimizer.step()
    return loss.item()


@torch.no_grad()
def restore(network, regions: np.ndarray, device) -> np.ndarray:
    """Regions ``[N, K, H, W]`` (HU) passed slice by slice through ``network`` (HU out)."""
    network.eval()
    slices = torch.from_numpy(to_network_scale(regions.reshape(-1, 1, *regions.shape[2:]))).to(device)
    restored = torch.cat([network(slices[start:start + 256]) for start in range(0, len(slices), 256)])
    return from_network_scale(restored.cpu().numpy()).reshape(regions.shape)


def validate(network, data: CsnData, run, epoch: int) -> dict:
    count = min(24, len(data.val_inputs))
    restored = restore(network, data.val_inputs[:count], run.device)
    return {"val_mae_hu": mean_absolute_error(restored, data.val_targets[:count])}


def final_metrics(network, data: CsnData, run, best) -> dict:
    restored = restore(network, data.val_inputs, run.device)
    unchanged = restore(network, data.val_targets, run.device)
    targets = data.val_targets
    return {"val_mae_hu_before": mean_absolute_error(data.val_inputs, targets),
            "val_mae_hu_after": mean_absolute_error(restored, targets),
            "val_psnr_db_before": psnr(data.val_inputs, targets), "val_psnr_db_after": psnr(restored, targets),
            "val_mae_hu_clean_input": mean_absolute_error(unchanged, targets),
            "val_regions": len(targets), "train_crops": len(data.train_images), "epoch_chosen": best.epoch}


def _windowed(hu: np.ndarray) -> np.ndarray:
    return np.clip(hu, *WINDOW_HU)


def mean_absolute_error(restored: np.ndarray, target: np.ndarray) -> float:
    """Mean |difference| (HU) inside the -1000..400 HU window."""
    return float(np.mean(np.abs(_windowed(restored) - _windowed(target))))


def psnr(restored: np.ndarray, target: np.ndarray) -> float:
    """Peak signal-to-noise ratio (dB) with the window's 1400 HU as the peak."""
    mse = float(np.mean((_windowed(restored) - _windowed(target)) ** 2))
    return float(10 * np.log10((WINDOW_HU[1] - WINDOW_HU[0]) ** 2 / max(mse, 1e-12)))
