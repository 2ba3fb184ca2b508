"""Generated images that are not chest radiographs SeverityScoring can score, for its radiograph check.

Two families, each made deterministically from a seed:

* :data:`PICTURE_KINDS`, made from nothing: noise (uniform, Gaussian, salt and pepper), smooth
  gradients, checkerboards and text-like pages;
* :data:`CORRUPTION_KINDS`, made from a real (or phantom) frontal radiograph plane: long strips,
  16-bit data read with the wrong byte order, half or most of the image whited or blacked out,
  the radiograph tiled side by side, and its patches shuffled.

Every image is a float32 (rows, cols) plane in display orientation, intensities 0-255 (0-65535 for
byte-swapped data).

>>> plane = non_radiograph("gaussian noise", seed=3)                           # doctest: +SKIP
>>> plane = corrupted_radiograph(radiograph, "half whited out", seed=3)        # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw

PICTURE_KINDS = ("uniform noise", "gaussian noise", "salt and pepper noise", "smooth gradient", "checkerboard",
                 "text page")
CORRUPTION_KINDS = ("strip 128x6000", "strip 6000x128", "byte-swapped 16-bit", "half whited out",
                    "most whited out", "half blacked out", "most blacked out", "tiled side by side",
                    "shuffled patches")
TWELVE_BIT_NOISE = 8.0
"""Standard deviation, in 12-bit grey levels, of the detector noise added when an 8-bit radiograph
is made into the 12-bit data whose bytes are then swapped (real 12-bit radiographs are not smooth
in their low bits)."""


def non_radiograph(kind: str, seed: int) -> np.ndarray:
    """A generated picture of ``kind`` (one of :data:`PICTURE_KINDS`), 256-1024 px a side."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(256, 1025, size=2))
    makers = {"uniform noise": _uniform_noise, "gaussian noise": _gaussian_noise,
              "salt and pepper noise": _salt_and_pepper, "smooth gradient": _gradient,
              "checkerboard": _checkerboard, "text page": _text_page}
    if kind not in makers:
        raise ValueError(f"unknown picture kind {kind!r}; known: {', '.join(makers)}")
    return np.clip(makers[kind](rng, shape), 0, 255).astype(np.float32)


def corrupted_radiograph(radiograph: np.ndarray, kind: str, seed: int) -> np.ndarray:
    """``radiograph`` (rows, cols, 8-bit grey 0-255) made into ``kind`` (one of :data:`CORRUPTION_KINDS`)."""
    rng = np.random.default_rng(seed)
    plane = np.asarray(radiograph, dtype=np.float32)
    makers = {"strip 128x6000": lambda: _resized(plane, (128, 6000)),
              "strip 6000x128": lambda: _resized(plane, (6000, 128)),
              "byte-swapped 16-bit": lambda: byte_swapped_12_bit(plane, rng),
              "half whited out": lambda: _blanked(plane, rng, 0.5, plane.max()),
              "most whited out": lambda: _blanked(plane, rng, 0.8, plane.max()),
              "half blacked out": lambda: _blanked(plane, rng, 0.5, plane.min()),
              "most blacked out": lambda: _blanked(plane, rng, 0.8, plane.min()),
              "tiled side by side": lambda: np.tile(plane, (1, int(rng.integers(2, 4)))),
              "shuffled patches": lambda: _shuffled(plane, rng, int(rng.integers(3, 6)))}
    if kind not in makers:
        raise ValueError(f"unknown corruption {kind!r}; known: {', '.join(makers)}")
    return makers[kind]().astype(np.float32)


def byte_swapped_12_bit(plane: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An 8-bit plane as 12-bit detector data (x16 plus :data:`TWELVE_BIT_NOISE`), stored as uint16
    and read back with its two bytes swapped."""
    twelve_bit = np.clip(np.rint(plane * 16 + rng.normal(0, TWELVE_BIT_NOISE, plane.shape)), 0, 4095)
    return twelve_bit.astype(np.uint16).byteswap().astype(np.float32)


def _uniform_noise(rng, shape):
    return rng.uniform(0, 255, shape)


def _gaussian_noise(rng, shape):
    return rng.normal(rng.uniform(60, 190), rng.uniform(10, 60), shape)


def _salt_and_pepper(rng, shape):
    plane = np.full(shape, rng.uniform(40, 215))
    hits = rng.random(shape)
    share = rng.uniform(0.05, 0.4)
    plane[hits < share / 2] = 0
    plane[hits > 1 - share / 2] = 255
    return plane


def _gradient(rng, shape):
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    if rng.random() < 0.5:
        ramp = rng.uniform(-1, 1) * rows + rng.uniform(-1, 1) * cols
    else:
        centre = rng.uniform(0, 1, 2)
        ramp = np.hypot(rows - centre[0], cols - centre[1])
    ramp = (ramp - ramp.min()) / (np.ptp(ramp) or 1.0)
    return ramp * 255 + rng.normal(0, 2, shape)


def _checkerboard(rng, shape):
    square = int(rng.integers(8, 97))
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]] // square
    low, high = sorted(rng.uniform(0, 255, 2))
    return np.where((rows + cols) % 2 == 0, low, high)


def _text_page(rng, shape):
    ink, paper = (0, 255) if rng.random() < 0.5 else (255, 0)
    page = PILImage.new("L", (shape[1], shape[0]), paper)
    draw = ImageDraw.Draw(page)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,"))
    for top in range(4, shape[0] - 12, int(rng.integers(12, 20))):
        draw.text((4, top), "".join(rng.choice(letters, size=shape[1] // 6)), fill=ink)
    scale = float(rng.uniform(1, 3))
    enlarged = page.resize((int(shape[1] * scale), int(shape[0] * scale)), PILImage.NEAREST)
    return np.asarray(enlarged, dtype=np.float32)[:shape[0], :shape[1]]


def _resized(plane, shape):
    image = PILImage.fromarray(plane, mode="F").resize((shape[1], shape[0]), PILImage.BILINEAR)
    return np.asarray(image)


def _blanked(plane, rng, share, value):
    """``share`` of ``plane`` from one random side set to ``value``."""
    blanked = plane.copy()
    side = int(rng.integers(4))
    rows, cols = plane.shape
    cut_rows, cut_cols = round(rows * share), round(cols * share)
    region = [np.s_[:cut_rows, :], np.s_[rows - cut_rows:, :], np.s_[:, :cut_cols], np.s_[:, cols - cut_cols:]][side]
    blanked[region] = value
    return blanked


def _shuffled(plane, rng, grid):
    """``plane`` cut into ``grid`` x ``grid`` patches put back in a random order."""
    rows, cols = (length // grid * grid for length in plane.shape)
    patches = [plane[r:r + rows // grid, c:c + cols // grid]
               for r in range(0, rows, rows // grid) for c in range(0, cols, cols // grid)]
    order = rng.permutation(len(patches))
    while np.array_equal(order, np.arange(len(patches))):
        order = rng.permutation(len(patches))
    band = [np.hstack([patches[i] for i in order[start:start + grid]]) for start in range(0, len(order), grid)]
    return np.vstack(band)
