"""Synthetic spinal MRI with known cord and lesion masks, for tests and demonstrations.

:func:`generate_spine_phantom` draws a sagittal or axial T2- or T1-weighted scan of the cervical,
thoracic or lumbar spine from a seed: vertebral bodies (cortex and marrow) and intervertebral discs
(nucleus and annulus) along a gently curved spine (cervical and lumbar lordosis, thoracic
kyphosis), posterior elements, the spinal canal filled with CSF, the spinal cord with an elliptical
cross-section (cervical and lumbar enlargements, conus near L1-L2), soft tissue under a layer of
subcutaneous fat, the airway (cervical), the lungs (thoracic) or the psoas muscles (lumbar), the
posterior fossa above C2, the nerve roots of the cauda equina below the conus, a smooth coil sensitivity (bias) field and Rician noise. Optional ovoid
lesions inside the cord are hyperintense on T2w and hypointense on T1w.

Gradient-echo (``T2*w``) and fat-suppressed ``STIR`` contrasts are drawn too (with bright CSF,
dark marrow), e.g. to teach a contrast check what it must not call T2w.

The anatomy lives in patient RAS millimetres (see :mod:`lesionai.phantoms.spine_anatomy`); the
image grid is axis-aligned, stored like real scans: sagittal ``PSR`` (i -> posterior, j ->
superior, k -> right, thin slices along the LR axis) and axial ``LAS`` (i -> left, j -> anterior,
k -> superior, thick slices along the cord). Edges are soft over about half a voxel, so partial
volume looks like a real acquisition; masks are the voxel centres inside each structure.

>>> phantom = generate_spine_phantom(seed=1, view="axial", lesions=1)
>>> phantom.image.array.shape, phantom.image.geometry.spacing
((20, 320, 320), (0.5, 0.5, 5.0))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ..geometry import Geometry, Image
from .spine_anatomy import REGION_CENTRES, SpineShape, random_spine_shape

VIEWS = ("sagittal", "axial")
CONTRASTS = ("T2w", "T1w", "T2*w", "STIR")
REGIONS = ("cervical", "thoracic", "lumbar")
CORD, LESION = 1, 2

# Array shape [k, j, i] and spacing (i, j, k) in mm of each view when none is given.
DEFAULT_SHAPE = {"sagittal": (15, 256, 256), "axial": (20, 320, 320)}
DEFAULT_SPACING = {"sagittal": (0.9, 0.9, 3.0), "axial": (0.5, 0.5, 5.0)}
# World axis (0 = R, 1 = A, 2 = S) and sign of voxel axes i, j, k per view.
_AXES = {"sagittal": ((1, -1), (2, 1), (0, 1)), "axial": ((0, -1), (1, 1), (2, 1))}

# Relative signal of each tissue; CSF is bright on T2w and dark on T1w, fat bright on both.
_SIGNAL = {
    "T2w": {"fat": 0.72, "muscle": 0.22, "organ": 0.34, "brain": 0.40, "marrow": 0.36, "cortex": 0.06,
            "annulus": 0.22, "nucleus": 0.62, "csf": 1.0, "cord": 0.40, "lesion": 0.82, "air": 0.0},
    "T1w": {"fat": 1.0, "muscle": 0.34, "organ": 0.42, "brain": 0.48, "marrow": 0.68, "cortex": 0.06,
            "annulus": 0.30, "nucleus": 0.36, "csf": 0.12, "cord": 0.52, "lesion": 0.30, "air": 0.0},
    # Gradient echo: bright CSF, dark marrow (susceptibility), intermediate fat.
    "T2*w": {"fat": 0.42, "muscle": 0.20, "organ": 0.30, "brain": 0.45, "marrow": 0.14, "cortex": 0.04,
             "annulus": 0.25, "nucleus": 0.45, "csf": 0.90, "cord": 0.48, "lesion": 0.75, "air": 0.0},
    # Fat-suppressed inversion recovery: dark fat and marrow, bright CSF and fluid.
    "STIR": {"fat": 0.05, "muscle": 0.16, "organ": 0.30, "brain": 0.40, "marrow": 0.10, "cortex": 0.03,
             "annulus": 0.20, "nucleus": 0.70, "csf": 1.0, "cord": 0.38, "lesion": 0.85, "air": 0.0},
}
_SCANNER_SCALE = 1000.0
_NERVE_ROOTS, _ROOT_RADIUS_MM = 10, 0.9
_FAT_MM = 8.0


@dataclass
class SpinePhantom:
    """A synthetic spinal MRI and its ground truth on the image grid.

    ``image.array`` is float32 ``[k, j, i]`` (arbitrary scanner units, about 0..1200).
    ``cord_mask`` (bool) is the whole cord including lesions, ``lesion_mask`` (bool) the lesions,
    ``labels`` (uint8) 0 background, 1 cord, 2 lesion; ``canal_mask`` (bool) the dural sac (CSF and
    cord); all share the image's shape and geometry.
    """

    image: Image
    cord_mask: np.ndarray
    lesion_mask: np.ndarray
    labels: np.ndarray
    canal_mask: np.ndarray
    seed: int
    view: str
    contrast: str
    region: str


@dataclass(frozen=True)
class _Grid:
    """World coordinates of the voxel centres, one 1-D vector per RAS axis, broadcast as (x, y, z)."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    spacing_xyz: tuple[float, float, float]

    @property
    def edge_xy(self) -> float:
        """Width (mm) of the partial-volume ramp across edges in the axial (x, y) plane."""
        return max(0.35, 0.5 * float(np.sqrt(self.spacing_xyz[0] * self.spacing_xyz[1])))

    @property
    def edge_z(self) -> float:
        """Width (mm) of the partial-volume ramp across edges along the spine (z)."""
        return max(0.35, 0.5 * self.spacing_xyz[2])


