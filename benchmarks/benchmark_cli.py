"""Benchmark what a user waits for: ``lesionai <task> INPUTS -o OUT`` end to end, outputs included.

Writes generated inputs (the task's phantoms, or the files given), runs the command line in a child
process over the whole batch (start-up, reading, models, every output file), and prints the wall
time per input, the CPU time per input and the child's peak RSS. Prints numbers; asserts nothing.
Other processes on the machine make wall times noisy: ``--repeats N`` runs the batch N times and
prints the best and the median. Usage:

    python benchmarks/benchmark_cli.py spine [--count 10] [--threads 2] [--shape 20,320,320 --spacing 0.5,0.5,5]
    python benchmarks/benchmark_cli.py nodule --count 20
    python benchmarks/benchmark_cli.py severity --count 20 [--repeats 3] [--pipeline]
    python benchmarks/benchmark_cli.py spine --inputs a.nii.gz b.nii.gz

``--shape`` (k,j,i voxels) and ``--spacing`` (i,j,k mm) size the spine phantoms (default: the
phantom's own). CPU time and peak RSS are those of the command's own process (``os.wait4``).
``--pipeline`` also times the task's pipeline alone on the same inputs, in this process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "LesionAICore"))


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=("severity", "spine", "nodule"))
    parser.add_argument("--count", type=int, default=10, help="how many generated inputs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="runs of the whole batch (best and median printed)")
    parser.add_argument("--shape", help="spine phantom voxels k,j,i")
    parser.add_argument("--spacing", help="spine phantom spacing i,j,k in mm")
    parser.add_argument("--inputs", nargs="*", type=Path, default=[], help="files to use instead of phantoms")
    parser.add_argument("--pipeline", action="store_true",
                        help="also time the task's pipeline alone on the same inputs (in this process, after a warm-up)")
    return parser.parse_args(argv)


def generated_inputs(arguments, folder: Path) -> list[Path]:
    from lesionai.imageio import write_image

    paths = []
    for seed in range(arguments.count):
        path = folder / f"{arguments.task}-{seed}.nrrd"
        write_image(phantom_image(arguments, seed), path)
        paths.append(path)
    return paths


def phantom_image(arguments, seed: int):
    if arguments.task == "severity":
        from lesionai.phantoms.cxr import generate_cxr_phantom

        return generate_cxr_phantom(seed=seed, size=(1024, 1024)).image
    if arguments.task == "nodule":
        from lesionai.phantoms.nodule import generate_nodule_phantom

        return generate_nodule_phantom(seed=seed, kind=("ground-glass", "part-solid", "solid")[seed % 3]).image
    from lesionai.phantoms.spine import generate_spine_phantom

    shape = tuple(int(v) for v in arguments.shape.split(",")) if arguments.shape else None
    spacing = tuple(float(v) for v in arguments.spacing.split(",")) if arguments.spacing else None
    view = "axial" if spacing and spacing[2] > 2 * spacing[0] else "sagittal"
    return generate_spine_phantom(seed=seed, shape=shape, spacing=spacing, view=view, lesions=seed % 3).image


@dataclass
class Run:
    """One run of the command line: wall and CPU seconds, exit status, the command's own peak RSS."""

    wall_s: float
    cpu_s: float
    status: int
    peak_rss_mb: float


def run_command(task: str, inputs: list[Path], output: Path, threads: int, options: tuple[str, ...] = ()) -> Run:
    argv = [sys.executable, "-m", "lesionai.cli", task, *map(str, inputs), "-o", str(output),
            "--threads", str(threads), "--progress", "none", *options]
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "LesionAICore")}
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen(argv, env=environment, stdout=subprocess.DEVNULL, stderr=errors)
        _, wait_status, usage = os.wait4(child.pid, 0)  # this child's own CPU time and peak RSS
        wall = time.perf_counter() - started
        child.returncode = status = os.waitstatus_to_exitcode(wait_status)
        if status:
            errors.seek(0)
            print(errors.read().decode(errors="replace")[-2000:], file=sys.stderr)
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return Run(wall, usage.ru_utime + usage.ru_stime, status, usage.ru_maxrss * 1024 / scale / 1024)


def pipeline_seconds(task_name: str, inputs: list[Path], threads: int) -> list[float]:
    """Seconds of ``pipeline.run`` per input (reading and writing excluded), after one warm-up run."""
    from lesionai.imageio import read_image
    from lesionai.tasks import task

    chosen = task(task_name)
    pipeline = chosen.make_pipeline(threads=threads)
    images = [read_image(path, series=chosen.reads_series) for path in inputs]
    pipeline.run(images[0])
    seconds = []
    for image in images:
        started = time.perf_counter()
        pipeline.run(image)
        seconds.append(time.perf_counter() - started)
    return seconds


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    runs = []
    with tempfile.TemporaryDirectory(prefix="lesionai-benchmark-") as scratch:
        inputs = arguments.inputs or generated_inputs(arguments, Path(scratch))
        for repeat in range(arguments.repeats):
            output = Path(scratch) / f"out-{repeat}"
            runs.append(run_command(arguments.task, inputs, output, arguments.threads))
            written = sum(1 for case in output.iterdir() if (case / "result.json").is_file())
        pipeline = pipeline_seconds(arguments.task, inputs, arguments.threads) if arguments.pipeline else None
    per_input = sorted(run.wall_s / len(inputs) for run in runs)
    print(f"task {arguments.task}: {len(inputs)} inputs, exit status {runs[-1].status}, "
          f"{written} result folders written; threads {arguments.threads}, {len(runs)} run(s)")
    print(f"end to end (start-up, reading, models, all outputs): best {per_input[0]:.3f} s, "
          f"median {statistics.median(per_input):.3f} s per input "
          f"(best {per_input[0] * len(inputs):.2f} s in all)")
    print(f"CPU time per input: best {min(run.cpu_s for run in runs) / len(inputs):.3f} s; "
          f"peak RSS of the command: {max(run.peak_rss_mb for run in runs):.0f} MB")
    if pipeline:
        print(f"pipeline alone (no reading, no outputs): best {min(pipeline):.3f} s, "
              f"median {statistics.median(pipeline):.3f} s per input")
    return 0


if __name__ == "__main__":
    sys.exit(main())
