"""Random 3-D augmentation of MRI and CT training patches, image and labels together.

``image`` is (C, Z, Y, X) float (channels: sequences or windows of one patch), ``labels`` is
(Z, Y, X) or (L, Z, Y, X) integer or bool, or None. Geometric transforms move both (the image
linearly interpolated, the labels by nearest neighbour, so they keep their values and stay on the
image); intensity transforms change the image only. Every transform is a block of the settings
with its probability ``p``; a block that is absent never runs. The same settings, arrays and
generator state give the same result.

Settings (a recipe's ``augment`` block; all optional; axes 0 Z, 1 Y, 2 X; sizes in voxels)::

    flip:       {p: 0.5, axes: [2]}                 # each listed axis flipped with probability p
    rotate:     {p: 0.3, degrees: [10, 10, 10]}     # about the Z, Y and X axes, uniform within +-degrees
    scale:      {p: 0.3, range: 0.1}                # isotropic zoom by a factor in [1 - range, 1 + range]
    elastic:    {p: 0.2, magnitude: 2.0, smoothness: 6.0}   # displacement (voxels), its Gaussian sigma
    resolution: {p: 0.25, factor: [1.5, 4.0], axes: [0]}    # thicker slices: average and resample one axis
    bias_field: {p: 0.3, strength: 0.3}            # smooth multiplicative field exp(+-strength)
    gamma:      {p: 0.3, log_range: 0.3}            # (x - min)/(max - min) ** exp(U(-r, r)), per channel
    invert:     {p: 0.2}                            # min + max - x per channel (T1w <-> T2w-like contrast)
    intensity:  {p: 0.5, scale: 0.1, shift: 0.1}    # x * (1 + U(-scale, scale)) + U(-shift, shift) * std
    noise:      {p: 0.3, std: 0.05}                 # Gaussian noise of up to std x the channel's std

>>> rng = np.random.default_rng(0)
>>> image, labels = augment_volume(np.ones((1, 8, 8, 8)), np.ones((8, 8, 8), np.uint8), {"flip": {"p": 1}}, rng)
>>> image.shape, labels.shape
((1, 8, 8, 8), (8, 8, 8))
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ...errors import InputError

DEFAULTS = {
    "flip": {"p": 0.5, "axes": [2]},
    "rotate": {"p": 0.3, "degrees": [10, 10, 10]},
    "scale": {"p": 0.3, "range": 0.1},
    "elastic": {"p": 0.2, "magnitude": 2.0, "smoothness": 6.0},
    "resolution": {"p": 0.25, "factor": [1.5, 4.0], "axes": [0]},
    "bias_field": {"p": 0.3, "strength": 0.3},
    "gamma": {"p": 0.3, "log_range": 0.3},
    "invert": {"p": 0.2},
    "intensity": {"p": 0.5, "scale": 0.1, "shift": 0.1},
    "noise": {"p": 0.3, "std": 0.05},
}


def augment_volume(image: np.ndarray, labels: np.ndarray | None, settings: dict,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """One random augmentation of ``image`` (C, Z, Y, X) and ``labels`` ((Z, Y, X), (L, Z, Y, X) or None).

    Returns float32 image and labels of the input's shape and dtype. See the module docstring for
    ``settings``; unknown blocks are an :class:`InputError`.
    """
    return VolumeAugmentation(settings)(image, labels, rng)


def augment_batch(images: np.ndarray, labels: np.ndarray | None, settings: dict,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`augment_volume` of each sample of (B, C, Z, Y, X) images and (B, ...) labels."""
    augmentation = VolumeAugmentation(settings)
    pairs = [augmentation(image, None if labels is None else labels[index], rng) for index, image in enumerate(images)]
    stacked_labels = None if labels is None else np.stack([pair[1] for pair in pairs])
    return np.stack([pair[0] for pair in pairs]), stacked_labels


