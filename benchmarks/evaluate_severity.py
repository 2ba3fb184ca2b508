"""Evaluate the shipped SeverityScoring models through the ONNX pipeline on the val split.

Prints lung Dice (at each image's stored resolution, ignore pixels excluded, after the pipeline's
post-processing), how often lateral views are flagged and frontal views are falsely flagged, and
how often both lungs were found. Needs the development chest X-ray folder:

    python benchmarks/evaluate_severity.py [--data ../shared/data/cxr] [--split val]
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
    arguments = parser.parse_args()

    from lesionai.imageio import read_image
    from lesionai.severity.pipeline import SeverityPipeline

    pipeline = SeverityPipeline(threads=arguments.threads)
    with open(arguments.data / "cases.csv", newline="") as handle:
        cases = [row for row in csv.DictReader(handle) if row["split"] == arguments.split]
    scores, both_lungs, lateral_flags, frontal_flags, timings = [], [], [], [], []
    for case in cases:
        image = read_image(arguments.data / "images" / f"{case['stem']}.png")
        result = pipeline.run(image)
        timings.append(result.timing_s)
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
            both_lungs.append(set(np.unique(labels)) >= {1, 2})
    print(f"split {arguments.split}: {len(cases)} images")
    print(f"  lung Dice: mean {np.mean(scores):.4f}, median {np.median(scores):.4f}, min {np.min(scores):.4f} "
          f"({len(scores)} masked images)")
    print(f"  both lungs found: {np.mean(both_lungs):.1%}")
    print(f"  lateral views flagged: {sum(lateral_flags)}/{len(lateral_flags)}")
    print(f"  frontal views falsely flagged: {sum(frontal_flags)}/{len(frontal_flags)}")
    print(f"  pipeline time per image (as stored, <= 1024 px): median {statistics.median(timings):.3f} s")


if __name__ == "__main__":
    main()
