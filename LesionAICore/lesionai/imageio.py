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

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DependencyError, InputError
from .geometry import Geometry, Image, geometry_from_ijk_to_ras, lps_to_ras, radiograph_geometry

__all__ = [
    "read_image",
    "write_image",
    "image_to_sitk",
    "image_from_sitk",
    "DisplayTransform",
    "to_display_orientation",
    "from_display_orientation",
]

PICTURE_FORMATS = {"png": "png", "jpeg": "jpeg", "tiff": "tiff", "bmp": "bmp"}
SITK_SUFFIXES = {".nrrd": "nrrd", ".nhdr": "nrrd", ".nii": "nifti", ".nii.gz": "nifti",
                 ".mha": "metaimage", ".mhd": "metaimage"}
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
SEGMENTATION_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
# Patient-orientation letters (DICOM C.7.6.1.1.1) as RAS unit vectors.
ORIENTATION_LETTERS = {"R": (1, 0, 0), "L": (-1, 0, 0), "A": (0, 1, 0), "P": (0, -1, 0),
                       "H": (0, 0, 1), "F": (0, 0, -1)}


# --------------------------------------------------------------------------------------------
# Entry points


def read_image(path) -> Image:
    """Read a DICOM file or series folder, a picture, or an NRRD/NIfTI/MetaImage file.

    Returns an :class:`Image` with array ``[k, j, i]`` and RAS geometry; a radiograph has shape
    ``(1, rows, cols)``. Raises :class:`InputError` naming the file when it is missing, not an
    image, corrupt, truncated or empty, and :class:`DependencyError` when a decoder is missing.

    >>> read_image("chest.dcm").array.shape          # doctest: +SKIP
    (1, 2048, 2048)
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"Input file not found: {path}")
    if path.is_dir():
        return _read_dicom_folder(path)
    kind = _file_kind(path)
    if kind in SITK_SUFFIXES.values():
        return _read_sitk_file(path, kind)
    if kind in PICTURE_FORMATS:
        return _read_picture(path, kind)
    return _read_dicom_file(path)


def write_image(image: Image, path) -> Path:
    """Write ``image`` with its geometry to ``.nrrd``, ``.nii(.gz)`` or ``.mha/.mhd`` (compressed).

    Integer arrays keep their type, so label maps stay label maps. Returns the written path.
    """
    import SimpleITK as sitk

    path = Path(path)
    if _sitk_kind(path) is None:
        raise InputError(f"Cannot write {path.name}: use a .nrrd, .nii.gz, .nii or .mha file name")
    try:
        sitk.WriteImage(image_to_sitk(image), str(path), useCompression=True)
    except RuntimeError as error:
        raise InputError(f"Could not write image to {path}: {_first_line(error)}") from error
    return path


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


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[-1] if text else type(error).__name__


# --------------------------------------------------------------------------------------------
# NRRD / NIfTI / MetaImage


def _read_sitk_file(path: Path, kind: str) -> Image:
    import SimpleITK as sitk

    try:
        sitk_image = sitk.ReadImage(str(path))
    except RuntimeError as error:
        raise InputError(f"{path} is not a readable {kind} file: {_first_line(error)}") from error
    sitk_image = _squeeze_to_3d(sitk_image, path)
    if sitk_image.GetNumberOfComponentsPerPixel() > 1:
        sitk_image = _sitk_luma(sitk_image, path)
    image = image_from_sitk(sitk_image, {"source_path": str(path), "format": kind,
                                         "pixel_spacing_known": True})
    if not np.issubdtype(image.array.dtype, np.integer):
        image.array = image.array.astype(np.float32)
    _require_pixels(image.array, path)
    return image


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


def _sitk_luma(sitk_image, path: Path):
    import SimpleITK as sitk

    components = sitk_image.GetNumberOfComponentsPerPixel()
    if components not in (3, 4):
        raise InputError(f"{path} has {components} values per voxel; expected a scalar image")
    rgb = sitk.GetArrayFromImage(sitk_image)[..., :3].astype(np.float64)
    luma = sitk.GetImageFromArray((rgb @ LUMA_WEIGHTS).astype(np.float32))
    luma.CopyInformation(sitk_image)
    return luma


def _require_pixels(array: np.ndarray, path: Path) -> None:
    if array.size == 0:
        raise InputError(f"{path} holds an empty image (shape {tuple(array.shape)}, no pixels)")


# --------------------------------------------------------------------------------------------
# Pictures (PNG, JPEG, TIFF, BMP)


def _read_picture(path: Path, kind: str) -> Image:
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
                         f"{_first_line(error)}") from error
    _require_pixels(grey, path)
    metadata = {"source_path": str(path), "format": kind, "pixel_spacing_known": False}
    return Image(grey[np.newaxis], radiograph_geometry((1.0, 1.0)), metadata)


def _picture_to_grey(picture) -> np.ndarray:
    """float32 [rows, cols] from any Pillow mode; colour becomes luma, alpha is ignored."""
    if picture.mode in ("1", "L", "I", "F") or picture.mode.startswith("I;16"):
        return np.asarray(picture).astype(np.float32)
    if picture.mode in ("LA", "La"):
        return np.asarray(picture)[..., 0].astype(np.float32)
    rgb = np.asarray(picture.convert("RGB"), dtype=np.float64)
    return _luma(rgb)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., :3] @ LUMA_WEIGHTS).astype(np.float32)


# --------------------------------------------------------------------------------------------
# DICOM files


def _read_dicom_file(path: Path) -> Image:
    dataset = _read_dicom_dataset(path)
    _require_single_frame_image(dataset, path)
    pixels = _dicom_pixels(dataset, path)
    geometry, spacing_known = _dicom_slice_geometry(dataset)
    metadata = _dicom_metadata(dataset, path, spacing_known)
    return Image(pixels[np.newaxis], geometry, metadata)


def _read_dicom_dataset(path: Path, stop_before_pixels: bool = False):
    """The pydicom dataset of ``path``; InputError when it is not DICOM or is cut short."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(path, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError:
        return _read_dicom_without_preamble(path, stop_before_pixels)
    except Exception as error:  # pydicom raises many types on truncated/corrupt files
        raise InputError(f"{path} is a truncated or corrupt DICOM file: "
                         f"{_first_line(error)}") from error


