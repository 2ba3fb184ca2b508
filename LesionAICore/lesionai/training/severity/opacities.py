"""Synthetic lung opacities painted into real radiographs, inside their real lung masks.

Training data for the opacity segmentation model: no public chest radiograph collection outlines
its opacities, so the model learns from opacities added to radiographs whose lungs are outlined.
Radiographs are displayed with dense tissue bright (bone, heart, opacities) and aerated lung dark,
so every opacity raises the intensity of the lung it covers:

- **ground glass**: a faint, hazy rise of intensity with a smooth random texture; it is added to
  the radiograph, so vessels and ribs stay visible through it;
- **consolidation**: a denser, more homogeneous white patch that pulls the lung towards a level
  near the soft tissue's, fading the vessels inside it; sometimes crossed by darker branching
  lines like air bronchograms.

Lesions have soft edges, are clipped to the lung mask, range from small patches to most of a lung,
and by default favour the periphery and the lower zones (the usual COVID-19 pattern); a share of
them is bilateral and a share of samples gets none.

>>> rng = np.random.default_rng(0)
>>> painted, opacity = add_synthetic_opacities(image, lung_mask, rng)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage

from ...errors import InputError
from ...severity.preprocess import resize_plane

DEFAULT_SETTINGS = {
    "empty_rate": 0.2,             # share of samples left without any opacity
    "bilateral_rate": 0.5,         # share of the others with opacities in both lungs
    "consolidation_rate": 0.4,     # share of lesions that are consolidation (the rest ground glass)
    "lesions_per_lung": [1, 3],    # inclusive range
    "extent": [0.03, 0.8],         # share of the lung one lesion covers, drawn log-uniformly
    "peripheral": 1.0,             # strength of the preference for the lung periphery
    "lower": 1.0,                  # strength of the preference for the lower zones
    "ground_glass_strength": [0.2, 0.5],   # intensity rise, share of the lung-to-soft-tissue contrast
    "consolidation_strength": [0.55, 0.95],  # level reached, same unit
    "homogeneity": [0.3, 0.75],    # how much of the vessel texture a consolidation hides
    "bronchogram_rate": 0.4,       # share of consolidations crossed by air-bronchogram-like lines
}
LABEL_LEVEL = 0.5     # a pixel is opacity where the lesion's soft density reaches this
MIN_LUNG_PIXELS = 64  # a smaller lung mask cannot carry a lesion
MIN_CONTRAST = 0.15   # lung-to-soft-tissue contrast assumed at least, so that lesions in dense lungs stay visible


def add_synthetic_opacities(image: np.ndarray, lung_mask: np.ndarray, rng: np.random.Generator,
                            settings: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Paint random opacities into ``image`` inside ``lung_mask``.

    ``image``: float (rows, cols) radiograph in [0, 1], dense tissue bright. ``lung_mask``: bool
    (rows, cols), both lungs, patient's right on the image left. ``settings`` overrides keys of
    :data:`DEFAULT_SETTINGS`. Returns the painted float32 image (still in [0, 1]) and the bool
    opacity mask, which lies inside ``lung_mask`` and is empty for a share ``empty_rate`` of calls.
    """
    image, lung_mask = _checked(image, lung_mask)
    settings = {**DEFAULT_SETTINGS, **(settings or {})}
    empty = np.zeros(image.shape, dtype=bool)
    if rng.random() < settings["empty_rate"] or lung_mask.sum() < MIN_LUNG_PIXELS:
        return image.copy(), empty
    ground_glass, consolidation = lesion_densities(lung_mask, rng, settings)
    painted = render_opacities(image, lung_mask, ground_glass, consolidation, rng, settings)
    opacity = (np.maximum(ground_glass, consolidation) >= LABEL_LEVEL) & lung_mask
    return painted, opacity


