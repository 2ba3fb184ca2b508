"""Reading and writing images keeps pixel values and world positions right."""

import io

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from PIL import Image as PILImage
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    CTImageStorage,
    DigitalXRayImageStorageForPresentation,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

from lesionai.errors import InputError
from lesionai.geometry import Geometry, Image, radiograph_geometry
from lesionai.imageio import image_from_sitk, image_to_sitk, read_image, write_image
from lesionai.orientation import from_display_orientation, to_display_orientation

from dicom_samples import encoder_available, new_dataset, save_dicom

STUDY_UID = generate_uid()


def make_dicom(path, pixels, sop_class=DigitalXRayImageStorageForPresentation, modality="DX",
               photometric="MONOCHROME2", bits=16, series_uid=None, **attributes):
    """Write a minimal single-frame DICOM image holding ``pixels`` (uncompressed)."""
    ds = new_dataset(sop_class)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY_UID, series_uid or generate_uid()
    ds.Modality, ds.PatientName, ds.PatientID = modality, "Test^Phantom", "PHANTOM"
    ds.Rows, ds.Columns = pixels.shape[:2]
    ds.SamplesPerPixel = 3 if pixels.ndim == 3 else 1
    if pixels.ndim == 3:
        ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = pixels.dtype.itemsize * 8, bits, bits - 1
    ds.PixelRepresentation = int(np.issubdtype(pixels.dtype, np.signedinteger))
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    save_dicom(ds, path)
    return path


def gradient(rows=24, cols=32, high=4095, dtype=np.uint16):
    """A test picture whose every pixel differs and whose top-left pixel is darkest."""
    values = np.linspace(0, high, rows * cols).reshape(rows, cols)
    return values.round().astype(dtype)


def jpeg_bytes(pixels: np.ndarray, quality=95) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def world_of_pixel(image: Image, j: int, i: int) -> np.ndarray:
    return (image.geometry.ijk_to_ras() @ np.array([i, j, 0, 1.0]))[:3]


# ------------------------------------------------------------------------------------------
# DICOM radiographs


def test_monochrome1_cr_is_inverted_so_higher_means_denser(tmp_path):
    stored = gradient()
    path = make_dicom(tmp_path / "cr.dcm", stored, ComputedRadiographyImageStorage, "CR",
                      "MONOCHROME1", bits=12, RescaleSlope="2", RescaleIntercept="-10",
                      ImagerPixelSpacing=[0.15, 0.15], ViewPosition="PA")
    image = read_image(path)
    rescaled = stored * 2.0 - 10
    assert image.array.shape == (1, 24, 32)
    assert image.array.dtype == np.float32
    np.testing.assert_allclose(image.array[0], (-10 + 4095 * 2 - 10) - rescaled)
    assert np.unravel_index(image.array[0].argmax(), stored.shape) == (0, 0)
    assert image.metadata["photometric_interpretation"] == "MONOCHROME1"
    assert image.metadata["view_position"] == "PA"
    assert image.metadata["modality"] == "CR"
    assert image.metadata["format"] == "dicom"
    assert image.metadata["pixel_spacing_known"] is True
    assert image.geometry == radiograph_geometry((0.15, 0.15))


def test_radiograph_without_spacing_gets_1mm_and_says_it_is_unknown(tmp_path):
    image = read_image(make_dicom(tmp_path / "dx.dcm", gradient()))
    assert image.geometry.spacing == (1.0, 1.0, 1.0)
    assert image.metadata["pixel_spacing_known"] is False


def test_pixel_spacing_wins_over_imager_pixel_spacing(tmp_path):
    path = make_dicom(tmp_path / "dx.dcm", gradient(), PixelSpacing=[0.2, 0.3],
                      ImagerPixelSpacing=[0.25, 0.25])
    image = read_image(path)
    assert image.geometry.spacing[:2] == (0.3, 0.2)  # (column, row) = (i, j)