def _read_dicom_without_preamble(path: Path, stop_before_pixels: bool):
    """Old DICOM files lack the 128-byte preamble; accept them only if they look like images."""
    import pydicom

    not_dicom = InputError(f"{path} is not a DICOM file or a supported image format "
                           "(DICOM, PNG, JPEG, TIFF, BMP, NRRD, NIfTI, MHA)")
    try:
        dataset = pydicom.dcmread(path, force=True, stop_before_pixels=stop_before_pixels)
        looks_like_image = "SOPClassUID" in dataset and "Rows" in dataset
    except Exception as error:
        raise not_dicom from error
    if not looks_like_image:
        raise not_dicom
    return dataset


def _require_single_frame_image(dataset, path: Path) -> None:
    sop_class = str(_dicom_sop_class(dataset))
    if sop_class == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in dataset:
        raise InputError(f"{path} is a DICOMDIR index, not an image; open the series folder "
                         "or one of its image files instead")
    if sop_class == SEGMENTATION_SOP_CLASS or dataset.get("Modality") == "SEG":
        raise InputError(f"{path} is a DICOM Segmentation object, not an image; load the "
                         "image series it refers to")
    if "PixelData" not in dataset and "FloatPixelData" not in dataset:
        raise InputError(f"{path} is a DICOM {_sop_class_name(sop_class)} object without "
                         "pixel data: it is not an image, or the file is truncated")
    if int(dataset.get("Rows", 0) or 0) * int(dataset.get("Columns", 0) or 0) == 0:
        raise InputError(f"{path} holds an empty image (Rows x Columns = "
                         f"{dataset.get('Rows', 0)} x {dataset.get('Columns', 0)}, no pixels)")
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise InputError(f"{path} is a multi-frame DICOM object ({frames} frames); LesionAI "
                         "reads single-frame images and series folders. Convert it to NRRD first")


