"""Subject-grouped cross-validation of the spine scan check (anatomy, region, view, contrast).

Trains one network per fold with the recipe's YAML (or --config), predicts the held-out groups'
original scans and prints the per-stage accuracies, class counts and the spine threshold chosen on
the out-of-fold predictions. The run folder keeps config.yaml, train.log, metrics.json and
predictions.csv; name it as ``cv_run`` in the recipe's YAML to copy the numbers into the registry.

    python benchmarks/evaluate_scan_check.py --run-dir runs/spine-scan-check-cv
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "LesionAICore"))

from lesionai.training.config import load_config  # noqa: E402
from lesionai.training.spine.scan_check_cv import cross_validate, summarise_predictions  # noqa: E402

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "LesionAICore/lesionai/training/recipes/spine_scan_check.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--run-dir", type=Path, default=Path("runs/spine-scan-check-cv"))
    parser.add_argument("--summarise-only", action="store_true",
                        help="recompute metrics.json from the run's predictions.csv without training")
    arguments = parser.parse_args()
    if arguments.summarise_only:
        metrics = summarise_predictions(arguments.run_dir)
    else:
        metrics = cross_validate(load_config(arguments.config, optional_keys=("cv_run",)), arguments.run_dir)
    print(json.dumps(metrics, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
