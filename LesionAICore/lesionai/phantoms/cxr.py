"""Synthetic chest radiographs with known lung masks, for tests and demonstrations.

:func:`generate_cxr_phantom` draws a frontal (PA) or lateral chest radiograph from a seed. The
frontal phantom has dark air around the patient, a soft-tissue outline (neck, shoulders, torso,
upper arms), two lung fields with rounded apices, sharp costophrenic angles and domed
hemidiaphragms (the right one higher), a bright mediastinum and spine, the heart bulging into the
lower-medial left lung, clavicles, posterior and anterior ribs, vessels branching from the hila, a
smooth exposure bias and detector noise. Size, contrast, position, rotation and scale of the
anatomy vary with the seed; the same seed always gives the same phantom.

Intensities imitate a 12-bit detector: values lie in 0..4095 (air dark, bone and abdomen bright),
stored as float32. The lung labels are exactly the drawn lung fields; like the reference masks of
public chest X-ray datasets they include the lung hidden behind the heart and reach down to the
diaphragm. Display orientation is the standard one: the patient's right lung (label 1) lies on the
image left (low column indices), the head at the top (low row indices).

>>> phantom = generate_cxr_phantom(seed=3, size=(256, 256))
>>> phantom.image.array.shape, sorted(set(phantom.lung_labels.ravel().tolist()))
((1, 256, 256), [0, 1, 2])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..geometry import Geometry, Image, radiograph_geometry
from .cxr_anatomy import LEFT_LUNG, RIGHT_LUNG, draw_frontal, draw_lateral  # noqa: F401 (the lung labels)
from .cxr_shapes import random_placement, to_output_grid

MAX_INTENSITY = 4095.0
DEFAULT_FIELD_OF_VIEW_MM = 430.0
VIEWS = ("PA", "lateral")


@dataclass
class CxrPhantom:
    """A synthetic chest radiograph and its ground truth.

    ``image.array`` is float32 ``(1, rows, cols)`` in 0..4095. ``lung_labels`` is uint8 of the same
    shape: 0 background, 1 patient's right lung (image left), 2 patient's left lung (image right);
    all zeros for a lateral view. ``geometry`` equals ``image.geometry``.
    """

    image: Image
    lung_labels: np.ndarray
    geometry: Geometry
    seed: int
    view: str


def generate_cxr_phantom(
    seed: int,
    size: tuple[int, int] = (1024, 1024),
    pixel_spacing_mm: float | None = None,
    view: str = "PA",
) -> CxrPhantom:
    """Draw a chest radiograph phantom of ``size`` = (rows, cols) pixels.

    ``pixel_spacing_mm`` sets the square pixel size of the returned geometry; by default the field
    of view is 430 mm along the longer side. The anatomy always fills the frame the same way, so the
    spacing only changes the reported millimetres. ``view`` is ``"PA"`` (frontal, two labelled
    lungs) or ``"lateral"`` (one overlapping lung field, spine at the image right, no labels).
    """
    rows, cols = _checked_size(size)
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    if pixel_spacing_mm is not None and not pixel_spacing_mm > 0:
        raise ValueError(f"pixel_spacing_mm must be positive, got {pixel_spacing_mm}")
    rng = np.random.default_rng(seed)
    placement = random_placement(rng)
    if view == "PA":
        density, lung_labels = draw_frontal(rng, placement, (rows, cols))
    else:
        density, lung_labels = draw_lateral(rng, placement, (rows, cols))
    intensities = _detector_readout(rng, to_output_grid(_film_response(rng, density), (rows, cols)))
    spacing = pixel_spacing_mm or DEFAULT_FIELD_OF_VIEW_MM / max(rows, cols)
    geometry = radiograph_geometry((float(spacing), float(spacing)))
    metadata = {"phantom_seed": int(seed), "phantom_view": view}
    image = Image(intensities[np.newaxis].astype(np.float32), geometry, metadata)
    return CxrPhantom(image, lung_labels[np.newaxis], geometry, int(seed), view)


def eight_bit(plane: np.ndarray) -> np.ndarray:
    """A phantom's 12-bit intensities (0-4095) as uint8 grey, as an 8-bit PNG export would store them."""
    return np.clip(plane / 16.0, 0, 255).astype(np.uint8)


def _checked_size(size: tuple[int, int]) -> tuple[int, int]:
    rows, cols = (int(n) for n in size)
    if rows < 32 or cols < 32:
        raise ValueError(f"phantom size must be at least 32 x 32 pixels, got {rows} x {cols}")
    return rows, cols


# Exposure


def _film_response(rng: np.random.Generator, density: np.ndarray) -> np.ndarray:
    """Relative brightness -> 0..1 display value: smooth exposure bias and a film-like curve."""
    exposed = np.clip(density * _exposure_bias(rng, density.shape), 0.0, None)
    exposed = np.tanh(1.1 * exposed) / np.tanh(1.1)  # the shoulder compresses bone and abdomen
    return np.clip(exposed, 0.0, 1.0) ** rng.uniform(0.75, 1.3)


def _exposure_bias(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Smooth multiplicative field (about 1 +- 0.08) from a few low-frequency cosines."""
    rows = np.linspace(0.0, np.pi, shape[0], dtype=np.float32)[:, np.newaxis]
    cols = np.linspace(0.0, np.pi, shape[1], dtype=np.float32)[np.newaxis, :]
    field = np.zeros(shape, dtype=np.float32)
    for row_freq, col_freq in ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0)):
        phase_r, phase_c = rng.uniform(0.0, 2 * np.pi, 2)
        field += np.cos(row_freq * rows + phase_r) * np.cos(col_freq * cols + phase_c)
    return 1.0 + rng.uniform(0.03, 0.08) * field / max(float(np.abs(field).max()), 1e-6)


def _detector_readout(rng: np.random.Generator, display: np.ndarray) -> np.ndarray:
    """Add quantum noise and scale 0..1 display values to the 12-bit range."""
    noise = rng.standard_normal(display.shape, dtype=np.float32)
    display = display.astype(np.float32) + noise * np.float32(rng.uniform(0.008, 0.02))
    return np.clip(display, 0.0, 1.0) * np.float32(MAX_INTENSITY)


def phantom_inputs(folder: Path, count: int) -> list[Path]:
    """Write ``count`` phantoms for the demo: frontal ones as NRRD (with spacing) and PNG, the last
    one lateral; existing identical files are kept, different ones refused."""
    from .files import png_bytes, write_new, write_new_image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        lateral = count > 1 and index == count - 1
        phantom = generate_cxr_phantom(seed=index + 1, size=(1024, 1024), view="lateral" if lateral else "PA")
        name = f"phantom-{index + 1}-{'lateral' if lateral else 'frontal'}"
        if index % 2 == 1 and not lateral:
            paths.append(write_new(folder / f"{name}.png", png_bytes(eight_bit(phantom.image.array[0]))))
        else:
            paths.append(write_new_image(folder / f"{name}.nrrd", phantom.image))
    return paths

