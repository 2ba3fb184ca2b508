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

from ...severity.scoring import SCORE_RULES
from ..attention import AttentionSettings, combined_loss
from ..augment.planar import random_affine_pairs, random_intensity
from ..config import resolve_data_root
from ..contracts import Best, Run
from ..device import seed_everything
from ..loop import run_epochs, train_batches
from ..runs import save_config
from .cxr_data import limited, read_cases
from .zone_data import ScoredSet, is_scored, load_scored_set
from .zone_evaluation import evaluate, member_metrics, predict, save_predictions, zone_mae
from .zone_losses import class_weights, target_distribution, task_loss, zone_attention_loss
from .zone_network import SCORE_COUNT, ZONE_COUNT, ZoneEnsemble, ZoneSeverityNet
from .zone_selection import choose_rule, group_folds, low_confidence_threshold

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


def out_of_fold_probabilities(run: Run, data: ScoredSet, start: dict | None = None) -> np.ndarray:
    """(N, 6, 4) probabilities of each radiograph by the ensemble trained without its fold."""
    probabilities = np.zeros((len(data), ZONE_COUNT, SCORE_COUNT))
    for index, held_out in enumerate(group_folds(data.groups, run.config["folds"], run.config["seed"])):
        kept = np.setdiff1d(np.arange(len(data)), held_out)
        network = fit(run, data.subset(kept), label=f"fold {index + 1}", start=start)
        probabilities[held_out] = predict(network, data.subset(held_out), run.device)[0]
        run.log.info("fold %d zone MAE argmax %.4f", index + 1, zone_mae(probabilities[held_out], data.senior[held_out], "argmax"))
    return probabilities


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
    metrics.update(evaluate(network, data.val_set, run.device, data.rule, data.train_set.senior))
    metrics.update(member_metrics(network, data.val_set, run.device, data.rule))
    metrics["low_confidence_threshold"] = data.low_confidence
    save_predictions(run.directory, network, data.train_set, data.val_set, data.oof, run.device)
    _save_decision(run.config, run.directory, data.rule, data.low_confidence)
    return metrics


def pretrained_start(config: dict, root, device, log) -> dict | None:
    """Weights from the synthetic-opacity pretraining, or None when ``pretrain.epochs`` is 0."""
    if not config.get("pretrain", {}).get("epochs"):
        return None
    from .zone_pretrain import pretrain

    seed_everything(config["seed"])  # the same start whatever was drawn before
    return pretrain(config, build_member(config), root, device, log)


def _save_decision(config: dict, run_dir, rule: str, low_confidence: float) -> None:
    """Record the chosen score rule and threshold in the run's config (what install registers)."""
    saved = copy.deepcopy(config)
    saved["score_rule"], saved["low_confidence"] = rule, low_confidence
    saved["model"]["output"]["score_rule"] = rule
    saved["model"]["output"]["thresholds"] = {"low_confidence": low_confidence}
    save_config(saved, run_dir)
