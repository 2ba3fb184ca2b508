"""Recipe ``zone-severity``: Brixia score 0-3 of each lung zone from a frontal chest radiograph.

Data: the radiographs of ``cases.csv`` with Brixia scores; the target is the senior radiologist's
score (``brixia_senior_A..F``), the junior's is kept as the human reference. Each radiograph's
zones come from the installed lung, alignment models exactly as at inference
(:meth:`SeverityPipeline.lungs_and_zones`), so the classifier learns on the zones it will see.

Model: :class:`~lesionai.training.severity.zone_network.ZoneSeverityNet`. Loss: cross-entropy on the
logits with class weights (inverse square root of the score frequencies), plus an optional ordinal
term (mean absolute error of the expected score) and the optional localization-aware attention
term (:mod:`lesionai.training.attention`; the target region of a zone is its own lung area, the
term counts only for zones the senior scored above 0).

Levers for a small training set: ``members: M`` trains M networks from different seeds and
exports their logit average as one model (:class:`ZoneEnsemble`); ``pretrain`` first trains the
trunk and transformer on every lung-masked radiograph of the train split to find synthetic
opacities painted into the real lungs (:mod:`lesionai.training.severity.zone_pretrain`), so the networks
start from features that see opacities.

Model selection: with ``folds: k`` the train split is cut into ``k`` folds by patient group; the
out-of-fold predictions decide the score rule (argmax, rounded expected score or median) and the
low-confidence threshold. The final model is trained on the whole train split for the configured
number of epochs (no early stopping on val); val is only measured.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from ...severity.preprocess import normalize_percentile, resize_plane
from ...severity.scoring import SCORE_RULES, scores_from_probabilities
from ...severity.zones import ZONE_LETTERS
from ..attention import AttentionSettings, attention_loss, combined_loss, grad_cam, localization_ratio, region_on_grid
from ..augment.planar import random_affine_pairs, random_intensity
from ..config import resolve_data_root
from ..contracts import Best, Run
from ..device import seed_everything
from ..loop import run_epochs, train_batches
from ..runs import save_config
from .cxr_data import limited, load_plane, pipeline_zones, read_cases
from .zone_network import SCORE_COUNT, ZONE_COUNT, ZoneEnsemble, ZoneSeverityNet

INPUT_NAMES, OUTPUT_NAMES = ["image", "zones"], ["zone_logits", "features", "head_weight"]
NAME, MONITOR = "zone-severity", None  # the configured number of epochs, no early stopping on val
SCHEDULE = {"name": "cosine", "warmup_epochs": 3}
LOG_EVERY = 10  # epochs between the val zone MAE lines of the final fit


def build_member(config: dict) -> ZoneSeverityNet:
    network = config["network"]
    return ZoneSeverityNet(tuple(config["input_size"]), tuple(network["widths"]), network["dim"],
                           network["heads"], network["layers"], network["dropout"])


def build_network(config: dict) -> ZoneEnsemble:
    return ZoneEnsemble([build_member(config) for _ in range(config.get("members", 1))])


def example_inputs(config: dict) -> tuple:
    shape = tuple(config["input_size"])
    return torch.zeros(1, 1, *shape), torch.zeros(1, 1, *shape)


class ScoredSet:
    """Radiographs with zone scores at the model's input size.

    ``images`` (N, 1, H, W) float in [0, 1], ``zones`` (N, 1, H, W) 0-6, ``senior`` and ``junior``
    (N, 6) int scores (junior -1 where missing), ``groups`` patient groups, ``stems`` case names.
    """

    def __init__(self, images, zones, senior, junior, groups, stems):
        self.images, self.zones, self.senior, self.junior = images, zones, senior, junior
        self.groups, self.stems = groups, stems

    def __len__(self) -> int:
        return len(self.stems)

    def subset(self, indices) -> ScoredSet:
        indices = np.asarray(indices)
        return ScoredSet(self.images[indices], self.zones[indices], self.senior[indices], self.junior[indices],
                         [self.groups[i] for i in indices], [self.stems[i] for i in indices])


def is_scored(case) -> bool:
    return case.zone_scores("senior") is not None


def _scores(case, rater: str) -> np.ndarray:
    scores = case.zone_scores(rater)
    return np.full(len(ZONE_LETTERS), -1) if scores is None else scores.astype(int)


def load_scored_set(cases, root, shape: tuple[int, int], threads: int | None, log) -> ScoredSet:
    """Images and pipeline zones of ``cases`` at ``shape`` (zones found at the stored resolution);
    radiographs the pipeline refuses are left out (and logged)."""
    zone_maps = pipeline_zones(cases, root, threads, log)
    cases = [case for case in cases if case.stem in zone_maps]
    images = [normalize_percentile(resize_plane(load_plane(case.image_path(root)), shape)) for case in cases]
    zones = [resize_plane(zone_maps[case.stem][1], shape, nearest=True) for case in cases]
    return ScoredSet(np.stack(images)[:, None].astype(np.float32), np.stack(zones)[:, None].astype(np.float32),
                     np.array([_scores(c, "senior") for c in cases]), np.array([_scores(c, "junior") for c in cases]),
                     [c.row.get("patient_group") or c.stem for c in cases], [c.stem for c in cases])


def class_weights(scores: np.ndarray) -> torch.Tensor:
    """Inverse square root of each score's frequency, normalised to mean 1."""
    counts = np.bincount(scores.ravel(), minlength=SCORE_COUNT).astype(np.float64) + 1
    weights = counts ** -0.5
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def target_distribution(senior: torch.Tensor, junior: torch.Tensor, junior_weight: float) -> torch.Tensor:
    """(B, 6, 4) soft targets: the senior's score, with ``junior_weight`` of the mass moved to the
    junior's score where the junior scored the zone (a second reading softens label noise)."""
    senior_one_hot = F.one_hot(senior, SCORE_COUNT).float()
    if not junior_weight:
        return senior_one_hot
    scored = (junior >= 0).unsqueeze(-1).float()
    junior_one_hot = F.one_hot(junior.clamp(min=0), SCORE_COUNT).float()
    return senior_one_hot * (1 - junior_weight * scored) + junior_one_hot * junior_weight * scored


