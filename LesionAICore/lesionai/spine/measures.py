"""Cord and lesion measures from label arrays with their geometry (pure numpy/scipy).

All functions take arrays ``[k, j, i]`` whose k axis is the *axial* axis (slices stacked inferior
to superior, as on the canonical grid of :mod:`lesionai.spine.grid` or any axial scan) and a
:class:`~lesionai.geometry.Geometry` placing them in RAS millimetres. Direction matrices may be
oblique: voxel face areas and slice normals are computed from them.

Cross-sectional area (CSA) is corrected for obliquity: the cord cut by an axial slice at angle
theta between the centreline tangent ``t`` and the slice normal ``n`` shows an area ``A / cos theta``,
so CSA = axial area x ``|t . n|``. The centreline is the per-slice cord centroid (RAS mm), averaged
over +/- ``SMOOTH_MM`` along the slices.

>>> measures = cord_measures(cord_mask, geometry)              # doctest: +SKIP
>>> round(measures["csa_mm2_mean"], 1)                          # doctest: +SKIP
75.3
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..geometry import Geometry

SMOOTH_MM = 5.0
LEVEL_NAMES = {**{n: f"C{n}" for n in range(1, 8)}, **{n + 7: f"T{n}" for n in range(1, 13)},
               **{n + 19: f"L{n}" for n in range(1, 6)}}


@dataclass
class Centreline:
    """Cord centreline sampled on the slices holding cord (inferior to superior).

    ``slices``: k indices; ``points``: smoothed centroids (RAS mm) ``[n, 3]``; ``tangents``: unit
    vectors ``[n, 3]``; ``cosines``: ``|t . n|`` per slice; ``distance_mm``: arc length from the first
    slice's centroid.
    """

    slices: np.ndarray
    points: np.ndarray
    tangents: np.ndarray
    cosines: np.ndarray
    distance_mm: np.ndarray

    def distance_at(self, k: np.ndarray) -> np.ndarray:
        """Arc length (mm) at (fractional) slice indices ``k``, linear between samples."""
        return np.interp(k, self.slices, self.distance_mm)


def voxel_volume_mm3(geometry: Geometry) -> float:
    """Volume of one voxel (mm^3), oblique axes included."""
    return float(abs(np.linalg.det(geometry.ijk_to_ras()[:3, :3])))


def slice_pixel_area_mm2(geometry: Geometry) -> float:
    """Area (mm^2) of one voxel's face in an axial (k) slice."""
    axes = geometry.ijk_to_ras()[:3, :3]
    return float(np.linalg.norm(np.cross(axes[:, 0], axes[:, 1])))


def slice_normal(geometry: Geometry) -> np.ndarray:
    """Unit normal (RAS) of the k slices, pointing to increasing k."""
    axes = geometry.ijk_to_ras()[:3, :3]
    normal = np.cross(axes[:, 0], axes[:, 1])
    normal /= np.linalg.norm(normal)
    return normal if normal @ axes[:, 2] >= 0 else -normal


def centreline(cord: np.ndarray, geometry: Geometry, smooth_mm: float = SMOOTH_MM) -> Centreline | None:
    """Centreline of a boolean cord mask ``[k, j, i]``; None when the mask is empty."""
    slices = np.flatnonzero(cord.reshape(len(cord), -1).any(axis=1))
    if len(slices) == 0:
        return None
    points = np.array([_slice_centroid_ras(cord[k], k, geometry) for k in slices])
    points = _smoothed(points, slices, geometry.spacing[2], smooth_mm)
    tangents = _tangents(points, slice_normal(geometry))
    cosines = np.abs(tangents @ slice_normal(geometry))
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    return Centreline(slices, points, tangents, cosines, np.concatenate([[0.0], np.cumsum(steps)]))


def _slice_centroid_ras(plane: np.ndarray, k: int, geometry: Geometry) -> np.ndarray:
    j, i = np.nonzero(plane)
    return (geometry.ijk_to_ras() @ np.array([i.mean(), j.mean(), k, 1.0]))[:3]


def _smoothed(points: np.ndarray, slices: np.ndarray, slice_mm: float, smooth_mm: float) -> np.ndarray:
    """Centroids fitted by a line through those within +/- ``smooth_mm`` of each slice (a local
    linear fit: unlike a moving mean it does not pull the ends of a straight oblique cord inwards)."""
    half = max(smooth_mm / slice_mm, 1.0)
    return np.array([_local_line(points, slices, k, half) for k in slices])


def _local_line(points: np.ndarray, slices: np.ndarray, k: int, half: float) -> np.ndarray:
    near = np.abs(slices - k) <= half
    if near.sum() < 3:
        return points[near].mean(axis=0)
    offsets = (slices[near] - k).astype(float)
    design = np.stack([np.ones_like(offsets), offsets], axis=1)
    coefficients = np.linalg.lstsq(design, points[near], rcond=None)[0]
    return coefficients[0]


def _tangents(points: np.ndarray, normal: np.ndarray) -> np.ndarray:
    if len(points) < 2:
        return normal[np.newaxis].repeat(len(points), axis=0)
    derivative = np.gradient(points, axis=0)
    lengths = np.linalg.norm(derivative, axis=1, keepdims=True)
    return np.where(lengths > 1e-9, derivative / np.maximum(lengths, 1e-9), normal)