class VolumeAugmentation:
    """The transforms of ``settings`` (blocks over :data:`DEFAULTS`), applied in a fixed order:
    flip, rotate and scale (one resampling), elastic, resolution, bias field, gamma, invert,
    intensity, noise."""

    def __init__(self, settings: dict | None):
        unknown = sorted(set(settings or {}) - set(DEFAULTS))
        if unknown:
            raise InputError(f"Unknown 3-D augmentation {', '.join(unknown)}; known: {', '.join(DEFAULTS)}")
        self.settings = {name: {**DEFAULTS[name], **(block or {})} for name, block in (settings or {}).items()}
        for name, block in self.settings.items():
            if not 0 <= block["p"] <= 1:
                raise InputError(f"augment {name}.p is {block['p']}; a probability lies in [0, 1]")

    def __call__(self, image: np.ndarray, labels: np.ndarray | None,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        image = _checked_image(image)
        label_stack = None if labels is None else _label_stack(labels, image.shape[1:])
        image, label_stack = self._geometric(image, label_stack, rng)
        image = self._intensity(image, rng)
        if labels is None:
            return image, None
        return image, label_stack.reshape(labels.shape).astype(labels.dtype, copy=False)

    def _fires(self, name: str, rng: np.random.Generator) -> dict | None:
        """The block of ``name`` when it is configured and its coin comes up, else None."""
        block = self.settings.get(name)
        return block if block is not None and rng.random() < block["p"] else None

    def _geometric(self, image, labels, rng):
        if "flip" in self.settings:
            image, labels = flip(image, labels, self.settings["flip"], rng)
        matrix = self._affine_matrix(rng)
        if matrix is not None:
            image, labels = resample_affine(image, labels, matrix)
        block = self._fires("elastic", rng)
        if block:
            image, labels = elastic(image, labels, block, rng)
        block = self._fires("resolution", rng)
        if block:
            image = thicker_slices(image, block, rng)
        return image, labels

    def _affine_matrix(self, rng) -> np.ndarray | None:
        rotate, scale = self._fires("rotate", rng), self._fires("scale", rng)
        if not rotate and not scale:
            return None
        matrix = rotation_matrix(rotate, rng) if rotate else np.eye(3)
        factor = 1 + rng.uniform(-1, 1) * scale["range"] if scale else 1.0
        return matrix / factor

    def _intensity(self, image, rng):
        for name, transform in INTENSITY_TRANSFORMS:
            block = self._fires(name, rng)
            if block:
                image = transform(image, block, rng)
        return image.astype(np.float32, copy=False)


def _checked_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 4:
        raise InputError(f"A 3-D training patch is (channels, Z, Y, X); got an array of shape {image.shape}")
    return image


def _label_stack(labels: np.ndarray, shape: tuple) -> np.ndarray:
    stack = np.asarray(labels).reshape((-1, *labels.shape[-3:])) if labels.ndim in (3, 4) else None
    if stack is None or stack.shape[1:] != tuple(shape):
        raise InputError(f"Labels of shape {labels.shape} do not lie on the image grid {tuple(shape)}")
    return stack


def flip(image: np.ndarray, labels: np.ndarray | None, block: dict, rng: np.random.Generator):
    """Each axis of ``block["axes"]`` (0 Z, 1 Y, 2 X) reversed with probability ``block["p"]``."""
    for axis in block["axes"]:
        if rng.random() < block["p"]:
            image = np.flip(image, axis + 1)
            labels = None if labels is None else np.flip(labels, axis + 1)
    return np.ascontiguousarray(image), None if labels is None else np.ascontiguousarray(labels)


def rotation_matrix(block: dict, rng: np.random.Generator) -> np.ndarray:
    """(3, 3) rotation, in (Z, Y, X) index space, by uniform angles within ``block["degrees"]``
    about the Z, Y and X axes."""
    limits = np.broadcast_to(np.asarray(block["degrees"], dtype=np.float64), (3,))
    angles = np.radians(rng.uniform(-1, 1, 3) * limits)
    matrix = np.eye(3)
    for axis, angle in enumerate(angles):
        plane = [index for index in range(3) if index != axis]
        turn = np.eye(3)
        turn[np.ix_(plane, plane)] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
        matrix = matrix @ turn
    return matrix


def resample_affine(image: np.ndarray, labels: np.ndarray | None, matrix: np.ndarray):
    """Image and labels resampled at ``matrix @ (index - centre) + centre`` (output -> input index)."""
    centre = (np.array(image.shape[1:]) - 1) / 2
    offset = centre - matrix @ centre
    warped = np.stack([ndimage.affine_transform(channel, matrix, offset, order=1, mode="nearest") for channel in image])
    if labels is None:
        return warped, None
    return warped, np.stack([ndimage.affine_transform(label, matrix, offset, order=0, mode="constant", cval=0)
                             for label in labels])


def elastic(image: np.ndarray, labels: np.ndarray | None, block: dict, rng: np.random.Generator):
    """A smooth random displacement of up to about ``magnitude`` voxels (Gaussian ``smoothness`` sigma)."""
    shape = image.shape[1:]
    grid = np.meshgrid(*(np.arange(size, dtype=np.float32) for size in shape), indexing="ij")
    coordinates = [axis + _smooth_displacement(shape, block, rng) for axis in grid]
    warped = np.stack([ndimage.map_coordinates(channel, coordinates, order=1, mode="nearest") for channel in image])
    if labels is None:
        return warped, None
    return warped, np.stack([ndimage.map_coordinates(label, coordinates, order=0, mode="constant", cval=0)
                             for label in labels])


def _smooth_displacement(shape: tuple, block: dict, rng: np.random.Generator) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), block["smoothness"])
    peak = np.abs(field).max()
    return field * (block["magnitude"] / peak) if peak > 0 else field


