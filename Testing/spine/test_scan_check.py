"""The scan check: geometry views on synthetic directions, network inputs, and the packaged model on
phantoms, a radiograph and the real negatives (brain MRI, CT)."""

import numpy as np
import pytest

from lesionai.errors import InputError, ModelError
from lesionai.geometry import Geometry, Image, radiograph_geometry
from lesionai.imageio import read_image
from lesionai.phantoms.cxr import generate_cxr_phantom
from lesionai.phantoms.spine import generate_spine_phantom
from lesionai.registry import ModelEntry, ModelRegistry
from lesionai.spine.scan_check import ANATOMIES, MODEL_ID, ScanCheck, ScanChecker
from lesionai.spine.scan_inputs import DESCRIPTOR_COUNT, ras_volume, scan_inputs
from lesionai.spine.scan_view import acquisition_plane

PSR = np.array([[0, 0, 1], [-1, 0, 0], [0, 1, 0]], float)  # i -> P, j -> S, k -> R
LPI_CORONAL = np.array([[-1, 0, 0], [0, 0, -1], [0, -1, 0]], float)  # k -> P


def _tilted(degrees: float) -> np.ndarray:
    """Identity axes with k tilted from S towards A by ``degrees``."""
    angle = np.radians(degrees)
    return np.array([[1, 0, 0], [0, np.cos(angle), np.sin(angle)], [0, -np.sin(angle), np.cos(angle)]])


@pytest.mark.parametrize("spacing, direction, shape, view", [
    ((0.5, 0.5, 5.0), np.eye(3), (20, 320, 320), "axial"),           # thick axial slices
    ((1.0, 1.0, 1.0), PSR, (52, 215, 384), "sagittal"),               # isotropic: the stored slice axis k
    ((3.0, 0.9, 0.9), np.eye(3), (256, 256, 15), "sagittal"),         # thick slices along i (R) win over k
    ((0.8, 0.8, 4.0), LPI_CORONAL, (25, 256, 256), "coronal"),
    ((0.5, 0.5, 5.0), _tilted(25.0), (20, 320, 320), "axial"),        # oblique axial
])
def test_geometry_gives_the_acquisition_plane(spacing, direction, shape, view):
    plane = acquisition_plane(Geometry(spacing=spacing, direction=direction), shape)
    assert plane.view == view
    assert max(plane.probabilities, key=plane.probabilities.get) == view
    assert sum(plane.probabilities.values()) == pytest.approx(1.0)


def test_oblique_planes_share_probability_and_isotropic_grids_are_less_certain():
    halfway = acquisition_plane(Geometry(spacing=(0.5, 0.5, 5.0), direction=_tilted(45.0)), (20, 64, 64))
    assert halfway.probabilities["axial"] == pytest.approx(halfway.probabilities["coronal"], abs=0.01)
    thick = acquisition_plane(Geometry(spacing=(1.0, 1.0, 3.0)), (20, 64, 64)).probabilities["axial"]
    isotropic = acquisition_plane(Geometry(spacing=(1.0, 1.0, 1.0)), (20, 64, 64)).probabilities["axial"]
    assert isotropic < thick


def test_a_radiograph_geometry_is_a_coronal_plane():
    assert acquisition_plane(radiograph_geometry(), (1, 512, 512)).view == "coronal"


def test_ras_volume_undoes_the_storage_order():
    rng = np.random.default_rng(0)
    ras = rng.random((4, 5, 6))  # [S, A, R]
    stored = np.ascontiguousarray(np.transpose(ras, (2, 0, 1))[:, :, ::-1])  # [R, S, P]: k -> R, j -> S, i -> P
    restored, spacing = ras_volume(stored, PSR, (0.5, 2.0, 3.0))
    assert np.array_equal(restored, ras)
    assert spacing == (2.0, 0.5, 3.0)  # S, A, R


def test_scan_inputs_have_fixed_shapes_and_scaled_values():
    phantom = generate_spine_phantom(seed=0, shape=(9, 96, 96), spacing=(1.5, 1.5, 3.0))
    inputs = scan_inputs(phantom.image)
    assert inputs["planes"].shape == (3, 64, 64) and inputs["native"].shape == (1, 64, 64)
    assert inputs["descriptors"].shape == (DESCRIPTOR_COUNT,)
    assert 0.0 <= inputs["planes"].min() and inputs["planes"].max() <= 1.5


def test_a_label_map_is_not_a_scan():
    with pytest.raises(InputError, match="label map"):
        scan_inputs(Image(np.zeros((4, 8, 8), bool)))


@pytest.fixture(scope="module")
def checker():
    return ScanChecker(threads=1)


@pytest.mark.parametrize("view, contrast, region", [("sagittal", "T2w", "cervical"), ("axial", "T1w", "cervical"),
                                                    ("sagittal", "T1w", "lumbar"), ("axial", "T2w", "thoracic")])