def generate_spine_phantom(seed: int = 0, shape: tuple[int, int, int] | None = None,
                           spacing: tuple[float, float, float] | None = None, view: str = "sagittal",
                           contrast: str = "T2w", region: str = "cervical", lesions: int = 0) -> SpinePhantom:
    """Draw a spinal MRI phantom.

    ``shape`` is the array shape ``[k, j, i]`` (slices, rows, columns) and ``spacing`` the voxel
    size ``(i, j, k)`` in mm, as in :class:`~lesionai.geometry.Geometry`; the defaults are
    15 x 256 x 256 at 0.9 x 0.9 x 3 mm (sagittal) and 20 x 320 x 320 at 0.5 x 0.5 x 5 mm (axial).
    ``lesions`` ovoid lesions are placed in the cord inside the field of view. The same arguments
    always give the same phantom.
    """
    _check_choice("view", view, VIEWS)
    _check_choice("contrast", contrast, CONTRASTS)
    _check_choice("region", region, REGIONS)
    shape = tuple(int(n) for n in (shape or DEFAULT_SHAPE[view]))
    spacing = tuple(float(s) for s in (spacing or DEFAULT_SPACING[view]))
    _check_grid(shape, spacing, lesions)
    rng = np.random.default_rng(seed)
    spine = random_spine_shape(rng)
    geometry, grid = _place_grid(spine, view, region, shape, spacing, rng)
    signal = _jittered_signal(contrast, rng)
    intensity, cord, canal = _draw_anatomy(spine, grid, signal, region)
    lesion = _draw_lesions(spine, grid, cord, lesions, rng)
    intensity = _blend(intensity, _soft_lesion(lesion, grid), signal["lesion"])
    intensity = _acquire(intensity, grid, rng)
    masks = {"cord": cord, "lesion": lesion < 1.0, "canal": canal | cord}
    return _phantom(intensity, masks, geometry, _Phantom(seed, view, contrast, region))


# --------------------------------------------------------------------------------------------
# Grid placement


