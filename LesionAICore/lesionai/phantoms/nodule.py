"""Generated chest-CT regions with a lung nodule of known extent, for demos and tests of NoduleFusion.

The phantom is a block of lung: parenchyma at about -850 HU with smooth texture and noise, a few
branching vessels (soft tissue, about +40 HU, partial-volume edges), optionally a chest wall, and one
lobulated ellipsoidal nodule:

* ``"ground-glass"``: -700 ... -450 HU, vessels and texture still visible through it;
* ``"part-solid"``: a ground-glass nodule with a solid core (about +30 HU, above -300 HU);
* ``"solid"``: soft tissue throughout.

``mask`` / ``solid_mask`` are the voxels at least half inside the nodule / its solid core. The same
nodule can be blended into real CT with :func:`insert_nodule`.

>>> phantom = generate_nodule_phantom(seed=1, kind="part-solid")
>>> phantom.mask.array.sum() > phantom.solid_mask.array.sum() > 0
True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..geometry import Geometry, Image

KINDS = ("ground-glass", "part-solid", "solid")
LUNG_HU = -850.0
SOFT_TISSUE_HU = 40.0
FAT_HU = -100.0
SOLID_CORE_HU = 30.0


@dataclass
class NodulePhantom:
    """A CT block in HU (``image``, int16) with the nodule's ``mask`` and ``solid_mask`` (uint8 0/1,
    same grid), the nodule centre ``center_ras`` (mm), its ``kind`` and nominal ``diameter_mm``."""

    image: Image
    mask: Image
    solid_mask: Image
    center_ras: np.ndarray
    kind: str
    diameter_mm: float
    solid_fraction: float


def generate_nodule_phantom(seed: int = 0, kind: str = "ground-glass", shape=(40, 96, 96),
                            spacing=(0.7, 0.7, 1.25), diameter_mm: float | None = None,
                            chest_wall: bool = False, solid_fraction: float | None = None,
                            vessels: int = 6) -> NodulePhantom:
    """A lung block of ``shape`` (``[k, j, i]``) at ``spacing`` (mm, i j k) with one nodule at its centre.

    ``diameter_mm`` defaults to a random 6-20 mm; part-solid cores span ``solid_fraction`` of it
    (default random 30-70 %). ``vessels``: how many vessel segments cross the block.
    """
    _check_kind(kind)
    rng = np.random.default_rng(seed)
    geometry = Geometry(spacing=tuple(spacing), origin=(-(shape[2] - 1) * spacing[0] / 2,
                                                         -(shape[1] - 1) * spacing[1] / 2, -(shape[0] - 1) * spacing[2] / 2))
    lung = lung_block(shape, geometry, rng, chest_wall, vessels)
    center = (geometry.ijk_to_ras() @ np.append((np.asarray(shape[::-1]) - 1) / 2, 1.0))[:3]
    return insert_nodule(Image(lung, geometry), center, kind, diameter_mm or float(rng.uniform(6, 20)), seed,
                         solid_fraction)


def insert_nodule(ct: Image, center_ras, kind: str = "ground-glass", diameter_mm: float = 10.0,
                  seed: int = 0, solid_fraction: float | None = None) -> NodulePhantom:
    """``ct`` (HU) with a nodule of ``kind`` and ``diameter_mm`` blended in at ``center_ras`` (mm)."""
    _check_kind(kind)
    rng = np.random.default_rng(seed + 7919)
    distance = _lobulated_distance(ct.geometry, ct.array.shape, center_ras, diameter_mm / 2, rng)
    voxel = min(ct.geometry.spacing)
    fraction = np.clip(0.5 - distance / voxel, 0.0, 1.0)
    core_fraction = {"ground-glass": 0.0, "solid": 1.0}.get(kind, solid_fraction or float(rng.uniform(0.3, 0.7)))
    core = np.clip(0.5 - (distance + (1 - core_fraction) * diameter_mm / 2) / voxel, 0.0, 1.0)
    nodule_hu = _nodule_values(ct.array.shape, rng, kind, core)
    image = ct.array.astype(np.float32) * (1 - fraction) + nodule_hu * fraction
    masks = [(f >= 0.5).astype(np.uint8) for f in (fraction, core if core_fraction > 0 else np.zeros_like(core))]
    return NodulePhantom(ct.with_array(np.round(image).astype(np.int16)), ct.with_array(masks[0]),
                         ct.with_array(masks[1]), np.asarray(center_ras, dtype=float), kind, diameter_mm, core_fraction)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"nodule kind {kind!r}; expected one of {KINDS}")


def lung_block(shape, geometry: Geometry, rng: np.random.Generator, chest_wall: bool = False,
               vessels: int = 6) -> np.ndarray:
    """Float32 HU of lung parenchyma with texture, noise and vessels (optionally a chest wall)."""
    spacing_kji = np.asarray(geometry.spacing[::-1])
    texture = ndimage.gaussian_filter(rng.standard_normal(shape), 1.5 / spacing_kji) * 18 / 0.12
    block = LUNG_HU + np.clip(texture, -80, 80) + rng.normal(0, 18, shape)
    vessel = _vessel_fraction(shape, spacing_kji, rng, vessels)
    block = block * (1 - vessel) + SOFT_TISSUE_HU * vessel
    if chest_wall:
        block = _with_chest_wall(block, spacing_kji, rng)
    return block.astype(np.float32)


def _vessel_fraction(shape, spacing_kji, rng: np.random.Generator, count: int = 6) -> np.ndarray:
    """0-1 partial-volume fraction of a few straight vessel segments (radius 0.6-1.8 mm)."""
    points = np.stack(np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing_kji)], indexing="ij"), -1)
    extent = np.asarray(shape) * spacing_kji
    fraction = np.zeros(shape, dtype=np.float32)
    for _ in range(count):
        start, direction = rng.uniform(0, 1, 3) * extent, rng.standard_normal(3)
        direction /= np.linalg.norm(direction)
        offset = points - start
        radial = np.linalg.norm(offset - (offset @ direction)[..., None] * direction, axis=-1)
        fraction = np.maximum(fraction, np.clip(0.5 - (radial - rng.uniform(0.6, 1.8)) / spacing_kji.min(), 0, 1))
    return fraction


def _with_chest_wall(block: np.ndarray, spacing_kji, rng: np.random.Generator) -> np.ndarray:
    """Soft tissue and fat over the last 15-25 % of the columns (the patient's side)."""
    columns = block.shape[2]
    start = int(columns * rng.uniform(0.75, 0.85))
    wall = np.full(block.shape[:2] + (columns - start,), SOFT_TISSUE_HU, dtype=np.float64)
    wall[..., wall.shape[2] // 2:] = FAT_HU
    block[..., start:] = wall + rng.normal(0, 15, wall.shape)
    return block


def _lobulated_distance(geometry: Geometry, shape, center_ras, radius_mm: float, rng: np.random.Generator) -> np.ndarray:
    """Signed distance (mm, negative inside) to a randomly stretched, lobulated ellipsoid surface."""
    kji = np.indices(shape).reshape(3, -1)[::-1]
    ras = (geometry.ijk_to_ras() @ np.vstack([kji, np.ones(kji.shape[1])]))[:3].T - np.asarray(center_ras)
    axes = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    stretch = rng.uniform(0.8, 1.2, 3)
    local = (ras @ axes) / stretch
    norm = np.linalg.norm(local, axis=1)
    unit = local / np.maximum(norm, 1e-6)[:, None]
    lobes = 1 + 0.08 * np.sin(3 * np.arctan2(unit[:, 1], unit[:, 0]) + rng.uniform(0, 6)) * np.sqrt(1 - unit[:, 2] ** 2)
    return ((norm - radius_mm * lobes) * stretch.min()).reshape(shape)


def _nodule_values(shape, rng: np.random.Generator, kind: str, core: np.ndarray) -> np.ndarray:
    """HU of the nodule's material: ground glass (textured, -700 ... -450) blended with the solid core."""
    level = rng.uniform(-650, -500) if kind != "solid" else SOLID_CORE_HU
    glass = level + ndimage.gaussian_filter(rng.standard_normal(shape), 1.0) * 40 / 0.2 + rng.normal(0, 15, shape)
    glass = np.clip(glass, -720, -430) if kind != "solid" else glass
    return (glass * (1 - core) + (SOLID_CORE_HU + rng.normal(0, 15, shape)) * core).astype(np.float32)


def phantom_inputs(folder: Path, count: int) -> list[Path]:
    """Write ``count`` nodule crops for the demo (ground-glass, part-solid, solid in turn) as NIfTI.

    No vessel crosses these blocks, so each nodule's components are those of its kind (a vessel
    touching a nodule counts as solid tissue)."""
    from .files import write_new_image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        phantom = generate_nodule_phantom(seed=index + 1, kind=kind, shape=(24, 64, 64), vessels=0)
        paths.append(write_new_image(folder / f"phantom-{index + 1}-{kind}.nii.gz", nodule_crop(phantom)[0]))
    return paths


def nodule_crop(phantom: NodulePhantom, margin_mm: float = 10.0) -> tuple[Image, Image]:
    """(CT, mask) cut as the LIDC crops are: the mask's slices, ``margin_mm`` of context in-plane."""
    present = np.argwhere(phantom.mask.array > 0)
    low, high = present.min(0), present.max(0) + 1
    margin = np.ceil(margin_mm / np.asarray(phantom.image.geometry.spacing[::-1])).astype(int)
    margin[0] = 0
    low, high = np.maximum(low - margin, 0), np.minimum(high + margin, phantom.mask.array.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(low, high))
    origin = phantom.image.geometry.ijk_to_ras() @ np.append(low[::-1].astype(float), 1.0)
    geometry = Geometry(phantom.image.geometry.spacing, tuple(origin[:3]), phantom.image.geometry.direction)
    return Image(phantom.image.array[box], geometry), Image(phantom.mask.array[box], geometry)


def write_nodule_dataset(folder: Path, count: int, seed: int = 0) -> Path:
    """A small development set in the LIDC layout (``cases.csv``, ``images/``, ``masks/``) of phantoms.

    Half the patients go to ``train``, the rest to ``val``; for tests of the training recipes.
    """
    from ..imageio import write_image

    folder = Path(folder)
    for sub in ("images", "masks"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    rows = [_dataset_row(folder, index, seed, count, write_image) for index in range(count)]
    header = "id,patient_id,dev_split,image,mask,diameter_mm,texture_value,malignancy_value\n"
    (folder / "cases.csv").write_text(header + "".join(rows))
    return folder


def _dataset_row(folder: Path, index: int, seed: int, count: int, write_image) -> str:
    kind = KINDS[index % len(KINDS)]
    phantom = generate_nodule_phantom(seed=seed + index, kind=kind, shape=(24, 56, 56), diameter_mm=float(6 + index % 8))
    image, mask = nodule_crop(phantom)
    case = f"PHANTOM-{index:04d}_R_1"
    write_image(image, folder / "images" / f"{case}.nii.gz")
    write_image(mask, folder / "masks" / f"{case}.nii.gz")
    split = "train" if index < (count + 1) // 2 else "val"
    texture = {"ground-glass": 1, "part-solid": 3, "solid": 5}[kind]
    return (f"{case},PHANTOM-{index:04d},{split},images/{case}.nii.gz,masks/{case}.nii.gz,"
            f"{phantom.diameter_mm:.3f},{texture},{1 + index % 5}\n")
