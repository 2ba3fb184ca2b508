"""Reading DICOM: single-frame image files and folders holding one series.

Pixel values become float32 on the MONOCHROME2 convention (modality LUT applied, MONOCHROME1
inverted, colour as luma). Geometry comes from ImagePositionPatient/ImageOrientationPatient where
present, else (projection radiographs) from PixelSpacing or ImagerPixelSpacing and
PatientOrientation in the standard radiograph display. Non-image objects (DICOMDIR, SEG, SR...),
multi-frame files, irregular or mixed series raise :class:`InputError` saying what to open instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DependencyError, InputError, first_line
from .geometry import Geometry, Image, lps_to_ras, radiograph_geometry
from .pixels import luma

__all__ = ["read_dicom_file", "read_dicom_folder"]

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
SEGMENTATION_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
# Patient-orientation letters (DICOM C.7.6.1.1.1) as RAS unit vectors.
ORIENTATION_LETTERS = {"R": (1, 0, 0), "L": (-1, 0, 0), "A": (0, 1, 0), "P": (0, -1, 0),
                       "H": (0, 0, 1), "F": (0, 0, -1)}


# --------------------------------------------------------------------------------------------
# DICOM files


def read_dicom_file(path: Path) -> Image:
    """One single-frame DICOM image as a ``(1, rows, cols)`` :class:`Image` with its geometry."""
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
                         f"{first_line(error)}") from error


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
        try:
            coloured = _pixel_utilities().apply_color_lut(raw, dataset)
        except (ValueError, KeyError, AttributeError) as error:
            raise InputError(f"{path}: PALETTE COLOR image whose colour palette cannot be read ({error})") from error
        return luma(coloured.astype(np.float64))
    if raw.ndim == 3:  # pydicom hands colour (RGB or converted YBR) as [rows, cols, 3]
        return luma(raw.astype(np.float64))
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
                         f"{first_line(error)}") from error
    except Exception as error:
        raise InputError(f"{path} is a truncated or corrupt DICOM file (pixel data could not be "
                         f"read: {first_line(error)})") from error


def _apply_modality_lut(raw: np.ndarray, dataset) -> np.ndarray:
    return np.asarray(_pixel_utilities().apply_modality_lut(raw, dataset), dtype=np.float64)


def _pixel_utilities():
    """The pydicom module holding ``apply_modality_lut`` and ``apply_color_lut``.

    pydicom 3 has them in ``pydicom.pixels``; pydicom 2.4 (bundled with Slicer 5.8 and 5.10) in
    ``pydicom.pixel_data_handlers.util``.
    """
    try:
        from pydicom import pixels
    except ImportError:
        from pydicom.pixel_data_handlers import util as pixels
    return pixels


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


def read_dicom_folder(folder: Path) -> Image:
    """One DICOM series in ``folder`` (files directly inside it) as a 2D image or 3D volume.

    Slices are ordered along the slice normal; unequal gaps, mixed grids or several series raise
    :class:`InputError`.
    """
    slices, ignored = _series_slices(folder)
    if len(slices) == 1:
        return _with_ignored_files(read_dicom_file(slices[0].path), ignored)
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
    return _with_ignored_files(Image(volume, geometry, metadata), ignored)


IGNORED_NAMES_SHOWN = 5


def _with_ignored_files(image: Image, ignored: list[str]) -> Image:
    """``image`` with a reading warning (``metadata["read_warnings"]``) naming the files left out."""
    if ignored:
        shown = ", ".join(ignored[:IGNORED_NAMES_SHOWN]) + (", ..." if len(ignored) > IGNORED_NAMES_SHOWN else "")
        image.metadata.setdefault("read_warnings", []).append(
            f"{len(ignored)} file(s) in the folder are not DICOM images and were ignored: {shown}")
    return image


def _series_slices(folder: Path) -> tuple[list[_SeriesSlice], list[str]]:
    """Headers of the image files directly in ``folder`` (exactly one series is accepted), and the
    names of the other files, which are not DICOM images."""
    series: dict[str, list[_SeriesSlice]] = {}
    ignored = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        dataset = _image_header_or_none(path)
        if dataset is None:
            ignored.append(path.name)
            continue
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
    return next(iter(series.values())), ignored


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
