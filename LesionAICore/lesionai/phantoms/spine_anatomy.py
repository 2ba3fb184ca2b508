"""The anatomy of the spine phantom as smooth functions of height, in patient millimetres.

Coordinates are RAS millimetres of the patient: x to the patient's right, y anterior, z superior.
z = 0 is the top of the C2 vertebral body; the spine runs down to negative z. Everything that
varies along the spine (canal centre, cord and canal semi-axes, vertebral levels) is a function of
z alone, so the renderer evaluates it once per height and broadcasts across the plane.

Sizes follow adult averages: cord about 7-8 mm antero-posterior (AP) by 10-13 mm left-right (LR)
at cervical levels with the cervical enlargement at C5-C6, about 6.5 x 8 mm in the thoracic
spine, the lumbar enlargement at T11-T12 and the conus ending near L1-L2; cervical and lumbar
lordosis, thoracic kyphosis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEVEL_NAMES = tuple([f"C{n}" for n in range(2, 8)] + [f"T{n}" for n in range(1, 13)]
                    + [f"L{n}" for n in range(1, 6)] + ["S1"])
# Vertebral body and disc heights (mm) per region: cervical, thoracic, lumbar/sacral.
_BODY_HEIGHT = {"C": 14.0, "T": 19.0, "L": 27.0, "S": 30.0}
_DISC_HEIGHT = {"C": 5.0, "T": 5.5, "L": 10.0, "S": 0.0}
# Vertebral body semi-axes (LR, AP) in mm.
_BODY_SEMI_AXES = {"C": (9.0, 8.0), "T": (14.0, 12.5), "L": (22.0, 16.0), "S": (24.0, 16.0)}
# Where each region's field of view is centred: between which levels (fraction along the body).
REGION_CENTRES = {"cervical": ("C5", 0.0), "thoracic": ("T7", 0.5), "lumbar": ("L2", 0.0)}


@dataclass(frozen=True)
class SpineShape:
    """Per-subject anatomy drawn from a seed: level boundaries, curvature and size factors."""

    body_top: np.ndarray      # (levels,) z of each vertebral body's upper endplate, mm
    body_bottom: np.ndarray   # (levels,) z of its lower endplate, mm
    curve_gain: np.ndarray    # (3,) scale of cervical lordosis, thoracic kyphosis, lumbar lordosis
    cord_scale: float         # multiplies the cord's semi-axes
    canal_scale: float        # multiplies the canal's semi-axes

    def level_z(self, name: str, fraction: float = 0.5) -> float:
        """z (mm) of ``fraction`` of the way down level ``name``'s body (0 = top endplate)."""
        index = LEVEL_NAMES.index(name)
        return float(self.body_top[index] + fraction * (self.body_bottom[index] - self.body_top[index]))

    def canal_centre(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) mm of the spinal canal's centre at heights ``z``: the curved spine's axis."""
        bumps = ((self.level_z("C5"), 35.0, 9.0), (self.level_z("T7"), 110.0, -28.0), (self.level_z("L3"), 70.0, 22.0))
        y = sum(gain * amplitude * np.exp(-0.5 * ((z - centre) / width) ** 2)
                for (centre, width, amplitude), gain in zip(bumps, self.curve_gain))
        x = 1.5 * np.sin(z / 90.0) * self.curve_gain[0]
        return x, y

    def cord_semi_axes(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(LR, AP) semi-axes (mm) of the cord at heights ``z``; zero below the conus."""
        heights = [self.level_z(name, f) for name, f in (("C2", 0.0), ("C3", 0.5), ("C5", 0.7), ("C7", 0.5),
                                                           ("T2", 0.5), ("T8", 0.5), ("T11", 0.8), ("T12", 0.9),
                                                           ("L1", 0.7), ("L2", 0.0))]
        lr = [5.6, 5.8, 6.6, 5.6, 4.4, 4.0, 4.5, 4.3, 1.5, 0.0]
        ap = [4.0, 3.9, 4.0, 3.7, 3.3, 3.2, 3.6, 3.5, 1.3, 0.0]
        return (self.cord_scale * _interp_down(z, heights, lr), self.cord_scale * _interp_down(z, heights, ap))

    def canal_semi_axes(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(LR, AP) semi-axes (mm) of the spinal canal (dura) at heights ``z``."""
        heights = [self.level_z(name) for name in ("C2", "C5", "T1", "T6", "T12", "L3", "S1")]
        lr = [11.5, 12.0, 9.5, 8.0, 9.5, 11.5, 12.0]
        ap = [7.5, 7.0, 6.5, 7.0, 8.0, 8.5, 8.0]
        return (self.canal_scale * _interp_down(z, heights, lr), self.canal_scale * _interp_down(z, heights, ap))

    def cord_bottom(self) -> float:
        """z (mm) of the conus tip: the lowest height with cord."""
        return self.level_z("L2", 0.0)

    def levels_at(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of the level whose body or lower disc holds each ``z``, and whether it is in the body.

        Heights above C2 or below S1 get the nearest level (index clipped).
        """
        index = np.clip(np.searchsorted(-self.body_top, -z, side="right") - 1, 0, len(LEVEL_NAMES) - 1)
        in_body = (z <= self.body_top[index]) & (z >= self.body_bottom[index])
        return index, in_body

    def body_semi_axes(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(LR, AP) semi-axes (mm) of the vertebral bodies of levels ``index``."""
        table = np.array([_BODY_SEMI_AXES[name[0]] for name in LEVEL_NAMES])
        return table[index, 0], table[index, 1]


def random_spine_shape(rng: np.random.Generator) -> SpineShape:
    """A spine with level heights, curvature and cord size varied by about +-10%."""
    scale = rng.uniform(0.92, 1.08)
    tops, bottoms, z = [], [], 0.0
    for name in LEVEL_NAMES:
        height = _BODY_HEIGHT[name[0]] * scale * rng.uniform(0.95, 1.05)
        tops.append(z)
        bottoms.append(z - height)
        z -= height + _DISC_HEIGHT[name[0]] * scale * rng.uniform(0.85, 1.15)
    return SpineShape(np.array(tops), np.array(bottoms), rng.uniform(0.6, 1.3, 3),
                      float(rng.uniform(0.9, 1.1)), float(rng.uniform(0.93, 1.07)))


def _interp_down(z: np.ndarray, heights: list[float], values: list[float]) -> np.ndarray:
    """np.interp for control points listed from top (high z) to bottom."""
    return np.interp(z, heights[::-1], values[::-1]).astype(np.float32)
