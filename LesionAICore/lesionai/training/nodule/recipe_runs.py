"""Start and finish of a nodule-classifier recipe run: seed, threads, cohort, run folder, outputs."""

from __future__ import annotations

import time

import torch

from .. import common
from .classifier_data import load_nodule_set


def crop_transform(config: dict):
    """The transform applied to every CT crop before cropping: cross-scanner normalisation when
    ``csn: true`` (``lesionai.nodule.csn``), else None."""
    if not config.get("csn", False):
        return None
    from ...nodule.csn import CrossScannerNormalizer

    return CrossScannerNormalizer(**(config.get("csn_options") or {})).normalize


def prepare(config: dict) -> None:
    """Seed every generator and set the CPU thread count (``threads``)."""
    common.seed_everything(config["seed"])
    if config.get("threads"):
        torch.set_num_threads(int(config["threads"]))


def start_branch_run(config: dict, run_dir, build_network):
    """(network, cohort, run_dir, logger, start time) of a recipe run; the network is built first
    so a broken config is refused before any data is read."""
    started = time.monotonic()
    prepare(config)
    network = build_network(config)
    run_dir, log = common.start_run(config, run_dir)
    return network, load_nodule_set(config, crop_transform(config)), run_dir, log, started


def finish_run(network, config: dict, run_dir, log, metrics: dict, started: float, example, input_names,
               output_names) -> dict:
    """Save ``best.pt`` (the final weights), ``metrics.json`` and the ONNX export; returns the metrics."""
    metrics = {**metrics, "seed": config["seed"], "seconds": round(time.monotonic() - started, 1)}
    torch.save(network.state_dict(), run_dir / "best.pt")
    log.info("final %s", metrics)
    common.save_metrics(run_dir, metrics)
    common.export_onnx(network, example, run_dir / config["onnx_name"], input_names, output_names)
    return metrics
