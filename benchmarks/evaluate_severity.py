"""Evaluate the shipped SeverityScoring models through the ONNX pipeline on the val split.

Prints lung Dice (at each image's stored resolution, ignore pixels excluded, after the pipeline's
post-processing), how often lateral views are flagged and frontal views are falsely flagged, how
often both lungs were found, and, on the radiographs with Brixia scores, the zone and global mean
absolute error against the senior radiologist of the zone classifier, of the opacity scorer and of
their average (rounded), next to the junior radiologist's and the baseline to beat: the constant
zone score with the smallest zone MAE on the *train* split's senior scores. Each val figure comes
with a 95 % bootstrap interval (images resampled with replacement, fixed seed). With ``--run-dir``
the run is stored as ``config.yaml`` + ``metrics.json``. Needs the development chest X-ray folder:

    python benchmarks/evaluate_severity.py [--data ../shared/data/cxr] [--split val] [--registry FILE]
                                           [--draws 2000] [--seed 0] [--run-dir runs/severity-evaluation]

``REGISTRY_FIGURES`` says which registry metric each figure recomputes (Testing/integration checks
that they agree).
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

IGNORE = 255
LETTERS = "ABCDEF"
BRIXIA_SCORES = (0, 1, 2, 3)
FRONTAL_VIEWS = ("PA", "AP", "AP Supine")
# Rows of a scored image's zone table (see zone_comparison); row 0 is the senior radiologist.
SCORERS = ("classifier", "opacity", "average", "junior")
SCORER_NAMES = {"classifier": "zone classifier", "opacity": "opacity scorer", "average": "average of both",
                "junior": "junior radiologist"}
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cxr"

# registry model id -> {registry metric: figure of this script that recomputes it}
REGISTRY_FIGURES = {
    "cxr-lung-unet": {"val_cases": "masked_images", "val_dice": "lung_dice_mean",
                      "val_dice_median": "lung_dice_median", "val_dice_min": "lung_dice_min"},
    "cxr-view-check": {"val_frontal_flagged_rate_at_threshold": "frontal_flagged_rate",
                       "val_lateral_flagged_rate_at_threshold": "lateral_flagged_rate"},
    "cxr-zone-severity": {"val_cases": "scored_images", "val_zone_mae": "zone_mae_classifier",
                          "val_global_mae": "global_mae_classifier", "val_zone_mae_junior": "zone_mae_junior",
                          "val_zone_mae_constant": "zone_mae_constant", "train_constant": "train_constant"},
    "cxr-opacity-unet": {"val_scored_cases": "scored_images", "val_zone_mae_opacity": "zone_mae_opacity",
                         "val_global_mae_opacity": "global_mae_opacity", "val_zone_mae_junior": "zone_mae_junior",
                         "val_zone_mae_constant": "zone_mae_constant",
                         "val_global_mae_junior": "global_mae_junior"},
}


@dataclass
class CaseOutcome:
    """What the pipeline made of one val image, measured against its reference."""

    stem: str
    view: str
    flagged: bool  # warned about as not frontal, or refused
    lung_dice: float | None = None  # masked images that are not lateral views only
    both_lungs: bool | None = None
    zones: np.ndarray | None = None  # (5, 6) scored images only: senior, *SCORERS
    timing_s: float | None = None


def dice(prediction: np.ndarray, mask: np.ndarray) -> float:
    """Dice of a boolean prediction with a mask (1 lung, 0 background, 255 ignored)."""
    valid = mask != IGNORE
    truth, predicted = (mask == 1) & valid, prediction & valid
    denominator = truth.sum() + predicted.sum()
    return 1.0 if denominator == 0 else float(2 * (truth & predicted).sum() / denominator)


def read_cases(data: Path, split: str) -> list[dict]:
    """The rows of ``cases.csv`` in ``split``."""
    with open(Path(data) / "cases.csv", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["split"] == split]


def is_scored(case: dict) -> bool:
    return case.get("brixia_senior_A", "") != ""


def senior_scores(cases: list[dict]) -> np.ndarray:
    """(images, 6) senior radiologist's zone scores of the scored ``cases``."""
    return np.array([[int(case[f"brixia_senior_{z}"]) for z in LETTERS] for case in cases if is_scored(case)])