def _checked(image: np.ndarray, lung_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image, lung_mask = np.asarray(image, dtype=np.float32), np.asarray(lung_mask, dtype=bool)
    if image.ndim != 2 or image.shape != lung_mask.shape:
        raise InputError(f"Synthetic opacities need a 2D image and a lung mask of the same shape; "
                         f"got {image.shape} and {lung_mask.shape}")
    return image, lung_mask


def lesion_densities(lung_mask: np.ndarray, rng: np.random.Generator, settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """Soft (rows, cols) densities in [0, 1] of the ground-glass and the consolidation lesions."""
    ground_glass = np.zeros(lung_mask.shape, dtype=np.float32)
    consolidation = np.zeros(lung_mask.shape, dtype=np.float32)
    low, high = settings["lesions_per_lung"]
    for lung in affected_lungs(lung_mask, rng, settings):
        priors = position_priors(lung)
        for _ in range(rng.integers(low, high + 1)):
            density = lesion_density(lung, priors, rng, settings)
            target = consolidation if rng.random() < settings["consolidation_rate"] else ground_glass
            np.maximum(target, density, out=target)
    return ground_glass, consolidation


def affected_lungs(lung_mask: np.ndarray, rng: np.random.Generator, settings: dict) -> list[np.ndarray]:
    """One lung (chosen at random) or, for a share ``bilateral_rate``, both; empty lungs are dropped."""
    lungs = [side for side in split_lungs(lung_mask) if side.sum() >= MIN_LUNG_PIXELS]
    if len(lungs) > 1 and rng.random() >= settings["bilateral_rate"]:
        lungs = [lungs[rng.integers(len(lungs))]]
    return lungs


def split_lungs(lung_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The image-left and image-right lungs of a mask that holds both, cut at the column between them.

    The cut is the column with the fewest lung pixels in the middle 40 % of the lungs' width.
    """
    columns = np.flatnonzero(lung_mask.any(axis=0))
    if columns.size == 0:
        return lung_mask.copy(), np.zeros_like(lung_mask)
    first, last = columns[0], columns[-1]
    start, stop = first + int(0.3 * (last - first)), first + int(0.7 * (last - first)) + 1
    cut = start + int(np.argmin(lung_mask[:, start:stop].sum(axis=0)))
    left = lung_mask.copy()
    left[:, cut:] = False
    return left, lung_mask & ~left


def position_priors(lung: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(peripheral, lower) maps of one lung, each standardised over the lung's pixels.

    ``peripheral`` grows towards the lung's border (a blur of the mask, computed at a quarter of the
    resolution for speed); ``lower`` grows from the apex to the base.
    """
    rows = np.flatnonzero(lung.any(axis=1))
    height = max(rows[-1] - rows[0], 1)
    small_shape = (max(lung.shape[0] // 4, 1), max(lung.shape[1] // 4, 1))
    small = resize_plane(lung.astype(np.float32), small_shape)
    blurred = ndimage.gaussian_filter(small, sigma=height / 4 / 6, mode="constant")
    peripheral = 1.0 - resize_plane(blurred, lung.shape)
    lower = np.broadcast_to(((np.arange(lung.shape[0]) - rows[0]) / height)[:, None], lung.shape).astype(np.float32)
    return _standardised(peripheral, lung), _standardised(lower, lung)


def _standardised(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    inside = values[where]
    return ((values - inside.mean()) / max(float(inside.std()), 1e-6)).astype(np.float32)


def lesion_density(lung: np.ndarray, priors: tuple[np.ndarray, np.ndarray], rng: np.random.Generator,
                   settings: dict) -> np.ndarray:
    """One lesion's soft density in [0, 1], zero outside ``lung``.

    A smooth random field plus randomly weighted position priors is cut at the quantile that
    leaves the drawn extent above it; a sigmoid of random width softens the edge.
    """
    rows = np.flatnonzero(lung.any(axis=1))
    scale = rng.uniform(0.08, 0.3) * (rows[-1] - rows[0] + 1)
    peripheral, lower = priors
    score = (smooth_field(lung.shape, scale, rng) + rng.uniform(0.0, 1.0) * settings["peripheral"] * peripheral
             + rng.uniform(-0.5, 1.0) * settings["lower"] * lower)
    inside = score[lung]
    extent = np.exp(rng.uniform(*np.log(settings["extent"])))
    level = np.quantile(inside, 1.0 - extent)
    softness = rng.uniform(0.05, 0.4) * max(float(inside.std()), 1e-6)
    density = 1.0 / (1.0 + np.exp(-(score - level) / softness))
    return np.where(lung, density, 0.0).astype(np.float32)


def smooth_field(shape: tuple[int, int], scale_px: float, rng: np.random.Generator) -> np.ndarray:
    """A zero-mean, unit-variance random field of ``shape`` whose blobs are about ``scale_px`` wide.

    White noise on a grid ``scale_px / 2`` coarser, blurred there and upsampled bicubically (a
    bilinear upsampling would give polygonal blob outlines).
    """
    step = max(scale_px / 2, 1.0)
    coarse_shape = (max(int(np.ceil(shape[0] / step)) + 1, 2), max(int(np.ceil(shape[1] / step)) + 1, 2))
    coarse = ndimage.gaussian_filter(rng.standard_normal(coarse_shape).astype(np.float32), sigma=1.0, mode="wrap")
    resized = PILImage.fromarray(coarse, mode="F").resize((shape[1], shape[0]), PILImage.BICUBIC)
    field = np.asarray(resized, dtype=np.float32)
    return ((field - field.mean()) / max(float(field.std()), 1e-6)).astype(np.float32)


def render_opacities(image: np.ndarray, lung_mask: np.ndarray, ground_glass: np.ndarray, consolidation: np.ndarray,
                     rng: np.random.Generator, settings: dict) -> np.ndarray:
    """``image`` with the lesions' densities turned into intensity, clipped to [0, 1] (float32).

    Intensities are relative to the radiograph's own contrast between the median lung level and the
    soft-tissue level (:func:`soft_tissue_level`). No opacity makes a pixel brighter than the soft
    tissue unless it already was (a rib, a device), so lesions blend into the chest wall they meet.
    """
    lung_level = float(np.median(image[lung_mask]))
    tissue_level = max(soft_tissue_level(image, lung_mask), lung_level)
    contrast = max(tissue_level - lung_level, MIN_CONTRAST)
    painted = image + ground_glass_rise(ground_glass, contrast, rng, settings)
    if consolidation.any():
        painted = painted + consolidation_change(painted, consolidation, lung_level, contrast, rng, settings)
    ceiling = np.maximum(image, lung_level + contrast)
    return np.clip(np.minimum(painted, ceiling), 0.0, 1.0).astype(np.float32)


def soft_tissue_level(image: np.ndarray, lung_mask: np.ndarray) -> float:
    """Median intensity of the non-lung pixels inside the lungs' bounding box: mediastinum, heart and
    chest wall, away from the burned-in labels and the air around the patient."""
    rows, columns = np.flatnonzero(lung_mask.any(axis=1)), np.flatnonzero(lung_mask.any(axis=0))
    box = np.zeros_like(lung_mask)
    box[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1] = True
    between = box & ~lung_mask
    return float(np.median(image[between])) if between.any() else 1.0


def ground_glass_rise(density: np.ndarray, contrast: float, rng: np.random.Generator, settings: dict) -> np.ndarray:
    """Additive, hazy intensity rise: everything underneath stays visible."""
    if not density.any():
        return np.zeros_like(density)
    texture = 1.0 + 0.3 * smooth_field(density.shape, rng.uniform(4, 12), rng)
    return (rng.uniform(*settings["ground_glass_strength"]) * contrast * density * texture).astype(np.float32)


def consolidation_change(image: np.ndarray, density: np.ndarray, lung_level: float, contrast: float,
                         rng: np.random.Generator, settings: dict) -> np.ndarray:
    """Intensity change of a consolidation: the local background is lifted towards a dense level
    and the fine texture (vessels) is faded; air-bronchogram-like lines stay darker."""
    background = ndimage.gaussian_filter(image, sigma=3.0)
    target = lung_level + rng.uniform(*settings["consolidation_strength"]) * contrast
    target = target + 0.05 * contrast * smooth_field(density.shape, rng.uniform(4, 12), rng)
    lift = np.maximum(target - background, 0.25 * contrast)
    fade = rng.uniform(*settings["homogeneity"]) * (image - background)
    change = density * (lift - fade)
    if rng.random() < settings["bronchogram_rate"]:
        change = change - 0.6 * density * lift * bronchogram_lines(density.shape, rng)
    return change.astype(np.float32)


def bronchogram_lines(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Thin, winding, branching lines in [0, 1]: the zero crossings of a smooth field, kept where a
    second field is positive so that they end and branch rather than close into loops."""
    scale = rng.uniform(0.06, 0.12) * shape[0]
    crossings = np.exp(-(smooth_field(shape, scale, rng) / 0.12) ** 2)
    kept = smooth_field(shape, scale * 1.5, rng) > 0.3
    return (crossings * kept).astype(np.float32)
