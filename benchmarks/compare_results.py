"""Compare two LesionAI output folders case by case: result.json values and label maps.

Used to show that a change of code (not of models) leaves the outputs as they were::

    python benchmarks/compare_results.py BEFORE_OUTDIR AFTER_OUTDIR

For each case folder present in either: every ``*.nrrd`` voxel array and geometry must be equal,
and every value of ``result.json`` must be equal, except run-dependent keys (``timing_s``,
``version``); ``segmentation.seg.nrrd`` must hold the same segments (names in order, colours, tags
and each segment's voxels) on the same grid; ``overlay.png`` must have the same pixels. Prints one
line per case and a summary; exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "LesionAICore"))

from lesionai.imageio import read_image

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


def segmentation_differences(before: Path, after: Path) -> list[str]:
    """How two ``.seg.nrrd`` files differ in geometry or segments ([] when they do not).

    Segments are compared by what they hold: name, colour, tags and voxels (the voxels of its layer
    equal to its label value). Which layer and label value a segment gets is the writer's
    bookkeeping (Slicer's own writer moves empty segments to other layers and renumbers them).
    """
    import SimpleITK as sitk

    first, second = sitk.ReadImage(str(before)), sitk.ReadImage(str(after))
    problems = []
    if not (np.allclose(first.GetOrigin(), second.GetOrigin()) and np.allclose(first.GetSpacing(), second.GetSpacing())
            and np.allclose(first.GetDirection(), second.GetDirection())):
        problems.append(f"{before.name}: geometry differs")
    segments = [_segments(image) for image in (first, second)]
    if [list(found) for found in segments] != [list(segments[0])] * 2:
        return problems + [f"{before.name}: segment names differ"]
    for name, (description, mask) in segments[0].items():
        other_description, other_mask = segments[1][name]
        if description != other_description:
            problems.append(f"{before.name}: segment {name!r} colour or tags differ")
        if not np.array_equal(mask, other_mask):
            problems.append(f"{before.name}: segment {name!r} voxels differ")
    return problems


def _segments(image) -> dict[str, tuple[tuple, np.ndarray]]:
    """Segment name -> ((colour, tags), voxel mask), in the file's segment order."""
    import SimpleITK as sitk

    voxels = sitk.GetArrayFromImage(image)
    layers = voxels[..., np.newaxis] if image.GetNumberOfComponentsPerPixel() == 1 else voxels
    fields = {key: image.GetMetaData(key) for key in image.GetMetaDataKeys()}
    found, index = {}, 0
    while f"Segment{index}_Name" in fields:
        field = {key: fields.get(f"Segment{index}_{key}", "") for key in ("Name", "Color", "Tags", "LabelValue", "Layer")}
        colour = tuple(round(float(value), 6) for value in field["Color"].split())
        mask = layers[..., int(field["Layer"] or 0)] == int(field["LabelValue"] or index + 1)
        found[field["Name"]] = ((colour, field["Tags"]), mask)
        index += 1
    return found


def overlay_differences(before: Path, after: Path) -> list[str]:
    """How many pixels of two overlay pictures differ ([] when none do)."""
    from PIL import Image as PILImage

    with PILImage.open(before) as first, PILImage.open(after) as second:
        a, b = np.asarray(first.convert("RGB")), np.asarray(second.convert("RGB"))
    if a.shape != b.shape:
        return [f"{before.name}: size {a.shape[1]}x{a.shape[0]} != {b.shape[1]}x{b.shape[0]}"]
    changed = int(np.any(a != b, axis=-1).sum())
    return [f"{before.name}: {changed} pixels differ"] if changed else []


def case_differences(before: Path, after: Path) -> list[str]:
    if not after.is_dir() or not before.is_dir():
        return ["case missing on one side"]
    problems = json_differences(json.loads((before / "result.json").read_text()),
                                json.loads((after / "result.json").read_text()))
    for path in sorted([*before.glob("*.nrrd"), *before.glob("*.png")]):
        compare = (segmentation_differences if path.name.endswith(".seg.nrrd") else
                   overlay_differences if path.suffix == ".png" else image_differences)
        problems += compare(path, after / path.name) if (after / path.name).is_file() else [f"{path.name} missing after"]
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