def best_constant(scores: np.ndarray) -> int:
    """The Brixia score (0-3) whose constant prediction has the smallest MAE on ``scores`` (ties: lowest).

    >>> best_constant(np.array([[0, 1, 1], [3, 2, 1]]))
    1
    """
    errors = [np.abs(scores - constant).mean() for constant in BRIXIA_SCORES]
    return BRIXIA_SCORES[int(np.argmin(errors))]


def evaluate_split(data: Path = DEFAULT_DATA, split: str = "val", registry: Path | None = None,
                   threads: int = 2) -> list[CaseOutcome]:
    """Run the pipeline (models from ``registry``, default the shipped one) on every image of ``split``."""
    from lesionai.registry import ModelRegistry
    from lesionai.severity.pipeline import SeverityPipeline

    # Forced: the models' figures cover every image; the radiograph check's refusals (its reasons are
    # then warnings) are measured on their own by evaluate_radiograph_check.py.
    pipeline = SeverityPipeline(ModelRegistry.load(registry), threads=threads, force=True)
    return [evaluate_case(pipeline, Path(data), case) for case in read_cases(data, split)]


def evaluate_case(pipeline, data: Path, case: dict) -> CaseOutcome:
    """One image through the pipeline; a refused image counts as flagged and has no other figures."""
    from lesionai.errors import InputError
    from lesionai.imageio import read_image

    outcome = CaseOutcome(case["stem"], case["view"], flagged=True)
    try:
        result = pipeline.run(read_image(data / "images" / f"{case['stem']}.png"))
    except InputError:
        return outcome
    outcome.flagged = any("lateral" in w or "frontal chest" in w for w in result.warnings)
    outcome.timing_s = result.timing_s
    if is_scored(case):
        outcome.zones = zone_comparison(case, result)
    if case["view"] != "L" and case["has_lung_mask"] == "1":
        mask = np.asarray(PILImage.open(data / "lung_masks" / f"{case['stem']}.png"))
        outcome.lung_dice = dice(result.lung_labels.array[0] > 0, mask)
        zones = result.zone_labels.array[0]  # sides from the zones: opacity (label 3) may cover a lung
        outcome.both_lungs = bool(((zones >= 1) & (zones <= 3)).any() and (zones >= 4).any())
    return outcome


def zone_comparison(case: dict, result) -> np.ndarray:
    """(5, 6): senior, classifier, opacity scorer, rounded average, junior scores of zones A-F."""
    senior = [int(case[f"brixia_senior_{z}"]) for z in LETTERS]
    junior = [int(case[f"brixia_junior_{z}"]) for z in LETTERS]
    classifier = [result.zones[z]["score"] for z in LETTERS]
    opacity = [result.zones[z]["opacity_score"] for z in LETTERS]
    expected = [float(np.dot(result.zones[z]["probabilities"], np.arange(4))) for z in LETTERS]
    average = [int(np.clip(np.floor((e + o) / 2 + 0.5), 0, 3)) for e, o in zip(expected, opacity)]
    return np.array([senior, classifier, opacity, average, junior])


# ---------------------------------------------------------------------------------------------
# Figures: each group is one set of images (the figures' bootstrap unit) and what it yields


def lung_figures(lung_dice: np.ndarray) -> dict[str, float]:
    return {"lung_dice_mean": float(lung_dice.mean()), "lung_dice_median": float(np.median(lung_dice)),
            "lung_dice_min": float(lung_dice.min())}


