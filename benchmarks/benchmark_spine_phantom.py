"""How long a spine phantom takes to draw, and how well the cord model segments phantoms.

For every view x contrast x region (two seeds each, one lesion) prints the phantom's drawing time and
the Dice overlap between the phantom's cord mask and the cord found by the cord model (registry id
``spine-cord-unet``, or the ONNX file given with --onnx), run as the LesionSegmentation pipeline runs
it (canonical grid, two-pass windows, largest component, back on the input grid).

    python benchmarks/benchmark_spine_phantom.py [--onnx runs/.../spine_cord_unet.onnx]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "LesionAICore"))

from lesionai.phantoms.spine import CONTRASTS, REGIONS, VIEWS, generate_spine_phantom  # noqa: E402
from lesionai.registry import ModelRegistry  # noqa: E402
from lesionai.runtime import OnnxModel, load_model  # noqa: E402
from lesionai.spine.cord import cord_on_input  # noqa: E402

CORD_MODEL = "spine-cord-unet"
SEEDS = (0, 1)


def cord_predictor(onnx: Path | None):
    model = OnnxModel(onnx, threads=1) if onnx else load_model(ModelRegistry.load(), CORD_MODEL, threads=1)
    name, output = model.input_names[0], model.output_names[0]
    return lambda planes: model.run({name: planes})[output]


def dice(found: np.ndarray, truth: np.ndarray) -> float:
    return float(2 * (found & truth).sum() / max(found.sum() + truth.sum(), 1))


def drawing_seconds() -> dict:
    """Median time to draw the default sagittal and axial (320 x 320 x 20) phantoms."""
    times = {}
    for view in VIEWS:
        generate_spine_phantom(0, view=view)  # warm-up
        samples = []
        for seed in range(5):
            started = time.perf_counter()
            generate_spine_phantom(seed, view=view, lesions=2)
            samples.append(time.perf_counter() - started)
        times[f"{view}_seconds_median"] = float(np.median(samples))
    return times


def cord_dice(predict) -> dict:
    results = {}
    for view in VIEWS:
        for contrast in CONTRASTS:
            for region in REGIONS:
                scores = []
                for seed in SEEDS:
                    phantom = generate_spine_phantom(seed, view=view, contrast=contrast, region=region, lesions=1)
                    scores.append(dice(cord_on_input(phantom.image, predict)[0], phantom.cord_mask))
                results[f"{view} {contrast} {region}"] = round(float(np.mean(scores)), 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=Path, help="cord model file (default: the registry's spine-cord-unet)")
    arguments = parser.parse_args()
    print(json.dumps({"drawing": drawing_seconds(), "cord_dice_mean_of_2_seeds": cord_dice(cord_predictor(arguments.onnx))},
                     indent=2))


if __name__ == "__main__":
    main()
