"""Recipe ``spine-lesion``: an attention U-Net (MONAI ``AttentionUnet``) segmenting lesions in a
window following the cord, trained on synthetic lesions inserted into real cord MRI.

For each training image (every cord case except ``t2_fake_lesion``, whose real image already holds
an inserted lesion), ``copies`` versions are made with lesions from
:func:`lesionai.spine.synthetic_lesions.insert_lesions` (0-5 lesions each, hyper- or hypointense by
contrast) on the canonical grid, inside the reference cord mask. Training windows are centred on
the cord of each slice; half the batch is drawn from slices holding a lesion. Cross-validation
holds out groups of subjects (``folds``) and scores held-out images carrying new synthetic lesions (another seed),
with the window placed on the reference cord: lesion-wise sensitivity, false positives per scan
(also on lesion-free copies) and Dice. ``lesionai train spine-lesion`` trains the shipped model on
every subject through the shared loop (:mod:`lesionai.training.loop`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from ...spine.lesions import cord_window_centres, lesion_mask, lesion_probability
from ...spine.slices import windows
from ...spine.synthetic_lesions import insert_lesions
from ..config import resolve_data_root
from ..loop import fit_network, open_run
from ..runs import read_stored_run, save_metrics
from . import augment
from .cord_segmentation import SliceSet, export, slice_set, torch_predictor  # noqa: F401 (export: the recipe's)
from .data import SpineCase, cord_cases, subjects

NAME, INPUT_NAMES, OUTPUT_NAMES, MONITOR = "spine-lesion", ["image"], ["lesion_logits"], None
OPTIONAL_KEYS = ("folds", "progress")
CV_PREFIX = "subject_cv_"  # metrics of the subject-grouped CV in metrics.json and the registry
EXCLUDED_CASES = ("sct_t2_fake_lesion/t2_fake_lesion",)


@dataclass
class LesionCopy:
    """Cord windows ``[n, W, W]`` of one image with inserted lesions, their lesion masks, and which
    windows hold a lesion."""

    images: np.ndarray
    masks: np.ndarray
    with_lesion: np.ndarray


def build_network(config: dict) -> torch.nn.Module:
    from monai.networks.nets import AttentionUnet

    channels = tuple(config["channels"])
    return AttentionUnet(spatial_dims=2, in_channels=1, out_channels=1, channels=channels,
                         strides=(2,) * (len(channels) - 1))


def lesion_cases(root: Path) -> list[SpineCase]:
    return [case for case in cord_cases(root) if case.name not in EXCLUDED_CASES]


def with_lesions(volume: SliceSet, contrast: str, spacing: tuple, rng, count: int | None) -> tuple:
    """(image, lesion mask) of ``volume`` with ``count`` synthetic lesions (None: 0-5)."""
    cord = volume.mask > 0.5
    count = int(rng.integers(0, 6)) if count is None else count
    inserted = insert_lesions(volume.image, cord, spacing, contrast, rng, count=count)
    return np.clip(inserted.image, 0, 1.5), inserted.mask


def lesion_copy(volume: SliceSet, contrast: str, spacing: tuple, rng, window: int) -> LesionCopy:
    image, mask = with_lesions(volume, contrast, spacing, rng, None)
    slices, centres = cord_window_centres(volume.mask > 0.5)
    images = windows(image[slices], centres, window).astype(np.float16)
    masks = windows(mask[slices].astype(np.float32), centres, window).astype(np.uint8)
    return LesionCopy(images, masks, masks.reshape(len(masks), -1).any(axis=1))


def training_copies(cases, sets, spacings, config, rng) -> list[LesionCopy]:
    return [lesion_copy(sets[c.name], c.contrast_group, spacings[c.name], rng, config["window"])
            for c in cases for _ in range(config["copies"])]


def sample_batch(copies: list[LesionCopy], count: int, lesion_rate: float, rng) -> tuple:
    images, masks = [], []
    for _ in range(count):
        chosen = copies[rng.integers(len(copies))]
        pool = np.flatnonzero(chosen.with_lesion) if rng.random() < lesion_rate else np.arange(len(chosen.images))
        index = rng.choice(pool if len(pool) else np.arange(len(chosen.images)))
        images.append(chosen.images[index].astype(np.float32))
        masks.append(chosen.masks[index].astype(np.float32))
    return torch.from_numpy(np.stack(images)[:, None]), torch.from_numpy(np.stack(masks)[:, None])


@dataclass
class TrainingData:
    """What the loop hands to :func:`train_epoch`: lesion copies and the sampling generator."""

    copies: list[LesionCopy]
    rng: np.random.Generator


def fit(config: dict, copies: list[LesionCopy], run=None) -> torch.nn.Module:
    """A network trained on ``copies`` by the shared loop (``epochs`` x ``steps_per_epoch`` steps, the
    loop's optimiser and schedule), as ``lesionai train`` does; in eval mode. ``run`` gets the log lines."""
    data = TrainingData(copies, np.random.default_rng(config["seed"]))
    return fit_network(sys.modules[__name__], config, data, run)


def _epoch(network, optimizer, data: TrainingData, config: dict) -> float:
    network.train()
    return float(np.mean([_step(network, optimizer, data, config) for _ in range(config["steps_per_epoch"])]))


def lesion_loss(logits: torch.Tensor, target: torch.Tensor, positive_weight: float) -> torch.Tensor:
    """BCE with lesion voxels weighted ``positive_weight`` (lesions are under 1 % of the voxels) plus
    batch soft Dice."""
    bce = F.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(float(positive_weight)))
    probability = torch.sigmoid(logits)
    dice = (2 * (probability * target).sum() + 1) / (probability.sum() + target.sum() + 1)
    return bce + (1 - dice)


