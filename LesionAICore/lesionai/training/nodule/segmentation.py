"""Recipe ``nodule-segmentation``: a small 3D U-Net (MONAI) for the nodule in a region.

Trains on LIDC crops cut into regions exactly as the pipeline cuts a crop (``region_from_crop``),
with random spacing, centre shift, context texture, flips and HU scale/offset/noise. The model of the
last epoch is kept (no epoch is chosen on the reported cases). Dice is measured on the input crop's
own grid after the pipeline's post-processing (resampling back, threshold, component at the seed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ...nodule.region import region_from_crop
from ...nodule.segmentation import dice, model_input, nodule_mask_on_input, segment_with_growth, sigmoid
from .. import common
from .data import load_pair, patient_folds, read_cases, training_region

INPUT_NAMES, OUTPUT_NAMES = ["region"], ["nodule_logits"]


def build_network(config: dict) -> torch.nn.Module:
    from monai.networks.nets import UNet

    channels = tuple(config["channels"])
    return UNet(spatial_dims=3, in_channels=1, out_channels=1, channels=channels,
                strides=tuple([2] * (len(channels) - 1)), num_res_units=config["res_units"])


def example_inputs(config: dict) -> tuple:
    return (torch.zeros(1, 1, *config["region_shape"]),)


def dice_bce_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE + soft Dice per region, averaged over the batch."""
    probability = torch.sigmoid(logits)
    intersection = (probability * target).flatten(1).sum(1)
    union = probability.flatten(1).sum(1) + target.flatten(1).sum(1)
    soft_dice = (2 * intersection + 1) / (union + 1)
    return F.binary_cross_entropy_with_logits(logits, target) + (1 - soft_dice).mean()


