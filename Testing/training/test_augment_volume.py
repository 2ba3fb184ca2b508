"""3-D augmentation of training patches: labels stay binary and on the image, intensity changes do
what they say, and one generator state gives one result."""

import numpy as np
import pytest

from lesionai.errors import InputError
from lesionai.training.augment.volume import DEFAULTS, augment_batch, augment_volume, invert

SHAPE = (16, 20, 24)
GEOMETRIC = {"flip": {"p": 1.0, "axes": [0, 1, 2]}, "rotate": {"p": 1.0, "degrees": 15}, "scale": {"p": 1.0},
             "elastic": {"p": 1.0, "magnitude": 2.0, "smoothness": 4.0}}


def labelled_patch() -> tuple[np.ndarray, np.ndarray]:
    """A bright box (labelled 1) in a dark patch, so the label can be checked against the image."""
    labels = np.zeros(SHAPE, np.uint8)
    labels[4:12, 6:14, 5:17] = 1
    image = (0.1 + 0.8 * labels).astype(np.float32)[None]
    return image, labels


def test_geometric_transforms_keep_labels_binary_and_on_the_image():
    image, labels = labelled_patch()
    for seed in range(5):
        moved_image, moved_labels = augment_volume(image, labels, GEOMETRIC, np.random.default_rng(seed))
        assert moved_image.shape == image.shape and moved_labels.shape == labels.shape
        assert moved_labels.dtype == np.uint8 and set(np.unique(moved_labels)) <= {0, 1}
        assert 0.6 * labels.sum() < moved_labels.sum() < 1.5 * labels.sum()  # zoom by 0.9-1.1: volume x 0.75-1.37
        bright = moved_image[0] > 0.5  # linear interpolation at half height: the box's edge
        overlap = 2 * (bright & (moved_labels == 1)).sum() / (bright.sum() + moved_labels.sum())
        assert overlap > 0.9


def test_flip_moves_image_and_labels_together():
    image, labels = labelled_patch()
    flipped_image, flipped_labels = augment_volume(image, labels, {"flip": {"p": 1.0, "axes": [2]}},
                                                   np.random.default_rng(0))
    np.testing.assert_array_equal(flipped_labels, labels[:, :, ::-1])
    np.testing.assert_array_equal(flipped_image, image[:, :, :, ::-1])


def test_inversion_inverts_each_channel_within_its_range():
    image = np.stack([np.linspace(0, 1, np.prod(SHAPE)).reshape(SHAPE), np.full(SHAPE, 3.0)]).astype(np.float32)
    inverted, _ = augment_volume(image, None, {"invert": {"p": 1.0}}, np.random.default_rng(0))
    np.testing.assert_allclose(inverted[0], 1 - image[0], atol=1e-6)
    np.testing.assert_allclose(inverted[1], 3.0)
    np.testing.assert_allclose(invert(inverted, {}, None), image, atol=1e-6)


def test_intensity_transforms_leave_the_labels_alone():
    image, labels = labelled_patch()
    settings = {name: {**block, "p": 1.0} for name, block in DEFAULTS.items() if name not in GEOMETRIC}
    changed, kept = augment_volume(image, labels, settings, np.random.default_rng(3))
    np.testing.assert_array_equal(kept, labels)
    assert changed.dtype == np.float32 and np.isfinite(changed).all() and not np.allclose(changed, image)


def test_gamma_keeps_the_range_and_the_order_of_values():
    image = np.linspace(1, 5, np.prod(SHAPE), dtype=np.float32).reshape((1, *SHAPE))
    changed, _ = augment_volume(image, None, {"gamma": {"p": 1.0, "log_range": 0.5}}, np.random.default_rng(1))
    assert changed.min() == pytest.approx(1) and changed.max() == pytest.approx(5)
    assert (np.diff(changed.ravel()) >= 0).all()


def test_thicker_slices_blur_along_their_axis_only():
    image = np.zeros((1, *SHAPE), np.float32)
    image[0, ::2] = 1.0  # slices alternate: only a fine Z resolution shows them
    settings = {"resolution": {"p": 1.0, "factor": [3.0, 3.0], "axes": [0]}}
    blurred, _ = augment_volume(image, None, settings, np.random.default_rng(0))
    assert np.ptp(blurred[0, :, 0, 0]) < 0.6 and np.allclose(blurred[0, 5], blurred[0, 5, 0, 0])


def test_same_generator_state_gives_the_same_patch():
    image, labels = labelled_patch()
    settings = {name: {**block, "p": 0.5} for name, block in DEFAULTS.items()}
    first = augment_volume(image, labels, settings, np.random.default_rng(7))
    second = augment_volume(image, labels, settings, np.random.default_rng(7))
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_a_batch_is_augmented_sample_by_sample():
    image, labels = labelled_patch()
    images, batch_labels = augment_batch(np.stack([image] * 3), np.stack([labels] * 3), GEOMETRIC,
                                         np.random.default_rng(0))
    assert images.shape == (3, 1, *SHAPE) and batch_labels.shape == (3, *SHAPE)
    assert not np.array_equal(batch_labels[0], batch_labels[1])


def test_unknown_transform_wrong_probability_and_misfit_labels_are_refused():
    image, labels = labelled_patch()
    with pytest.raises(InputError, match="Unknown 3-D augmentation gama"):
        augment_volume(image, labels, {"gama": {"p": 0.3}}, np.random.default_rng(0))
    with pytest.raises(InputError, match="a probability lies in"):
        augment_volume(image, labels, {"noise": {"p": 1.5}}, np.random.default_rng(0))
    with pytest.raises(InputError, match="do not lie on the image grid"):
        augment_volume(image, labels[:, :, :-1], {}, np.random.default_rng(0))
    with pytest.raises(InputError, match="channels, Z, Y, X"):
        augment_volume(image[0], labels, {}, np.random.default_rng(0))
