"""Headless training recipes (need the ``train`` extra: torch, MONAI, onnx).

Each recipe is a YAML config (``recipes/<name>.yaml``) plus a seed; the run folder receives the
config, a log, checkpoints, metrics and the exported ONNX model. Inference never imports this package.

Shared machinery: :mod:`.loop` (``fit``, the one training loop), :mod:`.contracts` (what a recipe
provides), :mod:`.config` (YAML, dotted overrides, optimiser and schedule blocks), :mod:`.device`,
:mod:`.runs`, :mod:`.export`, :mod:`.install`, :mod:`.catalog` (the table of recipes),
:mod:`.augment` (``planar`` 2-D, ``volume`` 3-D), :mod:`.metrics` and :mod:`.attention`. Each task's
recipes live in a subpackage of their own: :mod:`.severity` (chest radiographs), ``spine``, ``nodule``.
"""