def _dicom_sop_class(dataset) -> str:
    meta = getattr(dataset, "file_meta", None)
    return str(dataset.get("SOPClassUID", "") or (meta.get("MediaStorageSOPClassUID", "")
                                                   if meta is not None else ""))


def _sop_class_name(sop_class: str) -> str:
    from pydicom.uid import UID

    return UID(sop_class).name if sop_class else "(unknown class)"


def _dicom_pixels(dataset, path: Path) -> np.ndarray:
    """float32 [rows, cols] on the MONOCHROME2 convention, modality LUT applied."""
    raw = _decoded_pixels(dataset, path)
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        try:
            coloured = apply_color_lut(raw, dataset)
        except (ValueError, KeyError, AttributeError) as error:
            raise InputError(f"{path}: PALETTE COLOR image whose colour palette cannot be read ({error})") from error
        return _luma(coloured.astype(np.float64))
    if raw.ndim == 3:  # pydicom hands colour (RGB or converted YBR) as [rows, cols, 3]
        return _luma(raw.astype(np.float64))
    values = _apply_modality_lut(raw, dataset)
    if photometric == "MONOCHROME1":
        low, high = _stored_value_range(dataset)
        values = low + high - values
    return values.astype(np.float32)


def _decoded_pixels(dataset, path: Path) -> np.ndarray:
    try:
        return dataset.pixel_array
    except (RuntimeError, NotImplementedError) as error:
        if "missing" in str(error).lower() or "plugin" in str(error).lower():
            syntax = dataset.file_meta.get("TransferSyntaxUID", "unknown")
            raise DependencyError(
                f"Cannot decode {path}: transfer syntax {getattr(syntax, 'name', syntax)} needs "
                "a decoder; install pylibjpeg, pylibjpeg-libjpeg and pylibjpeg-openjpeg") from error
        raise InputError(f"{path} has pixel data that cannot be decoded: "
                         f"{_first_line(error)}") from error
    except Exception as error:
        raise InputError(f"{path} is a truncated or corrupt DICOM file (pixel data could not be "
                         f"read: {_first_line(error)})") from error


def _apply_modality_lut(raw: np.ndarray, dataset) -> np.ndarray:
    from pydicom.pixels import apply_modality_lut

    return np.asarray(apply_modality_lut(raw, dataset), dtype=np.float64)


def _stored_value_range(dataset) -> tuple[float, float]:
    """Lowest and highest value the stored bits can hold, after the modality LUT."""
    bits = int(dataset.get("BitsStored", dataset.get("BitsAllocated", 16)))
    if int(dataset.get("PixelRepresentation", 0)) == 1:
        extremes = np.array([-(2 ** (bits - 1)), 2 ** (bits - 1) - 1])
    else:
        extremes = np.array([0, 2**bits - 1])
    mapped = _apply_modality_lut(extremes, dataset)
    return float(mapped.min()), float(mapped.max())


def _dicom_slice_geometry(dataset) -> tuple[Geometry, bool]:
    """Geometry of one DICOM frame and whether its pixel spacing came from the file."""
    row_mm, col_mm, known = _dicom_pixel_spacing(dataset)
    if _has_patient_position(dataset):
        row_lps, col_lps = _orientation_vectors(dataset)
        normal = np.cross(row_lps, col_lps)
        thickness = float(dataset.get("SpacingBetweenSlices", 0) or dataset.get("SliceThickness", 0)
                          or 1.0)
        direction = lps_to_ras(np.column_stack([row_lps, col_lps, normal]))
        origin = lps_to_ras(np.asarray(dataset.ImagePositionPatient, dtype=float))
        return Geometry((col_mm, row_mm, abs(thickness)), tuple(origin), direction), known
    return _projection_geometry(dataset, row_mm, col_mm), known