def task_loss(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, ordinal_weight: float) -> torch.Tensor:
    """Weighted cross-entropy of the (B, 6, 4) logits against (B, 6, 4) target distributions, plus
    ordinal_weight x |expected score - target's expected score|."""
    flat_logits, flat_targets = logits.reshape(-1, SCORE_COUNT), targets.reshape(-1, SCORE_COUNT)
    loss = F.cross_entropy(flat_logits, flat_targets, weight=weights.to(logits.device))
    if ordinal_weight:
        scores = torch.arange(SCORE_COUNT, dtype=logits.dtype, device=logits.device)
        loss = loss + ordinal_weight * (torch.softmax(flat_logits, dim=1) @ scores - flat_targets @ scores).abs().mean()
    return loss


def zone_attention_loss(logits, features, zones, targets, threshold: float) -> torch.Tensor:
    """Mean ``1 - r`` over abnormal zones: Grad-CAM of the true score's logit inside the zone."""
    grid = features.shape[-2:]
    losses, counts = [], []
    for zone in range(ZONE_COUNT):
        applies = targets[:, zone] > 0
        if not applies.any():
            continue
        scores = logits[:, zone].gather(1, targets[:, zone:zone + 1]).squeeze(1)
        cam = grad_cam(features, scores)
        region = region_on_grid((zones[:, 0] == zone + 1).float(), grid)
        losses.append(attention_loss(cam, region, applies, threshold) * applies.sum())
        counts.append(applies.sum())
    if not losses:
        return logits.sum() * 0.0
    return torch.stack(losses).sum() / torch.stack(counts).sum()


@dataclass
class MemberData:
    """What one member trains on: its ``train_set``, the optional ``val_set`` it is measured on
    every :data:`LOG_EVERY` epochs, the class weights of the loss and the attention settings."""

    train_set: ScoredSet
    val_set: ScoredSet | None
    weights: torch.Tensor
    attention: AttentionSettings


def train_epoch(network, optimizer, data: MemberData, run: Run, epoch: int) -> dict:
    config, device, train_set = run.config, run.device, data.train_set
    images, zones = torch.from_numpy(train_set.images).to(device), torch.from_numpy(train_set.zones).to(device)
    targets = torch.from_numpy(train_set.senior).long().to(device)
    distributions = target_distribution(targets, torch.from_numpy(train_set.junior).long().to(device),
                                        config["loss"].get("junior_weight", 0.0))
    attention = data.attention
    lam = attention.weight(epoch)

    def batch_loss(batch):
        batch_images, batch_zones = random_affine_pairs(images[batch], zones[batch], config["augment"])
        logits, features, _ = network(random_intensity(batch_images, config["augment"]), batch_zones.float())
        loss = task_loss(logits, distributions[batch], data.weights, config["loss"]["ordinal_weight"])
        if attention.enabled:
            focus = zone_attention_loss(logits, features, batch_zones, targets[batch], attention.threshold)
            loss = combined_loss(loss, focus, lam)
        return loss

    loss = train_batches(network, optimizer, torch.randperm(len(train_set)), config["batch_size"], batch_loss)
    return {"loss": loss, "lambda": lam}