def cord_measures(cord: np.ndarray, geometry: Geometry) -> dict:
    """Cord volume (mm^3), length along the centreline (mm), CSA per slice and mean (mm^2).

    ``csa_mm2_per_slice`` lists, inferior to superior, ``{"slice": k, "distance_mm": arc length,
    "csa_mm2": obliquity-corrected area, "angle_deg": centreline angle to the slice normal}``.
    Length = centroid-to-centroid path + one slice thickness along the cord (the end halves).
    """
    line = centreline(cord, geometry)
    if line is None:
        return {"volume_mm3": 0.0, "length_mm": 0.0, "csa_mm2_mean": None, "csa_mm2_per_slice": []}
    areas = cord.reshape(len(cord), -1).sum(axis=1)[line.slices] * slice_pixel_area_mm2(geometry)
    csa = areas * line.cosines
    end_caps = geometry.spacing[2] / max(float(np.mean(line.cosines)), 1e-3)
    per_slice = [{"slice": int(k), "distance_mm": round(float(d), 2), "csa_mm2": round(float(a), 2),
                  "angle_deg": round(float(np.degrees(np.arccos(np.clip(c, 0, 1)))), 1)}
                 for k, d, a, c in zip(line.slices, line.distance_mm, csa, line.cosines)]
    return {"volume_mm3": float(cord.sum() * voxel_volume_mm3(geometry)),
            "length_mm": float(line.distance_mm[-1] + end_caps), "csa_mm2_mean": float(np.mean(csa)),
            "csa_mm2_per_slice": per_slice}


def lesion_measures(lesions: np.ndarray, cord: np.ndarray, geometry: Geometry,
                    level_landmarks: list[tuple[np.ndarray, int]] | None = None) -> list[dict]:
    """One record per 26-connected lesion of the boolean ``lesions`` mask ``[k, j, i]``.

    Keys: ``index`` (1-based, inferior to superior), ``volume_mm3``, ``centroid_ras`` (mm),
    ``length_mm`` (extent along the cord centreline of ``cord`` plus one slice thickness, so a lesion
    seen on one slice measures that slice's thickness), ``largest_axial_area_mm2``,
    ``vertebral_level`` (e.g. "C4") and ``vertebral_level_source`` ("estimated from vertebral
    landmarks" or None when no landmarks are given).
    """
    components, count = ndimage.label(lesions, structure=np.ones((3, 3, 3)))
    line = centreline(cord | lesions.astype(bool), geometry)
    records = [_lesion_record(components == n, line, geometry, level_landmarks) for n in range(1, count + 1)]
    records.sort(key=lambda record: record["_order"])
    for index, record in enumerate(records, start=1):
        record.pop("_order")
        record["index"] = index
    return records


def _lesion_record(lesion: np.ndarray, line: Centreline, geometry: Geometry, landmarks) -> dict:
    voxels = np.argwhere(lesion)  # (k, j, i)
    centroid = (geometry.ijk_to_ras() @ np.array([*voxels.mean(axis=0)[::-1], 1.0]))[:3]
    along = line.distance_at(voxels[:, 0].astype(float))
    cosine = float(np.interp(voxels[:, 0].mean(), line.slices, line.cosines))
    per_slice = np.bincount(voxels[:, 0])
    level = estimate_level(centroid, landmarks) if landmarks else None
    return {"_order": float(voxels[:, 0].mean()),
            "volume_mm3": round(float(len(voxels) * voxel_volume_mm3(geometry)), 2),
            "centroid_ras": [round(float(v), 2) for v in centroid],
            "length_mm": round(float(along.max() - along.min() + geometry.spacing[2] / max(cosine, 1e-3)), 2),
            "largest_axial_area_mm2": round(float(per_slice.max() * slice_pixel_area_mm2(geometry)), 2),
            "vertebral_level": level,
            "vertebral_level_source": "estimated from vertebral landmarks" if level else None}


def estimate_level(point_ras: np.ndarray, landmarks: list[tuple[np.ndarray, int]]) -> str | None:
    """Vertebral level name at ``point_ras`` by linear interpolation of landmark levels along S.

    ``landmarks``: (RAS point, level number) pairs, level 2 = C2, 8 = T1 (as in SCT label files).
    Beyond the landmarks the nearest one is used; an estimate, not a reading.
    """
    if not landmarks:
        return None
    ordered = sorted(landmarks, key=lambda pair: pair[0][2])
    heights = np.array([p[0][2] for p in ordered])
    levels = np.array([p[1] for p in ordered], float)
    level = int(np.round(np.interp(point_ras[2], heights, levels)))
    return LEVEL_NAMES.get(level, str(level))


def landmarks_from_labels(labels: np.ndarray, geometry: Geometry) -> list[tuple[np.ndarray, int]]:
    """(RAS centroid, level) of each non-zero value of a vertebral label array ``[k, j, i]``."""
    matrix = geometry.ijk_to_ras()
    return [((matrix @ np.array([*np.argwhere(labels == value).mean(axis=0)[::-1], 1.0]))[:3], int(value))
            for value in np.unique(labels[labels > 0])]