def _dicom_pixel_spacing(dataset) -> tuple[float, float, bool]:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        values = dataset.get(keyword)
        if values is not None and len(values) == 2 and all(float(v) > 0 for v in values):
            return float(values[0]), float(values[1]), True
    return 1.0, 1.0, False


def _has_patient_position(dataset) -> bool:
    return (dataset.get("ImagePositionPatient") is not None
            and dataset.get("ImageOrientationPatient") is not None
            and len(dataset.ImageOrientationPatient) == 6)


def _orientation_vectors(dataset) -> tuple[np.ndarray, np.ndarray]:
    """LPS unit vectors of increasing column index (row direction) and increasing row index."""
    orientation = np.asarray(dataset.ImageOrientationPatient, dtype=float)
    row, col = orientation[:3], orientation[3:]
    lengths = np.linalg.norm(row), np.linalg.norm(col)
    if not np.isfinite(orientation).all() or min(lengths) < 1e-6 or abs(row @ col) > 1e-2 * lengths[0] * lengths[1]:
        raise InputError(f"ImageOrientationPatient {list(orientation)} does not give two perpendicular directions; "
                         "the file's orientation is damaged")
    return row / lengths[0], col / lengths[1]


def _projection_geometry(dataset, row_mm: float, col_mm: float) -> Geometry:
    """A projection radiograph's geometry: standard PA display unless PatientOrientation differs.

    PatientOrientation gives the patient directions of increasing column and row index (e.g.
    ``L\\F`` for the standard display); only the first letter of each is used.
    """
    default = radiograph_geometry((row_mm, col_mm))
    axes = _patient_orientation_axes(dataset.get("PatientOrientation"))
    if axes is None:
        return default
    column_axis, row_axis = axes
    direction = np.column_stack([column_axis, row_axis, np.cross(column_axis, row_axis)])
    return Geometry(default.spacing, default.origin, direction)


def _patient_orientation_axes(orientation) -> tuple[np.ndarray, np.ndarray] | None:
    if orientation is None or len(orientation) != 2:
        return None
    letters = [str(value).strip().upper()[:1] for value in orientation]
    if not all(letter in ORIENTATION_LETTERS for letter in letters):
        return None
    column_axis, row_axis = (np.array(ORIENTATION_LETTERS[letter], float) for letter in letters)
    if abs(column_axis @ row_axis) > 0:
        return None
    return column_axis, row_axis


def _dicom_metadata(dataset, path: Path, spacing_known: bool) -> dict:
    metadata = {"source_path": str(path), "format": "dicom", "pixel_spacing_known": spacing_known}
    fields = {"modality": "Modality", "view_position": "ViewPosition",
              "photometric_interpretation": "PhotometricInterpretation",
              "body_part": "BodyPartExamined", "study_instance_uid": "StudyInstanceUID",
              "series_instance_uid": "SeriesInstanceUID"}
    for key, keyword in fields.items():
        value = str(dataset.get(keyword, "") or "").strip()
        if value:
            metadata[key] = value.upper() if key == "view_position" else value
    orientation = dataset.get("PatientOrientation")
    if orientation:
        metadata["patient_orientation"] = tuple(str(value) for value in orientation)
    return metadata


# --------------------------------------------------------------------------------------------
# DICOM series folders


@dataclass
class _SeriesSlice:
    path: Path
    dataset: object  # header only, pixels not loaded

    @property
    def position(self) -> np.ndarray | None:
        value = self.dataset.get("ImagePositionPatient")
        return None if value is None else np.asarray(value, dtype=float)