def _place_grid(spine: SpineShape, view: str, region: str, shape, spacing, rng):
    """Geometry of a field of view centred on ``region``'s spine, and its world coordinates."""
    level, fraction = REGION_CENTRES[region]
    centre_z = spine.level_z(level, fraction) + rng.uniform(-8, 8)
    canal_x, canal_y = spine.canal_centre(np.array([centre_z]))
    forward = 25.0 if view == "sagittal" else 12.0
    centre = np.array([canal_x[0] + rng.uniform(-1, 1), canal_y[0] + forward + rng.uniform(-5, 5), centre_z])
    direction = np.zeros((3, 3))
    sizes = shape[::-1]  # i, j, k
    coordinates = [None, None, None]
    for axis, (world, sign) in enumerate(_AXES[view]):
        direction[world, axis] = sign
        offsets = (np.arange(sizes[axis]) - (sizes[axis] - 1) / 2) * spacing[axis] * sign
        coordinates[world] = (centre[world] + offsets).astype(np.float32)
    origin = centre - direction @ (np.array(spacing) * (np.array(sizes) - 1) / 2)
    spacing_xyz = tuple(spacing[int(np.argmax(np.abs(direction[world])))] for world in range(3))
    grid = _Grid(coordinates[0][:, None, None], coordinates[1][None, :, None], coordinates[2][None, None, :], spacing_xyz)
    return Geometry(spacing=spacing, origin=tuple(origin), direction=direction), grid


def _to_array_order(volume_xyz: np.ndarray, view: str) -> np.ndarray:
    """A volume computed on (x, y, z) axes rearranged into the image's ``[k, j, i]`` order."""
    worlds = [world for world, _ in _AXES[view]]  # world axis of i, j, k
    return np.ascontiguousarray(volume_xyz.transpose(worlds[2], worlds[1], worlds[0]))


# --------------------------------------------------------------------------------------------
# Anatomy


def _draw_anatomy(spine: SpineShape, grid: _Grid, signal: dict, region: str):
    """Signal (x, y, z) of the patient without lesions or noise, and the hard cord and canal masks."""
    canal_x, canal_y = spine.canal_centre(grid.z)
    dx, dy = grid.x - canal_x, grid.y - canal_y
    intensity = _draw_body(spine, grid, dy, signal)
    intensity = _draw_organs(spine, grid, dx, dy, intensity, signal, region)
    intensity = _draw_vertebrae(spine, grid, dx, dy, intensity, signal)
    return _draw_canal(spine, grid, dx, dy, intensity, signal)


def _draw_body(spine: SpineShape, grid: _Grid, dy: np.ndarray, signal: dict) -> np.ndarray:
    """Air, subcutaneous fat and muscle: neck above C7, torso below T2, the head above C1."""
    neck_to_torso = np.clip((spine.level_z("C7") - grid.z) / (spine.level_z("C7") - spine.level_z("T2")), 0, 1)
    semi_lr, semi_ap = 62 + 100 * neck_to_torso, 64 + 51 * neck_to_torso
    centre_ap = 8 + 47 * neck_to_torso
    body = _ellipse_r2(grid.x, dy - centre_ap, semi_lr, semi_ap)
    intensity = signal["fat"] * _soft(body, 60.0, grid.edge_xy)
    inner = _ellipse_r2(grid.x, dy - centre_ap, semi_lr - _FAT_MM, semi_ap - _FAT_MM)
    intensity = _blend(intensity, _soft(inner, 55.0, grid.edge_xy), signal["muscle"])
    return _draw_head(spine, grid, dy, intensity, signal)


def _draw_head(spine: SpineShape, grid: _Grid, dy: np.ndarray, intensity: np.ndarray, signal: dict) -> np.ndarray:
    """Skull (fatty diploe between dark tables) and brain above the atlas."""
    centre_z = spine.level_z("C2", 0.0) + 95.0
    skull = _ellipsoid_r2(grid.x, dy - 10.0, grid.z - centre_z, 72.0, 92.0, 88.0)
    intensity = _blend(intensity, _soft(skull, 72.0, grid.edge_xy), signal["fat"])
    inner = _ellipsoid_r2(grid.x, dy - 10.0, grid.z - centre_z, 66.0, 86.0, 82.0)
    intensity = _blend(intensity, _soft(inner, 66.0, grid.edge_xy), signal["cortex"])
    brain = _ellipsoid_r2(grid.x, dy - 10.0, grid.z - centre_z, 64.0, 84.0, 80.0)
    return _blend(intensity, _soft(brain, 64.0, grid.edge_xy), signal["brain"])