def zone_figures(zones: np.ndarray, constant: int) -> dict[str, float]:
    """Zone MAE, global MAE and exact share of each scorer and of ``constant`` against the senior.

    ``zones``: (images, 5, 6) as from :func:`zone_comparison`.
    """
    senior = zones[:, 0]
    predictions = {name: zones[:, index] for index, name in enumerate(SCORERS, start=1)}
    predictions["constant"] = np.full_like(senior, constant)
    figures = {}
    for name, predicted in predictions.items():
        figures[f"zone_mae_{name}"] = float(np.abs(predicted - senior).mean())
        figures[f"global_mae_{name}"] = float(np.abs(predicted.sum(1) - senior.sum(1)).mean())
        figures[f"exact_{name}"] = float((predicted == senior).mean())
    figures["zone_mae_classifier_minus_constant"] = figures["zone_mae_classifier"] - figures["zone_mae_constant"]
    return figures


def figure_groups(outcomes: list[CaseOutcome], constant: int) -> list[tuple[np.ndarray, Callable]]:
    """``(per-image values, statistic)`` pairs; ``statistic(values) -> {figure: value}``."""
    masked = [o for o in outcomes if o.lung_dice is not None]
    scored = [o.zones for o in outcomes if o.zones is not None]
    groups = [
        (np.array([o.lung_dice for o in masked]), lung_figures),
        (np.array([o.both_lungs for o in masked]), lambda found: {"both_lungs_rate": float(found.mean())}),
        (np.array([o.flagged for o in outcomes if o.view in FRONTAL_VIEWS]),
         lambda flagged: {"frontal_flagged_rate": float(flagged.mean())}),
        (np.array([o.flagged for o in outcomes if o.view == "L"]),
         lambda flagged: {"lateral_flagged_rate": float(flagged.mean())}),
    ]
    if scored:
        groups.append((np.array(scored), lambda zones: zone_figures(zones, constant)))
    return groups


def headline_metrics(outcomes: list[CaseOutcome], constant: int) -> dict[str, float]:
    """Every figure of the split (see :data:`REGISTRY_FIGURES`), with the image counts behind them."""
    figures = {"images": len(outcomes), "masked_images": sum(o.lung_dice is not None for o in outcomes),
               "scored_images": sum(o.zones is not None for o in outcomes),
               "frontal_images": sum(o.view in FRONTAL_VIEWS for o in outcomes),
               "lateral_images": sum(o.view == "L" for o in outcomes), "train_constant": constant}
    for values, statistic in figure_groups(outcomes, constant):
        figures.update(statistic(values))
    return figures


def bootstrap_intervals(outcomes: list[CaseOutcome], constant: int, draws: int = 2000,
                        seed: int = 0) -> dict[str, tuple[float, float]]:
    """95 % percentile intervals of every figure, resampling each group's images with replacement."""
    rng = np.random.default_rng(seed)
    intervals = {}
    for values, statistic in figure_groups(outcomes, constant):
        samples = [statistic(values[rng.integers(0, len(values), len(values))]) for _ in range(draws)]
        for name in samples[0]:
            low, high = np.percentile([sample[name] for sample in samples], [2.5, 97.5])
            intervals[name] = (float(low), float(high))
    return intervals


def registry_metrics(registry: Path | None = None) -> dict[str, dict[str, float]]:
    """The registry's stated metrics that this script recomputes: ``{model id: {metric: value}}``."""
    from lesionai.registry import ModelRegistry

    loaded = ModelRegistry.load(registry)
    return {model: {metric: loaded.get(model).metrics[metric] for metric in metrics}
            for model, metrics in REGISTRY_FIGURES.items()}


# ---------------------------------------------------------------------------------------------
# Report and stored run


def interval_text(figures: dict, intervals: dict, name: str, digits: int = 3, percent: bool = False) -> str:
    """``value (low to high)`` of one figure, as a percentage when ``percent``."""
    scale, unit = (100, " %") if percent else (1, "")
    low, high = intervals.get(name, (np.nan, np.nan))
    return f"{figures[name] * scale:.{digits}f}{unit} ({low * scale:.{digits}f} to {high * scale:.{digits}f})"


