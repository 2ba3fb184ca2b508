"""Benchmark: SeverityScoring latency and peak memory on a 1024x1024 radiograph (ONNX Runtime):
view check, lungs, alignment, zones, zone scores with Grad-CAM, opacity score.

Prints numbers; asserts nothing. Usage:

    python benchmarks/benchmark_severity.py [--threads 2] [--repeats 20] [--image FILE]

Peak RSS is the process's high-water mark (``resource.getrusage``), which includes the Python
interpreter and the loaded libraries. When ONNX Runtime offers the CUDA provider, batched
lung-segmentation throughput on the GPU is printed too.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

import numpy as np


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--image", help="radiograph to use instead of a 1024x1024 phantom")
    return parser.parse_args(argv)


def load_image(path):
    if path:
        from lesionai.imageio import read_image

        return read_image(path)
    from lesionai.phantoms.cxr import generate_cxr_phantom

    return generate_cxr_phantom(seed=7, size=(1024, 1024)).image


def peak_rss_mb() -> float:
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / scale / 1024


def time_pipeline(pipeline, image, repeats: int) -> list[float]:
    pipeline.run(image)  # warm-up: sessions created, memory arenas sized
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        pipeline.run(image)
        timings.append(time.perf_counter() - started)
    return timings


def time_stages(pipeline, image) -> dict[str, float]:
    from lesionai.severity.lungs import lung_labels_from_probability
    from lesionai.severity.pipeline import display_radiograph
    from lesionai.severity.zones import zone_labels

    display, _, _ = display_radiograph(image)
    plane = display.array[0].astype(np.float32)
    stages, started = {}, time.perf_counter()
    pipeline.view_probabilities(plane)
    stages["view check"], started = time.perf_counter() - started, time.perf_counter()
    probability = pipeline.lung_probability(plane)
    stages["lung model + upsampling"], started = time.perf_counter() - started, time.perf_counter()
    lungs = lung_labels_from_probability(probability, display.geometry, plane.shape)
    stages["lung post-processing"], started = time.perf_counter() - started, time.perf_counter()
    theta = pipeline.alignment(plane, lungs > 0)
    stages["alignment"], started = time.perf_counter() - started, time.perf_counter()
    zones, _ = zone_labels(lungs, theta)
    stages["zones"], started = time.perf_counter() - started, time.perf_counter()
    pipeline.zone_scores(plane, zones)
    stages["zone scores + Grad-CAM"], started = time.perf_counter() - started, time.perf_counter()
    opacity = pipeline.opacity(plane, lungs)
    pipeline.opacity_table(opacity, zones)
    stages["opacity + opacity score"] = time.perf_counter() - started
    return stages


def gpu_throughput(pipeline, batch: int = 32, repeats: int = 10) -> float | None:
    """Lung-model images per second on the GPU with a batch, or None without CUDA."""
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        return None
    from lesionai.runtime import OnnxModel

    from lesionai.severity.pipeline import LUNG_MODEL

    model = OnnxModel(pipeline.registry.path(LUNG_MODEL), providers=["CUDAExecutionProvider"])
    images = np.random.default_rng(0).random((batch, 1, 256, 256), dtype=np.float32)
    model.run({"image": images})
    started = time.perf_counter()
    for _ in range(repeats):
        model.run({"image": images})
    return batch * repeats / (time.perf_counter() - started)


def main(argv=None) -> None:
    arguments = parse_arguments(argv)
    from lesionai.severity.pipeline import SeverityPipeline

    image = load_image(arguments.image)
    pipeline = SeverityPipeline(threads=arguments.threads)
    timings = time_pipeline(pipeline, image, arguments.repeats)
    rows, cols = image.array.shape[1:]
    print(f"SeverityScoring on a {cols}x{rows} radiograph, {arguments.threads} threads, {arguments.repeats} runs")
    print(f"  latency per image: mean {statistics.mean(timings):.3f} s, median {statistics.median(timings):.3f} s, "
          f"max {max(timings):.3f} s")
    for stage, seconds in time_stages(pipeline, image).items():
        print(f"  {stage:<26} {seconds * 1000:7.1f} ms")
    print(f"  peak RSS: {peak_rss_mb():.0f} MB")
    throughput = gpu_throughput(pipeline)
    print(f"  GPU batched lung-model throughput: {throughput:.1f} images/s" if throughput else
          "  GPU: CUDA provider not available, skipped")


if __name__ == "__main__":
    main()
