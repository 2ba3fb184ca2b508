"""Simulated scanner and reconstruction-kernel differences of a CT region (HU in, HU out).

Used to make (degraded, original) training pairs for the cross-scanner normalisation: the
original region is the target, the degraded one the input. Each effect runs with its probability
``p``; an ``identity`` draw leaves the region unchanged so the network learns to keep clean input.

Settings (the recipe's ``scanner`` block)::

    identity:  {p: 0.15}
    kernel:    {p: 0.8, blur_sigma_mm: [0.3, 1.0], sharpen: [0.3, 1.2]}   # half soft, half sharp kernels
    thickness: {p: 0.3, slices: [2, 3]}            # thicker axial slices: mean over 2-3 neighbours
    noise:     {p: 0.7, std_hu: [5, 40]}           # slightly correlated quantum noise
    hu:        {p: 0.7, offset: 40, scale: 0.08}   # calibration: (HU + 1000) * (1 +- scale) - 1000 +- offset

The shared 3-D augmentation (:mod:`lesionai.training.augment.volume`) perturbs intensities relative
to the patch's spread; this module works in absolute HU and has sharpening kernels, which scanner
differences need.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

DEFAULT_SCANNER = {
    "identity": {"p": 0.15},
    "kernel": {"p": 0.8, "blur_sigma_mm": [0.3, 1.0], "sharpen": [0.3, 1.2]},
    "thickness": {"p": 0.3, "slices": [2, 3]},
    "noise": {"p": 0.7, "std_hu": [5, 40]},
    "hu": {"p": 0.7, "offset": 40, "scale": 0.08},
}


def simulate_scanner(region_hu: np.ndarray, spacing_mm: float, rng: np.random.Generator,
                     settings: dict | None = None) -> np.ndarray:
    """A float32 copy of ``region_hu`` (``[k, j, i]``, isotropic ``spacing_mm``) as another scanner shows it."""
    settings = {**DEFAULT_SCANNER, **(settings or {})}
    image = np.asarray(region_hu, dtype=np.float32).copy()
    if rng.random() < settings["identity"]["p"]:
        return image
    for name, effect in (("kernel", _kernel), ("thickness", _thickness), ("noise", _noise), ("hu", _calibration)):
        if rng.random() < settings[name]["p"]:
            image = effect(image, spacing_mm, rng, settings[name])
    return image.astype(np.float32)


def _kernel(image, spacing_mm, rng, block):
    """A softer (Gaussian blur) or sharper (unsharp mask) in-plane reconstruction kernel."""
    sigma = rng.uniform(*block["blur_sigma_mm"]) / spacing_mm
    blurred = ndimage.gaussian_filter(image, (0, sigma, sigma))
    if rng.random() < 0.5:
        return blurred
    return image + rng.uniform(*block["sharpen"]) * (image - blurred)


def _thickness(image, spacing_mm, rng, block):
    size = int(rng.integers(block["slices"][0], block["slices"][1] + 1))
    return ndimage.uniform_filter1d(image, size, axis=0, mode="nearest")


def _noise(image, spacing_mm, rng, block):
    noise = ndimage.gaussian_filter(rng.standard_normal(image.shape).astype(np.float32), 0.5)
    noise /= max(float(noise.std()), 1e-6)
    return image + noise * rng.uniform(*block["std_hu"])


def _calibration(image, spacing_mm, rng, block):
    scale = 1 + rng.uniform(-1, 1) * block["scale"]
    return (image + 1000) * scale - 1000 + rng.uniform(-1, 1) * block["offset"]