def _read_dicom_folder(folder: Path) -> Image:
    """One DICOM series in ``folder`` (files directly inside it) as a 2D image or 3D volume."""
    slices = _series_slices(folder)
    if len(slices) == 1:
        return _read_dicom_file(slices[0].path)
    ordered, slice_mm = _stack_order(slices, folder)
    datasets = [_read_dicom_dataset(item.path) for item in ordered]
    for dataset, item in zip(datasets, ordered):
        _require_single_frame_image(dataset, item.path)
    volume = np.stack([_dicom_pixels(ds, item.path) for ds, item in zip(datasets, ordered)])
    first = datasets[0]
    geometry, spacing_known = _dicom_slice_geometry(first)
    geometry = Geometry((geometry.spacing[0], geometry.spacing[1], slice_mm), geometry.origin,
                        geometry.direction)
    metadata = _dicom_metadata(first, folder, spacing_known)
    metadata["slice_count"] = len(ordered)
    return Image(volume, geometry, metadata)


def _series_slices(folder: Path) -> list[_SeriesSlice]:
    """Headers of the image files directly in ``folder``; exactly one series is accepted."""
    series: dict[str, list[_SeriesSlice]] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        dataset = _image_header_or_none(path)
        if dataset is not None:
            uid = str(dataset.get("SeriesInstanceUID", ""))
            series.setdefault(uid, []).append(_SeriesSlice(path, dataset))
    if not series:
        subfolders = sum(1 for p in folder.iterdir() if p.is_dir())
        hint = (f" (it has {subfolders} subfolders; choose the folder of one series)"
                if subfolders else "")
        raise InputError(f"No DICOM image files found directly in folder {folder}{hint}")
    if len(series) > 1:
        counts = ", ".join(str(len(items)) for items in series.values())
        raise InputError(f"Folder {folder} holds {len(series)} DICOM series ({counts} files); "
                         "put each series in its own folder and choose one")
    return next(iter(series.values()))


def _image_header_or_none(path: Path):
    """The header of a DICOM image file, or None for anything else (DICOMDIR, README, SEG...)."""
    import pydicom

    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:
        return None
    is_image = "Rows" in dataset and _dicom_sop_class(dataset) not in (DICOMDIR_SOP_CLASS,
                                                                       SEGMENTATION_SOP_CLASS)
    return dataset if is_image else None


def _stack_order(slices: list[_SeriesSlice], folder: Path) -> tuple[list[_SeriesSlice], float]:
    """Slices sorted along their normal and the (uniform) distance between them in mm."""
    if any(item.position is None or item.dataset.get("ImageOrientationPatient") is None
           for item in slices):
        raise InputError(f"Folder {folder} holds {len(slices)} images without slice positions "
                         "(e.g. several radiographs); choose a single image file instead")
    _require_same_grid(slices, folder)
    row, col = _orientation_vectors(slices[0].dataset)
    normal = np.cross(row, col)
    offsets = np.array([item.position @ normal for item in slices])
    order = np.argsort(offsets, kind="stable")
    gaps = np.diff(offsets[order])
    _require_regular_gaps(gaps, folder)
    return [slices[index] for index in order], float(np.mean(gaps))


def _require_same_grid(slices: list[_SeriesSlice], folder: Path) -> None:
    first = slices[0].dataset
    reference = np.asarray(first.ImageOrientationPatient, dtype=float)
    for item in slices[1:]:
        dataset = item.dataset
        if (dataset.Rows, dataset.Columns) != (first.Rows, first.Columns):
            raise InputError(f"Series in {folder} mixes image sizes ({first.Rows}x{first.Columns} "
                             f"and {dataset.Rows}x{dataset.Columns} in {item.path.name})")
        if not np.allclose(np.asarray(dataset.ImageOrientationPatient, dtype=float), reference,
                           atol=1e-4):
            raise InputError(f"Series in {folder} mixes slice orientations ({item.path.name} "
                             "differs); it is not a single 3D volume")


def _require_regular_gaps(gaps: np.ndarray, folder: Path) -> None:
    if np.any(gaps < 1e-3):
        raise InputError(f"Series in {folder} has several slices at the same position (e.g. "
                         "several echoes or time points); export one 3D volume per folder")
    if gaps.max() - gaps.min() > 0.01 * gaps.mean() + 1e-3:
        raise InputError(f"Series in {folder} has irregular slice spacing (from {gaps.min():.3g} "
                         f"to {gaps.max():.3g} mm; slices may be missing); it cannot be read as "
                         "one volume without resampling")


