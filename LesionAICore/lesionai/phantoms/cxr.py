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
from scipy import ndimage

from ..geometry import Geometry, Image, radiograph_geometry

# Lung label values, the same as SeverityScoring's lungs.nrrd (checked by the phantom tests).
RIGHT_LUNG, LEFT_LUNG = 1, 2

MAX_INTENSITY = 4095.0
DEFAULT_FIELD_OF_VIEW_MM = 430.0
VIEWS = ("PA", "lateral")

# Smooth anatomy is composed on a grid of at most this many pixels per side and then resampled:
# it keeps a 1024 x 1024 phantom well under a second while edges stay soft, as in real films.
_WORK_SIDE = 512


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
    placement = _random_placement(rng)
    if view == "PA":
        density, lung_labels = _draw_frontal(rng, placement, (rows, cols))
    else:
        density, lung_labels = _draw_lateral(rng, placement, (rows, cols))
    intensities = _detector_readout(rng, _to_output_grid(_film_response(rng, density), (rows, cols)))
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


# --------------------------------------------------------------------------------------------
# Placement: anatomy coordinates <-> pixels
# --------------------------------------------------------------------------------------------
#
# Anatomy is drawn in normalised coordinates: x from -0.5 (image left, patient right) to 0.5,
# y from 0 (top) to 1 (bottom), both in units of the shorter image side. A random similarity
# transform (small rotation, scale, shift) imitates patient positioning.


