"""Nodule classification with the fused image + tabular model (ONNX Runtime, no torch).

:class:`NoduleClassifier` turns a CT region (HU), the nodule mask on the same grid and the
published variables into the LIDC malignancy-suspicion proxy (radiologists' rating >= 4 vs <= 2;
not invasiveness, not pathology) from the image branch, the tabular branch and their fusion, plus
the texture class (ground-glass / part-solid / solid).

Variables that are None, absent or not finite are masked, and so are variables the model never saw
during training (LIDC has no age or sex, so the shipped model masks Age and Gender even when given:
their learned mask tokens are all it knows). Both lists are in the result.

>>> classifier = NoduleClassifier(threads=1)                                   # doctest: +SKIP
>>> classifier.predict(region_hu, nodule_mask, {"Volume": 523.6, "Age": None})["probability"]  # doctest: +SKIP
0.73
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..geometry import Image
from ..registry import ModelRegistry
from ..runtime import load_model
from .classifier_input import FEATURE_NAMES, classifier_crop, feature_vector, mask_box

MODEL_ID = "nodule-fusion"
TASK = "LIDC malignancy suspicion >= 4 vs <= 2 (radiologists' rating proxy; not invasiveness)"


class NoduleClassifier:
    """The registry's fused nodule classifier, loaded once and reused for every nodule.

    ``registry``: a :class:`ModelRegistry` (default: the packaged one); ``threads``: ONNX Runtime
    intra-op threads (None: ``$LESIONAI_THREADS`` or all cores); ``model_id``: the registry entry.
    """

    def __init__(self, registry: ModelRegistry | None = None, threads: int | None = None, model_id: str = MODEL_ID):
        self.registry = registry or ModelRegistry.load()
        self.entry = self.registry.get(model_id)
        self.model = load_model(self.registry, model_id, threads=threads)

    @property
    def task(self) -> str:
        """What the probability means (the model's output description, else the LIDC proxy text)."""
        return self.entry.output.description or TASK

    @property
    def untrained_features(self) -> tuple[str, ...]:
        """Variables the model never saw during training; they are always masked."""
        listed = self.entry.input.normalization.get("untrained_features") or ""
        return tuple(name for name in listed.split(",") if name)

    def predict(self, region_hu: Image, nodule_mask: Image, features: Mapping) -> dict:
        """Classify one nodule.

        ``region_hu``: CT in HU; ``nodule_mask``: non-zero = nodule, same grid; ``features``:
        {variable: value or None} (or {variable: {"value": ...}} as :mod:`.features` writes them).
        Returns ``probability`` (fusion), ``task``, ``branches`` {image, tabular, fusion},
        ``texture`` {label, probabilities}, ``masked_features``, ``models`` {id: version} and
        ``warnings`` (list of sentences).
        Raises :class:`~lesionai.errors.InputError` for an empty mask or a mask off the CT grid.
        """
        outputs = self.model.run(self.inputs(region_hu, nodule_mask, features))
        probabilities = {"image": _scalar(outputs["image_probability"]),
                         "tabular": _scalar(outputs["tabular_probability"]),
                         "fusion": _scalar(outputs["fusion_probability"])}
        return {"probability": probabilities["fusion"], "task": self.task, "branches": probabilities,
                "texture": self._texture(outputs["texture_probabilities"][0]),
                "masked_features": self.masked_features(features), "models": {self.entry.id: self.entry.version},
                "warnings": self.warnings(region_hu, nodule_mask, features)}

    def inputs(self, region_hu: Image, nodule_mask: Image, features: Mapping) -> dict[str, np.ndarray]:
        """The ONNX feeds: ``crop`` (1, 2, D, H, W), ``features`` (1, F), ``feature_mask`` (1, F)."""
        shape, spacing = tuple(self.entry.input.shape[1:]), tuple(self.entry.input.spacing_mm)
        crop = classifier_crop(region_hu, nodule_mask, shape, spacing)
        values, missing = feature_vector(self._usable(features))
        return {"crop": crop[np.newaxis], "features": values[np.newaxis], "feature_mask": missing[np.newaxis]}

    def masked_features(self, features: Mapping) -> list[str]:
        """Names of the variables the network receives as masked (missing or untrained)."""
        missing = feature_vector(self._usable(features))[1]
        return [name for name, masked in zip(FEATURE_NAMES, missing) if masked]

    def warnings(self, region_hu: Image, nodule_mask: Image, features: Mapping) -> list[str]:
        """What the user should know about this prediction: variables given but never trained on,
        and a nodule larger than the image branch's field of view."""
        notes = []
        ignored = [name for name in self.untrained_features if _plain(features.get(name)) is not None]
        if ignored:
            notes.append(f"{' and '.join(ignored)} given but not used: the model's training data had none, so it "
                         "only knows them as missing")
        extent = nodule_extent_mm(nodule_mask)
        field = np.asarray(self.entry.input.shape[1:]) * np.asarray(self.entry.input.spacing_mm)
        if (extent > field).any():
            notes.append(f"The nodule's box ({' x '.join(f'{e:.0f}' for e in extent)} mm) exceeds the image branch's "
                         f"field of view ({' x '.join(f'{f:.0f}' for f in field)} mm); its rim is not seen by the "
                         "image branch (the size variables still carry it)")
        return notes

    def _usable(self, features: Mapping) -> dict:
        values = {name: _plain(value) for name, value in features.items()}
        return {name: value for name, value in values.items() if name not in self.untrained_features}

    def _texture(self, probabilities: np.ndarray) -> dict:
        labels = self.entry.output.labels
        by_label = {labels[index]: float(p) for index, p in enumerate(probabilities)}
        return {"label": labels[int(np.argmax(probabilities))], "probabilities": by_label}


def classify_nodule(region_hu: Image, nodule_mask: Image, features: Mapping, registry: ModelRegistry | None = None,
                    threads: int | None = None) -> dict:
    """One-call form of :meth:`NoduleClassifier.predict` (the session is cached between calls)."""
    return NoduleClassifier(registry, threads).predict(region_hu, nodule_mask, features)


def nodule_extent_mm(nodule_mask: Image) -> np.ndarray:
    """(3,) size in mm of the mask's bounding box along ``[k, j, i]``."""
    box = mask_box(nodule_mask.array)
    return np.array([part.stop - part.start for part in box]) * np.asarray(nodule_mask.geometry.spacing[::-1])


def _plain(value):
    """A variable's value, also from the ``{"value": ..., "unit": ...}`` form."""
    return value.get("value") if isinstance(value, Mapping) else value


def _scalar(array: np.ndarray) -> float:
    return float(np.asarray(array).reshape(-1)[0])