def _draw_organs(spine: SpineShape, grid: _Grid, dx, dy, intensity: np.ndarray, signal: dict, region: str):
    """The organs in front of the spine that make each region look like itself."""
    if region == "cervical" or grid.z.max() > spine.level_z("T3"):
        airway = _tube(grid, dx, dy - 38.0, 8.0, 7.0, spine.level_z("C5", 0.0), spine.level_z("T4"))
        intensity = _blend(intensity, airway, signal["air"])
    if region != "cervical":
        intensity = _draw_lungs(spine, grid, dy, intensity, signal)
        psoas = sum(_tube(grid, dx - side * 32.0, dy - 18.0, 14.0, 16.0, spine.level_z("T12"), spine.level_z("S1"))
                    for side in (-1, 1))
        intensity = _blend(intensity, np.clip(psoas, 0, 1), signal["muscle"] * 1.1)
        aorta = _tube(grid, dx + 18.0, dy - 34.0, 11.0, 11.0, spine.level_z("T4"), spine.level_z("L4"))
        intensity = _blend(intensity, aorta, signal["cortex"])
    return intensity


def _draw_lungs(spine: SpineShape, grid: _Grid, dy, intensity: np.ndarray, signal: dict) -> np.ndarray:
    top, bottom = spine.level_z("T1", 0.0), spine.level_z("T11")
    centre_z, half_height = (top + bottom) / 2, (top - bottom) / 2
    for side in (-1, 1):
        lung = _ellipsoid_r2(grid.x - side * 70.0, dy - 45.0, grid.z - centre_z, 52.0, 70.0, half_height)
        intensity = _blend(intensity, _soft(lung, 52.0, grid.edge_xy), signal["air"] + 0.02)
    return intensity


def _draw_vertebrae(spine: SpineShape, grid: _Grid, dx, dy, intensity: np.ndarray, signal: dict) -> np.ndarray:
    """Posterior elements, vertebral bodies (cortex around marrow) and discs (annulus around nucleus)."""
    intensity = _draw_posterior_elements(spine, grid, dx, dy, intensity, signal)
    index, in_body = spine.levels_at(grid.z)
    semi_lr, semi_ap = spine.body_semi_axes(index)
    _, canal_ap = spine.canal_semi_axes(grid.z)
    front = dy - (canal_ap + 1.5 + semi_ap)
    section = _ellipse_r2(dx, front, semi_lr, semi_ap)
    depth = _depth_in_body(spine, grid.z, index)
    below_c2 = grid.z <= spine.body_top[0]
    body = _soft(section, semi_ap, grid.edge_xy) * np.clip(0.5 + depth / grid.edge_z, 0, 1)
    disc = _soft(section, semi_ap, grid.edge_xy) * np.clip(0.5 - depth / grid.edge_z, 0, 1) * below_c2
    intensity = _blend(intensity, body, signal["cortex"])
    marrow = _soft(_ellipse_r2(dx, front, semi_lr - 1.5, semi_ap - 1.5), semi_ap, grid.edge_xy)
    intensity = _blend(intensity, marrow * np.clip(0.5 + (depth - 1.2) / grid.edge_z, 0, 1), signal["marrow"])
    intensity = _blend(intensity, disc, signal["annulus"])
    nucleus = _soft(_ellipse_r2(dx, front, 0.55 * semi_lr, 0.5 * semi_ap), semi_ap * 0.5, grid.edge_xy)
    return _blend(intensity, nucleus * np.clip(0.5 - (depth + 1.0) / grid.edge_z, 0, 1) * below_c2, signal["nucleus"])


