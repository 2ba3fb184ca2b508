"""Recipe ``lung-segmentation``: a 2D U-Net (MONAI) for the lung fields of frontal chest radiographs.

Trains on the ``train`` split of the chest X-ray collection (binary lung masks, ignore pixels
excluded from the loss), optionally mixed with generated phantoms, selects the epoch with the best
validation Dice and reports the final Dice at the original image resolution after the same
post-processing the pipeline applies.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..geometry import radiograph_geometry
from ..severity.lungs import lung_labels_from_probability
from ..severity.preprocess import model_input, normalize_percentile, resize_plane
from . import common
from .augment import random_affine_pairs, random_intensity
from .cxr_data import IGNORE, limited, load_mask, load_plane, load_segmentation_arrays, read_cases


def build_network(config: dict) -> torch.nn.Module:
    from monai.networks.nets import UNet

    return UNet(spatial_dims=2, in_channels=1, out_channels=1, channels=tuple(config["channels"]),
                strides=tuple([2] * (len(config["channels"]) - 1)), num_res_units=config["res_units"])


def example_inputs(config: dict) -> tuple:
    return (torch.zeros(1, 1, *config["input_size"]),)


INPUT_NAMES, OUTPUT_NAMES = ["image"], ["lung_logits"]


def masked_loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """BCE + soft Dice over pixels that are not marked ignore."""
    valid = (masks != IGNORE).float()
    target = (masks == 1).float()
    bce = F.binary_cross_entropy_with_logits(logits, target, weight=valid)
    probability = torch.sigmoid(logits) * valid
    intersection = (probability * target).sum(dim=(1, 2, 3))
    union = probability.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    dice = (2 * intersection + 1) / (union + 1)
    return bce + (1 - dice).mean()


def dice(prediction: np.ndarray, mask: np.ndarray) -> float:
    """Dice of a boolean prediction against a 0/1/255 mask, ignoring 255 pixels."""
    valid = mask != IGNORE
    truth = (mask == 1) & valid
    predicted = prediction & valid
    denominator = truth.sum() + predicted.sum()
    return 1.0 if denominator == 0 else float(2 * (truth & predicted).sum() / denominator)


def _phantom_arrays(count: int, shape: tuple[int, int], seed: int):
    from ..phantoms.cxr import generate_cxr_phantom

    images, masks = [], []
    for index in range(count):
        phantom = generate_cxr_phantom(seed=seed + index, size=(512, 512))
        images.append(normalize_percentile(resize_plane(phantom.image.array[0], shape)))
        masks.append(resize_plane((phantom.lung_labels[0] > 0).astype(np.uint8), shape, nearest=True))
    return np.stack(images)[:, None], np.stack(masks)[:, None]


def _training_arrays(config, root, cases, shape):
    images, masks = load_segmentation_arrays(cases, root, shape)
    phantom_count = config.get("phantoms", 0)
    if phantom_count:
        extra_images, extra_masks = _phantom_arrays(phantom_count, shape, config["seed"] + 100000)
        images, masks = np.concatenate([images, extra_images]), np.concatenate([masks, extra_masks])
    return torch.from_numpy(images), torch.from_numpy(masks.astype(np.int64))


def _device_of(network: torch.nn.Module) -> torch.device:
    return next(network.parameters()).device


def _epoch(network, optimizer, images, masks, config):
    def batch_loss(batch):
        batch_images, batch_masks = random_affine_pairs(images[batch], masks[batch], config["augment"])
        return masked_loss(network(random_intensity(batch_images, config["augment"])), batch_masks)

    return common.train_epoch(network, optimizer, torch.randperm(len(images)), config["batch_size"], batch_loss)


@torch.no_grad()
def _validation_dice(network, images, masks) -> float:
    network.eval()
    scores = []
    for start in range(0, len(images), 16):
        probabilities = torch.sigmoid(network(images[start:start + 16])).cpu().numpy()
        for probability, mask in zip(probabilities, masks[start:start + 16].cpu().numpy()):
            scores.append(dice(probability[0] >= 0.5, mask[0]))
    return float(np.mean(scores))


@torch.no_grad()
def full_resolution_dice(network, cases, root, shape) -> list[float]:
    """Dice at each case's stored resolution after the pipeline's post-processing."""
    network.eval()
    scores = []
    for case in cases:
        plane = load_plane(case.image_path(root))
        logits = network(torch.from_numpy(model_input(plane, shape)).to(_device_of(network)))
        probability = torch.sigmoid(logits)[0, 0].cpu().numpy()
        labels = lung_labels_from_probability(probability, radiograph_geometry(), plane.shape)
        scores.append(dice(labels > 0, load_mask(case.mask_path(root))))
    return scores


def train(config: dict, run_dir) -> dict:
    """Run the recipe; returns the metrics dict (also saved in ``run_dir``)."""
    run_dir, log = common.start_run(config, run_dir)
    common.seed_everything(config["seed"])
    torch.set_num_threads(config.get("threads", torch.get_num_threads()))
    root = common.resolve_data_root(config)
    shape = tuple(config["input_size"])
    cases = [c for c in read_cases(root) if c.has_lung_mask]
    train_cases = limited([c for c in cases if c.split == "train"], config)
    val_cases = limited([c for c in cases if c.split == "val"], config)
    device = common.training_device(config)
    images, masks = (a.to(device) for a in _training_arrays(config, root, train_cases, shape))
    val_images, val_masks = (torch.from_numpy(a).to(device) for a in load_segmentation_arrays(val_cases, root, shape))
    network = build_network(config).to(device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=config["learning_rate"], weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, common.cosine_schedule(config["epochs"], config.get("warmup_epochs", 2)))
    best = (-1.0, None, -1)
    progress = tqdm(range(config["epochs"]), desc="lung-segmentation", unit="epoch")
    for epoch in progress:
        loss = _epoch(network, optimizer, images, masks, config)
        scheduler.step()
        val_dice = _validation_dice(network, val_images, val_masks)
        log.info("epoch %d loss %.4f val_dice@%d %.4f", epoch, loss, shape[0], val_dice)
        progress.set_postfix(loss=f"{loss:.3f}", val_dice=f"{val_dice:.4f}")
        if val_dice > best[0]:
            best = (val_dice, copy.deepcopy(network.state_dict()), epoch)
        torch.save(network.state_dict(), run_dir / "last.pt")
    network.load_state_dict(best[1])
    torch.save(network.state_dict(), run_dir / "best.pt")
    scores = full_resolution_dice(network, val_cases, root, shape)
    metrics = {"val_dice": float(np.mean(scores)), "val_dice_median": float(np.median(scores)),
               "val_dice_min": float(np.min(scores)), "val_cases": len(scores), "train_cases": len(train_cases),
               "phantoms": config.get("phantoms", 0), "best_epoch": best[2], "val_dice_at_input_size": best[0],
               "device": device.type}
    log.info("final %s", metrics)
    common.save_metrics(run_dir, metrics)
    common.export_onnx(network, example_inputs(config), run_dir / config["onnx_name"], INPUT_NAMES, OUTPUT_NAMES)
    return metrics