def validate(network, data: MemberData, run: Run, epoch: int) -> dict:
    """Val zone MAE (argmax and expected score) every :data:`LOG_EVERY` epochs and at the last one."""
    last = run.config["epochs"] - 1
    if data.val_set is None or (epoch % LOG_EVERY != LOG_EVERY - 1 and epoch != last):
        return {}
    probabilities = predict(ZoneEnsemble([network]), data.val_set, run.device)[0]
    return {f"val_zone_mae_{rule}": zone_mae(probabilities, data.val_set.senior, rule) for rule in ("argmax", "expected")}


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


def fit(run: Run, train_set: ScoredSet, val_set: ScoredSet | None = None, label: str = "fit",
        start: dict | None = None) -> ZoneEnsemble:
    """Train ``members`` networks on ``train_set`` (seeds ``seed``, ``seed + 1``, ...), each from
    the ``start`` weights when given; returns their ensemble in eval mode."""
    members = []
    for index in range(run.config.get("members", 1)):
        member_run = replace(run, config={**run.config, "seed": run.config["seed"] + index})
        members.append(fit_member(member_run, train_set, val_set, f"{NAME} {label} member {index + 1}", start))
    return ZoneEnsemble(members).eval()


def fit_member(run: Run, train_set: ScoredSet, val_set: ScoredSet | None, label: str, start: dict | None):
    """One network trained for ``epochs`` epochs by the shared loop; returned in eval mode."""
    seed_everything(run.config["seed"])
    network = build_member(run.config).to(run.device)
    if start:
        network.load_state_dict(start, strict=False)
    data = MemberData(train_set, val_set, class_weights(train_set.senior), AttentionSettings(run.config.get("attention")))
    best = run_epochs(sys.modules[__name__], network, data, run, label=label, checkpoint=False)
    network.load_state_dict(best.state)
    return network.eval()


def group_folds(groups: list[str], count: int, seed: int) -> list[np.ndarray]:
    """Indices of ``count`` folds that keep each patient group in one fold."""
    unique = sorted(set(groups))
    np.random.default_rng(seed).shuffle(unique)
    fold_of = {group: index % count for index, group in enumerate(unique)}
    return [np.array([i for i, g in enumerate(groups) if fold_of[g] == fold]) for fold in range(count)]


def out_of_fold_probabilities(run: Run, data: ScoredSet, start: dict | None = None) -> np.ndarray:
    """(N, 6, 4) probabilities of each radiograph by the ensemble trained without its fold."""
    probabilities = np.zeros((len(data), ZONE_COUNT, SCORE_COUNT))
    for index, held_out in enumerate(group_folds(data.groups, run.config["folds"], run.config["seed"])):
        kept = np.setdiff1d(np.arange(len(data)), held_out)
        network = fit(run, data.subset(kept), label=f"fold {index + 1}", start=start)
        probabilities[held_out] = predict(network, data.subset(held_out), run.device)[0]
        run.log.info("fold %d zone MAE argmax %.4f", index + 1, zone_mae(probabilities[held_out], data.senior[held_out], "argmax"))
    return probabilities


def choose_rule(probabilities: np.ndarray, targets: np.ndarray) -> str:
    return min(SCORE_RULES, key=lambda rule: zone_mae(probabilities, targets, rule))


def low_confidence_threshold(probabilities: np.ndarray, targets: np.ndarray, rule: str) -> float:
    """The confidence under which a zone is flagged, chosen on out-of-fold predictions: the flag is
    a detector of wrong scores, and the threshold (on a 0.05 grid) maximises Youden's J, the share
    of wrong scores flagged minus the share of right scores flagged."""
    scores = scores_from_probabilities(probabilities, rule)
    confidence = np.take_along_axis(probabilities, scores[..., None], -1)[..., 0].ravel()
    wrong = (scores != targets).ravel()
    if wrong.all() or not wrong.any():
        return 0.5
    grid = np.round(np.arange(0.25, 0.96, 0.05), 2)
    youden = [(confidence[wrong] < t).mean() - (confidence[~wrong] < t).mean() for t in grid]
    return float(grid[int(np.argmax(youden))])


@dataclass
class ZoneData:
    """The scored train and val sets, the pretrained start weights (or None), and what
    :func:`train_network` decided: score rule, low-confidence threshold, out-of-fold probabilities
    and cross-validation metrics."""

    train_set: ScoredSet
    val_set: ScoredSet
    start: dict | None
    rule: str = ""
    low_confidence: float = 0.0
    oof: np.ndarray | None = None
    cv_metrics: dict = field(default_factory=dict)


def load_data(run: Run) -> ZoneData:
    config = run.config
    root, shape = resolve_data_root(config), tuple(config["input_size"])
    cases = [c for c in read_cases(root) if is_scored(c)]
    threads = config.get("threads")
    train_set = load_scored_set(limited([c for c in cases if c.split == "train"], config), root, shape, threads, run.log)
    val_set = load_scored_set(limited([c for c in cases if c.split == "val"], config), root, shape, threads, run.log)
    return ZoneData(train_set, val_set, pretrained_start(config, root, run.device, run.log))