def augmented_batch(pairs, indices, rng: np.random.Generator, augment: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Network inputs and masks ``[B, 1, k, j, i]`` for ``indices`` of ``pairs``."""
    images, masks = [], []
    for index in indices:
        region, mask = training_region(*pairs[index], rng, augment)
        region = _intensity(region, rng, augment)
        flips = [axis for axis in range(3) if rng.random() < 0.5]
        images.append(np.flip(model_input(region)[0], [a + 1 for a in flips]))
        masks.append(np.flip(mask, flips)[np.newaxis])
    return torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(np.ascontiguousarray(masks))


def _intensity(region: np.ndarray, rng: np.random.Generator, augment: dict) -> np.ndarray:
    """HU scale about -1000, offset and Gaussian noise (scanner and kernel differences)."""
    scale = 1 + rng.uniform(-1, 1) * augment.get("hu_scale", 0.0)
    offset = rng.uniform(-1, 1) * augment.get("hu_offset", 0.0)
    noise = rng.standard_normal(region.shape).astype(np.float32) * rng.uniform(0, augment.get("noise_hu", 0.0))
    return (region + 1000) * scale - 1000 + offset + noise


@torch.no_grad()
def region_probability(network: torch.nn.Module, region_hu: np.ndarray) -> np.ndarray:
    """Nodule probability on the region grid from a torch network."""
    network.eval()
    logits = network(torch.from_numpy(model_input(region_hu)))
    return sigmoid(logits[0, 0].numpy())


def crop_dice(probability_of, image, mask) -> float:
    """Dice on the crop's own grid of the pipeline's mask for a crop (``probability_of(region_hu)``)."""
    region, probability = segment_with_growth(lambda spacing: region_from_crop(image, spacing_mm=spacing), probability_of)
    block, predicted = nodule_mask_on_input(region, probability)
    full = np.zeros(image.array.shape, dtype=bool)
    full[block] = predicted
    return dice(full, mask.array > 0)


def fit(config: dict, pairs: list, log, desc: str = "nodule-segmentation") -> torch.nn.Module:
    """Train a network on ``pairs`` (image, mask) with the recipe's schedule; returns the last epoch's."""
    rng = np.random.default_rng(config["seed"])
    network = build_network(config)
    optimizer = torch.optim.AdamW(network.parameters(), lr=config["learning_rate"], weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, common.cosine_schedule(config["epochs"], config.get("warmup_epochs", 1)))
    progress = tqdm(range(config["epochs"]), desc=desc, unit="epoch")
    for epoch in progress:
        order = rng.permutation(len(pairs))[: config.get("samples_per_epoch", len(pairs))]
        loss = common.train_epoch(network, optimizer, order, config["batch_size"],
                                  lambda batch: dice_bce_loss(*_forward(network, pairs, batch, rng, config)))
        scheduler.step()
        log.info("epoch %d loss %.4f", epoch, loss)
        progress.set_postfix(loss=f"{loss:.3f}")
    return network


def _forward(network, pairs, batch, rng, config):
    images, masks = augmented_batch(pairs, batch, rng, config["augment"])
    return network(images), masks


def evaluate(network: torch.nn.Module, pairs: list) -> list[float]:
    """Per-case Dice on the crops' own grids."""
    return [crop_dice(lambda region: region_probability(network, region), image, mask) for image, mask in pairs]


def dice_summary(scores: list[float], prefix: str) -> dict:
    return {f"{prefix}_dice": float(np.mean(scores)), f"{prefix}_dice_median": float(np.median(scores)),
            f"{prefix}_cases": len(scores)}


def train(config: dict, run_dir) -> dict:
    """Train on the ``train`` split, report Dice on ``val``, export ONNX; returns the metrics."""
    run_dir, log = common.start_run(config, run_dir)
    common.seed_everything(config["seed"])
    torch.set_num_threads(config.get("threads", torch.get_num_threads()))
    root = common.resolve_data_root(config)
    cases = _limited(read_cases(root), config)
    train_pairs = [load_pair(root, c) for c in cases if c.split == "train"]
    val_pairs = [load_pair(root, c) for c in cases if c.split == "val"]
    network = fit(config, train_pairs, log)
    torch.save(network.state_dict(), run_dir / "best.pt")
    metrics = {**dice_summary(evaluate(network, val_pairs), "val"), "train_cases": len(train_pairs),
               "epoch_chosen": "last"}
    log.info("final %s", metrics)
    common.save_metrics(run_dir, metrics)
    common.export_onnx(network, example_inputs(config), run_dir / config["onnx_name"], INPUT_NAMES, OUTPUT_NAMES)
    return metrics


def cross_validate(config: dict, run_dir, folds: list[int] | None = None) -> dict:
    """Patient-grouped ``cv_folds``-fold cross-validation over all cases (train and val splits).

    Each fold's network trains on the other folds with the recipe's schedule and is scored on the
    held-out fold; ``fold_<n>.json`` holds its per-case Dice. ``folds`` runs a subset (the pooled
    summary is then written by whoever has all folds: ``summarize_folds``).
    """
    run_dir, log = common.start_run(config, run_dir)
    torch.set_num_threads(config.get("threads", torch.get_num_threads()))
    root = common.resolve_data_root(config)
    cases = _limited(read_cases(root), config)
    fold_of = patient_folds(cases, config["cv_folds"], config["seed"])
    for fold in folds if folds is not None else range(config["cv_folds"]):
        _run_fold(config, root, cases, fold_of, fold, run_dir, log)
    return summarize_folds(run_dir, config["cv_folds"])


def _run_fold(config, root, cases, fold_of, fold, run_dir, log) -> None:
    common.seed_everything(config["seed"] + fold)
    held_out = [c for c, f in zip(cases, fold_of) if f == fold]
    network = fit({**config, "seed": config["seed"] + fold},
                  [load_pair(root, c) for c, f in zip(cases, fold_of) if f != fold], log, desc=f"fold {fold}")
    scores = evaluate(network, [load_pair(root, c) for c in held_out])
    record = {"fold": fold, "cases": {c.id: s for c, s in zip(held_out, scores)},
              "patients": sorted({c.patient for c in held_out})}
    (run_dir / f"fold_{fold}.json").write_text(json.dumps(record, indent=1) + "\n")
    log.info("fold %d dice %.4f (%d cases)", fold, float(np.mean(scores)), len(scores))


def summarize_folds(run_dir, folds: int) -> dict:
    """Pooled and per-fold Dice of the finished ``fold_<n>.json`` files (``cv_metrics.json``)."""
    run_dir = Path(run_dir)
    records = [json.loads(p.read_text()) for p in sorted(run_dir.glob("fold_*.json"))]
    scores = [s for r in records for s in r["cases"].values()]
    fold_means = [float(np.mean(list(r["cases"].values()))) for r in records]
    summary = {**dice_summary(scores, "cv"), "cv_fold_dice": fold_means, "cv_folds_done": len(records),
               "cv_folds": folds}
    (run_dir / "cv_metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _limited(cases: list, config: dict) -> list:
    """The first ``limit_cases`` cases of each split when the config sets it (quick runs, tests)."""
    limit = config.get("limit_cases")
    if not limit:
        return cases
    return [c for c in cases if c.split == "train"][:limit] + [c for c in cases if c.split == "val"][:limit]
