"""False alarms and catch rate of SeverityScoring's radiograph check (is this a chest radiograph it can score?).

(a) Every real frontal chest radiograph of the development data (``cxr/cases.csv`` views PA, AP and
AP Supine; blank views are left out) goes through the check: refused or accepted. The false-alarm
rate is given with its 95 % Wilson interval, overall and per split: the image thresholds were
chosen on the train split, so val is the held-out figure.

(b) A corpus of images that are not scorable chest radiographs, generated deterministically from
``--seed``: generated pictures (noise, gradients, checkerboards, text), val-split radiographs made
into strips, byte-swapped 16-bit data, half or mostly blanked images, tiles and shuffled patches
(:mod:`lesionai.phantoms.non_radiographs`), and slices of the CT, brain MRI and spine MRI volumes of
the development data. An image counts as caught when the pipeline refuses it (the radiograph check,
or the input validation before it); the catch rate is given per kind and overall.

The thresholds were looked at on the train split and on a corpus of seed 0 made from train-split
radiographs; the default seed here is 1 and the corrupted radiographs come from the val split. The
view model was trained with slices of the spine MRI and DICOM sample volumes and with generated
noise and gradients as its "other" class, so those kinds are not independent of it.

    python benchmarks/evaluate_radiograph_check.py --run-dir runs/radiograph-check/2026-12-02

The run folder gets config.yaml, metrics.json and predictions.csv (one row per image: kind, source,
refused, stage, reasons, measures). Nothing is written into the data folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "LesionAICore"))

from lesionai.errors import InputError
from lesionai.geometry import Image, radiograph_geometry
from lesionai.phantoms.non_radiographs import (
    CORRUPTION_KINDS,
    PICTURE_KINDS,
    corrupted_radiograph,
    non_radiograph,
)

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FRONTAL_VIEWS = ("PA", "AP", "AP Supine")
VOLUME_KINDS = ("CT slice", "brain MRI slice", "spine MRI slice")
SLICE_SIDE = 384  # a slice is resampled to its physical aspect with this longer side, as a picture export would be


def wilson_interval(successes: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval of a binomial proportion (0, 0 when ``total`` is 0)."""
    if total == 0:
        return 0.0, 0.0
    share = successes / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def frontal_cases(data: Path) -> list[dict]:
    with open(data / "cxr" / "cases.csv", newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["view"] in FRONTAL_VIEWS]


def radiograph_plane(data: Path, stem: str) -> np.ndarray:
    from PIL import Image as PILImage

    return np.asarray(PILImage.open(data / "cxr" / "images" / f"{stem}.png").convert("L"), dtype=np.float32)


def verdict(pipeline, plane: np.ndarray) -> dict:
    """The pipeline's answer for a display-oriented plane: refused or not, by which stage, why."""
    image = Image(np.asarray(plane, dtype=np.float32)[np.newaxis], radiograph_geometry())
    try:
        check = pipeline.check(image)
    except InputError as error:
        return {"refused": True, "stage": "input validation", "reasons": [str(error)], "measures": {}}
    return {"refused": not check.passed, "stage": "radiograph check" if check.reasons else "",
            "reasons": check.reasons, "measures": check.measures}


def evaluate_frontals(pipeline, data: Path) -> list[dict]:
    rows = []
    for case in frontal_cases(data):
        found = verdict(pipeline, radiograph_plane(data, case["stem"]))
        rows.append({"set": "frontal", "kind": f"frontal {case['split']}", "source": case["stem"], **found})
    return rows


def corpus(data: Path, seed: int, per_kind: int):
    """(kind, source, plane) of the non-radiograph corpus, ``per_kind`` of each kind."""
    rng = np.random.default_rng(seed)
    for index, kind in enumerate(PICTURE_KINDS):
        for number in range(per_kind):
            item_seed = seed * 100_000 + index * 1000 + number
            yield kind, f"generated seed {item_seed}", non_radiograph(kind, item_seed)
    val = [case["stem"] for case in frontal_cases(data) if case["split"] == "val"]
    for index, kind in enumerate(CORRUPTION_KINDS):
        for number in range(per_kind):
            stem, item_seed = val[int(rng.integers(len(val)))], seed * 100_000 + (50 + index) * 1000 + number
            yield kind, f"{stem} seed {item_seed}", corrupted_radiograph(radiograph_plane(data, stem), kind, item_seed)
    for kind, paths in volume_sources(data).items():
        yield from volume_slices(kind, paths, per_kind, rng)


