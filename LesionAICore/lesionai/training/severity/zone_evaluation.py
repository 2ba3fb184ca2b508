"""What the zone-severity recipe measures: zone and global MAE against the senior radiologist, the
junior's MAE as the human reference, the members' spread and where the Grad-CAM energy lies."""

from __future__ import annotations

import numpy as np
import torch

from ...severity.scoring import SCORE_RULES, scores_from_probabilities
from ..attention import localization_ratio, region_on_grid
from .zone_data import ScoredSet
from .zone_network import SCORE_COUNT, ZONE_COUNT, ZoneEnsemble


@torch.no_grad()
def predict(network, data: ScoredSet, device) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities (N, 6, 4), features (N, D, h, w) and head weights (4, D)."""
    network.eval()
    logits, features, head_weight = network(torch.from_numpy(data.images).to(device), torch.from_numpy(data.zones).to(device))
    return torch.softmax(logits, -1).cpu().numpy(), features.cpu().numpy(), head_weight[0].cpu().numpy()



def zone_mae(probabilities: np.ndarray, targets: np.ndarray, rule: str) -> float:
    return float(np.abs(scores_from_probabilities(probabilities, rule) - targets).mean())



def cam_localization(probabilities, features, head_weight, zones, targets, threshold: float = 0.5) -> dict:
    """Where the Grad-CAM energy of abnormal zones lies: share inside the zone (true score's map)
    and share inside the lungs (the pipeline's expected-score map)."""
    from ...severity.scoring import zone_cams

    grid = features.shape[-2:]
    in_zone, in_lungs = [], []
    lungs = region_on_grid(torch.from_numpy((zones[:, 0] > 0).astype(np.float32)), grid)
    for b, z in zip(*np.nonzero(targets > 0)):
        true_cam = np.maximum(np.einsum("d,dhw->hw", head_weight[targets[b, z]], features[b]), 0)
        region = region_on_grid(torch.from_numpy((zones[b:b + 1, 0] == z + 1).astype(np.float32)), grid)
        in_zone.append(localization_ratio(torch.from_numpy(true_cam)[None], region, threshold).item())
        severity_cam = zone_cams(features[b], head_weight, probabilities[b])[z]
        in_lungs.append(localization_ratio(torch.from_numpy(severity_cam)[None].float(), lungs[b:b + 1], threshold).item())
    return {"cam_in_zone": float(np.mean(in_zone)) if in_zone else float("nan"),
            "cam_in_lungs": float(np.mean(in_lungs)) if in_lungs else float("nan")}



def member_metrics(network: ZoneEnsemble, data: ScoredSet, device, rule: str) -> dict:
    """Mean and spread of the members' own val zone MAE (what the ensemble adds)."""
    if len(network.members) < 2:
        return {}
    maes = [zone_mae(predict(ZoneEnsemble([member]), data, device)[0], data.senior, rule) for member in network.members]
    return {"val_zone_mae_member_mean": float(np.mean(maes)), "val_zone_mae_member_min": float(np.min(maes)),
            "val_zone_mae_member_max": float(np.max(maes))}



def best_constant(train_senior: np.ndarray) -> int:
    """The zone score (0-3) whose constant prediction fits the train split best (smallest MAE; ties:
    lowest): the floor any scorer must beat on val, chosen without looking at val."""
    return int(np.argmin([np.abs(train_senior - score).mean() for score in range(SCORE_COUNT)]))


def evaluate(network, data: ScoredSet, device, rule: str, train_senior: np.ndarray) -> dict:
    """Val zone MAE (both rules and the chosen one), global-score MAE, junior reference, the best
    train-split constant (:func:`best_constant`), CAM localisation."""
    probabilities, features, head_weight = predict(network, data, device)
    scores = scores_from_probabilities(probabilities, rule)
    junior = data.junior >= 0
    results = {f"val_zone_mae_{r}": zone_mae(probabilities, data.senior, r) for r in SCORE_RULES}
    results.update({"val_zone_mae": float(np.abs(scores - data.senior).mean()),
                    "val_global_mae": float(np.abs(scores.sum(1) - data.senior.sum(1)).mean()),
                    "val_zone_mae_junior": float(np.abs(data.junior - data.senior)[junior].mean()),
                    "train_constant": float(best_constant(train_senior)),
                    "val_zone_mae_constant": float(np.abs(data.senior - best_constant(train_senior)).mean()),
                    "score_rule_index": float(SCORE_RULES.index(rule))})  # 0 argmax, 1 expected, 2 median
    results.update({f"val_{k}": v for k, v in cam_localization(probabilities, features, head_weight, data.zones, data.senior).items()})
    return results



def save_predictions(run_dir, network, train_set: ScoredSet, val_set: ScoredSet, oof, device) -> None:
    """``predictions.npz``: val probabilities (and out-of-fold train ones) with case names and scores,
    for comparing scorers afterwards."""
    np.savez(run_dir / "predictions.npz", val_probabilities=predict(network, val_set, device)[0],
             val_stems=np.array(val_set.stems), val_senior=val_set.senior, val_junior=val_set.junior,
             train_stems=np.array(train_set.stems), train_senior=train_set.senior,
             oof_probabilities=oof if oof is not None else np.zeros((0, ZONE_COUNT, SCORE_COUNT)))
