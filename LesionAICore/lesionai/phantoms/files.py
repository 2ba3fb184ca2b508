"""Writing generated sample inputs without ever replacing a file someone else made.

Phantoms are deterministic, so writing one again gives the same bytes: an existing file with the
same content is kept as it is, one with other content is refused.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from ..errors import InputError
from ..geometry import Image
from ..imageio import write_image


def write_new(path: Path, content: bytes) -> Path:
    """Write ``content`` to ``path`` unless a different file already has that name."""
    path = Path(path)
    if path.exists():
        if path.read_bytes() == content:
            return path
        raise InputError(f"{path} exists with other content; choose an empty output folder for the demo")
    path.write_bytes(content)
    return path


def write_new_image(path: Path, image: Image) -> Path:
    """``image`` in the format of ``path``'s suffix (NRRD, NIfTI, ...), as :func:`write_new` does."""
    path = Path(path)
    scratch = path.with_name(f".{path.name}.tmp{''.join(path.suffixes)}")
    write_image(image, scratch)
    content = scratch.read_bytes()
    scratch.unlink()
    return write_new(path, content)


def png_bytes(plane: np.ndarray) -> bytes:
    """An 8-bit grey plane ``[row, column]`` as PNG file content."""
    buffer = io.BytesIO()
    PILImage.fromarray(plane).save(buffer, format="PNG")
    return buffer.getvalue()