def test_phantoms_are_spine_with_their_view_and_contrast(checker, view, contrast, region):
    phantom = generate_spine_phantom(seed=90, view=view, contrast=contrast, region=region)
    check = checker.check(phantom.image)
    assert check.is_spine and check.anatomy["label"] == "spine"
    assert check.view["label"] == view
    assert check.contrast["label"] == contrast
    assert check.reasons == []


def test_a_radiograph_is_other_and_not_spine(checker):
    check = checker.check(generate_cxr_phantom(seed=3, size=(512, 512)).image)
    assert check.anatomy["label"] == "other" and not check.is_spine
    (reason,) = check.reasons
    assert reason.startswith("anatomy: other (p=") and "not a tomographic scan" in reason
    assert f"below the registry's threshold {checker.spine_threshold:g}" in reason


def test_result_is_json_ready_with_probabilities_for_every_label(checker):
    check = checker.check(generate_spine_phantom(seed=91, shape=(9, 128, 128), spacing=(1.5, 1.5, 3.0)).image)
    stages = check.as_dict()
    assert list(stages) == ["anatomy", "region", "view", "contrast"]
    assert list(stages["anatomy"]["probabilities"]) == list(ANATOMIES)
    for name, stage in stages.items():
        probabilities = stage["probabilities"]
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-3)
        if name == "anatomy" and probabilities["spine"] >= checker.spine_threshold:
            assert stage["label"] == "spine"
        else:  # the most probable label (of the other anatomies, when spine is under its threshold)
            candidates = {label: p for label, p in probabilities.items() if name != "anatomy" or label != "spine"}
            assert stage["label"] == max(candidates, key=candidates.get)


@pytest.mark.realdata
@pytest.mark.parametrize("path, anatomy", [("negatives/mr/niivue_FLAIR.nii.gz", "brain"),
                                           ("negatives/mr/niivue_MNI152_2009_template.nii.gz", "brain"),
                                           ("negatives/ct/totalseg_example_ct.nii.gz", "CT"),
                                           ("negatives/ct/totalseg_chest_ct_cropped.nii.gz", "CT")])
def test_brain_mri_and_ct_are_not_spine_and_say_so(checker, shared_data, path, anatomy):
    check = checker.check(read_image(shared_data / path))
    assert not check.is_spine
    assert check.anatomy["label"] == anatomy
    (reason,) = check.reasons
    assert reason.startswith(f"anatomy: {anatomy} (p=") and "below the registry's threshold" in reason


@pytest.mark.realdata
def test_a_real_radiograph_is_other(checker, shared_data):
    image = read_image(next(iter(sorted((shared_data / "cxr" / "images").glob("*.png")))))
    assert checker.check(image).anatomy["label"] == "other"


def test_a_model_with_other_labels_is_refused():
    registry = ModelRegistry.load()
    record = registry.get(MODEL_ID).to_dict()
    record["output"]["labels"] = {"0": "spine", "1": "not spine"}
    changed = ModelRegistry([ModelEntry.from_dict(record)], registry.models_dir)
    with pytest.raises(ModelError, match="anatomy labels"):
        ScanChecker(changed, threads=1)


def test_is_spine_follows_the_threshold():
    stage = {"label": "spine", "probabilities": {"spine": 0.4, "brain": 0.6}}
    other = {"label": "x", "probabilities": {"x": 1.0}}
    assert ScanCheck(stage, other, other, other, spine_threshold=0.3).is_spine
    assert not ScanCheck(stage, other, other, other, spine_threshold=0.5).is_spine


def test_a_dicom_radiograph_modality_makes_the_anatomy_other(checker):
    image = generate_spine_phantom(seed=92, shape=(9, 128, 128), spacing=(1.5, 1.5, 3.0)).image
    image.metadata["modality"] = "DX"
    check = checker.check(image)
    assert check.anatomy["label"] == "other" and not check.is_spine
    assert check.anatomy["source"] == "DICOM modality DX"
    (reason,) = check.reasons
    assert reason == "anatomy: other (DICOM modality DX: not a tomographic scan: a radiograph, photo or 2D picture)"


def test_non_finite_voxels_are_ignored_and_an_all_nan_scan_is_refused(checker):
    image = generate_spine_phantom(seed=93, shape=(9, 128, 128), spacing=(1.5, 1.5, 3.0)).image
    image.array[:, :10] = np.nan
    assert checker.check(image).is_spine
    with pytest.raises(InputError, match="no finite"):
        checker.check(Image(np.full((4, 32, 32), np.nan, np.float32)))


def test_a_header_that_contradicts_the_image_plane_is_reported(checker):
    axial = generate_spine_phantom(seed=94, view="axial").image
    geometry = axial.geometry
    mislabelled = Image(axial.array, Geometry(geometry.spacing, geometry.origin, PSR))  # says: slices along R
    check = checker.check(mislabelled)
    assert check.view["content"]["axial"] > 0.8
    assert any("looks axial" in warning and "geometry says sagittal" in warning for warning in check.warnings)