# --------------------------------------------------------------------------------------------
# Standard radiograph display orientation


@dataclass(frozen=True)
class DisplayTransform:
    """Flips/transposes that took an image grid into the standard radiograph display.

    Applied to the last two array axes ``[..., j, i]``: first an optional transpose, then
    optional flips of the rows (j) and columns (i) of the transposed grid.
    """

    transpose: bool = False
    flip_rows: bool = False
    flip_columns: bool = False

    @property
    def is_identity(self) -> bool:
        return not (self.transpose or self.flip_rows or self.flip_columns)

    def to_display(self, array: np.ndarray) -> np.ndarray:
        """``array`` on the original grid, rearranged onto the display grid."""
        if self.transpose:
            array = np.swapaxes(array, -1, -2)
        return np.ascontiguousarray(self._flip(array))

    def to_original(self, array: np.ndarray) -> np.ndarray:
        """``array`` on the display grid (e.g. a label map), back onto the original grid."""
        array = self._flip(array)
        if self.transpose:
            array = np.swapaxes(array, -1, -2)
        return np.ascontiguousarray(array)

    def _flip(self, array: np.ndarray) -> np.ndarray:
        if self.flip_rows:
            array = array[..., ::-1, :]
        if self.flip_columns:
            array = array[..., ::-1]
        return array


def to_display_orientation(image: Image) -> tuple[Image, DisplayTransform]:
    """The radiograph rearranged (flips and transposes only) into the standard display.

    Rows run head to feet (RAS -S). Columns run patient right to left (RAS -R) for a frontal
    view, or anterior to posterior (RAS -A) for a lateral view. World coordinates of every pixel
    are unchanged: the geometry is updated with the array. Use :func:`from_display_orientation`
    to bring results computed on the display grid back onto the original grid.
    """
    transform = _display_transform(image)
    if transform.is_identity:
        return image, transform
    geometry = _display_geometry(image.geometry, image.array.shape, transform)
    return Image(transform.to_display(image.array), geometry, dict(image.metadata)), transform


def from_display_orientation(array: np.ndarray, transform: DisplayTransform) -> np.ndarray:
    """``array`` (``[..., rows, cols]`` on the display grid) mapped back to the original grid."""
    return transform.to_original(array)


def _display_transform(image: Image) -> DisplayTransform:
    d_i, d_j = image.geometry.direction[:, 0], image.geometry.direction[:, 1]
    transpose = abs(d_i[2]) > abs(d_j[2])
    row_axis, column_axis = (d_i, d_j) if transpose else (d_j, d_i)
    if abs(row_axis[2]) < 0.5:
        source = image.metadata.get("source_path", "The image")
        raise InputError(f"{source}: neither image axis runs head to feet; it looks like an "
                         "axial slice, not a frontal or lateral radiograph")
    lateral = 0 if abs(column_axis[0]) >= abs(column_axis[1]) else 1
    return DisplayTransform(transpose, bool(row_axis[2] > 0), bool(column_axis[lateral] > 0))


def _display_geometry(geometry: Geometry, shape: tuple, transform: DisplayTransform) -> Geometry:
    """Geometry of the display grid: same world positions, rearranged axes."""
    rows, cols = shape[-2:]
    matrix = geometry.ijk_to_ras()
    if transform.transpose:
        matrix = matrix[:, [1, 0, 2, 3]]
        rows, cols = cols, rows
    for axis, flip, size in ((1, transform.flip_rows, rows), (0, transform.flip_columns, cols)):
        if flip:
            matrix[:3, 3] += matrix[:3, axis] * (size - 1)
            matrix[:3, axis] *= -1
    return geometry_from_ijk_to_ras(matrix)
