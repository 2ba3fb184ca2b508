"""Recipe ``nodule-tabular``: masked embedding network over the published nodule variables.

Feature masking twice over: variables the cohort lacks (LIDC: Age and Gender, always) are masked,
so the network learns their mask tokens; and during training every present variable is also masked
at random (``mask_rate``), with a reconstruction objective on those hidden values. Stage 1
(``pretrain_epochs``) trains the reconstruction alone (masked tabular pretraining); stage 2
(``epochs``) adds the binary target (BCE over labelled nodules) and the texture class.

ONNX: inputs ``features`` (B, F) in physical units and ``feature_mask`` (B, F) (1 = missing);
outputs ``malignancy_logit`` (B,) and ``texture_logits`` (B, 3).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from ...nodule.classifier_input import FEATURE_NAMES
from ..contracts import Best
from ..loop import cosine_schedule, train_batches
from .classifier_data import NoduleSet
from .classifier_metrics import malignancy_summary, texture_summary
from .classifier_networks import MaskedTabularEncoder
from .image import branch_loss, texture_weights
from .recipe_runs import OPTIONAL_KEYS, CohortSplits, flat_numbers, load_splits  # noqa: F401

NAME, MONITOR = "nodule-tabular", None
INPUT_NAMES, OUTPUT_NAMES = ["features", "feature_mask"], ["malignancy_logit", "texture_logits"]


def build_network(config: dict, nodules: NoduleSet | None = None) -> MaskedTabularEncoder:
    """The encoder; with ``nodules``, its standardisation is fitted to their variables."""
    network = MaskedTabularEncoder(FEATURE_NAMES, config.get("log_features", ()), config.get("width", 32),
                                   config.get("depth", 2), config.get("heads", 4), config.get("dropout", 0.1))
    if nodules is not None:
        network.set_standardisation(torch.from_numpy(nodules.features), torch.from_numpy(nodules.missing))
    return network


def example_inputs(config: dict) -> tuple:
    return torch.zeros(1, len(FEATURE_NAMES)), torch.ones(1, len(FEATURE_NAMES))


def random_mask(missing: torch.Tensor, rate: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(training mask, hidden): present variables hidden at random with probability ``rate``."""
    hidden = (torch.rand_like(missing) < rate) & (missing < 0.5)
    return torch.maximum(missing, hidden.float()), hidden


def reconstruction_loss(network, features, missing, training_mask, hidden) -> torch.Tensor:
    """Mean squared error of the reconstructed standardised values of the ``hidden`` variables."""
    if not hidden.any():
        return features.sum() * 0
    truth = network.standardised(features, missing)
    return F.mse_loss(network.reconstruct(features, training_mask)[hidden], truth[hidden])


def fit_tabular_branch(network, nodules: NoduleSet, config: dict, log=None) -> MaskedTabularEncoder:
    """Masked pretraining, then supervised training with random masking; returns it in eval mode."""
    tensors = [torch.from_numpy(array) for array in (nodules.features, nodules.missing, nodules.target,
                                                     nodules.texture)]
    weights = texture_weights(nodules.texture)
    for stage, epochs in (("pretrain", config.get("pretrain_epochs", 0)), ("supervised", config["epochs"])):
        _fit_stage(network, tensors, weights, stage, epochs, config, log)
    return network.eval()


def _fit_stage(network, tensors, weights, stage: str, epochs: int, config: dict, log) -> None:
    features, missing, target, texture = tensors
    optimizer = torch.optim.AdamW(network.parameters(), lr=config["learning_rate"],
                                  weight_decay=config.get("weight_decay", 1e-4))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine_schedule(epochs, config.get("warmup", 1)))

    def batch_loss(batch):
        training_mask, hidden = random_mask(missing[batch], config["mask_rate"])
        loss = reconstruction_loss(network, features[batch], missing[batch], training_mask, hidden)
        if stage == "pretrain":
            return loss
        logit, texture_logits = network(features[batch], training_mask)
        return config["reconstruction_weight"] * loss + branch_loss(
            logit, texture_logits, target[batch], texture[batch], weights, config["texture_weight"])

    for epoch in range(epochs):
        loss = train_batches(network, optimizer, torch.randperm(len(features)), config["batch_size"], batch_loss)
        scheduler.step()
        if log:
            log.info("%s epoch %d loss %.4f", stage, epoch, loss)


@torch.no_grad()
def tabular_outputs(network, features: np.ndarray, missing: np.ndarray) -> dict:
    """Eval-mode ``probability`` (N,), ``texture`` (N, 3) and ``representation`` (N, width)."""
    network.eval()
    values, mask = torch.from_numpy(features), torch.from_numpy(missing)
    representation = network.encode(values, mask)
    return {"probability": torch.sigmoid(network.malignancy_head(representation).squeeze(1)).numpy(),
            "texture": torch.softmax(network.texture_head(representation), 1).numpy(),
            "representation": representation.numpy()}


def load_data(run) -> CohortSplits:
    return load_splits(run)


def train_network(network, data: CohortSplits, run) -> Best:
    """Standardisation from the train split, masked pretraining, supervised stage; last epoch kept."""
    network.set_standardisation(torch.from_numpy(data.train.features), torch.from_numpy(data.train.missing))
    fit_tabular_branch(network, data.train, run.config, run.log)
    return Best(None, copy.deepcopy(network.state_dict()), run.config["epochs"] - 1)


def final_metrics(network, data: CohortSplits, run, best: Best) -> dict:
    """Val-split AUCs (all / ggn-like) and texture figures, nested and flat."""
    outputs = tabular_outputs(network, data.val.features, data.val.missing)
    metrics = {"val_malignancy": malignancy_summary(outputs["probability"], data.val.target, data.val.patients,
                                                    data.val.ggn_like),
               "val_texture": texture_summary(outputs["texture"], data.val.texture)}
    return {**metrics, **flat_numbers(metrics), "train_nodules": len(data.train), "val_nodules": len(data.val),
            "seed": run.config["seed"]}
