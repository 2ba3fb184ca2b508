"""Cross-validated figures of the nodule classifier (image, tabular and fusion branches).

Five-fold cross-validation stratified by target and ground-glass-likeness and grouped by patient
(no patient in two folds), on the LIDC development set, with the recipes' own configs:
every fold trains the image branch, the tabular branch and the fusion head on the other folds and
predicts its own nodules. Reported per branch: pooled out-of-fold AUC with a patient-bootstrap 95 %
interval and the mean +- SD of the per-fold AUCs, overall and on ground-glass-like nodules
(texture <= 3); texture accuracy and macro F1 (image branch). ``dev`` trains on the ``train`` split
and reports the ``val`` split the same way. Task: LIDC malignancy suspicion >= 4 vs <= 2
(radiologists' rating proxy; not invasiveness); suspicion 3 is left out.

Trained branch weights are kept per fold in the output folder, so an interrupted run resumes.

    python benchmarks/evaluate_nodule_classifier.py --out runs/nodule-cv/baseline
    python benchmarks/evaluate_nodule_classifier.py --out runs/nodule-cv/csn --csn --branches image
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "LesionAICore"))

import torch

from lesionai.training.config import RECIPES_DIR, load_config
from lesionai.training.nodule import fusion, image, tabular
from lesionai.training.nodule.classifier_data import grid_sizes, load_nodule_set
from lesionai.training.nodule.classifier_metrics import (
    labelled_auc,
    malignancy_summary,
    stratified_patient_folds,
    target_strata,
    texture_summary,
)
from lesionai.training.nodule.recipe_runs import crop_transform, prepare

BRANCHES = ("image", "tabular", "fusion")


def recipe_configs(csn: bool, threads: int) -> dict:
    """{branch: config} from the shipped recipe YAMLs (``csn`` and ``threads`` overridden)."""
    configs = {}
    for branch in BRANCHES:
        config = load_config(RECIPES_DIR / f"nodule_{branch}.yaml")
        config.update({"csn": csn, "threads": threads})
        configs[branch] = config
    return configs


def splits(nodules, folds: int, seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """[(name, train rows, test rows)]: ``dev`` (train -> val split), then ``fold0`` .. ``foldK-1``."""
    fold_of = stratified_patient_folds(nodules.patients, target_strata(nodules.target, nodules.ggn_like), folds, seed)
    parts = [(f"fold{k}", np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)) for k in range(folds)]
    return [("dev", np.flatnonzero(nodules.splits == "train"), np.flatnonzero(nodules.splits == "val"))] + parts


def trained(path: Path, network, fit):
    """``network`` with weights from ``path`` when present, else ``fit(network)`` saved there."""
    if path.is_file():
        network.load_state_dict(torch.load(path, map_location="cpu"))
        return network.eval()
    network = fit(network)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(network.state_dict(), path)
    return network.eval()


def run_split(nodules, train_rows, test_rows, configs, branches, folder: Path) -> dict:
    """{branch: test outputs} of one split, training (or reloading) each branch on ``train_rows``."""
    train_set, test_set = nodules.subset(train_rows), nodules.subset(test_rows)
    shape = grid_sizes(configs["image"])[-1][0]
    prepare(configs["image"])
    image_net = trained(folder / "image.pt", image.build_network(configs["image"]),
                        lambda net: image.fit_image_branch(net, train_set, configs["image"]))
    outputs = {"image": image.image_outputs(image_net, test_set.crops[shape])}
    if "tabular" not in branches:
        return outputs
    prepare(configs["tabular"])
    tabular_net = trained(folder / "tabular.pt", tabular.build_network(configs["tabular"], train_set),
                          lambda net: tabular.fit_tabular_branch(net, train_set, configs["tabular"]))
    outputs["tabular"] = tabular.tabular_outputs(tabular_net, test_set.features, test_set.missing)
    if "fusion" in branches:
        prepare(configs["fusion"])
        model = fusion.fit_fusion(image_net, tabular_net, train_set, configs["fusion"], shape)
        outputs["fusion"] = {"probability": fusion.fused_probability(model, test_set, shape)}
    return outputs


def summarise(nodules, predictions: dict, split_rows: dict, draws: int) -> dict:
    """Pooled out-of-fold and per-fold figures per branch, and the dev (val split) figures."""
    summary = {}
    cv_rows = np.concatenate([rows for name, rows in split_rows.items() if name != "dev"])
    for branch, by_split in predictions.items():
        cv = _pooled(by_split, split_rows, len(nodules))
        per_fold = [labelled_auc(by_split[name]["probability"], nodules.target[rows])
                    for name, rows in split_rows.items() if name != "dev"]
        per_fold_ggn = [labelled_auc(by_split[name]["probability"], nodules.target[rows], nodules.ggn_like[rows])
                        for name, rows in split_rows.items() if name != "dev"]
        summary[branch] = {
            "cv": malignancy_summary(cv[cv_rows], nodules.target[cv_rows], nodules.patients[cv_rows],
                                     nodules.ggn_like[cv_rows], draws),
            "cv_fold_auc": _mean_sd(per_fold), "cv_fold_auc_ggn_like": _mean_sd(per_fold_ggn),
            "dev_val": malignancy_summary(by_split["dev"]["probability"], nodules.target[split_rows["dev"]],
                                          nodules.patients[split_rows["dev"]], nodules.ggn_like[split_rows["dev"]],
                                          draws)}
        if "texture" in by_split["dev"]:
            texture = _pooled(by_split, split_rows, len(nodules), "texture")
            summary[branch]["cv_texture"] = texture_summary(texture[cv_rows], nodules.texture[cv_rows])
            summary[branch]["dev_val_texture"] = texture_summary(by_split["dev"]["texture"],
                                                                 nodules.texture[split_rows["dev"]])
    return summary


def _pooled(by_split: dict, split_rows: dict, count: int, key: str = "probability") -> np.ndarray:
    first = by_split["dev"][key]
    pooled = np.full((count, *first.shape[1:]), np.nan, dtype=np.float64)
    for name, rows in split_rows.items():
        if name != "dev":
            pooled[rows] = by_split[name][key]
    return pooled


def _mean_sd(values) -> dict:
    defined = [value for value in values if value is not None]
    return {"mean": float(np.mean(defined)) if defined else None, "sd": float(np.std(defined)) if defined else None,
            "folds": values}


def write_predictions(path: Path, nodules, predictions: dict, split_rows: dict) -> None:
    """One row per (split, nodule): id, patient, target, ggn_like and every branch's probability."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["split", "id", "patient", "target", "ggn_like", *predictions])
        for name, rows in split_rows.items():
            for position, row in enumerate(rows):
                writer.writerow([name, nodules.ids[row], nodules.patients[row], nodules.target[row],
                                 int(nodules.ggn_like[row]),
                                 *[f"{predictions[b][name]['probability'][position]:.6f}" for b in predictions]])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (fold weights, metrics.json)")
    parser.add_argument("--csn", action="store_true", help="cross-scanner normalisation of every crop first")
    parser.add_argument("--branches", default="image,tabular,fusion", help="comma-separated subset of branches")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261201, help="fold assignment seed")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--draws", type=int, default=2000, help="bootstrap resamples")
    args = parser.parse_args(argv)
    branches = [b for b in BRANCHES if b in args.branches.split(",")]
    configs = recipe_configs(args.csn, args.threads)
    started = time.monotonic()
    nodules = load_nodule_set(configs["image"], crop_transform(configs["image"]))
    split_list = splits(nodules, args.folds, args.seed)
    predictions = {branch: {} for branch in branches}
    for name, train_rows, test_rows in split_list:
        outputs = run_split(nodules, train_rows, test_rows, configs, branches, args.out / name)
        for branch in branches:
            predictions[branch][name] = outputs[branch]
        print(f"{name}: " + ", ".join(f"{b} AUC {labelled_auc(outputs[b]['probability'], nodules.target[test_rows])}"
                                      for b in branches), flush=True)
    split_rows = {name: test_rows for name, _, test_rows in split_list}
    result = {"task": configs["image"]["task"], "csn": args.csn, "folds": args.folds, "seed": args.seed,
              "branches": summarise(nodules, predictions, split_rows, args.draws),
              "nodules": len(nodules), "seconds": round(time.monotonic() - started, 1)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "configs.json").write_text(json.dumps(configs, indent=2))
    (args.out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    write_predictions(args.out / "predictions.csv", nodules, predictions, split_rows)
    print(json.dumps(result["branches"], indent=1))
    return result


if __name__ == "__main__":
    main()
