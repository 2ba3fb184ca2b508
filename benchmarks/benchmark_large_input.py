"""Benchmark a very large radiograph end to end: ``lesionai severity BIG.nrrd -o OUT`` in a child process.

Draws a 1024x1024 chest phantom, resizes it to ``--shape`` (default 8000x8000) and stores it as a
16-bit NRRD (or 16-bit grey PNG with ``--format png``), then times the command line on it (start-up,
reading, models, every output file at the input's resolution) and prints the wall time, the CPU time
and the command's peak RSS, next to the input's own size in bytes. Prints numbers; asserts nothing.

    python benchmarks/benchmark_large_input.py [--shape 8000,8000] [--format nrrd|png] [--repeats 3] [--force]

Other processes on the machine make wall times noisy: with ``--repeats`` the best and the median
are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_cli import ROOT, run_command

sys.path.insert(0, str(ROOT / "LesionAICore"))


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="8000,8000", help="rows,cols of the input")
    parser.add_argument("--format", choices=("nrrd", "png"), default="nrrd")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--force", action="store_true",
                        help="score it even when the radiograph check refuses it (e.g. a long strip: --shape 6000,128)")
    return parser.parse_args(argv)


def large_radiograph(shape: tuple[int, int]) -> np.ndarray:
    """A 16-bit phantom radiograph of ``shape`` (rows, cols): a 1024x1024 phantom resized bilinearly."""
    from PIL import Image as PILImage

    from lesionai.phantoms.cxr import MAX_INTENSITY, generate_cxr_phantom

    plane = generate_cxr_phantom(seed=5, size=(1024, 1024)).image.array[0]
    resized = PILImage.fromarray(plane, mode="F").resize((shape[1], shape[0]), PILImage.BILINEAR)
    return np.clip(np.asarray(resized) * (65535.0 / MAX_INTENSITY), 0, 65535).astype(np.uint16)


def write_input(pixels: np.ndarray, folder: Path, kind: str) -> Path:
    from lesionai.geometry import Image, radiograph_geometry
    from lesionai.imageio import write_image

    spacing = 430.0 / max(pixels.shape)
    if kind == "png":
        from PIL import Image as PILImage

        path = folder / "large.png"
        PILImage.fromarray(pixels).save(path, compress_level=1)
        return path
    return write_image(Image(pixels[np.newaxis], radiograph_geometry((spacing, spacing))), folder / "large.nrrd")


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    shape = tuple(int(value) for value in arguments.shape.split(","))
    walls, runs = [], []
    with tempfile.TemporaryDirectory(prefix="lesionai-large-") as scratch:
        pixels = large_radiograph(shape)
        path = write_input(pixels, Path(scratch), arguments.format)
        input_mb = pixels.nbytes / 1e6
        del pixels
        for repeat in range(arguments.repeats):
            run = run_command("severity", [path], Path(scratch) / f"out-{repeat}", arguments.threads,
                              ("--force",) if arguments.force else ())
            walls.append(run.wall_s)
            runs.append(run)
            written = (Path(scratch) / f"out-{repeat}" / "large" / "result.json").is_file()
            print(f"run {repeat + 1}: exit status {run.status}, result written: {written}, {run.wall_s:.2f} s wall, "
                  f"{run.cpu_s:.2f} s CPU, peak RSS {run.peak_rss_mb:.0f} MB")
    print(f"{shape[1]}x{shape[0]} 16-bit {arguments.format.upper()} ({input_mb:.0f} MB of pixels), "
          f"{arguments.threads} threads, {len(walls)} run(s): best {min(walls):.2f} s, median "
          f"{statistics.median(walls):.2f} s end to end; peak RSS {max(run.peak_rss_mb for run in runs):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
