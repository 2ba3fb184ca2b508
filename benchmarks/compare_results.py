"""Compare two LesionAI output folders case by case: result.json values and label maps.

Used to show that a change of code (not of models) leaves the outputs as they were::

    python benchmarks/compare_results.py BEFORE_OUTDIR AFTER_OUTDIR

For each case folder present in either: every ``*.nrrd`` voxel array and geometry must be equal,
and every value of ``result.json`` must be equal, except run-dependent keys (``timing_s``,
``version``). Prints one line per case and a summary; exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "LesionAICore"))

from lesionai.imageio import read_image  # noqa: E402

RUN_DEPENDENT_KEYS = {"timing_s", "version"}


def json_differences(before, after, path: str = "") -> list[str]:
    """Paths where two JSON values differ (dictionary key order ignored)."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = (set(before) | set(after)) - RUN_DEPENDENT_KEYS
        return [difference for key in sorted(keys)
                for difference in json_differences(before.get(key), after.get(key), f"{path}/{key}")]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [difference for index, (a, b) in enumerate(zip(before, after))
                for difference in json_differences(a, b, f"{path}[{index}]")]
    return [] if before == after else [f"{path}: {before!r} != {after!r}"]


def image_differences(before: Path, after: Path) -> list[str]:
    """How two images differ in voxels or geometry ([] when identical)."""
    first, second = read_image(before), read_image(after)
    problems = []
    if first.array.shape != second.array.shape or not np.array_equal(first.array, second.array):
        problems.append(f"{before.name}: voxels differ")
    if not np.allclose(first.geometry.ijk_to_ras(), second.geometry.ijk_to_ras()):
        problems.append(f"{before.name}: geometry differs")
    return problems


def case_differences(before: Path, after: Path) -> list[str]:
    if not after.is_dir() or not before.is_dir():
        return ["case missing on one side"]
    problems = json_differences(json.loads((before / "result.json").read_text()),
                                json.loads((after / "result.json").read_text()))
    for labelmap in sorted(before.glob("*.nrrd")):
        if labelmap.name.endswith(".seg.nrrd"):
            continue
        problems += image_differences(labelmap, after / labelmap.name) if (after / labelmap.name).is_file() \
            else [f"{labelmap.name} missing after"]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    arguments = parser.parse_args(argv)
    names = sorted({p.name for root in (arguments.before, arguments.after) for p in root.iterdir()
                    if (p / "result.json").is_file()})
    differing = 0
    for name in names:
        problems = case_differences(arguments.before / name, arguments.after / name)
        differing += bool(problems)
        print(f"{name}: {'identical' if not problems else '; '.join(problems[:5])}")
    print(f"{len(names)} cases compared, {differing} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
