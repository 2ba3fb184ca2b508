"""Time of one nodule classification on the CPU: crop + resample, feature vector and the fused ONNX model.

The nodule is a generated part-solid phantom; its variables are measured once beforehand (the
pipeline measures them anyway). Prints the median and 90th percentile over ``--repeats`` calls
after a warm-up call, with ``--threads`` ONNX Runtime threads.

    python benchmarks/benchmark_nodule_classifier.py --threads 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "LesionAICore"))

from lesionai.nodule.classify import NoduleClassifier
from lesionai.nodule.features import feature_values
from lesionai.phantoms.nodule import generate_nodule_phantom


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    phantom = generate_nodule_phantom(seed=3, kind="part-solid", diameter_mm=14.0)
    features = feature_values(phantom.mask.array > 0, phantom.image.array, phantom.image.geometry)
    classifier = NoduleClassifier(threads=args.threads)
    classifier.predict(phantom.image, phantom.mask, features)  # warm-up: session creation
    seconds = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        classifier.predict(phantom.image, phantom.mask, features)
        seconds.append(time.perf_counter() - started)
    result = {"threads": args.threads, "repeats": args.repeats, "median_ms": 1000 * float(np.median(seconds)),
              "p90_ms": 1000 * float(np.percentile(seconds, 90)), "region_shape": list(phantom.image.array.shape)}
    print(result)
    return result


if __name__ == "__main__":
    main()
