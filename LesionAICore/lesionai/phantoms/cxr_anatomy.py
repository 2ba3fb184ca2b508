"""The anatomy of the chest radiograph phantom: frontal (PA) and lateral views.

:func:`draw_frontal` and :func:`draw_lateral` return the relative density of the body on the output
grid and the lung labels (1 patient's right lung, 2 left; none on a lateral view).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .cxr_shapes import (
    Placement,
    band,
    blur,
    chaikin,
    mirror,
    rasterize_polygon,
    smoothstep,
    soft_mask,
    work_shape,
)

# Lung label values, the same as SeverityScoring's lungs.nrrd (checked by the phantom tests).
RIGHT_LUNG, LEFT_LUNG = 1, 2

# Frontal anatomy


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
    outline = np.vstack([chaikin(wall)[:-1], diaphragm[:-1]])
    return mirror(outline) if side == RIGHT_LUNG else outline


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
    return chaikin(np.vstack([outline, outline[:1]]))


def _body_outline() -> np.ndarray:
    half = np.array([
        (0.0, -0.4), (0.085, -0.4), (0.09, -0.02), (0.13, 0.03), (0.28, 0.05), (0.4, 0.07),
        (0.45, 0.11), (0.46, 0.2), (0.455, 0.3), (0.46, 0.55), (0.45, 0.85), (0.43, 1.5), (0.0, 1.5),
    ])
    return np.vstack([half, mirror(half)[::-1][1:-1]])


def _arm_outline(side_sign: float) -> np.ndarray:
    arm = np.array([(0.42, 0.08), (0.52, 0.06), (0.6, 0.2), (0.62, 1.5), (0.5, 1.5), (0.47, 0.3)])
    return arm * np.array([side_sign, 1.0])


def draw_frontal(rng, placement, shape) -> tuple[np.ndarray, np.ndarray]:
    anatomy = _sample_frontal(rng)
    outlines = {side: _lung_outline(anatomy, side) for side in (RIGHT_LUNG, LEFT_LUNG)}
    work = work_shape(shape)
    density = _frontal_density(rng, anatomy, outlines, placement, work)
    return density, _lung_labels(outlines, placement, shape)


def _lung_labels(outlines: dict, placement: Placement, shape) -> np.ndarray:
    labels = np.zeros(shape, dtype=np.uint8)
    for side, outline in outlines.items():
        labels[rasterize_polygon(placement.to_pixels(outline, shape), shape)] = side
    return labels


def _frontal_density(rng, anatomy, outlines, placement, work) -> np.ndarray:
    """Relative brightness (about 0..1.3) of the frontal phantom on the work grid."""
    x, y = placement.anatomy_grid(work)
    px = 1.0 / (min(work) * placement.scale)  # anatomy units per work pixel
    lung_field = soft_mask(outlines.values(), placement, work, 0.006 / px)
    body = soft_mask([_body_outline()], placement, work, 0.008 / px)
    density = _soft_tissue(placement, work, body, x, y, px) + _abdomen(anatomy, x, y) * body
    density -= _lung_air(rng, anatomy.lung_air, lung_field, px)
    vessels = _vessels(rng, anatomy, placement, work, px) + _hila(anatomy, x, y)
    density += vessels * lung_field
    # The heart and mediastinum overlie the lung behind them: brighten towards their own level,
    # leaving the retrocardiac lung a little darker, as on real films.
    silhouette = soft_mask([_cardiomediastinal_outline(anatomy)], placement, work, 0.01 / px)
    silhouette *= smoothstep(0.0, 0.12, y)
    opacity = silhouette * (1.0 - anatomy.retrocardiac_air * lung_field)
    density += np.clip(anatomy.mediastinum_level - density, 0.0, None) * opacity
    bone_visibility = (0.25 + 0.75 * lung_field) * (1.0 - 0.7 * silhouette)
    density += _skeleton(rng, anatomy, x, y) * bone_visibility
    return density + _trachea(x, y) + _spine(anatomy, x, y) + _gastric_bubble(anatomy, x, y)


def _soft_tissue(placement, work, body, x, y, px) -> np.ndarray:
    arms = soft_mask([_arm_outline(s) for s in (-1.0, 1.0)], placement, work, 0.01 / px)
    thickness = np.sqrt(np.clip(1.0 - (x / 0.47) ** 2, 0.0, 1.0))
    neck = smoothstep(0.12, -0.05, y)
    body_tissue = body * (0.44 + 0.14 * thickness - 0.06 * neck)
    return 0.04 + body_tissue + 0.4 * np.clip(arms, 0.0, 1.0) * (1.0 - body)


def _hila(anatomy, x, y) -> np.ndarray:
    lateral = np.abs(x) - anatomy.mediastinum_half_width - 0.03
    return 0.09 * np.exp(-((lateral / 0.035) ** 2 + ((y - 0.44) / 0.06) ** 2))


def _trachea(x, y) -> np.ndarray:
    return -0.07 * smoothstep(0.022, 0.012, np.abs(x)) * smoothstep(0.36, 0.3, y)


def _abdomen(anatomy, x, y) -> np.ndarray:
    # Under the heart both hemidiaphragms flatten out at their cardiophrenic height.
    lateral = np.maximum(np.abs(x), anatomy.mediastinum_half_width + 0.01)
    towards_left = smoothstep(-0.06, 0.06, x)
    right_line = _diaphragm_y(anatomy, RIGHT_LUNG, lateral)
    left_line = _diaphragm_y(anatomy, LEFT_LUNG, lateral)
    dome_line = right_line + (left_line - right_line) * towards_left
    dome_line = np.minimum(dome_line, anatomy.dome_y(LEFT_LUNG) + _COSTOPHRENIC_DEPTH)
    below = smoothstep(dome_line - 0.005, dome_line + 0.04, y)
    return below * (0.12 + 0.06 * smoothstep(dome_line, dome_line + 0.25, y))


def _gastric_bubble(anatomy, x, y) -> np.ndarray:
    """Air in the stomach fundus, just under the left hemidiaphragm."""
    top = anatomy.left_dome_y + 0.035
    distance = np.sqrt(((x - 0.2) / 0.07) ** 2 + ((y - top - 0.025) / 0.025) ** 2)
    return -0.06 * smoothstep(1.0, 0.3, distance) * smoothstep(top - 0.01, top + 0.01, y)


def _lung_air(rng, air_depth: float, lung_field, px) -> np.ndarray:
    """Darkening by aerated lung: deepest centrally, fading towards the pleura."""
    depth = (ndimage.distance_transform_edt(lung_field > 0.5) * px).astype(np.float32)
    profile = lung_field * (0.55 + 0.45 * smoothstep(0.0, 0.08, depth))
    noise = rng.standard_normal(lung_field.shape, dtype=np.float32)
    texture = blur(noise, 0.012 / px)
    texture *= 0.025 / max(float(texture.std()), 1e-6)
    return (air_depth + texture) * profile


def _skeleton(rng, anatomy, x, y) -> np.ndarray:
    ribs = _posterior_ribs(rng, anatomy, x, y) + _anterior_ribs(anatomy, x, y)
    return ribs + _clavicles(x, y) + _humeral_heads(x, y)


def _spine(anatomy, x, y) -> np.ndarray:
    phase = (y - anatomy.rib_start_y) / anatomy.rib_spacing
    discs = 0.01 * smoothstep(0.75, 0.95, np.abs(np.sin(np.pi * phase)))
    pedicles = sum(np.exp(-(((x - s) / 0.01) ** 2)) for s in (-0.028, 0.028))
    column = smoothstep(0.05, 0.035, np.abs(x))
    spine = column * (0.03 - discs) + 0.01 * pedicles * (np.cos(2 * np.pi * phase) > 0.2)
    return spine * smoothstep(-0.05, 0.1, y)


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
        reach = smoothstep(0.03, 0.05, lateral) * smoothstep(0.48, 0.42, lateral)
        ribs += 0.065 * band(distance, half_height) * cortex * reach
    return ribs


def _anterior_ribs(anatomy, x, y) -> np.ndarray:
    lateral = np.abs(x)
    ribs = np.zeros_like(x)
    for index in range(6):
        start = anatomy.rib_start_y + 0.1 + index * 1.7 * anatomy.rib_spacing
        centre = start + 0.38 * (0.42 - lateral) - 0.4 * (0.42 - lateral) ** 2
        reach = smoothstep(0.1, 0.16, lateral) * smoothstep(0.46, 0.4, lateral)
        ribs += 0.035 * band(y - centre, 0.01) * reach
    return ribs


def _clavicles(x, y) -> np.ndarray:
    lateral = np.abs(x)
    t = np.clip((lateral - 0.05) / 0.3, 0.0, 1.0)
    centre = 0.19 - 0.08 * t + 0.012 * np.sin(2 * np.pi * t)
    reach = smoothstep(0.03, 0.06, lateral) * smoothstep(0.37, 0.33, lateral)
    return 0.2 * band(y - centre, 0.016 + 0.005 * (1 - t)) * reach


def _humeral_heads(x, y) -> np.ndarray:
    distance = np.sqrt((np.abs(x) - 0.48) ** 2 + (y - 0.13) ** 2)
    return 0.14 * smoothstep(0.065, 0.05, distance)


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
    return blur(accumulator, sigma) * gain


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


# Lateral anatomy


def draw_lateral(rng, placement, shape) -> tuple[np.ndarray, np.ndarray]:
    """Left-lateral view: sternum on the image left, spine on the image right, both lungs
    superimposed in one field; no lung labels."""
    work = work_shape(shape)
    x, y = placement.anatomy_grid(work)
    px = 1.0 / (min(work) * placement.scale)
    apex, dome = rng.uniform(0.1, 0.15), rng.uniform(0.64, 0.7)
    body = soft_mask([_lateral_body_outline(rng)], placement, work, 0.01 / px)
    lung = soft_mask([_lateral_lung_outline(apex, dome)], placement, work, 0.008 / px)
    density = 0.04 + body * (0.5 + 0.1 * smoothstep(0.6, 1.0, y))
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
    return np.vstack([chaikin(wall)[:-1], diaphragm[::-1][:-1]])


def _lateral_diaphragm(x, y, dome) -> np.ndarray:
    line = dome + 0.02 + 0.09 * ((x + 0.05) / 0.36) ** 2
    return 0.16 * smoothstep(line - 0.005, line + 0.04, y)


def _lateral_spine(x, y) -> np.ndarray:
    """Thoracic vertebral bodies with darker discs, curving with the kyphosis."""
    centre = 0.3 + 0.04 * np.sin(np.pi * np.clip(y, 0.0, 1.0))
    discs = smoothstep(0.8, 0.95, np.abs(np.sin(np.pi * (y - 0.05) / 0.058)))
    return (0.1 - 0.05 * discs) * smoothstep(0.055, 0.04, np.abs(x - centre))


def _lateral_heart(x, y, dome) -> np.ndarray:
    tilt = np.deg2rad(-40.0)
    u, v = x + 0.14, y - dome
    along = (u * np.cos(tilt) + v * np.sin(tilt)) / 0.22
    across = (-u * np.sin(tilt) + v * np.cos(tilt)) / 0.15
    return smoothstep(1.1, 0.8, np.sqrt(along * along + across * across))


def _lateral_ribs(x, y) -> np.ndarray:
    ribs = np.zeros_like(x)
    for index in range(9):
        centre = 0.14 + index * 0.065 - 0.25 * (x - 0.3)
        ribs += 0.03 * band(y - centre, 0.01) * smoothstep(-0.3, 0.1, x)
    return ribs