def train_network(network, data: ZoneData, run: Run) -> Best:
    """With ``folds``, choose the score rule and threshold on out-of-fold predictions; then train the
    final ensemble on the whole train split (its last epoch is kept)."""
    config, train_set = run.config, data.train_set
    data.rule, data.low_confidence = config["score_rule"], config["low_confidence"]
    if config.get("folds"):
        data.oof = out_of_fold_probabilities(run, train_set, data.start)
        data.rule = choose_rule(data.oof, train_set.senior)
        data.low_confidence = low_confidence_threshold(data.oof, train_set.senior, data.rule)
        data.cv_metrics = {f"cv_zone_mae_{r}": zone_mae(data.oof, train_set.senior, r) for r in SCORE_RULES}
    ensemble = fit(run, train_set, data.val_set, label="final", start=data.start)
    return Best(None, ensemble.state_dict(), config["epochs"] - 1)


def final_metrics(network, data: ZoneData, run: Run, best: Best) -> dict:
    """Val metrics of the ensemble; also writes ``predictions.npz`` and the decision into ``config.yaml``."""
    metrics = {"train_cases": len(data.train_set), "val_cases": len(data.val_set), **data.cv_metrics}
    metrics.update(evaluate(network, data.val_set, run.device, data.rule))
    metrics.update(member_metrics(network, data.val_set, run.device, data.rule))
    metrics["low_confidence_threshold"] = data.low_confidence
    save_predictions(run.directory, network, data.train_set, data.val_set, data.oof, run.device)
    _save_decision(run.config, run.directory, data.rule, data.low_confidence)
    return metrics


def save_predictions(run_dir, network, train_set: ScoredSet, val_set: ScoredSet, oof, device) -> None:
    """``predictions.npz``: val probabilities (and out-of-fold train ones) with case names and scores,
    for comparing scorers afterwards."""
    np.savez(run_dir / "predictions.npz", val_probabilities=predict(network, val_set, device)[0],
             val_stems=np.array(val_set.stems), val_senior=val_set.senior, val_junior=val_set.junior,
             train_stems=np.array(train_set.stems), train_senior=train_set.senior,
             oof_probabilities=oof if oof is not None else np.zeros((0, ZONE_COUNT, SCORE_COUNT)))


def pretrained_start(config: dict, root, device, log) -> dict | None:
    """Weights from the synthetic-opacity pretraining, or None when ``pretrain.epochs`` is 0."""
    if not config.get("pretrain", {}).get("epochs"):
        return None
    from .zone_pretrain import pretrain

    seed_everything(config["seed"])  # the same start whatever was drawn before
    return pretrain(config, build_member(config), root, device, log)


def member_metrics(network: ZoneEnsemble, data: ScoredSet, device, rule: str) -> dict:
    """Mean and spread of the members' own val zone MAE (what the ensemble adds)."""
    if len(network.members) < 2:
        return {}
    maes = [zone_mae(predict(ZoneEnsemble([member]), data, device)[0], data.senior, rule) for member in network.members]
    return {"val_zone_mae_member_mean": float(np.mean(maes)), "val_zone_mae_member_min": float(np.min(maes)),
            "val_zone_mae_member_max": float(np.max(maes))}


def evaluate(network, data: ScoredSet, device, rule: str) -> dict:
    """Val zone MAE (both rules and the chosen one), global-score MAE, junior reference, CAM localisation."""
    probabilities, features, head_weight = predict(network, data, device)
    scores = scores_from_probabilities(probabilities, rule)
    junior = data.junior >= 0
    results = {f"val_zone_mae_{r}": zone_mae(probabilities, data.senior, r) for r in SCORE_RULES}
    results.update({"val_zone_mae": float(np.abs(scores - data.senior).mean()),
                    "val_global_mae": float(np.abs(scores.sum(1) - data.senior.sum(1)).mean()),
                    "val_zone_mae_junior": float(np.abs(data.junior - data.senior)[junior].mean()),
                    "val_zone_mae_mean_predictor": float(np.abs(data.senior - data.senior.mean()).mean()),
                    "score_rule_index": float(SCORE_RULES.index(rule))})  # 0 argmax, 1 expected, 2 median
    results.update({f"val_{k}": v for k, v in cam_localization(probabilities, features, head_weight, data.zones, data.senior).items()})
    return results


def _save_decision(config: dict, run_dir, rule: str, low_confidence: float) -> None:
    """Record the chosen score rule and threshold in the run's config (what install registers)."""
    saved = copy.deepcopy(config)
    saved["score_rule"], saved["low_confidence"] = rule, low_confidence
    saved["model"]["output"]["score_rule"] = rule
    saved["model"]["output"]["thresholds"] = {"low_confidence": low_confidence}
    save_config(saved, run_dir)
