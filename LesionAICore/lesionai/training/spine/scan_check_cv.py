"""Subject-grouped cross-validation of the scan check, and the spine threshold chosen on it.

Groups (a spinal MRI subject, a CT patient, a radiograph patient group, a phantom seed, the two
brain templates together) are dealt to ``cv_folds`` folds class by class, so every fold holds
spinal subjects and negatives. Each fold's network trains on the augmented examples of the other
folds' groups and predicts the *original* (un-augmented) scans of its own groups. Metrics are
computed on those out-of-fold predictions, separately for real scans and generated ones, and the
registry's ``thresholds.spine`` is the spine probability that maximises sensitivity + specificity
- 1 on the real scans, the specificity averaged over the non-spine anatomy classes.

Writes ``config.yaml``, ``train.log``, ``metrics.json`` and ``predictions.csv`` (one row per
original scan) into the run folder.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np

from ...spine.scan_check import ANATOMIES, HEADS
from ..device import seed_everything, set_threads
from ..loop import open_run, run_epochs
from ..runs import close_log, save_metrics
from . import scan_check as recipe


def cross_validate(config: dict, run_dir) -> dict:
    """Run the grouped CV of ``config`` into ``run_dir``; returns the metrics."""
    seed_everything(config["seed"])
    set_threads(config)
    run = open_run(config, run_dir)
    try:
        data = recipe.build_examples(config, run.log)
        folds = group_folds(data, config["cv_folds"], config["seed"])
        probabilities = _out_of_fold(data, folds, run)
        originals = data.subset(data.original)
        labels = {name: values.cpu().numpy() for name, values in originals.labels.items()}
        metrics = summarise(probabilities, labels, originals.real)
        save_metrics(run.directory, metrics)
        _write_predictions(run.directory / "predictions.csv", probabilities, originals, folds[data.original])
        return metrics
    finally:
        close_log(run.log)


def group_folds(data, folds: int, seed: int) -> np.ndarray:
    """Fold index per example: groups dealt round-robin per anatomy class in a seeded hash order."""
    anatomy_of_group = {}
    for group, anatomy in zip(data.groups, data.labels["anatomy"].cpu().numpy()):
        anatomy_of_group.setdefault(group, int(anatomy))
    fold_of_group = {}
    for anatomy in sorted(set(anatomy_of_group.values())):
        members = sorted((g for g, a in anatomy_of_group.items() if a == anatomy), key=lambda g: _hash(g, seed))
        offset = anatomy  # start each class on another fold so small classes spread out
        fold_of_group.update({g: (offset + n) % folds for n, g in enumerate(members)})
    return np.array([fold_of_group[g] for g in data.groups])


def _out_of_fold(data, folds: np.ndarray, run) -> dict[str, np.ndarray]:
    originals = data.original
    held = {name: np.zeros((int(originals.sum()), len(labels)), np.float32) for name, labels in HEADS.items()}
    original_folds = folds[originals]
    for fold in range(run.config["cv_folds"]):
        seed_everything(run.config["seed"] + fold)
        network = recipe.build_network(run.config).to(run.device)
        run_epochs(recipe, network, data.subset(folds != fold), run, label=f"fold {fold}", checkpoint=False)
        predicted = recipe.predict(network, data.subset(originals & (folds == fold)))
        for name in held:
            held[name][original_folds == fold] = predicted[name]
        run.log.info("fold %d done: %d held-out scans", fold, int((original_folds == fold).sum()))
    return held


def summarise(probabilities: dict[str, np.ndarray], labels: dict[str, np.ndarray], real: np.ndarray) -> dict:
    """Per-stage accuracies with class counts, on real and on generated scans, and the spine threshold."""
    metrics = {}
    for subset, chosen in (("real", real), ("generated", ~real)):
        for name, classes in HEADS.items():
            metrics.update(_stage_metrics(f"cv_{subset}_{name}", probabilities[name][chosen], labels[name][chosen], classes))
    metrics.update(spine_threshold_metrics(probabilities["anatomy"][:, 0][real], labels["anatomy"][real]))
    return metrics


def _stage_metrics(prefix: str, probabilities: np.ndarray, labels: np.ndarray, classes) -> dict:
    known = labels >= 0
    if not known.any():
        return {}
    predicted = probabilities[known].argmax(1)
    metrics = {f"{prefix}_accuracy": float((predicted == labels[known]).mean()), f"{prefix}_n": int(known.sum())}
    for index, name in enumerate(classes):
        members = labels[known] == index
        if members.any():
            key = f"{prefix}_{name.replace(' ', '_').replace('*', 'star')}"
            metrics[f"{key}_n"] = int(members.sum())
            metrics[f"{key}_recall"] = float((predicted[members] == index).mean())
    return metrics


def spine_threshold_metrics(spine_probability: np.ndarray, anatomy: np.ndarray) -> dict:
    """The spine threshold and its rates on real scans (``anatomy``: label indices, 0 = spine).

    The threshold maximises sensitivity + class-averaged specificity - 1: the catch rate is averaged
    over the non-spine anatomy classes present, so three brain volumes weigh as much as sixty CT
    crops. Ties: the middle of the best candidates.
    """
    is_spine = anatomy == 0
    classes = [c for c in range(1, len(ANATOMIES)) if (anatomy == c).any()]
    candidates = np.linspace(0.02, 0.98, 97)

    def youden(t: float) -> float:
        catch = np.mean([(spine_probability[anatomy == c] < t).mean() for c in classes])
        return (spine_probability[is_spine] >= t).mean() + catch - 1

    scores = np.array([youden(t) for t in candidates])
    best = np.flatnonzero(np.isclose(scores, scores.max()))
    threshold = float(np.round(candidates[best[len(best) // 2]], 2))
    metrics = {"spine_threshold": threshold, "cv_real_spine_scans": int(is_spine.sum()),
               "cv_real_non_spine_scans": int((~is_spine).sum()),
               "cv_real_false_not_spine_rate": float((spine_probability[is_spine] < threshold).mean()),
               "cv_real_not_spine_catch_rate": float((spine_probability[~is_spine] < threshold).mean())}
    for c in classes:
        key = ANATOMIES[c].replace(" ", "_")
        metrics[f"cv_real_{key}_caught_rate"] = float((spine_probability[anatomy == c] < threshold).mean())
    return metrics


def summarise_predictions(run_dir) -> dict:
    """Re-summarise a finished CV run from its ``predictions.csv`` (rewrites ``metrics.json``)."""
    run_dir = Path(run_dir)
    with open(run_dir / "predictions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    probabilities = {h: np.array([[float(r[f"{h}:{c}"]) for c in classes] for r in rows]) for h, classes in HEADS.items()}
    labels = {h: np.array([int(r[f"{h}_label"]) for r in rows]) for h in HEADS}
    metrics = summarise(probabilities, labels, np.array([r["real"] == "1" for r in rows]))
    save_metrics(run_dir, metrics)
    return metrics


def _write_predictions(path: Path, probabilities: dict, originals, folds: np.ndarray) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "group", "fold", "real"] + [f"{h}_label" for h in HEADS] +
                        [f"{h}:{c}" for h, classes in HEADS.items() for c in classes])
        for n, name in enumerate(originals.names):
            labels = [int(originals.labels[h][n]) for h in HEADS]
            values = [f"{p:.4f}" for h in HEADS for p in probabilities[h][n]]
            writer.writerow([name, originals.groups[n], int(folds[n]), int(originals.real[n])] + labels + values)


def _hash(group: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()