def _step(network, optimizer, data: TrainingData, config: dict) -> float:
    images, masks = sample_batch(data.copies, config["batch_size"], config["lesion_rate"], data.rng)
    images, masks = augment.spatial(images, masks, config["augment"])
    loss = lesion_loss(network(augment.intensity(images, config["augment"])), (masks > 0.5).float(),
                       config["positive_weight"])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.item())


LARGE_LESION_MM3 = 20.0  # about a 3.4 mm sphere: lesions a reader would count on 1 mm or thicker slices


def lesion_scores(prediction: np.ndarray, truth: np.ndarray, voxel_mm3: float = 1.0) -> dict:
    """Lesion-wise detection (26-connected components, any overlap) and voxel Dice of one scan;
    ``*_large`` counts only true lesions of at least ``LARGE_LESION_MM3`` (``voxel_mm3`` per voxel)."""
    structure = np.ones((3, 3, 3))
    truth_components, truth_count = ndimage.label(truth, structure=structure)
    predicted_components, predicted_count = ndimage.label(prediction, structure=structure)
    hit = np.zeros(truth_count + 1, bool)
    hit[np.unique(truth_components[prediction])] = True
    sizes = np.bincount(truth_components.ravel(), minlength=truth_count + 1) * voxel_mm3
    large = sizes >= LARGE_LESION_MM3
    false_positive = sum(1 for n in range(1, predicted_count + 1) if not truth[predicted_components == n].any())
    denominator = prediction.sum() + truth.sum()
    return {"lesions": int(truth_count), "detected": int(hit[1:].sum()),
            "lesions_large": int(large[1:].sum()), "detected_large": int((hit & large)[1:].sum()),
            "false_positives": int(false_positive),
            "dice": None if truth_count == 0 else float(2 * (prediction & truth).sum() / denominator)}


def evaluate_copies(network, case: SpineCase, volume: SliceSet, spacing: tuple, config: dict) -> list[dict]:
    """Scores on ``config['test_copies']`` lesion copies and one lesion-free copy of a held-out image."""
    rng = np.random.default_rng(config["seed"] + 7919)
    predict, cord = torch_predictor(network), volume.mask > 0.5
    rows = []
    for copy_index in range(config["test_copies"] + 1):
        count = 0 if copy_index == config["test_copies"] else int(rng.integers(1, 6))
        image, truth = with_lesions(volume, case.contrast_group, spacing, rng, count)
        probability = lesion_probability(image, cord, predict, config["window"], normalized=True)
        prediction = lesion_mask(probability, cord, spacing)
        rows.append({"case": case.name, "subject": case.subject, "contrast": case.contrast_group,
                     "copy": copy_index, **lesion_scores(prediction, truth.astype(bool), float(np.prod(spacing)))})
    return rows


