"""Ground-glass / solid components and the consolidation-to-tumour ratio."""

import numpy as np
import pytest

from lesionai.geometry import Geometry
from lesionai.nodule.components import GROUND_GLASS, SOLID, component_labels, consolidation_tumour_ratio


def test_ctr_of_a_phantom_with_a_known_core(part_solid_phantom):
    phantom = part_solid_phantom
    labels = component_labels(phantom.mask.array > 0, phantom.image.array)
    assert consolidation_tumour_ratio(labels, phantom.image.geometry) == pytest.approx(0.5, abs=0.1)
    solid, known = labels == SOLID, phantom.solid_mask.array > 0
    assert 2 * (solid & known).sum() / (solid.sum() + known.sum()) > 0.8


def test_pure_ground_glass_has_no_solid_component(ground_glass_phantom):
    phantom = ground_glass_phantom
    labels = component_labels(phantom.mask.array > 0, phantom.image.array)
    assert (labels == SOLID).sum() == 0 and (labels == GROUND_GLASS).sum() == (phantom.mask.array > 0).sum()
    assert consolidation_tumour_ratio(labels, phantom.image.geometry) == 0.0


def test_solid_nodule_ctr_is_one_and_specks_are_ground_glass():
    mask = np.zeros((9, 20, 20), bool)
    mask[2:7, 4:16, 4:16] = True
    hu = np.where(mask, 20.0, -850.0)
    assert consolidation_tumour_ratio(component_labels(mask, hu), Geometry()) == pytest.approx(1.0)
    speck = np.where(mask, -600.0, -850.0)
    speck[4, 10, 10] = 50.0
    assert (component_labels(mask, speck) == SOLID).sum() == 0
