"""Benchmark what a user waits for: ``lesionai <task> INPUTS -o OUT`` end to end, outputs included.

Writes generated inputs (the task's phantoms, or the files given), runs the command line in a child
process over the whole batch (start-up, reading, models, every output file), and prints the wall
time per input and the child's peak RSS. Prints numbers; asserts nothing. Usage:

    python benchmarks/benchmark_cli.py spine [--count 10] [--threads 2] [--shape 20,320,320 --spacing 0.5,0.5,5]
    python benchmarks/benchmark_cli.py nodule --count 20
    python benchmarks/benchmark_cli.py severity --count 20
    python benchmarks/benchmark_cli.py spine --inputs a.nii.gz b.nii.gz

``--shape`` (k,j,i voxels) and ``--spacing`` (i,j,k mm) size the spine phantoms (default: the
phantom's own). Peak RSS is that of the command's process (``RUSAGE_CHILDREN``).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "LesionAICore"))


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=("severity", "spine", "nodule"))
    parser.add_argument("--count", type=int, default=10, help="how many generated inputs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shape", help="spine phantom voxels k,j,i")
    parser.add_argument("--spacing", help="spine phantom spacing i,j,k in mm")
    parser.add_argument("--inputs", nargs="*", type=Path, default=[], help="files to use instead of phantoms")
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


def run_command(task: str, inputs: list[Path], output: Path, threads: int) -> tuple[float, int]:
    argv = [sys.executable, "-m", "lesionai.cli", task, *map(str, inputs), "-o", str(output),
            "--threads", str(threads), "--progress", "none"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "LesionAICore")}
    started = time.perf_counter()
    completed = subprocess.run(argv, env=environment, capture_output=True, text=True)
    return time.perf_counter() - started, completed.returncode


def peak_child_rss_mb() -> float:
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / scale / 1024


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    with tempfile.TemporaryDirectory(prefix="lesionai-benchmark-") as scratch:
        inputs = arguments.inputs or generated_inputs(arguments, Path(scratch))
        wall, status = run_command(arguments.task, inputs, Path(scratch) / "out", arguments.threads)
        written = sum(1 for case in (Path(scratch) / "out").iterdir() if (case / "result.json").is_file())
    print(f"task {arguments.task}: {len(inputs)} inputs, exit status {status}, {written} result folders written")
    print(f"end to end (start-up, reading, models, all outputs): {wall:.2f} s in all, "
          f"{wall / len(inputs):.3f} s per input")
    print(f"peak RSS of the command: {peak_child_rss_mb():.0f} MB; threads {arguments.threads}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
