"""Reading and writing images without losing their place in the world.

Every reader returns an :class:`~lesionai.geometry.Image`: an array ``[k, j, i]`` plus RAS geometry
and a small metadata dictionary. Accepted inputs:

* DICOM files (single-frame, any photometric interpretation, compressed transfer syntaxes decoded by
  pydicom with pylibjpeg) and folders holding one DICOM series (built into a 3D volume);
* PNG, JPEG, TIFF and BMP pictures (grey, 16-bit grey, RGB/RGBA and palette pictures become grey);
* NRRD, NIfTI and MetaImage files through SimpleITK.

Pixel values: DICOM and pictures become float32. DICOM values have the modality LUT applied
(RescaleSlope/RescaleIntercept) and MONOCHROME1 images are inverted so that higher always means
denser/brighter, as in MONOCHROME2. Colour becomes luma (0.299 R + 0.587 G + 0.114 B). NRRD/NIfTI/
MetaImage files keep integer pixel types (label maps stay labels); floating types become float32.

Metadata keys always present: ``source_path``, ``format`` ("dicom", "png", "jpeg", "tiff", "bmp",
"nrrd", "nifti", "metaimage") and ``pixel_spacing_known``. DICOM adds, where the file has them:
``modality``, ``view_position``, ``photometric_interpretation`` (as stored, before inversion),
``patient_orientation``, ``body_part``, ``study_instance_uid``, ``series_instance_uid``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .dicom import read_dicom_file, read_dicom_folder
from .errors import InputError, first_line
from .geometry import Geometry, Image, lps_to_ras, radiograph_geometry
from .pixels import LUMA_WEIGHTS, luma

__all__ = ["read_image", "write_image", "image_to_sitk", "image_from_sitk"]

PICTURE_FORMATS = {"png": "png", "jpeg": "jpeg", "tiff": "tiff", "bmp": "bmp"}
SITK_SUFFIXES = {".nrrd": "nrrd", ".nhdr": "nrrd", ".nii": "nifti", ".nii.gz": "nifti",
                 ".mha": "metaimage", ".mhd": "metaimage"}


# --------------------------------------------------------------------------------------------
# Entry points


def read_image(path, series: bool = False) -> Image:
    """Read a DICOM file or series folder, a picture, or an NRRD/NIfTI/MetaImage file.

    Returns an :class:`Image` with array ``[k, j, i]`` and RAS geometry; a radiograph has shape
    ``(1, rows, cols)``. With ``series``, a 4D NIfTI/NRRD/MetaImage file (e.g. DWI, fMRI) is read
    whole: array ``[t, k, j, i]``, the geometry of one volume and ``metadata["volumes"]`` = t;
    without it a 4D file is refused. Raises :class:`InputError` naming the file when it is missing,
    not an image, corrupt, truncated or empty, and :class:`DependencyError` when a decoder is missing.

    >>> read_image("chest.dcm").array.shape          # doctest: +SKIP
    (1, 2048, 2048)
    """
    path = Path(path)
    if not path.exists():
        raise InputError(_missing_input_message(path))
    if path.is_dir():
        return read_dicom_folder(path)
    kind = _file_kind(path)
    if kind in SITK_SUFFIXES.values():
        return _read_sitk_file(path, kind, series)
    if kind in PICTURE_FORMATS:
        return _read_picture(path, kind)
    return read_dicom_file(path)


def _missing_input_message(path: Path) -> str:
    """Why ``path`` cannot be opened: a symbolic link loop, a broken link, or nothing there."""
    import errno
    import os

    if not path.is_symlink():
        return f"Input file not found: {path}"
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return f"{path} is a symbolic link loop (the link leads back to itself); point it at the image"
    return f"{path} is a broken symbolic link: its target {os.readlink(path)} does not exist"


def write_image(image: Image, path) -> Path:
    """Write ``image`` with its geometry to ``.nrrd``, ``.nii(.gz)`` or ``.mha/.mhd`` (compressed).

    Integer arrays keep their type, so label maps stay label maps. Returns the written path.
    ``.nrrd`` files are written directly (:mod:`lesionai.nrrd`: fast, no copy of the array); the
    other formats through SimpleITK.
    """
    path = Path(path)
    if _sitk_kind(path) is None:
        raise InputError(f"Cannot write {path.name}: use a .nrrd, .nii.gz, .nii or .mha file name")
    if path.name.lower().endswith(".nrrd"):
        return _write_nrrd_file(image, path)
    import SimpleITK as sitk

    try:
        sitk.WriteImage(image_to_sitk(image), str(path), useCompression=True)
    except RuntimeError as error:
        raise InputError(f"Could not write image to {path}: {first_line(error)}") from error
    return path


def _write_nrrd_file(image: Image, path: Path) -> Path:
    from .nrrd import write_nrrd

    if image.array.ndim != 3:
        raise ValueError(f"Image array must be [k, j, i]; got shape {image.array.shape}")
    try:
        return write_nrrd(path, [image.array], image.geometry)
    except OSError as error:
        raise InputError(f"Could not write image to {path}: {error.strerror or error}") from error


def image_to_sitk(image: Image):
    """A 3D SimpleITK image (LPS) holding ``image`` (RAS); booleans are stored as uint8."""
    import SimpleITK as sitk

    array = image.array
    if array.ndim != 3:
        raise ValueError(f"Image array must be [k, j, i]; got shape {array.shape}")
    if array.dtype == bool:
        array = array.astype(np.uint8)
    sitk_image = sitk.GetImageFromArray(np.ascontiguousarray(array))
    geometry = image.geometry
    sitk_image.SetSpacing(geometry.spacing)
    sitk_image.SetOrigin(tuple(lps_to_ras(geometry.origin)))
    sitk_image.SetDirection(tuple(lps_to_ras(geometry.direction).ravel()))
    return sitk_image


def image_from_sitk(sitk_image, metadata: dict | None = None) -> Image:
    """An :class:`Image` (RAS) from a 2D or 3D scalar SimpleITK image (LPS); dtype is kept.

    A 2D image becomes a single slice whose normal is the LPS z axis.
    """
    import SimpleITK as sitk

    dimension = sitk_image.GetDimension()
    if dimension not in (2, 3):
        raise ValueError(f"Expected a 2D or 3D image; got {dimension}D")
    array = sitk.GetArrayFromImage(sitk_image)
    spacing = np.ones(3)
    origin = np.zeros(3)
    direction = np.eye(3)
    spacing[:dimension] = sitk_image.GetSpacing()
    origin[:dimension] = sitk_image.GetOrigin()
    direction[:dimension, :dimension] = np.reshape(sitk_image.GetDirection(), (dimension,) * 2)
    if dimension == 2:
        array = array[np.newaxis]
    geometry = Geometry(tuple(spacing), tuple(lps_to_ras(origin)), lps_to_ras(direction))
    return Image(array, geometry, dict(metadata or {}))


# --------------------------------------------------------------------------------------------
# Format detection


def _file_kind(path: Path) -> str:
    """'nrrd'/'nifti'/'metaimage' by suffix, picture formats by signature, else 'dicom'."""
    sitk_kind = _sitk_kind(path)
    if sitk_kind:
        return sitk_kind
    with open(path, "rb") as stream:
        head = stream.read(132)
    if head[128:132] == b"DICM":  # checked first: a DICOM preamble may itself look like TIFF
        return "dicom"
    if head.startswith(b"\x89PNG"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head.startswith(b"BM"):
        return "bmp"
    if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"):
        raise InputError(f"{path} is not a readable {path.suffix} picture (its signature is wrong)")
    return "dicom"


def _sitk_kind(path: Path) -> str | None:
    name = path.name.lower()
    return next((kind for suffix, kind in SITK_SUFFIXES.items() if name.endswith(suffix)), None)




# --------------------------------------------------------------------------------------------
# NRRD / NIfTI / MetaImage


def _read_sitk_file(path: Path, kind: str, series: bool = False) -> Image:
    import SimpleITK as sitk

    try:
        sitk_image = sitk.ReadImage(str(path))
    except RuntimeError as error:
        raise InputError(f"{path} is not a readable {kind} file: {first_line(error)}") from error
    if series and sitk_image.GetDimension() == 4 and sitk_image.GetSize()[3] > 1:
        return _read_volume_series(sitk_image, path, kind)
    sitk_image = _squeeze_to_3d(sitk_image, path)
    if sitk_image.GetNumberOfComponentsPerPixel() > 1:
        sitk_image = _sitkluma(sitk_image, path)
    image = image_from_sitk(sitk_image, {"source_path": str(path), "format": kind,
                                         "pixel_spacing_known": True})
    if not np.issubdtype(image.array.dtype, np.integer):
        image.array = image.array.astype(np.float32)
    _require_pixels(image.array, path)
    return image


def _read_volume_series(sitk_image, path: Path, kind: str) -> Image:
    """A 4D file as one :class:`Image`: array ``[t, k, j, i]`` on the grid of its first volume."""
    import SimpleITK as sitk

    size = list(sitk_image.GetSize())
    volumes = [sitk.Extract(sitk_image, size[:3] + [0], [0, 0, 0, t]) for t in range(size[3])]
    first = image_from_sitk(volumes[0], {"source_path": str(path), "format": kind, "pixel_spacing_known": True,
                                         "volumes": size[3]})
    array = np.stack([sitk.GetArrayFromImage(volume) for volume in volumes])
    if not np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.float32)
    _require_pixels(array, path)
    return Image(array, first.geometry, first.metadata)


def _squeeze_to_3d(sitk_image, path: Path):
    """Drop a trailing singleton 4th axis; reject genuine 4D images."""
    if sitk_image.GetDimension() <= 3:
        return sitk_image
    size = list(sitk_image.GetSize())
    if sitk_image.GetDimension() > 4 or size[3] != 1:
        raise InputError(f"{path} is a {sitk_image.GetDimension()}D image of size {size}; "
                         "LesionAI reads 2D and 3D images only")
    import SimpleITK as sitk

    return sitk.Extract(sitk_image, size[:3] + [0], [0, 0, 0, 0])


def _sitkluma(sitk_image, path: Path):
    import SimpleITK as sitk

    components = sitk_image.GetNumberOfComponentsPerPixel()
    if components not in (3, 4):
        raise InputError(f"{path} has {components} values per voxel; expected a scalar image")
    rgb = sitk.GetArrayFromImage(sitk_image)[..., :3].astype(np.float64)
    grey = sitk.GetImageFromArray((rgb @ LUMA_WEIGHTS).astype(np.float32))
    grey.CopyInformation(sitk_image)
    return grey


def _require_pixels(array: np.ndarray, path: Path) -> None:
    if array.size == 0:
        raise InputError(f"{path} holds an empty image (shape {tuple(array.shape)}, no pixels)")


# --------------------------------------------------------------------------------------------
# Pictures (PNG, JPEG, TIFF, BMP)


def _read_picture(path: Path, kind: str) -> Image:
    if kind == "png" and _is_16_bit_colour_png(path):
        return _read_16_bit_colour_png(path)
    from PIL import Image as PILImage
    from PIL import ImageOps, UnidentifiedImageError

    try:
        with PILImage.open(path) as picture:
            if getattr(picture, "n_frames", 1) > 1:
                raise InputError(f"{path} holds {picture.n_frames} pages; expected one 2D image")
            picture.load()
            picture = ImageOps.exif_transpose(picture)
            grey = _picture_to_grey(picture)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InputError(f"{path} is a corrupt or unreadable {kind.upper()} file: "
                         f"{first_line(error)}") from error
    _require_pixels(grey, path)
    metadata = {"source_path": str(path), "format": kind, "pixel_spacing_known": False}
    return Image(grey[np.newaxis], radiograph_geometry((1.0, 1.0)), metadata)


def _is_16_bit_colour_png(path: Path) -> bool:
    """True for a PNG whose header says 16 bits per sample in RGB or RGBA (Pillow would keep 8)."""
    with open(path, "rb") as handle:
        header = handle.read(26)
    return len(header) == 26 and header[12:16] == b"IHDR" and header[24] == 16 and header[25] in (2, 6)


def _read_16_bit_colour_png(path: Path) -> Image:
    """A 16-bit RGB(A) PNG as grey luma with its full 16-bit range (read by ITK's PNG reader)."""
    import SimpleITK as sitk

    try:
        colour = sitk.GetArrayFromImage(sitk.ReadImage(str(path), sitk.sitkVectorUInt16))
    except RuntimeError as error:
        raise InputError(f"{path} is a corrupt or unreadable PNG file: {first_line(error)}") from error
    grey = luma(colour.astype(np.float64))
    _require_pixels(grey, path)
    metadata = {"source_path": str(path), "format": "png", "pixel_spacing_known": False, "bits_stored": 16}
    return Image(grey[np.newaxis], radiograph_geometry((1.0, 1.0)), metadata)


def _picture_to_grey(picture) -> np.ndarray:
    """float32 [rows, cols] from any Pillow mode; colour becomes luma, alpha is ignored."""
    if picture.mode in ("1", "L", "I", "F") or picture.mode.startswith("I;16"):
        return np.asarray(picture).astype(np.float32)
    if picture.mode in ("LA", "La"):
        return np.asarray(picture)[..., 0].astype(np.float32)
    rgb = np.asarray(picture.convert("RGB"), dtype=np.float64)
    return luma(rgb)
