"""LesionSegmentation numbers: leave-one-subject-out cord Dice per contrast, lesion detection on
synthetic lesions, the real t2_fake_lesion scan, and pipeline speed and memory.

    python benchmarks/evaluate_spine.py summary runs/spine_cord_cv runs/spine_lesion_cv
    python benchmarks/evaluate_spine.py cord-cv  --run runs/spine_cord_cv     # retrains every fold
    python benchmarks/evaluate_spine.py lesion-cv --run runs/spine_lesion_cv  # retrains every fold
    python benchmarks/evaluate_spine.py pipeline [--threads 2]               # shipped models
    python benchmarks/evaluate_spine.py attach runs/spine_cord_final runs/spine_cord_cv

``attach`` records a finished CV run in a final training run (its ``config.yaml`` gets ``cv_run``,
its ``metrics.json`` the CV numbers (``loso_*`` for the cord, ``subject_cv_*`` for lesions) that ``lesionai train`` writes when ``cv_run`` is set
from the start), so ``--install`` puts them in the registry.

``summary`` recomputes the tables from the per-case rows a CV run stored (``cv_results.json``);
``cord-cv``/``lesion-cv`` rerun the CV with the recipe's YAML (``--set key=value`` overrides).
``pipeline`` runs the packaged models through :class:`SpinePipeline`: the lesion found on
``t2_fake_lesion`` (whose real lesion no training run saw; its cord mask is in the cord model's
training set), and the time and peak memory per volume on the 384x225x52 sagittal T2w, the
320x320x15 axial T2*w and a generated 320x320x20 axial phantom.
"""

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "LesionAICore"))

from lesionai.imageio import read_image  # noqa: E402
from lesionai.phantoms.spine import generate_spine_phantom  # noqa: E402
from lesionai.spine.labels import CORD, LESION  # noqa: E402
from lesionai.spine.pipeline import SpinePipeline  # noqa: E402
from lesionai.training.config import RECIPES_DIR, load_config  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "spine"
TIMED = ("sct_2014/errsm_23/t2.nii.gz", "sct_2014/errsm_18/gre.nii.gz")


def cord_table(rows: list[dict]) -> None:
    from lesionai.training.spine.cord_segmentation import summarise

    print(f"{'case':38s} {'contrast':8s} {'Dice':>6s} {'Dice in ref. extent':>20s}")
    for row in rows:
        print(f"{row['case']:38s} {row['contrast']:8s} {row['dice']:6.3f} {row['dice_within_reference_extent']:20.3f}")
    for key, value in summarise(rows).items():
        print(f"  {key}: {value:.4f}" if isinstance(value, float) else f"  {key}: {value}")


def lesion_table(rows: list[dict]) -> None:
    from lesionai.training.spine.lesion_segmentation import summarise

    for contrast in sorted({row["contrast"] for row in rows}):
        print(f"  {contrast}: {summarise([r for r in rows if r['contrast'] == contrast])}")
    print(f"  all: {summarise(rows)}")


def summary(run_dirs: list[str]) -> None:
    for run_dir in run_dirs:
        rows = json.loads((Path(run_dir) / "cv_results.json").read_text())
        print(f"== {run_dir} ({len(rows)} rows)")
        (lesion_table if "detected" in rows[0] else cord_table)(rows)


def rerun(recipe: str, run_dir: str, overrides: dict) -> None:
    from lesionai.training.spine import cord_segmentation, lesion_segmentation

    module = {"spine-cord": cord_segmentation, "spine-lesion": lesion_segmentation}[recipe]
    config = load_config(RECIPES_DIR / f"{recipe.replace('-', '_')}.yaml", overrides)
    module.cross_validate(config, run_dir)
    summary([run_dir])


def fake_lesion(pipeline: SpinePipeline) -> None:
    from lesionai.training.spine.lesion_segmentation import lesion_scores

    image = read_image(DATA / "sct_testing_data/t2/t2_fake_lesion.nii.gz")
    truth = read_image(DATA / "sct_testing_data/t2/t2_fake_lesion_lesion_seg.nii.gz").array > 0.5
    cord = read_image(DATA / "sct_testing_data/t2/t2_fake_lesion_sc_seg.nii.gz").array > 0.5
    result = pipeline.run(image)
    labels = result.labels.array
    scores = lesion_scores(labels == LESION, truth, float(np.prod(image.geometry.spacing)))
    cord_dice = 2 * ((labels >= CORD) & cord).sum() / ((labels >= CORD).sum() + cord.sum())
    print(f"t2_fake_lesion: {scores}; cord Dice {cord_dice:.3f} (cord mask seen in training); "
          f"lesions reported {[(l['volume_mm3'], l['length_mm']) for l in result.lesions]}")


def timing(pipeline: SpinePipeline) -> None:
    volumes = [(name, read_image(DATA / name)) for name in TIMED]
    phantom = generate_spine_phantom(seed=7, view="axial", shape=(20, 320, 320), spacing=(0.5, 0.5, 5.0), lesions=2)
    volumes.append(("phantom axial 320x320x20", phantom.image))
    pipeline.run(volumes[-1][1])  # opens the ONNX sessions once, as a batch does
    for name, image in volumes:
        seconds = []
        for _ in range(3):
            started = time.perf_counter()
            result = pipeline.run(image)
            seconds.append(time.perf_counter() - started)
        print(f"{name} {tuple(image.array.shape)[::-1]}: {min(seconds):.2f} s (best of 3; median "
              f"{np.median(seconds):.2f}); stages {result.stage_seconds}; cord {result.cord['volume_mm3']:.0f} mm3")
    print(f"peak resident memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def attach(run_dir: str, cv_run: str) -> None:
    import yaml

    from lesionai.training.spine import cord_segmentation, lesion_segmentation

    run, rows = Path(run_dir), json.loads((Path(cv_run) / "cv_results.json").read_text())
    config = yaml.safe_load((run / "config.yaml").read_text())
    module = {"spine-cord": cord_segmentation, "spine-lesion": lesion_segmentation}[config["recipe"]]
    metrics = {k: v for k, v in json.loads((run / "metrics.json").read_text()).items() if not k.startswith(module.CV_PREFIX)}
    metrics.update({module.CV_PREFIX + k: v for k, v in module.summarise(rows).items() if v is not None})
    config["cv_run"] = cv_run
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (run / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    print(json.dumps(metrics, indent=2, sort_keys=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("summary", "cord-cv", "lesion-cv", "pipeline", "attach"))
    parser.add_argument("runs", nargs="*", help="CV run folders (summary)")
    parser.add_argument("--run", default=None, help="run folder to write (cord-cv, lesion-cv)")
    parser.add_argument("--set", action="append", default=[], help="config override key=value (YAML value)")
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()
    import yaml

    overrides = {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in arguments.set)}
    if arguments.command == "summary":
        summary(arguments.runs)
    elif arguments.command == "attach":
        attach(*arguments.runs)
    elif arguments.command in ("cord-cv", "lesion-cv"):
        recipe = "spine-cord" if arguments.command == "cord-cv" else "spine-lesion"
        rerun(recipe, arguments.run or f"runs/{recipe.replace('-', '_')}_cv", overrides)
    else:
        pipeline = SpinePipeline(threads=arguments.threads)
        fake_lesion(pipeline)
        timing(pipeline)


if __name__ == "__main__":
    main()
