"""Recipe ``nodule-fusion``: the two frozen branch encoders joined by a small fusion head.

The image branch (``nodule-image`` recipe) and the tabular branch (``nodule-tabular``) are trained
first (or taken from finished runs: ``image_run``, ``tabular_run``, a run folder or its ``.pt``) and frozen. Their
representations are projected linearly, concatenated and passed through an MLP with dropout
(``dropout``, 0.5) to the binary target. The head sees ``augment_copies`` augmented passes of
every training nodule (image augmentation, random variable masking), since the frozen encoders
have already fitted those very nodules.

ONNX (one model): inputs ``crop`` (B, 2, D, H, W), ``features`` (B, F), ``feature_mask`` (B, F);
outputs ``fusion_probability``, ``image_probability``, ``tabular_probability`` (B,) and
``texture_probabilities`` (B, 3).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import InputError
from ...nodule.classifier_input import FEATURE_NAMES, HU_WINDOW
from ..config import RECIPES_DIR, load_config
from ..contracts import Best
from ..loop import train_batches
from ..runs import save_config
from . import image, tabular
from .classifier_data import TEXTURE_CLASSES, NoduleSet, grid_sizes
from .classifier_metrics import malignancy_summary, texture_summary
from .classifier_networks import FusedClassifier, FusionHead
from .recipe_runs import OPTIONAL_KEYS, CohortSplits, flat_numbers, load_splits  # noqa: F401

NAME, MONITOR = "nodule-fusion", None
INPUT_NAMES = ["crop", "features", "feature_mask"]
OUTPUT_NAMES = ["fusion_probability", "image_probability", "tabular_probability", "texture_probabilities"]
SHARED_KEYS = ("seed", "device", "threads", "source", "data_root", "cohort", "positive_min", "negative_max", "task",
               "cache_dir", "csn", "csn_options", "field_of_view_mm", "stages_shape", "label_column", "val_fraction")


def branch_config(config: dict, branch: str) -> dict:
    """The ``nodule-<branch>`` recipe config (``<branch>_recipe``, default the shipped YAML) with the
    fusion config's data and task keys (:data:`SHARED_KEYS`) and ``<branch>_overrides`` on top."""
    path = Path(config.get(f"{branch}_recipe") or RECIPES_DIR / f"nodule_{branch}.yaml")
    branch_settings = load_config(path if path.is_absolute() else RECIPES_DIR / path)
    branch_settings.update({key: config[key] for key in SHARED_KEYS if key in config})
    branch_settings.update(config.get(f"{branch}_overrides") or {})
    return branch_settings


@torch.no_grad()
def augmented_representations(image_net, tabular_net, nodules: NoduleSet, config: dict, shape) -> tuple:
    """(image reps, tabular reps, targets) over ``augment_copies`` augmented passes of the labelled
    nodules; ``shape`` is the image branch's crop size (D, H, W)."""
    image_net.eval(), tabular_net.eval()
    rows = np.flatnonzero(~np.isnan(nodules.target))
    crops = torch.from_numpy(nodules.crops[tuple(shape)][rows])
    features, missing = torch.from_numpy(nodules.features[rows]), torch.from_numpy(nodules.missing[rows])
    image_reps, tabular_reps, rng = [], [], np.random.default_rng(config["seed"])
    for pass_index in range(config.get("augment_copies", 4)):
        augment = pass_index > 0  # the first pass is the plain nodule
        for start in range(0, len(rows), 32):
            batch = crops[start:start + 32].float()
            image_reps.append(image_net.encode(image.augmented_crops(batch, config["augment"], rng) if augment else batch))
        mask = tabular.random_mask(missing, config.get("mask_rate", 0.25))[0] if augment else missing
        tabular_reps.append(tabular_net.encode(features, mask))
    targets = torch.from_numpy(nodules.target[rows]).repeat(config.get("augment_copies", 4))
    return torch.cat(image_reps), torch.cat(tabular_reps), targets


def fit_fusion(image_net, tabular_net, nodules: NoduleSet, config: dict, shape, log=None) -> FusedClassifier:
    """Freeze both encoders and train the fusion head on ``nodules`` (image crops of ``shape``);
    returns the whole model (eval)."""
    for network in (image_net, tabular_net):
        network.requires_grad_(False)
    image_reps, tabular_reps, targets = augmented_representations(image_net, tabular_net, nodules, config, shape)
    head = FusionHead(image_net.representation_size, tabular_net.representation_size, config.get("projection", 32),
                      config.get("hidden", 32), config.get("dropout", 0.5))
    optimizer = torch.optim.AdamW(head.parameters(), lr=config["learning_rate"],
                                  weight_decay=config.get("weight_decay", 1e-3))

    def batch_loss(batch):
        return F.binary_cross_entropy_with_logits(head(image_reps[batch], tabular_reps[batch]), targets[batch])

    for epoch in range(config["epochs"]):
        loss = train_batches(head, optimizer, torch.randperm(len(targets)), config["batch_size"], batch_loss)
        if log:
            log.info("fusion epoch %d loss %.4f", epoch, loss)
    return FusedClassifier(image_net, tabular_net, head).eval()


@torch.no_grad()
def fused_outputs(model: FusedClassifier, nodules: NoduleSet, shape, batch_size: int = 32) -> dict:
    """Eval-mode outputs of the whole model: ``probability`` (fusion), ``image``, ``tabular`` (N,),
    ``texture`` (N, 3)."""
    model.eval()
    parts = []
    for start in range(0, len(nodules), batch_size):
        window = slice(start, start + batch_size)
        parts.append(model(torch.from_numpy(nodules.crops[shape][window].astype(np.float32)),
                           torch.from_numpy(nodules.features[window]), torch.from_numpy(nodules.missing[window])))
    fusion, image_p, tabular_p, texture = (torch.cat(column).numpy() for column in zip(*parts))
    return {"probability": fusion, "image": image_p, "tabular": tabular_p, "texture": texture}


