"""Recipe ``spine-cord``: a 2D U-Net (MONAI) segmenting the spinal cord on axial slices of the
canonical grid (see :mod:`lesionai.spine.grid`), trained on every contrast of the spinal MRI set.

``lesionai train spine-cord`` trains the shipped model on every subject through the shared loop
(:mod:`lesionai.training.loop`); :func:`cross_validate` runs the same training per fold.

Each step samples one case uniformly (so the few axial scans weigh as much as the long sagittal
ones), one slice where the reference cord is present, and a window around the cord (or, at rate
``negative_rate``, anywhere in the slice); then augments it (:mod:`.augment`). Cross-validation
leaves one subject out: every image of that subject is held out, segmented by the full pipeline
code on its own grid and scored by Dice against its reference mask.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...spine.cord import INPLANE_MM, cord_on_input
from ...spine.grid import to_canonical
from ...spine.slices import normalize_intensity
from ..config import resolve_data_root
from ..export import export_onnx
from ..loop import fit_network, open_run
from ..runs import read_stored_run, save_metrics
from . import augment
from .data import SpineCase, cord_cases, load_image, load_mask, subjects

NAME, INPUT_NAMES, OUTPUT_NAMES, MONITOR = "spine-cord", ["image"], ["cord_logits"], None
OPTIONAL_KEYS = ("subjects", "progress")
CV_PREFIX = "loso_"  # metrics of the leave-one-subject-out CV in metrics.json and the registry


@dataclass
class SliceSet:
    """One case on the canonical grid: normalised image and soft cord mask ``[S, A, R]``, the slices
    holding cord and the cord centre (A, R) of each of them."""

    name: str
    image: np.ndarray
    mask: np.ndarray
    cord_slices: np.ndarray
    centres: np.ndarray


def build_network(config: dict) -> torch.nn.Module:
    from monai.networks.nets import UNet

    channels = tuple(config["channels"])
    return UNet(spatial_dims=2, in_channels=1, out_channels=1, channels=channels,
                strides=(2,) * (len(channels) - 1), num_res_units=config["res_units"], norm="batch")


def slice_set(case: SpineCase, root: Path, inplane_mm: float = INPLANE_MM) -> SliceSet:
    """Load ``case`` onto the canonical grid with its cord mask (linear interpolation, soft)."""
    return slice_set_of(case.name, load_image(case, root), load_mask(case.cord_path, root), inplane_mm)


def slice_set_of(name: str, image, cord_mask, inplane_mm: float = INPLANE_MM) -> SliceSet:
    """A :class:`SliceSet` of an image and its cord mask (two :class:`~lesionai.geometry.Image` on one grid)."""
    image = to_canonical(image, inplane_mm).image.array
    mask = to_canonical(cord_mask.with_array(cord_mask.array.astype(np.float32)), inplane_mm).image.array
    cord_slices = np.flatnonzero(mask.reshape(len(mask), -1).max(axis=1) > 0.5)
    centres = np.array([_centroid(mask[k]) for k in cord_slices])
    return SliceSet(name, normalize_intensity(image), mask.astype(np.float32), cord_slices, centres)


def _centroid(plane: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(plane > 0.5)
    return np.array([rows.mean(), cols.mean()])


def sample_batch(sets: list[SliceSet], count: int, window: int, negative_rate: float, rng) -> tuple:
    """``count`` windows ``[count, 1, window, window]`` (image, soft mask) as torch tensors."""
    images, masks = np.zeros((2, count, 1, window, window), np.float32)
    for n in range(count):
        chosen = sets[rng.integers(len(sets))]
        index = rng.integers(len(chosen.cord_slices))
        k = chosen.cord_slices[index]
        centre = _window_centre(chosen, index, window, negative_rate, rng)
        images[n, 0], masks[n, 0] = _crop(chosen.image[k], centre, window), _crop(chosen.mask[k], centre, window)
    return torch.from_numpy(images), torch.from_numpy(masks)


def _window_centre(chosen: SliceSet, index: int, window: int, negative_rate: float, rng) -> np.ndarray:
    if rng.random() < negative_rate:
        return rng.uniform([0, 0], chosen.image.shape[1:])
    return chosen.centres[index] + rng.uniform(-1, 1, 2) * (window / 2 - 16)


def _crop(plane: np.ndarray, centre: np.ndarray, window: int) -> np.ndarray:
    padded = np.pad(plane, window)
    top, left = np.round(centre - window / 2).astype(int) + window
    return padded[top:top + window, left:left + window]


def loss_function(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE + batch soft Dice against a soft target."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    probability = torch.sigmoid(logits)
    dice = (2 * (probability * target).sum() + 1) / (probability.sum() + target.sum() + 1)
    return bce + (1 - dice)


def fit(config: dict, sets: list[SliceSet], run=None) -> torch.nn.Module:
    """A network trained on ``sets`` by the shared loop (``epochs`` x ``steps_per_epoch`` steps, the
    loop's optimiser and schedule), as ``lesionai train`` does; in eval mode. ``run`` gets the log lines."""
    data = TrainingData(sets, np.random.default_rng(config["seed"]))
    return fit_network(sys.modules[__name__], config, data, run)


@dataclass
class TrainingData:
    """What the loop hands to :func:`train_epoch`: the slice sets and the sampling generator."""

    sets: list[SliceSet]
    rng: np.random.Generator


def _epoch(network, optimizer, data: TrainingData, config: dict) -> float:
    network.train()
    return float(np.mean([_step(network, optimizer, data.sets, config, data.rng)
                          for _ in range(config["steps_per_epoch"])]))


def _step(network, optimizer, sets, config, rng) -> float:
    """One augmented batch and one optimiser step; returns the loss."""
    images, masks = sample_batch(sets, config["batch_size"], config["window"], config["negative_rate"], rng)
    images, masks = augment.spatial(images, masks, config["augment"])
    loss = loss_function(network(augment.intensity(images, config["augment"])), masks)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.item())


