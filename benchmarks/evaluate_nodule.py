"""Evaluate the NoduleFusion segmentation and measurements on the LIDC nodule crops and on phantoms.

Per crop (as the pipeline runs on a crop: region, CSN, segmentation, resampling back, seed
component), prints:

* Dice of the model's mask against the reference mask on the crop's own grid;
* Pearson r of DiameterMax (and XMaxDiameter) against the table's ``diameter_mm``, once with the
  model's masks and once with the reference masks;
* on generated part-solid phantoms with a known solid core: CTR from the true mask and from the
  model's mask against the core's share of the diameter.

    python benchmarks/evaluate_nodule.py [--data ../shared/data/nodules] [--split val|train|all]
        [--registry FILE] [--no-csn] [--phantoms 30] [--out metrics.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "LesionAICore"))


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "nodules")
    parser.add_argument("--split", default="val", choices=("val", "train", "all"))
    parser.add_argument("--registry", type=Path, help="model registry to evaluate (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-csn", action="store_true", help="segment without cross-scanner normalisation")
    parser.add_argument("--limit", type=int, default=0, help="first N cases only (quick checks)")
    parser.add_argument("--phantoms", type=int, default=30, help="part-solid phantoms for the CTR check (0: none)")
    parser.add_argument("--out", type=Path, help="write the numbers and the per-case table as JSON")
    return parser.parse_args()


def pipeline_for(options):
    from lesionai.nodule.pipeline import NodulePipeline
    from lesionai.registry import ModelRegistry

    return NodulePipeline(ModelRegistry.load(options.registry), threads=options.threads, csn=not options.no_csn)


def model_mask(pipeline, image) -> np.ndarray | None:
    """The pipeline's nodule mask on the image's grid (None when it finds none)."""
    from lesionai.errors import InputError

    try:
        segmented = pipeline.segmented(image)
    except InputError:
        return None
    full = np.zeros(image.array.shape, dtype=bool)
    full[segmented.block] = segmented.mask
    return full


def diameters(mask: np.ndarray, image) -> tuple[float, float]:
    """(DiameterMax, XMaxDiameter) in mm of a mask on the image's grid (NaN when empty)."""
    from lesionai.nodule.features import feature_values

    if mask is None or not mask.any():
        return float("nan"), float("nan")
    values = feature_values(mask, image.array, image.geometry)
    return values["DiameterMax"], values["XMaxDiameter"]


def evaluate_case(pipeline, root: Path, case) -> dict:
    from lesionai.imageio import read_image
    from lesionai.nodule.segmentation import dice

    image, reference = read_image(root / case.image), read_image(root / case.mask).array > 0
    started = time.perf_counter()
    predicted = model_mask(pipeline, image)
    seconds = time.perf_counter() - started
    model_max, model_axial = diameters(predicted, image)
    reference_max, reference_axial = diameters(reference, image)
    return {"id": case.id, "split": case.split, "diameter_mm": case.diameter_mm, "texture": case.texture,
            "dice": 0.0 if predicted is None else dice(predicted, reference), "found": predicted is not None,
            "model_diameter_max": model_max, "model_axial_diameter": model_axial,
            "reference_diameter_max": reference_max, "reference_axial_diameter": reference_axial,
            "segmentation_seconds": seconds}


def pearson(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    return float(np.corrcoef(x[keep], y[keep])[0, 1])


def crop_summary(rows: list[dict]) -> dict:
    table = lambda key: [row[key] for row in rows]
    dices = np.asarray(table("dice"))
    ggn = np.asarray(table("texture")) <= 3
    return {"cases": len(rows), "dice_mean": float(dices.mean()), "dice_median": float(np.median(dices)),
            "dice_ground_glass_like_mean": float(dices[ggn].mean()) if ggn.any() else None,
            "not_found": int(sum(not row["found"] for row in rows)),
            "r_diameter_max_model": pearson(table("model_diameter_max"), table("diameter_mm")),
            "r_diameter_max_reference": pearson(table("reference_diameter_max"), table("diameter_mm")),
            "r_axial_diameter_model": pearson(table("model_axial_diameter"), table("diameter_mm")),
            "r_axial_diameter_reference": pearson(table("reference_axial_diameter"), table("diameter_mm")),
            "segmentation_ms_median": 1000 * float(np.median(table("segmentation_seconds")))}


def phantom_ctr(pipeline, count: int) -> dict:
    """CTR of part-solid phantoms (core 30-70 % of the diameter) from the true and the model's mask."""
    from lesionai.nodule.components import component_labels, consolidation_tumour_ratio
    from lesionai.phantoms.nodule import generate_nodule_phantom, nodule_crop

    truth, from_true_mask, from_model = [], [], []
    for index in range(count):
        fraction = 0.3 + 0.4 * index / max(1, count - 1)
        phantom = generate_nodule_phantom(seed=1000 + index, kind="part-solid", diameter_mm=float(8 + index % 10),
                                          solid_fraction=fraction)
        image, mask = nodule_crop(phantom)
        predicted = model_mask(pipeline, image)
        ctr = lambda m: consolidation_tumour_ratio(component_labels(m, image.array), image.geometry)
        truth.append(fraction)
        from_true_mask.append(ctr(mask.array > 0))
        from_model.append(float("nan") if predicted is None else ctr(predicted))
    error = lambda values: float(np.nanmean(np.abs(np.asarray(values) - truth)))
    return {"phantoms": count, "ctr_mae_true_mask": error(from_true_mask), "ctr_mae_model_mask": error(from_model),
            "ctr_r_model_mask": pearson(from_model, truth)}


def main() -> None:
    options = arguments()
    from lesionai.training.nodule.data import read_cases

    pipeline = pipeline_for(options)
    cases = [c for c in read_cases(options.data) if options.split in ("all", c.split)][: options.limit or None]
    rows = [evaluate_case(pipeline, options.data, case) for case in cases]
    numbers = {"split": options.split, "csn": not options.no_csn, **crop_summary(rows)}
    if options.phantoms:
        numbers.update(phantom_ctr(pipeline, options.phantoms))
    for key, value in numbers.items():
        print(f"{key:32s} {value if not isinstance(value, float) else round(value, 4)}")
    if options.out:
        options.out.write_text(json.dumps({"numbers": numbers, "cases": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