def fused_probability(model: FusedClassifier, nodules: NoduleSet, shape) -> np.ndarray:
    return fused_outputs(model, nodules, shape)["probability"]


def build_network(config: dict) -> FusedClassifier:
    """An untrained fused model of the configured branch architectures (for re-export of ``best.pt``)."""
    image_net = image.build_network(branch_config(config, "image"))
    tabular_net = tabular.build_network(branch_config(config, "tabular"))
    head = FusionHead(image_net.representation_size, tabular_net.representation_size, config.get("projection", 32),
                      config.get("hidden", 32), config.get("dropout", 0.5))
    return FusedClassifier(image_net, tabular_net, head)


def example_inputs(config: dict) -> tuple:
    shape = branch_config(config, "image")["stages_shape"][-1]
    count = len(FEATURE_NAMES)
    return torch.zeros(1, 2, *shape), torch.zeros(1, count), torch.ones(1, count)


def prepare_config(config: dict) -> dict:
    """The config with the registry contract (input grid and spacing, output names, labels and task)
    filled in from the image branch's grid."""
    config = copy.deepcopy(config)
    shape, spacing = grid_sizes(branch_config(config, "image"))[-1]
    model = config.setdefault("model", {})
    model["input"] = {"name": "crop", "shape": [2, *shape], "spacing_mm": [round(s, 6) for s in spacing],
                      "normalization": {"method": "window", "low": HU_WINDOW[0], "high": HU_WINDOW[1],
                                        **(model.get("input") or {}).get("normalization", {})}}
    model["output"] = {"names": OUTPUT_NAMES, "labels": dict(enumerate(TEXTURE_CLASSES)), "description": config["task"]}
    return config


def load_data(run) -> CohortSplits:
    """The cohort with the image branch's crop sizes (the fusion config names only the data)."""
    return load_splits(run, branch_config(run.config, "image"))


def train_network(network, data: CohortSplits, run) -> Best:
    """Both branches (or their finished runs), frozen; then the head. The variables never present in
    the training split are recorded in the saved config (the classifier masks them)."""
    image_net = _branch(run.config, "image", data.train, run)
    tabular_net = _branch(run.config, "tabular", data.train, run)
    shape = grid_sizes(branch_config(run.config, "image"))[-1][0]
    model = fit_fusion(image_net, tabular_net, data.train, run.config, shape, run.log)
    untrained = [name for name in FEATURE_NAMES if name not in trained_features(data.train)]
    run.config["model"]["input"]["normalization"]["untrained_features"] = ",".join(untrained)
    save_config(run.config, run.directory)
    return Best(None, copy.deepcopy(model.state_dict()), run.config["epochs"] - 1)


def _branch(config: dict, branch: str, train_set: NoduleSet, run):
    """A trained branch: from ``<branch>_run`` (a finished run folder) when given, else trained here
    (weights saved as ``<branch>.pt`` in the run folder)."""
    settings = branch_config(config, branch)
    module = image if branch == "image" else tabular
    network = module.build_network(settings) if branch == "image" else module.build_network(settings, train_set)
    if config.get(f"{branch}_run"):
        network.load_state_dict(torch.load(finished_weights(config[f"{branch}_run"]), map_location="cpu"))
        return network.eval()
    fit = image.fit_image_branch if branch == "image" else tabular.fit_tabular_branch
    network = fit(network, train_set, settings, run.log)
    torch.save(network.state_dict(), run.directory / f"{branch}.pt")
    return network


def finished_weights(path) -> Path:
    """The weights of a finished branch: a run folder's ``best.pt``, or a ``.pt`` file itself."""
    path = Path(path)
    weights = path / "best.pt" if path.is_dir() else path
    if not weights.is_file():
        raise InputError(f"{path} is neither a finished run folder (with best.pt) nor a weights file (.pt)")
    return weights


def evaluation(outputs: dict, nodules: NoduleSet, prefix: str) -> dict:
    """AUCs (all / ggn-like, patient-bootstrap CI) of the three probabilities, and texture figures."""
    metrics = {f"{prefix}_texture": texture_summary(outputs["texture"], nodules.texture)}
    for branch, key in (("fusion", "probability"), ("image", "image"), ("tabular", "tabular")):
        metrics[f"{prefix}_{branch}"] = malignancy_summary(outputs[key], nodules.target, nodules.patients,
                                                           nodules.ggn_like)
    return metrics


def final_metrics(network, data: CohortSplits, run, best: Best) -> dict:
    """Val-split AUCs of fusion, image and tabular (all / ggn-like) and texture figures, nested and flat."""
    shape = grid_sizes(branch_config(run.config, "image"))[-1][0]
    metrics = evaluation(fused_outputs(network, data.val, shape), data.val, "val")
    return {**metrics, **flat_numbers(metrics), "train_nodules": len(data.train), "val_nodules": len(data.val),
            "trained_features": trained_features(data.train), "task": run.config["task"], "seed": run.config["seed"]}


def trained_features(nodules: NoduleSet) -> list[str]:
    """Variables present for at least one training nodule (the others were only ever masked)."""
    return [name for index, name in enumerate(FEATURE_NAMES) if (nodules.missing[:, index] < 0.5).any()]
