"""Cross-scanner normalisation (CSN): make a CT region look as if one reference scanner took it.

The network (``nodule-csn``) works on axial slices (across the array's k axis) of
``TILE`` x ``TILE`` pixels: it maps HU / 1000 + 1 of a slice to the same scale, trained to undo
simulated kernel, noise, slice-thickness and calibration differences. Larger slices are processed
in overlapping tiles blended with a smooth weight, smaller ones are padded by reflection, so any
region size works. Output is float32 HU on the input's grid.

>>> normalized = CrossScannerNormalizer(threads=1).normalize(region_hu)   # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..geometry import Image
from ..registry import ModelRegistry
from ..runtime import load_model

CSN_MODEL = "nodule-csn"
TILE = 32
HU_RANGE = (-1024.0, 1024.0)


def to_network_scale(hu: np.ndarray) -> np.ndarray:
    """HU clipped to ``HU_RANGE`` as HU / 1000 + 1 (air 0, water 1), float32."""
    return (np.clip(hu, *HU_RANGE) / 1000.0 + 1.0).astype(np.float32)


def from_network_scale(values: np.ndarray) -> np.ndarray:
    return ((values - 1.0) * 1000.0).astype(np.float32)


class CrossScannerNormalizer:
    """Runs the registered CSN network on CT regions (ONNX Runtime)."""

    def __init__(self, registry: ModelRegistry | None = None, threads: int | None = None):
        self.registry = registry or ModelRegistry.load()
        self.threads = threads

    @property
    def version(self) -> str:
        return self.registry.get(CSN_MODEL).version

    def normalize(self, region_hu: Image) -> Image:
        """``region_hu`` (HU, ``[k, j, i]``) normalised slice by slice; same grid, float32 HU."""
        model = load_model(self.registry, CSN_MODEL, threads=self.threads)
        slices = to_network_scale(region_hu.array)
        output = apply_tiled(slices, lambda batch: model.run({"slices": batch[:, np.newaxis]})["normalized_slices"][:, 0])
        return region_hu.with_array(from_network_scale(output))


def apply_tiled(slices: np.ndarray, network, tile: int = TILE) -> np.ndarray:
    """``network`` ([N, tile, tile] -> same) over slices ``[K, H, W]`` of any H, W.

    Slices smaller than ``tile`` are reflected up to it; larger ones are covered by tiles at half a
    tile's stride, blended with a pyramid weight (no seams).
    """
    padded, (height, width) = _padded_to_tile(slices, tile)
    if padded.shape[1:] == (tile, tile):
        return network(padded)[:, :height, :width]
    total = np.zeros(padded.shape, np.float32)
    weights = np.zeros(padded.shape[1:], np.float32)
    window = _pyramid(tile)
    for top in _starts(padded.shape[1], tile):
        for left in _starts(padded.shape[2], tile):
            total[:, top:top + tile, left:left + tile] += network(padded[:, top:top + tile, left:left + tile]) * window
            weights[top:top + tile, left:left + tile] += window
    return (total / weights)[:, :height, :width]


def _padded_to_tile(slices: np.ndarray, tile: int) -> tuple[np.ndarray, tuple[int, int]]:
    height, width = slices.shape[1:]
    pad = [(0, 0), (0, max(0, tile - height)), (0, max(0, tile - width))]
    mode = "reflect" if min(height, width) > 1 else "edge"
    return np.pad(slices, pad, mode=mode) if any(p[1] for p in pad) else slices, (height, width)


def _starts(size: int, tile: int) -> list[int]:
    starts = list(range(0, size - tile + 1, tile // 2))
    return starts if starts[-1] == size - tile else starts + [size - tile]


def _pyramid(tile: int) -> np.ndarray:
    ramp = np.minimum(np.arange(tile) + 1, tile - np.arange(tile)).astype(np.float32)
    return np.outer(ramp, ramp) / ramp.max() ** 2