def volume_sources(data: Path) -> dict[str, list[Path]]:
    negatives = data / "negatives"
    with open(negatives / "cases.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with open(data / "spine" / "cases.csv", newline="", encoding="utf-8") as handle:
        spine = [data / "spine" / row["path"] for row in csv.DictReader(handle)]
    return {"CT slice": [negatives / row["path"] for row in rows if row["modality"] == "CT"],
            "brain MRI slice": [negatives / row["path"] for row in rows if row["modality"].startswith("MR brain")],
            "spine MRI slice": spine}


def volume_slices(kind: str, paths: list[Path], count: int, rng: np.random.Generator):
    """``count`` slices (all three axes, positions 30-70 % through the volume) of ``paths`` in turn."""
    from lesionai.imageio import read_image

    volumes = {}
    for number in range(count):
        path, axis = paths[number % len(paths)], (number // len(paths)) % 3
        if path not in volumes:
            volumes[path] = read_image(path, series=True)
        volume = volumes[path]
        array = volume.array[0] if volume.array.ndim == 4 else volume.array
        position = int(rng.uniform(0.3, 0.7) * (array.shape[axis] - 1))
        plane = np.take(array, position, axis=axis).astype(np.float32)
        spacing = [volume.geometry.spacing[2 - a] for a in range(3) if a != axis]  # array axes k, j, i
        source = f"{path.parent.name}/{path.name} axis {axis} slice {position}"
        yield kind, source, exported_picture(plane[::-1] if axis != 0 else plane, spacing)


def exported_picture(plane: np.ndarray, spacing: list[float]) -> np.ndarray:
    """``plane`` resampled to square pixels with its longer side :data:`SLICE_SIDE` pixels."""
    from lesionai.severity.preprocess import resize_plane

    height, width = plane.shape[0] * spacing[0], plane.shape[1] * spacing[1]
    scale = SLICE_SIDE / max(height, width)
    return resize_plane(plane, (max(1, round(height * scale)), max(1, round(width * scale))))


def evaluate_corpus(pipeline, data: Path, seed: int, per_kind: int) -> list[dict]:
    return [{"set": "non-radiograph", "kind": kind, "source": source, **verdict(pipeline, plane)}
            for kind, source, plane in corpus(data, seed, per_kind)]


def rate(rows: list[dict]) -> dict:
    refused = sum(row["refused"] for row in rows)
    low, high = wilson_interval(refused, len(rows))
    return {"n": len(rows), "refused": refused, "rate": refused / len(rows) if rows else 0.0,
            "ci95": [round(low, 4), round(high, 4)]}


def metrics(rows: list[dict]) -> dict:
    """False alarms on the frontal radiographs (all, per split), catch rate per kind and overall."""
    frontal = [row for row in rows if row["set"] == "frontal"]
    others = [row for row in rows if row["set"] == "non-radiograph"]
    kinds = list(dict.fromkeys(row["kind"] for row in others))
    return {"false_alarms": rate(frontal),
            "false_alarms_by_split": {split: rate([r for r in frontal if r["kind"] == f"frontal {split}"])
                                      for split in ("train", "val")},
            "false_alarm_images": {row["source"]: row["reasons"] for row in frontal if row["refused"]},
            "catch": rate(others),
            "catch_by_kind": {kind: rate([row for row in others if row["kind"] == kind]) for kind in kinds},
            "missed_images": [f"{row['kind']}: {row['source']}" for row in others if not row["refused"]]}


def report_lines(figures: dict) -> list[str]:
    def line(name: str, figure: dict) -> str:
        low, high = figure["ci95"]
        return f"  {name:28s} {figure['refused']:4d} / {figure['n']:4d} = {figure['rate']:6.1%}  (95% CI {low:.1%}-{high:.1%})"

    lines = ["False alarms (real frontal radiographs refused):", line("all", figures["false_alarms"])]
    lines += [line(split, figure) for split, figure in figures["false_alarms_by_split"].items()]
    lines += [f"    {stem}: {'; '.join(reasons)}" for stem, reasons in figures["false_alarm_images"].items()]
    lines += ["Catch rate (non-radiographs refused):", line("all", figures["catch"])]
    lines += [line(kind, figure) for kind, figure in figures["catch_by_kind"].items()]
    return lines


def store_run(run_dir: Path, config: dict, figures: dict, rows: list[dict]) -> None:
    from lesionai.training.runs import save_config, save_metrics

    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir)
    save_metrics(run_dir, figures)
    with open(run_dir / "predictions.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["set", "kind", "source", "refused", "stage", "reasons", "measures"])
        writer.writeheader()
        writer.writerows({**row, "reasons": " | ".join(row["reasons"]), "measures": json.dumps(row["measures"])}
                         for row in rows)


def run_config(arguments: argparse.Namespace, pipeline) -> dict:
    from lesionai.severity import checks, radiograph_check

    constants = ("MAX_ASPECT_RATIO", "MIN_NEIGHBOUR_CORRELATION", "BYTE_SWAP_GAIN", "SMOOTH_CORRELATION",
                 "MAX_WHITE_FRACTION", "MAX_BLACK_FRACTION", "MIN_LUNG_ROW_OVERLAP", "MAX_THIRD_LUNG_REGION")
    return {"script": "benchmarks/evaluate_radiograph_check.py", "seed": arguments.seed, "per_kind": arguments.per_kind,
            "threads": arguments.threads, "frontal_views": list(FRONTAL_VIEWS),
            "corrupted_radiographs_from": "val split", "slice_longer_side_px": SLICE_SIDE,
            "thresholds_chosen_on": "train-split frontal radiographs and a seed-0 corpus made from train-split "
                                    "radiographs; the third-lung-region check was added after a first run of seed 1 "
                                    "(its limit from the train split); seed 2 was not looked at before it was final",
            "thresholds": {**{name.lower(): getattr(radiograph_check, name) for name in constants},
                           "lung_fraction_range": list(checks.LUNG_FRACTION_RANGE),
                           "frontal_probability": pipeline.frontal_threshold},
            "models": pipeline.model_versions()}


def main() -> None:
    from lesionai.severity.pipeline import SeverityPipeline

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (0 was used to look at the thresholds)")
    parser.add_argument("--per-kind", type=int, default=14, help="images of each non-radiograph kind")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--run-dir", type=Path, help="store config.yaml, metrics.json and predictions.csv here")
    arguments = parser.parse_args()

    pipeline = SeverityPipeline(threads=arguments.threads)
    rows = evaluate_frontals(pipeline, arguments.data) + evaluate_corpus(pipeline, arguments.data, arguments.seed,
                                                                         arguments.per_kind)
    figures = metrics(rows)
    print("\n".join(report_lines(figures)))
    if arguments.run_dir:
        store_run(arguments.run_dir, run_config(arguments, pipeline), figures, rows)


if __name__ == "__main__":
    main()