def cross_validate(config: dict, run_dir) -> dict:
    """Subject-grouped CV on synthetic lesions (``folds``: lists of held-out subjects; none: leave
    one subject out); writes ``cv_results.json`` and the summary."""
    run = open_run(config, run_dir)
    run_dir, log = run.directory, run.log
    torch.set_num_threads(config.get("threads", 1))
    root = resolve_data_root(config)
    cases = lesion_cases(root)
    sets = {case.name: slice_set(case, root, config["inplane_mm"]) for case in cases}
    spacings = {case.name: _canonical_spacing(case, root, config["inplane_mm"]) for case in cases}
    rng = np.random.default_rng(config["seed"])
    rows = []
    for held_out in config.get("folds") or [[subject] for subject in subjects(cases)]:
        training = [c for c in cases if c.subject not in held_out]
        network = fit(config, training_copies(training, sets, spacings, config, rng), run)
        torch.save(network.state_dict(), run_dir / f"fold_{'_'.join(held_out)}.pt")
        for case in (c for c in cases if c.subject in held_out):
            rows += evaluate_copies(network, case, sets[case.name], spacings[case.name], config)
        log.info("held out %s: %s", held_out, summarise([r for r in rows if r["subject"] in held_out]))
        (run_dir / "cv_results.json").write_text(json.dumps(rows, indent=2))
    summary = summarise(rows)
    save_metrics(run_dir, summary)
    return summary


def _canonical_spacing(case: SpineCase, root: Path, inplane_mm: float) -> tuple:
    from ...spine.grid import to_canonical
    from .data import load_image

    spacing = to_canonical(load_image(case, root), inplane_mm).image.geometry.spacing
    return (spacing[2], spacing[1], spacing[0])


def summarise(rows: list[dict]) -> dict:
    """Sensitivity (detected / lesions; also for lesions of at least ``LARGE_LESION_MM3``), false
    positives per scan (all scans and lesion-free ones), mean Dice over scans with lesions."""
    with_lesions_rows = [r for r in rows if r["lesions"]]
    lesion_free = [r for r in rows if not r["lesions"]]
    total, large = sum(r["lesions"] for r in rows), sum(r.get("lesions_large", 0) for r in rows)
    return {"scans": len(rows), "lesions": total, "lesions_large": large,
            "sensitivity": sum(r["detected"] for r in rows) / max(total, 1),
            "sensitivity_large": sum(r.get("detected_large", 0) for r in rows) / max(large, 1),
            "false_positives_per_scan": float(np.mean([r["false_positives"] for r in rows])),
            "false_positives_per_lesion_free_scan": float(np.mean([r["false_positives"] for r in lesion_free])) if lesion_free else None,
            "dice_mean": float(np.mean([r["dice"] for r in with_lesions_rows])) if with_lesions_rows else None}


def example_inputs(config: dict) -> tuple:
    return (torch.zeros(1, 1, config["window"], config["window"]),)


def load_data(run) -> TrainingData:
    """Lesion copies of every lesion case (the shipped model is trained on all subjects)."""
    config = run.config
    root = resolve_data_root(config)
    cases = lesion_cases(root)
    sets = {case.name: slice_set(case, root, config["inplane_mm"]) for case in cases}
    spacings = {case.name: _canonical_spacing(case, root, config["inplane_mm"]) for case in cases}
    rng = np.random.default_rng(config["seed"])
    return TrainingData(training_copies(cases, sets, spacings, config, rng), rng)


def train_epoch(network, optimizer, data: TrainingData, run, epoch: int) -> float:
    return _epoch(network, optimizer, data, run.config)


def validate(network, data, run, epoch: int) -> dict:
    """No subject is held out of the shipped model: its accuracy is the LOSO CV's."""
    return {}


def final_metrics(network, data: TrainingData, run, best) -> dict:
    """Training size, plus the CV numbers of the run named by ``cv_run`` (prefixed :data:`CV_PREFIX`)."""
    metrics = {"train_copies": len(data.copies)}
    if run.config.get("cv_run"):
        rows = read_stored_run(run.config["cv_run"], "cv_results.json")
        metrics.update({CV_PREFIX + k: v for k, v in summarise(rows).items() if v is not None})
    return metrics