def thicker_slices(image: np.ndarray, block: dict, rng: np.random.Generator) -> np.ndarray:
    """One axis of ``block["axes"]`` acquired ``factor`` times coarser: averaged over slabs of that
    thickness, sampled at the coarse spacing and interpolated back to the patch's grid."""
    axis = int(rng.choice(block["axes"])) + 1
    factor = rng.uniform(*block["factor"])
    size = image.shape[axis]
    slabs = ndimage.uniform_filter1d(image, max(1, int(round(factor))), axis=axis, mode="nearest")
    coarse_count = max(2, int(round(size / factor)))
    coarse = np.take(slabs, np.round(np.linspace(0, size - 1, coarse_count)).astype(int), axis=axis)
    positions = np.linspace(0, coarse_count - 1, size)
    return _interpolate_along(coarse, positions, axis)


def _interpolate_along(values: np.ndarray, positions: np.ndarray, axis: int) -> np.ndarray:
    """Linear interpolation of ``values`` at fractional indices ``positions`` along ``axis``."""
    below = np.floor(positions).astype(int)
    above = np.minimum(below + 1, values.shape[axis] - 1)
    weight = (positions - below).reshape([-1 if index == axis else 1 for index in range(values.ndim)])
    return np.take(values, below, axis=axis) * (1 - weight) + np.take(values, above, axis=axis) * weight


def bias_field(image: np.ndarray, block: dict, rng: np.random.Generator) -> np.ndarray:
    """Image times ``exp`` of a smooth random field (a 4 x 4 x 4 grid of normal values times
    ``strength``, cubically interpolated), the same field for every channel."""
    coarse = rng.standard_normal((4, 4, 4)) * block["strength"]
    along_z, along_y, along_x = (_cubic_upsampling(4, size) for size in image.shape[1:])
    field = np.exp(np.einsum("zi,yj,xk,ijk->zyx", along_z, along_y, along_x, coarse, optimize=True))
    return image * field[None].astype(np.float32)


def _cubic_upsampling(count: int, size: int) -> np.ndarray:
    """(size, count) matrix of cubic-spline interpolation from ``count`` samples to ``size`` (a 1-D
    ``ndimage.zoom`` of each unit vector: applied along every axis it equals the 3-D zoom)."""
    basis = np.eye(count)
    return np.stack([ndimage.zoom(unit, size / count, order=3, mode="nearest", grid_mode=True) for unit in basis], 1)


def _channel_range(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    axes = (1, 2, 3)
    return image.min(axis=axes, keepdims=True), image.max(axis=axes, keepdims=True)


def gamma(image: np.ndarray, block: dict, rng: np.random.Generator) -> np.ndarray:
    """Per channel, the values mapped to [0, 1], raised to ``exp(U(-log_range, log_range))`` and mapped back."""
    low, high = _channel_range(image)
    span = np.maximum(high - low, 1e-12)
    exponent = np.exp(rng.uniform(-1, 1, (len(image), 1, 1, 1)) * block["log_range"])
    return low + span * ((image - low) / span) ** exponent


def invert(image: np.ndarray, block: dict, rng: np.random.Generator) -> np.ndarray:
    """Contrast inversion per channel: ``min + max - image`` (the range is kept)."""
    low, high = _channel_range(image)
    return low + high - image


def intensity(image: np.ndarray, block: dict, rng: np.random.Generator) -> np.ndarray:
    """Per channel ``image * (1 + U(-scale, scale)) + U(-shift, shift) * std``."""
    count = (len(image), 1, 1, 1)
    spread = image.std(axis=(1, 2, 3), keepdims=True)
    factor = 1 + rng.uniform(-1, 1, count) * block["scale"]
    return image * factor + rng.uniform(-1, 1, count) * block["shift"] * spread


def noise(image: np.ndarray, block: dict, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of a standard deviation drawn in [0, std] x each channel's standard deviation."""
    sigma = rng.uniform(0, block["std"], (len(image), 1, 1, 1)) * image.std(axis=(1, 2, 3), keepdims=True)
    return image + rng.standard_normal(image.shape).astype(np.float32) * sigma


INTENSITY_TRANSFORMS = (("bias_field", bias_field), ("gamma", gamma), ("invert", invert),
                        ("intensity", intensity), ("noise", noise))