def _depth_in_body(spine: SpineShape, z: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Signed distance (mm) from the nearest endplate: positive inside a body, negative in a disc."""
    inside = np.minimum(spine.body_top[index] - z, z - spine.body_bottom[index])
    next_top = spine.body_top[np.minimum(index + 1, len(spine.body_top) - 1)]
    in_disc = -np.minimum(spine.body_bottom[index] - z, z - next_top)
    return np.where(inside >= 0, inside, np.maximum(in_disc, inside)).astype(np.float32)


def _draw_posterior_elements(spine: SpineShape, grid: _Grid, dx, dy, intensity: np.ndarray, signal: dict):
    """Laminae arching behind the canal and the spinous processes, one per level, sloping down."""
    shifted_z = grid.z + 0.35 * (spine.body_top[0] - spine.body_bottom[0])
    index, _ = spine.levels_at(shifted_z)
    depth = _depth_in_body(spine, shifted_z, index)
    canal_lr, canal_ap = spine.canal_semi_axes(grid.z)
    height = np.clip(0.5 + (depth - 2.0) / grid.edge_z, 0, 1)
    lamina = _box(dx, -canal_lr - 4.0, canal_lr + 4.0, grid.edge_xy) * _box(dy, -canal_ap - 6.0, -canal_ap - 0.5, grid.edge_xy)
    length = np.where(grid.z > spine.level_z("C7", 0.0), 22.0, 30.0)
    spinous = _box(dx, -3.5, 3.5, grid.edge_xy) * _box(dy, -canal_ap - length, -canal_ap - 1.0, grid.edge_xy)
    bone = np.maximum(lamina, spinous) * height
    intensity = _blend(intensity, bone, signal["cortex"])
    return _blend(intensity, bone * 0.75, signal["marrow"] * 0.9)


def _draw_canal(spine: SpineShape, grid: _Grid, dx, dy, intensity: np.ndarray, signal: dict):
    """CSF in the dural sac and the cord inside it; returns the signal and the hard cord and canal masks."""
    canal_lr, canal_ap = spine.canal_semi_axes(grid.z)
    canal = _ellipse_r2(dx, dy, canal_lr, canal_ap)
    intensity = _blend(intensity, _soft(canal, canal_ap, grid.edge_xy), signal["csf"])
    cord_lr, cord_ap = spine.cord_semi_axes(grid.z)
    present = cord_lr > 0.3
    cord = _ellipse_r2(dx, dy - 0.12 * canal_ap, np.maximum(cord_lr, 0.3), np.maximum(cord_ap, 0.3))
    cord_signal = _soft(cord, cord_ap, grid.edge_xy) * present
    intensity = _draw_cauda_equina(spine, grid, dx, dy, intensity, signal["cord"])
    return _blend(intensity, cord_signal, signal["cord"]), ((cord < 1.0) & present), canal < 1.0


def _draw_cauda_equina(spine: SpineShape, grid: _Grid, dx, dy, intensity: np.ndarray, value: float) -> np.ndarray:
    """Nerve roots (about 1.8 mm thick) below the conus, fanning out and lying dorsally in the sac."""
    below = np.flatnonzero(grid.z.ravel() < spine.cord_bottom() + 2.0)
    if below.size == 0:
        return intensity
    z = grid.z[..., below]
    canal_lr, canal_ap = spine.canal_semi_axes(z)
    spread = np.clip((spine.cord_bottom() + 2.0 - z) / 40.0, 0.15, 1.0) * 0.6 * canal_lr
    local_dx, local_dy = dx[..., below], dy[..., below]
    roots = np.zeros(np.broadcast_shapes(local_dx.shape, local_dy.shape), np.float32)
    for position in np.linspace(-1.0, 1.0, _NERVE_ROOTS):
        root_x = position * spread
        root_y = -0.35 * canal_ap * (1.0 - 0.3 * position ** 2)
        section = _ellipse_r2(local_dx - root_x, local_dy - root_y, _ROOT_RADIUS_MM, _ROOT_RADIUS_MM)
        roots = np.maximum(roots, _soft(section, _ROOT_RADIUS_MM, grid.edge_xy))
    intensity[..., below] = _blend(intensity[..., below], roots, value)
    return intensity


# --------------------------------------------------------------------------------------------
# Lesions


def _draw_lesions(spine: SpineShape, grid: _Grid, cord: np.ndarray, count: int, rng) -> np.ndarray:
    """Ellipsoid radius-squared field (min over lesions) clipped to the cord; < 1 inside a lesion."""
    field = np.full(cord.shape, np.inf, dtype=np.float32)
    for _ in range(count):
        for _attempt in range(20):
            candidate = _lesion_field(spine, grid, rng)
            if ((candidate < 1.0) & cord).any():
                field = np.minimum(field, candidate)
                break
    return np.where(cord & (field < 1.0), field, np.inf).astype(np.float32)


def _lesion_field(spine: SpineShape, grid: _Grid, rng) -> np.ndarray:
    """One ovoid lesion, elongated along the cord, centred in the cord at a random height in view."""
    low, high = max(float(grid.z.min()), spine.cord_bottom() + 15.0), float(grid.z.max())
    centre_z = rng.uniform(low + 0.2 * (high - low), high - 0.2 * (high - low)) if high > low else high
    canal_x, canal_y = spine.canal_centre(np.array([centre_z]))
    cord_lr, cord_ap = spine.cord_semi_axes(np.array([centre_z]))
    _, canal_ap = spine.canal_semi_axes(np.array([centre_z]))
    centre = (canal_x[0] + rng.uniform(-0.35, 0.35) * cord_lr[0],
              canal_y[0] + 0.12 * canal_ap[0] + rng.uniform(-0.3, 0.3) * cord_ap[0], centre_z)
    semi = (rng.uniform(1.6, 3.2), rng.uniform(1.4, 2.6), max(rng.uniform(3.0, 9.0), 0.7 * grid.spacing_xyz[2]))
    semi = (max(semi[0], 0.6 * grid.spacing_xyz[0]), max(semi[1], 0.6 * grid.spacing_xyz[1]), semi[2])
    return _ellipsoid_r2(grid.x - centre[0], grid.y - centre[1], grid.z - centre[2], *semi)


def _soft_lesion(lesion_r2: np.ndarray, grid: _Grid) -> np.ndarray:
    return np.clip(0.5 + (1.0 - lesion_r2) * 1.5 / grid.edge_xy, 0, 1) if np.isfinite(lesion_r2).any() else 0.0


# --------------------------------------------------------------------------------------------
# Acquisition: coil sensitivity, texture, Rician noise


def _acquire(signal: np.ndarray, grid: _Grid, rng) -> np.ndarray:
    """Signal multiplied by a smooth bias and tissue texture, plus Rician noise, in scanner units."""
    posterior = float(grid.y.min())
    coil = (0.6 + 0.4 * np.exp(-(grid.y - posterior) / rng.uniform(80, 160))) * (1 + rng.uniform(-0.1, 0.1) * np.tanh(grid.x / 80.0))
    along = 1 + rng.uniform(-0.12, 0.12) * np.cos((grid.z - grid.z.mean()) / rng.uniform(60, 140))
    biased = signal * (coil * along).astype(np.float32) * _texture(grid, rng)
    sigma = rng.uniform(0.015, 0.035)
    real = biased + sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    imaginary = sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    return (np.sqrt(real * real + imaginary * imaginary) * _SCANNER_SCALE).astype(np.float32)


def _texture(grid: _Grid, rng) -> np.ndarray:
    """Smooth multiplicative variation of about +-4% (tissue heterogeneity): sums of products of
    random profiles varying over about 15 mm along each axis (cheap, and smooth in 3-D)."""
    px, py, pz = (_random_profile(axis.ravel(), rng) for axis in (grid.x, grid.y, grid.z))
    qx, qy, qz = (_random_profile(axis.ravel(), rng) for axis in (grid.x, grid.y, grid.z))
    field = px[:, None, None] * py[None, :, None] + qy[None, :, None] * pz[None, None, :] + qx[:, None, None] * qz[None, None, :]
    return (1.0 + 0.025 * field).astype(np.float32)


def _random_profile(coordinates: np.ndarray, rng, knot_mm: float = 15.0) -> np.ndarray:
    """Unit-variance random values at knots ``knot_mm`` apart, linearly interpolated at ``coordinates``."""
    knots = np.arange(coordinates.min() - knot_mm, coordinates.max() + 2 * knot_mm, knot_mm)
    return np.interp(coordinates, knots, rng.standard_normal(len(knots))).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Shapes and blending


def _ellipse_r2(u, v, semi_u, semi_v) -> np.ndarray:
    return ((u / semi_u) ** 2 + (v / semi_v) ** 2).astype(np.float32)


def _ellipsoid_r2(u, v, w, semi_u, semi_v, semi_w) -> np.ndarray:
    return ((u / semi_u) ** 2 + (v / semi_v) ** 2 + (w / semi_w) ** 2).astype(np.float32)


def _soft(r2: np.ndarray, radius_mm, edge_mm: float) -> np.ndarray:
    """Membership 0..1 of an ellipse given its radius-squared field: a linear ramp about
    ``edge_mm`` wide across the boundary (radius_mm: the ellipse's size, to turn r2 into mm)."""
    return np.clip(0.5 + (1.0 - r2) * (np.asarray(radius_mm, np.float32) / (2.0 * edge_mm)), 0, 1)


def _box(values, low, high, edge_mm: float) -> np.ndarray:
    """Membership 0..1 of ``low <= values <= high`` with soft edges."""
    return np.clip(0.5 + np.minimum(values - low, high - values) / edge_mm, 0, 1).astype(np.float32)


def _tube(grid: _Grid, dx, dy, semi_lr: float, semi_ap: float, top: float, bottom: float) -> np.ndarray:
    """A vertical elliptic cylinder between heights ``bottom`` and ``top`` (soft ends)."""
    section = _soft(_ellipse_r2(dx, dy, semi_lr, semi_ap), min(semi_lr, semi_ap), grid.edge_xy)
    return section * _box(grid.z, bottom, top, 4.0)


def _blend(intensity, membership, value: float) -> np.ndarray:
    """Paint ``value`` over ``intensity`` where ``membership`` is 1, mixing at partial memberships."""
    return (intensity + membership * (np.float32(value) - intensity)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Assembly and checks


@dataclass(frozen=True)
class _Phantom:
    seed: int
    view: str
    contrast: str
    region: str


def _phantom(intensity, masks: dict, geometry: Geometry, about: _Phantom) -> SpinePhantom:
    cord_mask, lesion_mask, canal_mask = (_to_array_order(masks[name], about.view) for name in ("cord", "lesion", "canal"))
    labels = np.where(lesion_mask, LESION, np.where(cord_mask, CORD, 0)).astype(np.uint8)
    metadata = {"phantom_seed": int(about.seed), "phantom_view": about.view, "phantom_contrast": about.contrast,
                "phantom_region": about.region, "pixel_spacing_known": True}
    image = Image(_to_array_order(intensity, about.view), geometry, metadata)
    return SpinePhantom(image, cord_mask, lesion_mask, labels, canal_mask, int(about.seed), about.view, about.contrast,
                        about.region)


def _jittered_signal(contrast: str, rng) -> dict:
    """The contrast's tissue signals, each varied by up to +-8% (scanner and subject differences)."""
    return {tissue: value * rng.uniform(0.92, 1.08) for tissue, value in _SIGNAL[contrast].items()}


def _check_choice(name: str, value: str, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _check_grid(shape: tuple, spacing: tuple, lesions: int) -> None:
    if len(shape) != 3 or min(shape) < 1 or len(spacing) != 3 or min(spacing) <= 0:
        raise ValueError(f"shape must be 3 positive sizes [k, j, i] and spacing 3 positive mm (i, j, k); "
                         f"got {shape} and {spacing}")
    if lesions < 0:
        raise ValueError(f"lesions must be 0 or more, got {lesions}")


# The demo's phantoms, in turn: the common sagittal T2w, an axial T2*w series, a sagittal T1w.
DEMO_PHANTOMS = (("sagittal", "T2w", 2), ("axial", "T2*w", 1), ("sagittal", "T1w", 1))


def phantom_inputs(folder: Path, count: int) -> list[Path]:
    """Write ``count`` cervical spine phantoms with lesions for the demo as NIfTI (deterministic)."""
    from .files import write_new_image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        view, contrast, lesions = DEMO_PHANTOMS[index % len(DEMO_PHANTOMS)]
        phantom = generate_spine_phantom(seed=index + 1, view=view, contrast=contrast, lesions=lesions)
        name = f"phantom-{index + 1}-{view}-{contrast.replace('*', 'star')}.nii.gz"
        paths.append(write_new_image(folder / name, phantom.image))
    return paths