def report_lines(figures: dict, intervals: dict, timings: list[float], split: str) -> list[str]:
    """The printed report: every figure with its 95 % interval."""
    def value(name: str, digits: int = 3, percent: bool = False) -> str:
        return interval_text(figures, intervals, name, digits, percent)

    dice = (f"mean {value('lung_dice_mean', 4)}, median {value('lung_dice_median', 4)}, "
            f"min {figures['lung_dice_min']:.4f}")
    lines = [f"split {split}: {figures['images']} images; 95 % bootstrap intervals in brackets",
             f"  lung Dice ({figures['masked_images']} masked images): {dice}",
             f"  both lungs found: {value('both_lungs_rate', 1, True)}",
             f"  lateral views flagged: {value('lateral_flagged_rate', 1, True)} of {figures['lateral_images']}",
             f"  frontal views falsely flagged: {value('frontal_flagged_rate', 1, True)} of {figures['frontal_images']}"]
    if timings:
        lines.append(f"  pipeline time per image (as stored, <= 1024 px): median {statistics.median(timings):.3f} s")
    if "zone_mae_classifier" in figures:
        lines += zone_lines(figures, value)
    return lines


def zone_lines(figures: dict, value: Callable) -> list[str]:
    scored = figures["scored_images"]
    lines = [f"  Brixia zone scores against the senior radiologist ({scored} scored images, {6 * scored} zones):"]
    names = {**SCORER_NAMES, "constant": f"constant {figures['train_constant']} (train)"}
    for name in ("constant", *SCORERS):
        lines.append(f"    {names[name]:20s} zone MAE {value(f'zone_mae_{name}')}  "
                     f"global MAE {value(f'global_mae_{name}', 2)}  exact {value(f'exact_{name}', 1, True)}")
    lines.append(f"    zone classifier minus constant: zone MAE {value('zone_mae_classifier_minus_constant')}")
    return lines


def store_run(run_dir: Path, config: dict, figures: dict, intervals: dict) -> None:
    """``config.yaml`` and ``metrics.json`` (figures, ``<figure>_ci95`` = [low, high]) in ``run_dir``."""
    from lesionai.training.runs import save_config, save_metrics

    Path(run_dir).mkdir(parents=True, exist_ok=True)
    save_config(config, Path(run_dir))
    save_metrics(Path(run_dir), {**figures, **{f"{name}_ci95": list(bounds) for name, bounds in intervals.items()}})


def run_config(arguments: argparse.Namespace, train_scores: np.ndarray) -> dict:
    """What the run was: split, models (version, sha256), baseline and bootstrap settings."""
    from lesionai.registry import ModelRegistry

    registry = ModelRegistry.load(arguments.registry)
    return {"script": "benchmarks/evaluate_severity.py", "split": arguments.split,
            "baseline": {"rule": "constant zone score with the smallest zone MAE on the train split (senior)",
                         "constant": best_constant(train_scores), "train_scored_images": len(train_scores)},
            "bootstrap": {"draws": arguments.draws, "seed": arguments.seed, "unit": "image", "interval": "95 % percentile"},
            "threads": arguments.threads,
            "models": {model: {"version": registry.get(model).version, "sha256": registry.get(model).sha256}
                       for model in REGISTRY_FIGURES}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", default="val")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--registry", type=Path, help="model registry to evaluate (default: the shipped one)")
    parser.add_argument("--draws", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--run-dir", type=Path, help="store config.yaml and metrics.json here")
    arguments = parser.parse_args()

    train_scores = senior_scores(read_cases(arguments.data, "train"))
    constant = best_constant(train_scores)
    outcomes = evaluate_split(arguments.data, arguments.split, arguments.registry, arguments.threads)
    figures = headline_metrics(outcomes, constant)
    intervals = bootstrap_intervals(outcomes, constant, arguments.draws, arguments.seed)
    timings = [o.timing_s for o in outcomes if o.timing_s is not None]
    print("\n".join(report_lines(figures, intervals, timings, arguments.split)))
    if arguments.run_dir:
        store_run(arguments.run_dir, run_config(arguments, train_scores), figures, intervals)


if __name__ == "__main__":
    main()
