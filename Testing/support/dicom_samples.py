"""Building blocks for the DICOM files the tests write with pydicom."""

from __future__ import annotations

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, generate_uid

PYDICOM_MAJOR = int(pydicom.__version__.split(".")[0])


def new_dataset(sop_class: str) -> Dataset:
    """An empty instance of ``sop_class`` with file meta (explicit VR little endian) and its UIDs."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID, dataset.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    return dataset


def save_dicom(dataset: Dataset, path) -> None:
    """Write ``dataset`` as a DICOM file (preamble and file meta) with pydicom 2.4 or 3.x."""
    if PYDICOM_MAJOR >= 3:
        dataset.save_as(path, enforce_file_format=True)
    else:  # pydicom 2 encodes by the dataset's own flags: take them from the transfer syntax
        syntax = dataset.file_meta.TransferSyntaxUID
        dataset.is_little_endian, dataset.is_implicit_VR = syntax.is_little_endian, syntax.is_implicit_VR
        dataset.save_as(path, write_like_original=False)


def encoder_available(syntax: str) -> bool:
    """Whether the installed pydicom (with its plugins) can compress to transfer ``syntax``."""
    try:
        from pydicom.pixels import get_encoder
    except ImportError:  # pydicom 2.4
        from pydicom.encoders import get_encoder
    try:
        return get_encoder(syntax).is_available
    except NotImplementedError:  # pydicom 2.4 has no encoder class for this syntax at all
        return False


def compress_jpeg2000_lossless(dataset: Dataset, stored: np.ndarray) -> None:
    """Replace the pixels of ``dataset`` by ``stored`` as one JPEG 2000 lossless frame.

    Encodes with pylibjpeg-openjpeg directly, as pydicom 2.4 has no JPEG 2000 encoder.
    """
    import openjpeg

    frame = openjpeg.encode(np.ascontiguousarray(stored), bits_stored=int(dataset.BitsStored), use_mct=False)
    dataset.file_meta.TransferSyntaxUID = JPEG2000Lossless
    dataset.PixelData = encapsulate([frame])
    dataset["PixelData"].VR = "OB"
    dataset["PixelData"].is_undefined_length = True
