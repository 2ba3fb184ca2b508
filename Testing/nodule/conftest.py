"""Fixtures of the NoduleFusion tests: generated nodules with known masks."""

import pytest

from lesionai.phantoms.nodule import generate_nodule_phantom


@pytest.fixture(scope="module")
def part_solid_phantom():
    """A 12 mm part-solid nodule whose solid core spans half its diameter, with no vessel touching it
    (an attached vessel is soft tissue too and would widen the solid component)."""
    return generate_nodule_phantom(seed=5, kind="part-solid", diameter_mm=12.0, solid_fraction=0.5, vessels=0)


@pytest.fixture(scope="module")
def ground_glass_phantom():
    return generate_nodule_phantom(seed=6, kind="ground-glass", diameter_mm=10.0)
