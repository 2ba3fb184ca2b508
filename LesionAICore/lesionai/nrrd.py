"""NRRD files written straight from numpy arrays: gzip at a low level, a band of voxels at a time.

The header is the one ITK (SimpleITK, Slicer) writes and reads: ``space: left-posterior-superior``,
the IJK axes' ``space directions`` and the ``space origin`` in LPS millimetres, ``kinds: domain
domain domain``, then any ``key:=value`` fields. Several arrays on one grid are interleaved voxel by
voxel under a leading ``list`` axis (as Slicer's segmentation files hold their layers). Arrays are
``[k, j, i]`` with RAS geometry, as everywhere in LesionAI.

Unlike going through SimpleITK, nothing is copied: a band of about 8 MB is compressed at a time, so a
64-million-voxel label map is written with a few megabytes of memory on top of its own.

>>> write_nrrd("labels.nrrd", [labels.array], labels.geometry)  # doctest: +SKIP
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .geometry import Geometry, ras_to_lps

__all__ = ["NRRD_TYPES", "write_nrrd"]

NRRD_TYPES = {np.dtype(np.int8): "signed char", np.dtype(np.uint8): "unsigned char",
              np.dtype(np.int16): "short", np.dtype(np.uint16): "unsigned short",
              np.dtype(np.int32): "int", np.dtype(np.uint32): "unsigned int",
              np.dtype(np.int64): "long long int", np.dtype(np.uint64): "unsigned long long int",
              np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
COMPRESSION_LEVEL = 1
BAND_BYTES = 8 << 20  # voxel bytes compressed per step


def write_nrrd(path, arrays: Sequence[np.ndarray], geometry: Geometry, fields: Sequence[tuple[str, str]] = (),
               compression_level: int = COMPRESSION_LEVEL) -> Path:
    """Write ``arrays`` (one or more ``[k, j, i]`` arrays of one shape and type; booleans as uint8)
    with ``geometry`` and the ``key:=value`` ``fields`` to a gzip-compressed ``.nrrd`` file.

    Raises ValueError for arrays that are not 3D, differ in shape or type, or have a type NRRD lacks.
    """
    arrays = [array.view(np.uint8) if array.dtype == bool else array for array in map(np.asarray, arrays)]
    _check_arrays(arrays)
    path = Path(path)
    with open(path, "wb") as stream:
        stream.write(_header(arrays, geometry, fields).encode("utf-8"))
        _write_voxels(stream, arrays, compression_level)
    return path


def _check_arrays(arrays: list[np.ndarray]) -> None:
    if not arrays or arrays[0].ndim != 3:
        raise ValueError(f"NRRD writing needs [k, j, i] arrays; got shape {arrays[0].shape if arrays else None}")
    if any(array.shape != arrays[0].shape or array.dtype != arrays[0].dtype for array in arrays):
        raise ValueError("Arrays written together must share one shape and one type")
    if arrays[0].dtype.newbyteorder("=") not in NRRD_TYPES:
        raise ValueError(f"NRRD has no voxel type for {arrays[0].dtype}")


def _header(arrays: list[np.ndarray], geometry: Geometry, fields: Sequence[tuple[str, str]]) -> str:
    sizes = list(arrays[0].shape[::-1])
    lps = ras_to_lps(geometry.ijk_to_ras()[:3])
    directions = " ".join(f"({','.join(number(v) for v in lps[:, axis])})" for axis in range(3))
    listed = len(arrays) > 1
    lines = ["NRRD0004", "# Complete NRRD file format specification at:",
             "# http://teem.sourceforge.net/nrrd/format.html",
             f"type: {NRRD_TYPES[arrays[0].dtype.newbyteorder('=')]}", f"dimension: {3 + listed}",
             "space: left-posterior-superior", f"sizes: {' '.join(map(str, [len(arrays)] * listed + sizes))}",
             f"space directions: {'none ' * listed}{directions}", f"kinds: {'list ' * listed}domain domain domain"]
    lines += ["endian: little"] if arrays[0].dtype.itemsize > 1 else []
    lines += ["encoding: gzip", f"space origin: ({','.join(number(v) for v in lps[:, 3])})"]
    lines += [f"{key}:={_escaped(value)}" for key, value in fields]
    return "\n".join(lines) + "\n\n"


def _write_voxels(stream, arrays: list[np.ndarray], level: int) -> None:
    """Gzip the arrays, interleaved voxel by voxel (array index fastest), slice by slice in bands of
    rows (no copy of a whole array, even of a non-contiguous view)."""
    # A gzip container, as NRRD wants. Run-length matching suits one label or heat map (long runs of one
    # value): smaller and faster than the default strategy there; interleaved arrays repeat with a longer
    # period, which only the default strategy finds.
    strategy = zlib.Z_RLE if len(arrays) == 1 else zlib.Z_DEFAULT_STRATEGY
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS, 8, strategy)
    little = arrays[0].dtype.newbyteorder("<")
    slices, rows, columns = arrays[0].shape
    band = max(1, BAND_BYTES // max(1, columns * len(arrays) * little.itemsize))
    for k in range(slices):
        for start in range(0, rows, band):
            parts = [array[k, start:start + band] for array in arrays]
            chunk = parts[0] if len(parts) == 1 else np.stack(parts, axis=-1)
            stream.write(compressor.compress(np.ascontiguousarray(chunk, dtype=little).tobytes()))
    stream.write(compressor.flush())


def number(value: float) -> str:
    """Shortest exact decimal of a float, without a trailing ``.0`` (``0.419921875``, ``-1``, ``0``)."""
    text = repr(float(value)) if value != 0 else "0"
    return text.removesuffix(".0")


def _escaped(value: str) -> str:
    """A ``key:=value`` value on one line (backslashes and newlines escaped as NRRD says)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n")
