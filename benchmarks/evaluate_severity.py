"""Evaluate the shipped SeverityScoring models through the ONNX pipeline on the val split.

Prints lung Dice (at each image's stored resolution, ignore pixels excluded, after the pipeline's
post-processing), how often lateral views are flagged and frontal views are falsely flagged, how
often both lungs were found, and, on the radiographs with Brixia scores, the zone and global mean
absolute error against the senior radiologist of the zone classifier, of the opacity scorer and of
their average (rounded), next to the junior radiologist's. Needs the development chest X-ray folder:

    python benchmarks/evaluate_severity.py [--data ../shared/data/cxr] [--split val] [--registry FILE]
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

IGNORE = 255


def dice(prediction: np.ndarray, mask: np.ndarray) -> float:
    valid = mask != IGNORE
    truth, predicted = (mask == 1) & valid, prediction & valid
    denominator = truth.sum() + predicted.sum()
    return 1.0 if denominator == 0 else float(2 * (truth & predicted).sum() / denominator)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cxr")
    parser.add_argument("--split", default="val")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--registry", type=Path, help="model registry to evaluate (default: the shipped one)")
    arguments = parser.parse_args()

    from lesionai.imageio import read_image
    from lesionai.severity.pipeline import SeverityPipeline

    from lesionai.registry import ModelRegistry

    pipeline = SeverityPipeline(ModelRegistry.load(arguments.registry), threads=arguments.threads)
    with open(arguments.data / "cases.csv", newline="") as handle:
        cases = [row for row in csv.DictReader(handle) if row["split"] == arguments.split]
    scores, both_lungs, lateral_flags, frontal_flags, timings = [], [], [], [], []
    zone_rows = []
    for case in cases:
        image = read_image(arguments.data / "images" / f"{case['stem']}.png")
        result = pipeline.run(image)
        timings.append(result.timing_s)
        if case.get("brixia_senior_A", "") != "":
            zone_rows.append(zone_comparison(case, result))
        flagged = any("lateral" in w or "frontal chest" in w for w in result.warnings)
        if case["view"] == "L":
            lateral_flags.append(flagged)
            continue
        if case["view"] in ("PA", "AP", "AP Supine"):
            frontal_flags.append(flagged)
        if case["has_lung_mask"] == "1":
            mask = np.asarray(PILImage.open(arguments.data / "lung_masks" / f"{case['stem']}.png"))
            labels = result.lung_labels.array[0]
            scores.append(dice(labels > 0, mask))
            zones = result.zone_labels.array[0]  # sides from the zones: opacity (label 3) may cover a lung
            both_lungs.append(bool(((zones >= 1) & (zones <= 3)).any() and (zones >= 4).any()))
    print(f"split {arguments.split}: {len(cases)} images")
    print(f"  lung Dice: mean {np.mean(scores):.4f}, median {np.median(scores):.4f}, min {np.min(scores):.4f} "
          f"({len(scores)} masked images)")
    print(f"  both lungs found: {np.mean(both_lungs):.1%}")
    print(f"  lateral views flagged: {sum(lateral_flags)}/{len(lateral_flags)}")
    print(f"  frontal views falsely flagged: {sum(frontal_flags)}/{len(frontal_flags)}")
    print(f"  pipeline time per image (as stored, <= 1024 px): median {statistics.median(timings):.3f} s")
    if zone_rows:
        print_zone_errors(np.array(zone_rows))


LETTERS = "ABCDEF"
SCORERS = ("zone classifier", "opacity scorer", "average of both", "junior radiologist")


def zone_comparison(case: dict, result) -> np.ndarray:
    """(5, 6): senior, classifier, opacity scorer, rounded average, junior scores of zones A-F."""
    senior = [int(case[f"brixia_senior_{z}"]) for z in LETTERS]
    junior = [int(case[f"brixia_junior_{z}"]) for z in LETTERS]
    classifier = [result.zones[z]["score"] for z in LETTERS]
    opacity = [result.zones[z]["opacity_score"] for z in LETTERS]
    expected = [float(np.dot(result.zones[z]["probabilities"], np.arange(4))) for z in LETTERS]
    average = [int(np.clip(np.floor((e + o) / 2 + 0.5), 0, 3)) for e, o in zip(expected, opacity)]
    return np.array([senior, classifier, opacity, average, junior])


def print_zone_errors(rows: np.ndarray) -> None:
    senior = rows[:, 0]
    print(f"  Brixia zone scores against the senior radiologist ({len(rows)} scored images, {senior.size} zones):")
    print(f"    {'predicting the mean':20s} zone MAE {np.abs(senior - senior.mean()).mean():.3f}")
    for index, name in enumerate(SCORERS, start=1):
        errors = np.abs(rows[:, index] - senior)
        global_error = np.abs(rows[:, index].sum(1) - senior.sum(1)).mean()
        exact = (rows[:, index] == senior).mean()
        print(f"    {name:20s} zone MAE {errors.mean():.3f}  global MAE {global_error:.2f}  exact {exact:.1%}")


if __name__ == "__main__":
    main()
