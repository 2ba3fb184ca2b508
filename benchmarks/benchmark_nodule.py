"""Time the NoduleFusion pipeline end to end, outputs included, on nodule crops.

For each crop: read -> ``NodulePipeline.run`` (region, CSN, segmentation, components, features,
classifier) -> ``write_case`` (nodule.nrrd, segmentation.seg.nrrd, overlay.png, result.json).
The first case warms up the models and libraries and is not counted. Prints the median and mean
milliseconds per nodule for the stages and the process's peak memory.

    python benchmarks/benchmark_nodule.py [--data ../shared/data/nodules] [--cases 40] [--threads 2]
        [--registry FILE] [--no-csn] [--phantoms]   # --phantoms: generated crops instead of LIDC
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "LesionAICore"))


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "nodules")
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--registry", type=Path)
    parser.add_argument("--no-csn", action="store_true")
    parser.add_argument("--phantoms", action="store_true", help="time generated crops (no data folder needed)")
    return parser.parse_args()


def input_images(options) -> list:
    from lesionai.imageio import read_image

    if options.phantoms:
        from lesionai.phantoms.nodule import KINDS, generate_nodule_phantom, nodule_crop

        return [nodule_crop(generate_nodule_phantom(seed=i, kind=KINDS[i % 3]))[0] for i in range(options.cases + 1)]
    from lesionai.training.nodule.data import read_cases

    cases = [c for c in read_cases(options.data) if c.split == "val"][: options.cases + 1]
    return [read_image(options.data / case.image) for case in cases]


def timed_case(pipeline, image, folder: Path, name: str) -> tuple[float, float]:
    """(pipeline seconds, output-writing seconds) of one nodule."""
    from lesionai.tasks import task

    started = time.perf_counter()
    result = pipeline.run(image)
    analysed = time.perf_counter()
    task("nodule").write_case(image, result, folder / name, name)
    return analysed - started, time.perf_counter() - analysed


def main() -> None:
    options = arguments()
    from lesionai.nodule.pipeline import NodulePipeline
    from lesionai.registry import ModelRegistry

    pipeline = NodulePipeline(ModelRegistry.load(options.registry), threads=options.threads, csn=not options.no_csn)
    images = input_images(options)
    with tempfile.TemporaryDirectory() as folder:
        timings = np.array([timed_case(pipeline, image, Path(folder), f"case{index}")
                            for index, image in enumerate(images)])[1:]
    total = timings.sum(axis=1)
    print(f"nodules timed        {len(total)} (threads {options.threads}, csn {not options.no_csn})")
    print(f"pipeline ms          median {1000 * np.median(timings[:, 0]):.1f}  mean {1000 * timings[:, 0].mean():.1f}")
    print(f"outputs ms           median {1000 * np.median(timings[:, 1]):.1f}  mean {1000 * timings[:, 1].mean():.1f}")
    print(f"end to end ms        median {1000 * np.median(total):.1f}  mean {1000 * total.mean():.1f}  max {1000 * total.max():.1f}")
    print(f"peak memory MB       {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
