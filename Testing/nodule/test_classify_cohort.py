"""A user's own cohort end to end: generated nodules on disk -> fusion recipe -> ONNX -> registry -> classifier."""

import csv
import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")

from lesionai.errors import InputError
from lesionai.imageio import write_image
from lesionai.nodule.classify import NoduleClassifier
from lesionai.nodule.features import feature_values
from lesionai.phantoms.nodule import generate_nodule_phantom
from lesionai.registry import ModelRegistry
from lesionai.training.config import RECIPES_DIR, load_config
from lesionai.training.install import install_run
from lesionai.training.loop import fit
from lesionai.training.nodule import fusion
from lesionai.training.nodule.cohort import load_cohort

TASK = "invasive adenocarcinoma (1) vs pre-invasive lesion (0), pathology-confirmed"
KINDS = ("ground-glass", "part-solid", "solid")


def write_cohort(folder, count=8, with_ct=False):
    """``count`` generated nodules (NIfTI crops or whole blocks with a centre) and a cohort CSV."""
    rows = []
    for index in range(count):
        phantom = generate_nodule_phantom(seed=index, kind=KINDS[index % 3], shape=(24, 48, 48),
                                          diameter_mm=6.0 + 2 * index)
        name = f"case{index}"
        write_image(phantom.image, folder / f"{name}.nii.gz")
        write_image(phantom.mask, folder / f"{name}_mask.nii.gz")
        row = {"case_id": name, "label": int(index >= count // 2), "patient_id": f"P{index // 2}",
               "split": "val" if index in (0, count - 1) else "train", "texture": KINDS[index % 3],
               "Age": 50 + 3 * index, "Gender": "FM"[index % 2]}
        images = {"ct": f"{name}.nii.gz", "x": phantom.center_ras[0], "y": phantom.center_ras[1],
                  "z": phantom.center_ras[2]} if with_ct else {"image": f"{name}.nii.gz"}
        rows.append({**row, **images, "mask": f"{name}_mask.nii.gz"})
    with open(folder / "cohort.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder / "cohort.csv"


def cohort_config(folder, **changes):
    config = load_config(RECIPES_DIR / "nodule_fusion.yaml")
    config.update({"source": "cohort", "data_root": str(folder), "cohort": "cohort.csv", "cache_dir": None,
                   "task": TASK, "field_of_view_mm": [32, 32, 32], "stages_shape": [[8, 16, 16]], "epochs": 2,
                   "augment_copies": 2, "image_overrides": {"stages_epochs": [1], "width": 4, "batch_size": 4},
                   "tabular_overrides": {"pretrain_epochs": 1, "epochs": 2, "width": 8, "heads": 2, "depth": 1}})
    config["model"] = {**config["model"], "id": "cohort-fusion", "task": "nodule-invasiveness"}
    config.update(changes)
    return config


def test_cohort_table_reads_labels_clinical_variables_and_splits(tmp_path):
    write_cohort(tmp_path, count=4)
    nodules = load_cohort(cohort_config(tmp_path), None)
    assert nodules.target.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert nodules.splits.tolist() == ["val", "train", "train", "val"]
    assert nodules.texture.tolist() == [0, 1, 2, 0] and nodules.ggn_like.tolist() == [True, True, False, True]
    assert (nodules.missing == 0).all()  # Age and Gender given, every image variable measured
    assert nodules.crops[(8, 16, 16)].shape == (4, 2, 8, 16, 16)


def test_ct_and_centre_rows_give_the_same_nodule_as_crops(tmp_path):
    crops_folder, ct_folder = tmp_path / "crops", tmp_path / "ct"
    crops_folder.mkdir(), ct_folder.mkdir()
    write_cohort(crops_folder, count=2), write_cohort(ct_folder, count=2, with_ct=True)
    from_crops, from_ct = (load_cohort(cohort_config(folder), None) for folder in (crops_folder, ct_folder))
    np.testing.assert_allclose(from_crops.features, from_ct.features, rtol=1e-5)
    np.testing.assert_allclose(from_crops.crops[(8, 16, 16)], from_ct.crops[(8, 16, 16)], atol=1e-3)


def test_bad_label_is_refused_with_the_case_named(tmp_path):
    table = write_cohort(tmp_path, count=2)
    table.write_text(table.read_text().replace("case1,1", "case1,maybe"))
    with pytest.raises(InputError, match="case1"):
        load_cohort(cohort_config(tmp_path), None)


@pytest.mark.slow
def test_cohort_trains_exports_installs_and_predicts(tmp_path):
    data = tmp_path / "cohort"
    data.mkdir()
    write_cohort(data)
    run_dir, registry_path = tmp_path / "run", tmp_path / "models" / "registry.json"
    registry_path.parent.mkdir()
    metrics = fit(fusion, cohort_config(data, threads=1), run_dir)
    assert metrics["train_nodules"] == 6 and metrics["trained_features"][:2] == ["Gender", "Age"]
    entry = install_run(run_dir, registry_path)
    assert entry["output"]["description"] == TASK and "val_fusion_all_auc" in entry["metrics"]

    classifier = NoduleClassifier(ModelRegistry.load(registry_path), threads=1, model_id="cohort-fusion")
    phantom = generate_nodule_phantom(seed=11, kind="ground-glass", shape=(24, 48, 48), diameter_mm=9.0)
    measured = feature_values(phantom.mask.array > 0, phantom.image.array, phantom.image.geometry)
    young = classifier.predict(phantom.image, phantom.mask, {**measured, "Age": 30, "Gender": "F"})
    unknown = classifier.predict(phantom.image, phantom.mask, {**measured, "Age": None, "Gender": None})
    assert young["task"] == TASK and young["models"] == {"cohort-fusion": "0.1.0"}
    assert set(young["branches"]) == {"image", "tabular", "fusion"}
    assert young["probability"] == young["branches"]["fusion"]
    assert young["masked_features"] == [] and unknown["masked_features"] == ["Gender", "Age"]
    assert young["branches"]["tabular"] != unknown["branches"]["tabular"]  # Age and Gender reach this model
    assert young["branches"]["image"] == pytest.approx(unknown["branches"]["image"])
    assert sum(young["texture"]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert json.loads((run_dir / "metrics.json").read_text())["task"] == TASK


@pytest.mark.slow
@pytest.mark.parametrize("branch", ["image", "tabular"])
def test_each_branch_recipe_trains_alone_and_exports(tmp_path, branch):
    from lesionai.runtime import OnnxModel
    from lesionai.training.nodule import image, tabular

    data = tmp_path / "cohort"
    data.mkdir()
    write_cohort(data, count=6)
    config = fusion.branch_config(cohort_config(data, threads=1), branch)  # the fusion test's data and small sizes
    module = image if branch == "image" else tabular
    metrics = fit(module, config, tmp_path / "run")
    assert (metrics["train_nodules"], metrics["val_nodules"]) == (4, 2)
    assert metrics["val_malignancy"]["all"]["positives"] == 1 and "val_malignancy_all_auc" in metrics
    model = OnnxModel(tmp_path / "run" / config["onnx_name"], threads=1)
    assert model.output_names == module.OUTPUT_NAMES and model.input_names == module.INPUT_NAMES
