"""Headless training recipes (need the ``train`` extra: torch, MONAI, onnx).

Each recipe is a YAML config plus a seed; the run folder receives the config, a log, metrics and
the exported ONNX model. Inference never imports this package.
"""
