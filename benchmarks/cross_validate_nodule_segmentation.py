"""5-fold patient-grouped cross-validation of the nodule-segmentation recipe on all LIDC nodule crops.

Each fold trains the recipe's network (same YAML, seed + fold) on the other folds' patients and
scores Dice on the held-out fold's crops, on each crop's own grid after the pipeline's
post-processing. Writes ``fold_<n>.json`` (per-case Dice) and ``cv_metrics.json`` (pooled) into the
run folder. Folds can be split over processes (``--folds 0,1,2`` here, ``--folds 3,4`` there); the
last to finish pools them all. About 12 epochs x 570 crops per fold: tens of CPU minutes per fold.

    python benchmarks/cross_validate_nodule_segmentation.py --run-dir runs/nodule-segmentation-cv [--folds 0,1]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "LesionAICore"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--config", type=Path, help="recipe YAML (default: the bundled nodule_segmentation.yaml)")
    parser.add_argument("--folds", help="comma-separated folds to run (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    options = parser.parse_args()

    from lesionai.training.config import RECIPES_DIR, load_config
    from lesionai.training.nodule.segmentation import cross_validate

    config = load_config(options.config or RECIPES_DIR / "nodule_segmentation.yaml", {"threads": options.threads})
    folds = [int(fold) for fold in options.folds.split(",")] if options.folds else None
    print(json.dumps(cross_validate(config, options.run_dir, folds), indent=2))


if __name__ == "__main__":
    main()