def torch_predictor(network: torch.nn.Module):
    """A predictor (see :mod:`lesionai.spine.slices`) running ``network`` without gradients."""
    @torch.no_grad()
    def predict(planes: np.ndarray) -> np.ndarray:
        return network(torch.from_numpy(planes)).numpy()
    return predict


def dice(prediction: np.ndarray, truth: np.ndarray) -> float:
    denominator = prediction.sum() + truth.sum()
    return 1.0 if denominator == 0 else float(2 * (prediction & truth).sum() / denominator)


def evaluate_case(network, case: SpineCase, root: Path) -> dict:
    """Dice of the pipeline's cord mask against the reference, on the case's own grid: over the
    whole volume and over the slices (along S) that the reference covers."""
    image, truth = load_image(case, root), load_mask(case.cord_path, root).array > 0
    started = time.perf_counter()
    prediction = cord_on_input(image, torch_predictor(network)).mask
    seconds = time.perf_counter() - started
    covered = _reference_extent(image, truth)
    return {"case": case.name, "subject": case.subject, "contrast": case.contrast_group,
            "dice": dice(prediction, truth), "dice_within_reference_extent": dice(prediction & covered, truth),
            "seconds": round(seconds, 3)}


def _reference_extent(image, truth: np.ndarray) -> np.ndarray:
    """Voxels whose superior-inferior position lies within the reference mask's S range."""
    ijk = np.indices(truth.shape).reshape(3, -1)[::-1].astype(float)  # (i, j, k)
    s = (image.geometry.ijk_to_ras()[2, :3] @ ijk + image.geometry.origin[2]).reshape(truth.shape)
    inside = s[truth]
    return (s >= inside.min() - 0.5) & (s <= inside.max() + 0.5) if inside.size else np.zeros_like(truth)


def cross_validate(config: dict, run_dir: Path) -> dict:
    """Leave-one-subject-out CV; writes ``cv_results.json`` and returns per-contrast mean Dice."""
    run = open_run(config, run_dir)
    run_dir, log = run.directory, run.log
    torch.set_num_threads(config.get("threads", 1))
    root = resolve_data_root(config)
    cases = cord_cases(root)
    sets = {case.name: slice_set(case, root, config["inplane_mm"]) for case in cases}
    held_out = config.get("subjects") or subjects(cases)
    rows = []
    for subject in held_out:
        network = fit(config, [sets[c.name] for c in cases if c.subject != subject], run)
        torch.save(network.state_dict(), run_dir / f"fold_{subject}.pt")
        for case in (c for c in cases if c.subject == subject):
            rows.append(evaluate_case(network, case, root))
            log.info("held out %s", rows[-1])
        (run_dir / "cv_results.json").write_text(json.dumps(rows, indent=2))
    summary = summarise(rows)
    save_metrics(run_dir, summary)
    return summary


def summarise(rows: list[dict]) -> dict:
    """Mean Dice per contrast and overall from per-case CV rows."""
    summary = {"cases": len(rows), "dice_mean": float(np.mean([r["dice"] for r in rows])),
               "dice_within_extent_mean": float(np.mean([r["dice_within_reference_extent"] for r in rows]))}
    for contrast in sorted({r["contrast"] for r in rows}):
        chosen = [r for r in rows if r["contrast"] == contrast]
        summary[f"dice_{contrast}"] = float(np.mean([r["dice"] for r in chosen]))
        summary[f"dice_within_extent_{contrast}"] = float(np.mean([r["dice_within_reference_extent"] for r in chosen]))
    return summary


def example_inputs(config: dict) -> tuple:
    return (torch.zeros(1, 1, config["window"], config["window"]),)


def load_data(run) -> TrainingData:
    """Every cord case of the data set (the shipped model is trained on all subjects)."""
    root = resolve_data_root(run.config)
    sets = [slice_set(case, root, run.config["inplane_mm"]) for case in cord_cases(root)]
    return TrainingData(sets, np.random.default_rng(run.config["seed"]))


def train_epoch(network, optimizer, data: TrainingData, run, epoch: int) -> float:
    return _epoch(network, optimizer, data, run.config)


def validate(network, data, run, epoch: int) -> dict:
    """No validation subject is left out of the shipped model: its accuracy is the LOSO CV's."""
    return {}


def final_metrics(network, data: TrainingData, run, best) -> dict:
    """Training size, plus the LOSO numbers of the CV run named by ``cv_run`` (prefixed :data:`CV_PREFIX`)."""
    metrics = {"train_cases": len(data.sets)}
    if run.config.get("cv_run"):
        cv_rows = read_stored_run(run.config["cv_run"], "cv_results.json")
        metrics.update({CV_PREFIX + k: v for k, v in summarise(cv_rows).items()})
    return metrics


def export(network, window: int, path: Path) -> Path:
    """ONNX export with a dynamic batch axis (windows are ``window`` x ``window``)."""
    return export_onnx(network, (torch.zeros(1, 1, window, window),), path, INPUT_NAMES, OUTPUT_NAMES)
