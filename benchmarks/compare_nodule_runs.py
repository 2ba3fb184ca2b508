"""Paired comparison of two nodule-classifier evaluations on the same folds (e.g. with and without CSN).

Reads the ``predictions.csv`` of two ``evaluate_nodule_classifier.py`` output folders, takes one
branch's out-of-fold probabilities (the five folds, not ``dev``) and reports both AUCs and their
difference (second - first) with a 95 % patient-bootstrap interval: the same resampled patients
score both runs, so the interval is that of the difference itself. Overall and on ground-glass-like
nodules.

    python benchmarks/compare_nodule_runs.py runs/nodule-cv/baseline runs/nodule-cv/csn --branch image
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "LesionAICore"))

from lesionai.training.metrics.classification import one_vs_rest_auc


def out_of_fold(folder: Path, branch: str) -> dict:
    """{nodule id: (patient, target, ggn_like, probability)} of the labelled out-of-fold rows."""
    with open(folder / "predictions.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["split"] != "dev" and row["target"] != "nan"]
    return {row["id"]: (row["patient"], float(row["target"]), row["ggn_like"] == "1", float(row[branch]))
            for row in rows}


def paired_difference(first: dict, second: dict, subset, draws: int, seed: int) -> dict:
    """AUCs of both runs on the shared nodules in ``subset`` and the bootstrap interval of their difference."""
    ids = sorted(key for key in first.keys() & second.keys() if subset(first[key]))
    patients = np.array([first[key][0] for key in ids])
    target = np.array([first[key][1] for key in ids]) == 1
    scores = np.array([[first[key][3], second[key][3]] for key in ids])
    unique, members = np.unique(patients, return_inverse=True)
    by_patient = [np.flatnonzero(members == index) for index in range(len(unique))]
    rng, differences = np.random.default_rng(seed), []
    for _ in range(draws):
        rows = np.concatenate([by_patient[p] for p in rng.integers(len(unique), size=len(unique))])
        aucs = [one_vs_rest_auc(scores[rows, run], target[rows]) for run in (0, 1)]
        if None not in aucs:
            differences.append(aucs[1] - aucs[0])
    first_auc, second_auc = (one_vs_rest_auc(scores[:, run], target) for run in (0, 1))
    return {"first_auc": first_auc, "second_auc": second_auc, "difference": second_auc - first_auc,
            "difference_ci95": [float(np.percentile(differences, 2.5)), float(np.percentile(differences, 97.5))],
            "nodules": len(ids)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--branch", default="image", choices=("image", "tabular", "fusion"))
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    first, second = out_of_fold(args.first, args.branch), out_of_fold(args.second, args.branch)
    result = {name: paired_difference(first, second, subset, args.draws, args.seed)
              for name, subset in (("all", lambda row: True), ("ggn_like", lambda row: row[2]))}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