def test_jpeg_baseline_dx_decodes_to_the_encoded_picture(tmp_path):
    picture = gradient(64, 48, high=255, dtype=np.uint8)
    path = make_dicom(tmp_path / "dx_jpeg.dcm", picture, bits=8)
    ds = pydicom.dcmread(path)
    ds.PixelData = encapsulate([jpeg_bytes(picture)])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    save_dicom(ds, path)
    image = read_image(path)
    assert image.array.shape == (1, 64, 48)
    assert np.abs(image.array[0] - picture).mean() < 2.0


@pytest.mark.parametrize("syntax", [JPEG2000Lossless, RLELossless, JPEGLSLossless],
                         ids=["jpeg2000", "rle", "jpeg-ls"])
def test_lossless_compressed_dicom_reads_exactly(tmp_path, syntax):
    if not encoder_available(syntax):
        pytest.skip(f"no {syntax.name} encoder installed to create the test file")
    stored = gradient(64, 48, high=4095)
    path = make_dicom(tmp_path / "compressed.dcm", stored, bits=12)
    ds = pydicom.dcmread(path)
    ds.compress(syntax)
    save_dicom(ds, path)
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == syntax
    np.testing.assert_array_equal(read_image(path).array[0], stored)


def test_rgb_dicom_becomes_luma(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    image = read_image(make_dicom(tmp_path / "rgb.dcm", rgb, photometric="RGB", bits=8))
    np.testing.assert_allclose(image.array, 0.299 * 200 + 0.587 * 100 + 0.114 * 50, rtol=1e-6)


def test_mirrored_radiograph_is_shown_in_standard_display(tmp_path):
    # Columns run toward the patient's right: column 0 is the patient's left side.
    stored = np.zeros((10, 12), np.uint16)
    stored[5, 0] = 1000
    path = make_dicom(tmp_path / "mirrored.dcm", stored, PatientOrientation=["R", "F"])
    image = read_image(path)
    display, transform = to_display_orientation(image)
    assert display.array[0, 5, 11] == 1000  # patient's left on the viewer's right
    np.testing.assert_allclose(world_of_pixel(display, 5, 11), world_of_pixel(image, 5, 0))
    np.testing.assert_allclose(display.geometry.direction[:, :2],
                               radiograph_geometry().direction[:, :2])
    np.testing.assert_array_equal(from_display_orientation(display.array, transform), image.array)


@pytest.mark.parametrize("orientation", [["F", "R"], ["H", "L"], ["L", "H"], ["P", "F"]])
def test_display_orientation_keeps_every_pixel_in_place(tmp_path, orientation):
    stored = np.arange(7 * 9, dtype=np.uint16).reshape(7, 9)
    image = read_image(make_dicom(tmp_path / "o.dcm", stored, PatientOrientation=orientation,
                                  PixelSpacing=[0.5, 0.8]))
    display, transform = to_display_orientation(image)
    rows, cols = np.meshgrid(range(display.array.shape[1]), range(display.array.shape[2]),
                             indexing="ij")
    display_ijk = np.stack([cols.ravel(), rows.ravel(), np.zeros(rows.size), np.ones(rows.size)])
    original_ijk = image.geometry.ras_to_ijk() @ display.geometry.ijk_to_ras() @ display_ijk
    i, j = np.rint(original_ijk[:2]).astype(int)
    np.testing.assert_allclose(original_ijk[:2], [i, j], atol=1e-6)
    np.testing.assert_array_equal(display.array[0].ravel(), image.array[0, j, i])
    assert display.geometry.direction[2, 1] == pytest.approx(-1.0)  # rows run head to feet
    np.testing.assert_array_equal(transform.to_original(display.array), image.array)


def test_axial_slice_is_not_a_radiograph():
    axial = Image(np.zeros((1, 4, 4), np.float32), Geometry(), {"source_path": "ct.nrrd"})
    with pytest.raises(InputError, match="axial"):
        to_display_orientation(axial)


def test_constant_image_is_accepted(tmp_path):
    image = read_image(make_dicom(tmp_path / "flat.dcm", np.full((4, 5), 7, np.uint16)))
    assert np.all(image.array == 7)


# ------------------------------------------------------------------------------------------
# DICOM series folders


def test_series_folder_is_stacked_along_the_slice_normal(tmp_path):
    series_uid = generate_uid()
    for file_index, z in enumerate([20.0, 10.0, 30.0, 0.0]):
        make_dicom(tmp_path / f"slice{file_index}.dcm", np.full((6, 5), int(z), np.int16),
                   CTImageStorage, "CT", series_uid=series_uid, InstanceNumber=file_index + 1,
                   ImagePositionPatient=[-10.0, 5.0, z], ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
                   PixelSpacing=[0.7, 0.6], RescaleSlope="1", RescaleIntercept="-1000")
    volume = read_image(tmp_path)
    assert volume.array.shape == (4, 6, 5)
    np.testing.assert_array_equal(volume.array[:, 0, 0], [-1000, -990, -980, -970])
    assert volume.geometry == Geometry(spacing=(0.6, 0.7, 10.0), origin=(10.0, -5.0, 0.0),
                                       direction=np.diag([-1.0, -1.0, 1.0]))


def test_folder_with_single_radiograph_gives_that_radiograph(tmp_path):
    make_dicom(tmp_path / "only.dcm", gradient(), ViewPosition="AP")
    (tmp_path / "notes.txt").write_text("not an image")
    image = read_image(tmp_path)
    assert image.array.shape == (1, 24, 32)
    assert image.metadata["view_position"] == "AP"


def test_folder_with_two_series_is_refused(tmp_path):
    make_dicom(tmp_path / "a.dcm", gradient())
    make_dicom(tmp_path / "b.dcm", gradient())
    with pytest.raises(InputError, match="2 DICOM series"):
        read_image(tmp_path)


# ------------------------------------------------------------------------------------------
# Errors name the file and say what is wrong


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found.*absent.dcm"):
        read_image(tmp_path / "absent.dcm")


@pytest.mark.parametrize("kept_bytes", [200, 400, 3000])
def test_truncated_dicom(tmp_path, kept_bytes):
    path = make_dicom(tmp_path / "cut.dcm", gradient(64, 64))
    path.write_bytes(path.read_bytes()[:kept_bytes])
    with pytest.raises(InputError, match="cut.dcm.*truncated"):
        read_image(path)


def test_text_file_with_dcm_extension(tmp_path):
    path = tmp_path / "report.dcm"
    path.write_text("Patient report: no image here\n" * 20)
    with pytest.raises(InputError, match="report.dcm is not a DICOM file"):
        read_image(path)


def test_dicom_without_pixels_is_empty(tmp_path):
    path = make_dicom(tmp_path / "empty.dcm", np.zeros((0, 0), np.uint16))
    with pytest.raises(InputError, match="empty.dcm holds an empty image"):
        read_image(path)


def test_corrupt_png(tmp_path):
    path = tmp_path / "chest.png"
    PILImage.fromarray(gradient(64, 64, 255, np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(InputError, match="chest.png is a corrupt or unreadable PNG"):
        read_image(path)


def test_text_file_with_png_extension(tmp_path):
    path = tmp_path / "fake.png"
    path.write_text("hello")
    with pytest.raises(InputError, match="fake.png is not a readable .png picture"):
        read_image(path)


# ------------------------------------------------------------------------------------------
# Pictures


def test_16bit_png_keeps_full_range(tmp_path):
    values = gradient(16, 16, high=60000)
    path = tmp_path / "xray16.png"
    PILImage.fromarray(values).save(path)
    image = read_image(path)
    np.testing.assert_array_equal(image.array[0], values)
    assert image.metadata == {"source_path": str(path), "format": "png",
                              "pixel_spacing_known": False}
    assert image.geometry == radiograph_geometry((1.0, 1.0))


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_colour_png_becomes_luma(tmp_path, mode):
    rgb = np.zeros((5, 6, len(mode)), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 10, 200, 90
    path = tmp_path / "colour.png"
    PILImage.fromarray(rgb, mode).save(path)
    np.testing.assert_allclose(read_image(path).array, 0.299 * 10 + 0.587 * 200 + 0.114 * 90,
                               rtol=1e-6)


def test_palette_png_and_jpeg_become_grey(tmp_path):
    grey = gradient(20, 20, 255, np.uint8)
    PILImage.fromarray(grey).convert("P").save(tmp_path / "palette.png")
    (tmp_path / "photo.jpg").write_bytes(jpeg_bytes(grey))
    np.testing.assert_allclose(read_image(tmp_path / "palette.png").array[0], grey, atol=1)
    jpeg = read_image(tmp_path / "photo.jpg")
    assert jpeg.metadata["format"] == "jpeg"
    assert np.abs(jpeg.array[0] - grey).mean() < 2.0


# ------------------------------------------------------------------------------------------
# NRRD / NIfTI / MetaImage and SimpleITK


def oblique_geometry() -> Geometry:
    angle = np.deg2rad(30)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0],
                         [0, 0, 1]])
    return Geometry(spacing=(0.7, 0.9, 2.5), origin=(12.5, -40.25, 7.0), direction=rotation)


def test_sitk_conversion_places_voxels_at_the_same_world_position():
    image = Image(np.zeros((3, 4, 5), np.float32), oblique_geometry())
    sitk_image = image_to_sitk(image)
    index = (4, 1, 2)  # (i, j, k)
    lps = np.array(sitk_image.TransformIndexToPhysicalPoint(index))
    ras = (image.geometry.ijk_to_ras() @ np.array([*index, 1.0]))[:3]
    np.testing.assert_allclose(lps, ras * [-1, -1, 1], atol=1e-9)
    assert image_from_sitk(sitk_image).geometry == image.geometry


def test_2d_sitk_image_becomes_single_slice():
    sitk_image = sitk.GetImageFromArray(np.arange(12, dtype=np.float32).reshape(3, 4))
    sitk_image.SetOrigin((5.0, 6.0))
    sitk_image.SetSpacing((0.5, 0.25))
    image = image_from_sitk(sitk_image)
    assert image.array.shape == (1, 3, 4)
    assert image.geometry.origin == (-5.0, -6.0, 0.0)
    assert image.geometry.spacing == (0.5, 0.25, 1.0)


@pytest.mark.parametrize("suffix", [".nrrd", ".mha", ".nii.gz"])
def test_file_round_trip_keeps_values_and_world_coordinates(tmp_path, suffix):
    labels = np.zeros((3, 4, 5), np.uint8)
    labels[1, 2, 3] = 2
    image = Image(labels, oblique_geometry())
    back = read_image(write_image(image, tmp_path / f"labels{suffix}"))
    assert back.array.dtype == np.uint8
    np.testing.assert_array_equal(back.array, labels)
    tolerance = 1e-5 if suffix == ".nii.gz" else 1e-12  # NIfTI stores geometry as float32
    np.testing.assert_allclose(back.geometry.ijk_to_ras(), image.geometry.ijk_to_ras(),
                               atol=tolerance)
    assert back.metadata["pixel_spacing_known"] is True


def test_float_volume_is_read_as_float32(tmp_path):
    image = Image(np.random.default_rng(0).normal(size=(2, 3, 4)), oblique_geometry())
    back = read_image(write_image(image, tmp_path / "scores.nrrd"))
    assert back.array.dtype == np.float32
    np.testing.assert_allclose(back.array, image.array, rtol=1e-6)


def test_write_refuses_unknown_format(tmp_path):
    with pytest.raises(InputError, match="nrrd"):
        write_image(Image(np.zeros((1, 2, 2))), tmp_path / "out.png")


# ------------------------------------------------------------------------------------------
# Real DICOM files (development data)


@pytest.fixture
def dicom_data(shared_data):
    folder = shared_data / "dicom" / "pydicom"
    if not folder.is_dir():
        pytest.skip("no DICOM development data")
    return folder


@pytest.mark.realdata
def test_real_monochrome1_cr(dicom_data):
    path = dicom_data / "dicomdirtests" / "77654033" / "CR1" / "6154"
    image = read_image(path)
    stored = pydicom.dcmread(path).pixel_array.astype(float)
    rescaled = 0.684 * stored + 200
    np.testing.assert_allclose(image.array[0], (200 + 200 + 0.684 * 4095) - rescaled, rtol=1e-5)
    assert image.metadata["view_position"] == "LL"
    assert image.geometry.spacing[:2] == (0.1, 0.1)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
def test_real_slice_geometry_matches_simpleitk(dicom_data, name):
    image = read_image(dicom_data / name)
    reference = image_from_sitk(sitk.ReadImage(str(dicom_data / name)))
    np.testing.assert_allclose(image.geometry.ijk_to_ras()[:, [0, 1, 3]],
                               reference.geometry.ijk_to_ras()[:, [0, 1, 3]], atol=1e-6)
    np.testing.assert_array_equal(image.array, reference.array)


@pytest.mark.realdata
def test_real_series_matches_simpleitk(dicom_data):
    folder = dicom_data / "dicomdirtests" / "98892001" / "CT5N"
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    reference = image_from_sitk(reader.Execute())
    volume = read_image(folder)
    assert volume.geometry == reference.geometry
    np.testing.assert_array_equal(volume.array, reference.array)


@pytest.mark.realdata
@pytest.mark.parametrize("relative, message", [
    ("dicomdirtests/DICOMDIR", "DICOMDIR index"),
    ("../highdicom/seg_image_ct_binary.dcm", "Segmentation object"),
    ("dicomdirtests/77654033/CT2", "irregular slice spacing"),
    ("dicomdirtests/98892003/MR700", "mixes slice orientations"),
    ("dicomdirtests/77654033", "4 subfolders"),
])
def test_real_files_that_are_not_one_image(dicom_data, relative, message):
    with pytest.raises(InputError, match=message):
        read_image(dicom_data / relative)


def test_a_4d_file_is_refused_unless_a_series_is_asked_for(tmp_path):
    import SimpleITK as sitk

    volumes = [sitk.GetImageFromArray(np.full((3, 4, 5), float(t), np.float32)) for t in range(2)]
    for volume in volumes:
        volume.SetSpacing((0.5, 0.5, 2.0))
    path = tmp_path / "series.nii.gz"
    sitk.WriteImage(sitk.JoinSeries(volumes), str(path))
    with pytest.raises(InputError, match="4D image"):
        read_image(path)
    series = read_image(path, series=True)
    assert series.array.shape == (2, 3, 4, 5) and series.metadata["volumes"] == 2
    assert series.geometry.spacing == (0.5, 0.5, 2.0) and series.array[1].min() == 1.0


def test_a_symbolic_link_loop_and_a_broken_link_are_named_as_such(tmp_path):
    loop = tmp_path / "loop.nii.gz"
    loop.symlink_to(loop)
    broken = tmp_path / "broken.nii.gz"
    broken.symlink_to(tmp_path / "moved-away.nii.gz")
    with pytest.raises(InputError, match="symbolic link loop"):
        read_image(loop)
    with pytest.raises(InputError, match="broken symbolic link: its target .*moved-away.nii.gz does not exist"):
        read_image(broken)
    with pytest.raises(InputError, match="Input file not found"):
        read_image(tmp_path / "never-there.nii.gz")


def test_a_16_bit_colour_png_keeps_its_16_bits(tmp_path):
    grey = (np.arange(20 * 30).reshape(20, 30) * 100).astype(np.uint16)
    colour = sitk.Compose([sitk.GetImageFromArray(grey)] * 3)
    path = tmp_path / "rgb16.png"
    sitk.WriteImage(colour, str(path))
    image = read_image(path)
    assert image.array.shape == (1, 20, 30) and image.array.max() == pytest.approx(59900, rel=1e-4)
    np.testing.assert_allclose(image.array[0], grey, rtol=1e-4)
