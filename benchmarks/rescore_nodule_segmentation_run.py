"""Score a finished nodule-segmentation run again on the val split with the current post-processing.

Loads ``<run>/best.pt`` into the recipe's network and measures Dice exactly as the recipe's final
metrics do (each val crop's own grid, region sizing and growth, seed component); writes
``<run>/metrics_rescored.json``. Used when the pipeline's post-processing changes after training.

    python benchmarks/rescore_nodule_segmentation_run.py runs/nodule-segmentation
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "LesionAICore"))


def main() -> None:
    import torch

    from lesionai.training.config import load_config, resolve_data_root
    from lesionai.training.nodule.data import load_pair, read_cases
    from lesionai.training.nodule.segmentation import build_network, dice_summary, evaluate

    run = Path(sys.argv[1])
    config = load_config(run / "config.yaml")
    torch.set_num_threads(1)
    network = build_network(config)
    network.load_state_dict(torch.load(run / "best.pt", map_location="cpu"))
    root = resolve_data_root(config)
    pairs = [load_pair(root, case) for case in read_cases(root) if case.split == "val"]
    metrics = dice_summary(evaluate(network, pairs), "val")
    (run / "metrics_rescored.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