@dataclass(frozen=True)
class _Placement:
    angle_rad: float
    scale: float
    shift: tuple[float, float]

    def to_pixels(self, points_xy: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """(N, 2) anatomy (x, y) -> (N, 2) pixel (row, col) on a grid of ``shape``."""
        cos, sin = np.cos(self.angle_rad), np.sin(self.angle_rad)
        x, y = points_xy[:, 0], points_xy[:, 1] - 0.5
        xr = self.scale * (cos * x - sin * y) + self.shift[0]
        yr = self.scale * (sin * x + cos * y) + self.shift[1]
        side = min(shape)
        return np.stack([shape[0] / 2 - 0.5 + yr * side, shape[1] / 2 - 0.5 + xr * side], axis=1)

    def anatomy_grid(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Anatomy (x, y) of every pixel centre of a grid of ``shape``."""
        side = min(shape)
        rows = (np.arange(shape[0]) - (shape[0] / 2 - 0.5)) / side - self.shift[1]
        cols = (np.arange(shape[1]) - (shape[1] / 2 - 0.5)) / side - self.shift[0]
        yr, xr = rows[:, np.newaxis] / self.scale, cols[np.newaxis, :] / self.scale
        cos, sin = np.cos(self.angle_rad), np.sin(self.angle_rad)
        x, y = cos * xr + sin * yr, -sin * xr + cos * yr + 0.5
        return x.astype(np.float32), y.astype(np.float32)


def _random_placement(rng: np.random.Generator) -> _Placement:
    angle = np.deg2rad(rng.uniform(-4.0, 4.0))
    return _Placement(angle, rng.uniform(0.9, 1.06), tuple(rng.uniform(-0.03, 0.03, 2)))


def _work_shape(shape: tuple[int, int]) -> tuple[int, int]:
    factor = min(1.0, _WORK_SIDE / max(shape))
    return max(16, round(shape[0] * factor)), max(16, round(shape[1] * factor))


def _to_output_grid(work: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if work.shape == shape:
        return work
    zoom = (shape[0] / work.shape[0], shape[1] / work.shape[1])
    resampled = ndimage.zoom(work, zoom, order=1, mode="nearest", grid_mode=True)
    return resampled[: shape[0], : shape[1]]


# --------------------------------------------------------------------------------------------
# Polygons
# --------------------------------------------------------------------------------------------


def _rasterize_polygon(vertices_rc: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of the pixel centres inside a closed polygon given as (N, 2) (row, col).

    Scan-line filling with the even-odd rule; vertices may lie outside the grid.
    """
    start, end = vertices_rc, np.roll(vertices_rc, -1, axis=0)
    rows = np.arange(shape[0], dtype=float)[:, np.newaxis]
    low, high = np.minimum(start[:, 0], end[:, 0]), np.maximum(start[:, 0], end[:, 0])
    crosses = (rows >= low) & (rows < high)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (end[:, 1] - start[:, 1]) / (end[:, 0] - start[:, 0])
        columns = start[:, 1] + (rows - start[:, 0]) * slope
    columns = np.sort(np.where(crosses, columns, np.inf), axis=1)
    return _fill_between_crossings(columns, shape)


def _fill_between_crossings(columns: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if columns.shape[1] % 2:
        columns = np.hstack([columns, np.full((columns.shape[0], 1), np.inf)])
    enter, leave = columns[:, 0::2], columns[:, 1::2]
    valid = np.isfinite(enter) & np.isfinite(leave)
    counts = np.zeros((shape[0], shape[1] + 1), dtype=np.int32)
    row_index = np.broadcast_to(np.arange(shape[0])[:, np.newaxis], enter.shape)[valid]
    first = np.clip(np.ceil(enter[valid]), 0, shape[1]).astype(int)
    last = np.clip(np.ceil(leave[valid]), 0, shape[1]).astype(int)
    np.add.at(counts, (row_index, first), 1)
    np.add.at(counts, (row_index, last), -1)
    return np.cumsum(counts, axis=1)[:, : shape[1]] > 0


def _chaikin(points: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Corner-cutting smoothing of an open polyline; the end points stay fixed."""
    for _ in range(iterations):
        a, b = points[:-1], points[1:]
        cut = np.empty((2 * len(a), 2))
        cut[0::2], cut[1::2] = 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b
        points = np.vstack([points[:1], cut, points[-1:]])
    return points


def _mirror(points_xy: np.ndarray) -> np.ndarray:
    return points_xy * np.array([-1.0, 1.0])


def _soft_mask(polygons_xy, placement, shape, sigma_px) -> np.ndarray:
    """Union of anatomy polygons on a grid of ``shape``, edges blurred by ``sigma_px``."""
    mask = np.zeros(shape, dtype=bool)
    for polygon in polygons_xy:
        mask |= _rasterize_polygon(placement.to_pixels(polygon, shape), shape)
    return _blur(mask.astype(np.float32), sigma_px)


def _blur(values: np.ndarray, sigma_px: float) -> np.ndarray:
    return ndimage.gaussian_filter(values, sigma_px, truncate=3.0) if sigma_px > 0 else values


def _smoothstep(edge0: float, edge1: float, value: np.ndarray) -> np.ndarray:
    t = np.clip((value - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _band(distance: np.ndarray, half_width: float) -> np.ndarray:
    """Flat-topped band profile, 1 at the centre line and 0 beyond ``half_width``."""
    t = np.minimum((distance / half_width) ** 2, 1.0)
    return 1.0 - t * t * t


# --------------------------------------------------------------------------------------------
# Frontal anatomy
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FrontalAnatomy:
    apex_y: float
    right_dome_y: float
    left_dome_y: float
    lung_half_width: float
    mediastinum_half_width: float
    heart_right_x: float
    heart_left_x: float
    lung_air: float
    mediastinum_level: float
    retrocardiac_air: float
    rib_start_y: float
    rib_spacing: float

    def dome_y(self, side: int) -> float:
        return self.right_dome_y if side == RIGHT_LUNG else self.left_dome_y

    def lung_width(self, side: int) -> float:
        return self.lung_half_width * (1.0 if side == RIGHT_LUNG else 0.97)


def _sample_frontal(rng: np.random.Generator) -> _FrontalAnatomy:
    right_dome = rng.uniform(0.64, 0.72)
    return _FrontalAnatomy(
        apex_y=rng.uniform(0.11, 0.16),
        right_dome_y=right_dome,
        left_dome_y=right_dome + rng.uniform(0.015, 0.04),
        lung_half_width=rng.uniform(0.36, 0.42),
        mediastinum_half_width=rng.uniform(0.055, 0.07),
        heart_right_x=rng.uniform(0.09, 0.12),
        heart_left_x=rng.uniform(0.19, 0.26),
        lung_air=rng.uniform(0.28, 0.48),
        mediastinum_level=rng.uniform(0.72, 0.8),
        retrocardiac_air=rng.uniform(0.2, 0.4),
        rib_start_y=rng.uniform(0.07, 0.1),
        rib_spacing=rng.uniform(0.052, 0.062),
    )


_COSTOPHRENIC_DEPTH = 0.085  # how far the lateral lung recess reaches below the dome top


def _diaphragm_y(anatomy: _FrontalAnatomy, side: int, lateral):
    """Height of one hemidiaphragm at distance ``lateral`` from the midline (parabolic dome)."""
    peak = 0.5 * anatomy.lung_width(side)
    reach = anatomy.lung_width(side) + 0.01 - peak
    return anatomy.dome_y(side) + _COSTOPHRENIC_DEPTH * ((lateral - peak) / reach) ** 2


def _lung_outline(anatomy: _FrontalAnatomy, side: int) -> np.ndarray:
    """Closed outline (N, 2) of one lung in anatomy (x, y); side 1 = right lung (x < 0)."""
    dome, width = anatomy.dome_y(side), anatomy.lung_width(side)
    medial = anatomy.mediastinum_half_width + (0.0 if side == RIGHT_LUNG else 0.012)
    apex = anatomy.apex_y + (0.0 if side == RIGHT_LUNG else 0.008)
    lateral = np.linspace(medial + 0.01, width + 0.01, 24)
    diaphragm = np.stack([lateral, _diaphragm_y(anatomy, side, lateral)], axis=1)
    wall = np.array([
        diaphragm[-1], (width + 0.015, dome - 0.1), (width - 0.005, 0.42), (width - 0.05, 0.27),
        (width * 0.62, apex + 0.02), (width * 0.45, apex), (medial + 0.09, apex + 0.02),
        (medial + 0.025, apex + 0.09), (medial, 0.35), (medial - 0.005, 0.5), diaphragm[0],
    ])
    outline = np.vstack([_chaikin(wall)[:-1], diaphragm[:-1]])
    return _mirror(outline) if side == RIGHT_LUNG else outline


def _cardiomediastinal_outline(anatomy: _FrontalAnatomy) -> np.ndarray:
    """Heart and mediastinum as one closed outline: SVC and right atrium on the image left;
    aortic knob, pulmonary trunk and left ventricle on the image right."""
    mw, right, left = anatomy.mediastinum_half_width, anatomy.heart_right_x, anatomy.heart_left_x
    right_dome, left_dome = anatomy.right_dome_y, anatomy.left_dome_y
    outline = np.array([
        (-0.05, -0.05), (-mw + 0.005, 0.2), (-mw - 0.005, 0.4), (-mw - 0.01, 0.47),
        (-right, 0.56), (-right - 0.005, right_dome - 0.03), (-right + 0.01, right_dome + 0.08),
        (left * 0.9, left_dome + 0.08), (left, left_dome - 0.03), (left - 0.03, left_dome - 0.12),
        (mw + 0.045, 0.46), (mw + 0.02, 0.4), (mw + 0.035, 0.33), (mw + 0.03, 0.27),
        (mw - 0.005, 0.22), (0.05, -0.05),
    ])
    return _chaikin(np.vstack([outline, outline[:1]]))


def _body_outline() -> np.ndarray:
    half = np.array([
        (0.0, -0.4), (0.085, -0.4), (0.09, -0.02), (0.13, 0.03), (0.28, 0.05), (0.4, 0.07),
        (0.45, 0.11), (0.46, 0.2), (0.455, 0.3), (0.46, 0.55), (0.45, 0.85), (0.43, 1.5), (0.0, 1.5),
    ])
    return np.vstack([half, _mirror(half)[::-1][1:-1]])


def _arm_outline(side_sign: float) -> np.ndarray:
    arm = np.array([(0.42, 0.08), (0.52, 0.06), (0.6, 0.2), (0.62, 1.5), (0.5, 1.5), (0.47, 0.3)])
    return arm * np.array([side_sign, 1.0])


def _draw_frontal(rng, placement, shape) -> tuple[np.ndarray, np.ndarray]:
    anatomy = _sample_frontal(rng)
    outlines = {side: _lung_outline(anatomy, side) for side in (RIGHT_LUNG, LEFT_LUNG)}
    work = _work_shape(shape)
    density = _frontal_density(rng, anatomy, outlines, placement, work)
    return density, _lung_labels(outlines, placement, shape)


def _lung_labels(outlines: dict, placement: _Placement, shape) -> np.ndarray:
    labels = np.zeros(shape, dtype=np.uint8)
    for side, outline in outlines.items():
        labels[_rasterize_polygon(placement.to_pixels(outline, shape), shape)] = side
    return labels


def _frontal_density(rng, anatomy, outlines, placement, work) -> np.ndarray:
    """Relative brightness (about 0..1.3) of the frontal phantom on the work grid."""
    x, y = placement.anatomy_grid(work)
    px = 1.0 / (min(work) * placement.scale)  # anatomy units per work pixel
    lung_field = _soft_mask(outlines.values(), placement, work, 0.006 / px)
    body = _soft_mask([_body_outline()], placement, work, 0.008 / px)
    density = _soft_tissue(placement, work, body, x, y, px) + _abdomen(anatomy, x, y) * body
    density -= _lung_air(rng, anatomy.lung_air, lung_field, px)
    vessels = _vessels(rng, anatomy, placement, work, px) + _hila(anatomy, x, y)
    density += vessels * lung_field
    # The heart and mediastinum overlie the lung behind them: brighten towards their own level,
    # leaving the retrocardiac lung a little darker, as on real films.
    silhouette = _soft_mask([_cardiomediastinal_outline(anatomy)], placement, work, 0.01 / px)
    silhouette *= _smoothstep(0.0, 0.12, y)
    opacity = silhouette * (1.0 - anatomy.retrocardiac_air * lung_field)
    density += np.clip(anatomy.mediastinum_level - density, 0.0, None) * opacity
    bone_visibility = (0.25 + 0.75 * lung_field) * (1.0 - 0.7 * silhouette)
    density += _skeleton(rng, anatomy, x, y) * bone_visibility
    return density + _trachea(x, y) + _spine(anatomy, x, y) + _gastric_bubble(anatomy, x, y)


def _soft_tissue(placement, work, body, x, y, px) -> np.ndarray:
    arms = _soft_mask([_arm_outline(s) for s in (-1.0, 1.0)], placement, work, 0.01 / px)
    thickness = np.sqrt(np.clip(1.0 - (x / 0.47) ** 2, 0.0, 1.0))
    neck = _smoothstep(0.12, -0.05, y)
    body_tissue = body * (0.44 + 0.14 * thickness - 0.06 * neck)
    return 0.04 + body_tissue + 0.4 * np.clip(arms, 0.0, 1.0) * (1.0 - body)


def _hila(anatomy, x, y) -> np.ndarray:
    lateral = np.abs(x) - anatomy.mediastinum_half_width - 0.03
    return 0.09 * np.exp(-((lateral / 0.035) ** 2 + ((y - 0.44) / 0.06) ** 2))


def _trachea(x, y) -> np.ndarray:
    return -0.07 * _smoothstep(0.022, 0.012, np.abs(x)) * _smoothstep(0.36, 0.3, y)


def _abdomen(anatomy, x, y) -> np.ndarray:
    # Under the heart both hemidiaphragms flatten out at their cardiophrenic height.
    lateral = np.maximum(np.abs(x), anatomy.mediastinum_half_width + 0.01)
    towards_left = _smoothstep(-0.06, 0.06, x)
    right_line = _diaphragm_y(anatomy, RIGHT_LUNG, lateral)
    left_line = _diaphragm_y(anatomy, LEFT_LUNG, lateral)
    dome_line = right_line + (left_line - right_line) * towards_left
    dome_line = np.minimum(dome_line, anatomy.dome_y(LEFT_LUNG) + _COSTOPHRENIC_DEPTH)
    below = _smoothstep(dome_line - 0.005, dome_line + 0.04, y)
    return below * (0.12 + 0.06 * _smoothstep(dome_line, dome_line + 0.25, y))


def _gastric_bubble(anatomy, x, y) -> np.ndarray:
    """Air in the stomach fundus, just under the left hemidiaphragm."""
    top = anatomy.left_dome_y + 0.035
    distance = np.sqrt(((x - 0.2) / 0.07) ** 2 + ((y - top - 0.025) / 0.025) ** 2)
    return -0.06 * _smoothstep(1.0, 0.3, distance) * _smoothstep(top - 0.01, top + 0.01, y)


def _lung_air(rng, air_depth: float, lung_field, px) -> np.ndarray:
    """Darkening by aerated lung: deepest centrally, fading towards the pleura."""
    depth = (ndimage.distance_transform_edt(lung_field > 0.5) * px).astype(np.float32)
    profile = lung_field * (0.55 + 0.45 * _smoothstep(0.0, 0.08, depth))
    noise = rng.standard_normal(lung_field.shape, dtype=np.float32)
    texture = _blur(noise, 0.012 / px)
    texture *= 0.025 / max(float(texture.std()), 1e-6)
    return (air_depth + texture) * profile


def _skeleton(rng, anatomy, x, y) -> np.ndarray:
    ribs = _posterior_ribs(rng, anatomy, x, y) + _anterior_ribs(anatomy, x, y)
    return ribs + _clavicles(x, y) + _humeral_heads(x, y)


def _spine(anatomy, x, y) -> np.ndarray:
    phase = (y - anatomy.rib_start_y) / anatomy.rib_spacing
    discs = 0.01 * _smoothstep(0.75, 0.95, np.abs(np.sin(np.pi * phase)))
    pedicles = sum(np.exp(-(((x - s) / 0.01) ** 2)) for s in (-0.028, 0.028))
    column = _smoothstep(0.05, 0.035, np.abs(x))
    spine = column * (0.03 - discs) + 0.01 * pedicles * (np.cos(2 * np.pi * phase) > 0.2)
    return spine * _smoothstep(-0.05, 0.1, y)


def _posterior_ribs(rng, anatomy, x, y) -> np.ndarray:
    lateral = np.abs(x)
    ribs = np.zeros_like(x)
    for index in range(10):
        start = anatomy.rib_start_y + index * anatomy.rib_spacing + np.where(x > 0, 0.006, 0.0)
        curvature = 3.2 - 0.17 * index + rng.uniform(-0.15, 0.15)
        centre = start + curvature * ((lateral - 0.15) ** 2 - 0.11**2)
        half_height = 0.01 + 0.0006 * index
        distance = y - centre
        cortex = 0.6 + 0.4 * (distance / half_height) ** 2
        reach = _smoothstep(0.03, 0.05, lateral) * _smoothstep(0.48, 0.42, lateral)
        ribs += 0.065 * _band(distance, half_height) * cortex * reach
    return ribs


def _anterior_ribs(anatomy, x, y) -> np.ndarray:
    lateral = np.abs(x)
    ribs = np.zeros_like(x)
    for index in range(6):
        start = anatomy.rib_start_y + 0.1 + index * 1.7 * anatomy.rib_spacing
        centre = start + 0.38 * (0.42 - lateral) - 0.4 * (0.42 - lateral) ** 2
        reach = _smoothstep(0.1, 0.16, lateral) * _smoothstep(0.46, 0.4, lateral)
        ribs += 0.035 * _band(y - centre, 0.01) * reach
    return ribs


def _clavicles(x, y) -> np.ndarray:
    lateral = np.abs(x)
    t = np.clip((lateral - 0.05) / 0.3, 0.0, 1.0)
    centre = 0.19 - 0.08 * t + 0.012 * np.sin(2 * np.pi * t)
    reach = _smoothstep(0.03, 0.06, lateral) * _smoothstep(0.37, 0.33, lateral)
    return 0.2 * _band(y - centre, 0.016 + 0.005 * (1 - t)) * reach


def _humeral_heads(x, y) -> np.ndarray:
    distance = np.sqrt((np.abs(x) - 0.48) ** 2 + (y - 0.13) ** 2)
    return 0.14 * _smoothstep(0.065, 0.05, distance)


def _vessels(rng, anatomy, placement, work, px) -> np.ndarray:
    """Branching brightness spreading from both hila: broad trunks, fine peripheral twigs."""
    trunks, twigs = ([], []), ([], [])
    for side_sign in (-1.0, 1.0):
        hilum = np.array([side_sign * (anatomy.mediastinum_half_width + 0.045), 0.43])
        for angle in rng.uniform(-1.1, 1.1, 8) + (np.pi / 2 - side_sign * np.pi / 2):
            root = hilum + rng.normal(0.0, 0.015, 2)
            _grow_vessel(rng, root, angle, 0.1, 3, px, trunks, twigs)
    return _splat_lines(*trunks, placement, work, 0.006 / px) + _splat_lines(
        *twigs, placement, work, max(0.8, 0.0035 / px)
    )


_VESSEL_STEP_PX = 0.7


def _splat_lines(points, weights, placement, work, sigma) -> np.ndarray:
    """Blurred polylines whose centre brightness equals their point weights."""
    accumulator = np.zeros(work, dtype=np.float32)
    pixels = np.round(placement.to_pixels(np.vstack(points), work)).astype(int)
    inside = (pixels >= 0).all(axis=1) & (pixels[:, 0] < work[0]) & (pixels[:, 1] < work[1])
    flat_index = np.ravel_multi_index((pixels[inside, 0], pixels[inside, 1]), work)
    accumulator.ravel()[:] = np.bincount(
        flat_index, np.concatenate(weights)[inside], minlength=accumulator.size
    )
    # Points lie _VESSEL_STEP_PX apart, so this factor makes a blurred line peak at its weight.
    gain = np.sqrt(2 * np.pi) * sigma * _VESSEL_STEP_PX
    return _blur(accumulator, sigma) * gain


def _grow_vessel(rng, start, angle, length, generation, px, trunks, twigs) -> None:
    count = max(4, int(length / (px * _VESSEL_STEP_PX)))
    bend = np.cumsum(rng.normal(0.0, 0.5 / np.sqrt(count), count))[:, np.newaxis]
    direction = np.hstack([np.cos(angle + bend), np.sin(angle + bend)])
    segment = start + np.cumsum(direction * length / count, axis=0)
    points, weights = trunks if generation >= 2 else twigs
    points.append(segment)
    weights.append(np.full(count, 0.04 if generation >= 2 else 0.015 + 0.015 * generation))
    if generation > 0:
        for turn in (-0.45, 0.45):
            _grow_vessel(rng, segment[-1], angle + bend[-1, 0] + turn + rng.normal(0, 0.15),
                         length * rng.uniform(0.65, 0.85), generation - 1, px, trunks, twigs)


# --------------------------------------------------------------------------------------------
# Lateral anatomy
# --------------------------------------------------------------------------------------------


def _draw_lateral(rng, placement, shape) -> tuple[np.ndarray, np.ndarray]:
    """Left-lateral view: sternum on the image left, spine on the image right, both lungs
    superimposed in one field; no lung labels."""
    work = _work_shape(shape)
    x, y = placement.anatomy_grid(work)
    px = 1.0 / (min(work) * placement.scale)
    apex, dome = rng.uniform(0.1, 0.15), rng.uniform(0.64, 0.7)
    body = _soft_mask([_lateral_body_outline(rng)], placement, work, 0.01 / px)
    lung = _soft_mask([_lateral_lung_outline(apex, dome)], placement, work, 0.008 / px)
    density = 0.04 + body * (0.5 + 0.1 * _smoothstep(0.6, 1.0, y))
    density -= _lung_air(rng, rng.uniform(0.34, 0.44), lung, px)
    density += _lateral_ribs(x, y) * lung + _lateral_diaphragm(x, y, dome) * body
    heart = _lateral_heart(x, y, dome)
    density += np.clip(rng.uniform(0.5, 0.56) - density, 0.0, None) * heart
    return density + _lateral_spine(x, y) * body, np.zeros(shape, dtype=np.uint8)


def _lateral_body_outline(rng) -> np.ndarray:
    front, back = rng.uniform(-0.42, -0.38), rng.uniform(0.44, 0.48)
    return np.array([
        (-0.1, -0.4), (0.22, -0.4), (0.26, 0.0), (back - 0.04, 0.15), (back, 0.45), (back, 1.5),
        (front - 0.02, 1.5), (front - 0.04, 0.8), (front, 0.35), (front + 0.1, 0.1), (-0.08, 0.0),
    ])


def _lateral_lung_outline(apex: float, dome: float) -> np.ndarray:
    """Both lungs superimposed: anterior (image left) to posterior recess (image right)."""
    lateral = np.linspace(-0.31, 0.31, 24)
    diaphragm = np.stack([lateral, dome + 0.02 + 0.09 * ((lateral + 0.05) / 0.36) ** 2], axis=1)
    wall = np.array([
        diaphragm[-1], (0.32, 0.55), (0.27, 0.3), (0.14, apex + 0.03), (0.02, apex),
        (-0.1, apex + 0.02), (-0.25, 0.25), (-0.33, 0.45), diaphragm[0],
    ])
    return np.vstack([_chaikin(wall)[:-1], diaphragm[::-1][:-1]])


def _lateral_diaphragm(x, y, dome) -> np.ndarray:
    line = dome + 0.02 + 0.09 * ((x + 0.05) / 0.36) ** 2
    return 0.16 * _smoothstep(line - 0.005, line + 0.04, y)


def _lateral_spine(x, y) -> np.ndarray:
    """Thoracic vertebral bodies with darker discs, curving with the kyphosis."""
    centre = 0.3 + 0.04 * np.sin(np.pi * np.clip(y, 0.0, 1.0))
    discs = _smoothstep(0.8, 0.95, np.abs(np.sin(np.pi * (y - 0.05) / 0.058)))
    return (0.1 - 0.05 * discs) * _smoothstep(0.055, 0.04, np.abs(x - centre))


def _lateral_heart(x, y, dome) -> np.ndarray:
    tilt = np.deg2rad(-40.0)
    u, v = x + 0.14, y - dome
    along = (u * np.cos(tilt) + v * np.sin(tilt)) / 0.22
    across = (-u * np.sin(tilt) + v * np.cos(tilt)) / 0.15
    return _smoothstep(1.1, 0.8, np.sqrt(along * along + across * across))


def _lateral_ribs(x, y) -> np.ndarray:
    ribs = np.zeros_like(x)
    for index in range(9):
        centre = 0.14 + index * 0.065 - 0.25 * (x - 0.3)
        ribs += 0.03 * _band(y - centre, 0.01) * _smoothstep(-0.3, 0.1, x)
    return ribs


# --------------------------------------------------------------------------------------------
# Exposure
# --------------------------------------------------------------------------------------------


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

