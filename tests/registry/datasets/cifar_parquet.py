"""Small CIFAR-style images whose pixels say what they are, and the hub's schema to write them in.

Every image carries its own identity in its pixels, so a test can tell from a normalised tensor
which source image it is and what class it came from:

- pixel (0, 0) is 0 and pixel (0, 1) is 255 in every channel (anchors: they give back the
  per-channel affine normalisation of the split);
- elsewhere the red channel is ``2 * label + 5``, the green channel is the image's id, and the
  blue channel is a gradient, so crops and flips change the image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

TRAIN_PER_CLASS = 10
TEST_PER_CLASS = 2
TEST_ID_OFFSET = 150  # test ids are 150.., train ids 0..; all fit in a uint8 channel


def cifar_image(label: int, image_id: int) -> np.ndarray:
    """The (32, 32, 3) uint8 image of ``label`` with identity ``image_id`` (see the module docstring)."""
    image = np.empty((32, 32, 3), dtype=np.uint8)
    image[:, :, 0] = 2 * label + 5
    image[:, :, 1] = image_id
    image[:, :, 2] = (np.arange(32)[:, None] * 7 + np.arange(32)[None, :] * 3) % 256
    image[0, 0, :] = 0
    image[0, 1, :] = 255
    return image


@dataclass(frozen=True)
class RawSplit:
    """What was written: images (N, 32, 32, 3) uint8, labels, ids."""

    images: np.ndarray
    labels: np.ndarray
    ids: np.ndarray


def make_split(classes: list[int], per_class: int, first_id: int) -> RawSplit:
    labels = np.repeat(np.asarray(classes), per_class)
    rng = np.random.default_rng(first_id)
    labels = labels[rng.permutation(len(labels))]  # not sorted by class, like the hub's files
    ids = np.arange(first_id, first_id + len(labels))
    images = np.stack([cifar_image(int(c), int(i)) for c, i in zip(labels, ids)])
    return RawSplit(images, labels, ids)


def decode(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Undo the normalisation of a batch of images made by ``cifar_image``.

    Returns (raw uint8 images (N, 3, 32, 32), labels from the red channel, ids from the green
    channel, the normalisation (mean, std) per channel as a (2, 3) array taken from the anchors)."""
    x = x.double().numpy()
    low, high = x[:, :, 0, 0], x[:, :, 0, 1]  # (N, 3): where raw 0 and raw 255 went
    std = 255.0 / (high - low)
    mean = -low * std
    raw = x * std[:, :, None, None] + mean[:, :, None, None]
    rounded = np.rint(raw)
    assert np.abs(raw - rounded).max() < 1e-2, "not an affine image of the written pixels"
    # every image of a split went through the same (mean, std)
    np.testing.assert_allclose(mean, mean[:1].repeat(len(mean), 0), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(std, std[:1].repeat(len(std), 0), rtol=1e-4)
    images = rounded.astype(np.uint8)
    labels = (images[:, 0, 5, 5].astype(int) - 5) // 2
    ids = images[:, 1, 5, 5].astype(int)
    return images, labels, ids, np.stack([mean[0], std[0]])


def hf_dataset(raw: RawSplit, label_columns: dict[str, tuple[np.ndarray, int]]):
    """A ``datasets.Dataset`` in the hub's schema: ``img`` an Image feature, each label column a
    ClassLabel with the given number of classes."""
    import datasets
    from PIL import Image

    features = {"img": datasets.Image()}
    features.update({column: datasets.ClassLabel(names=[f"c{i}" for i in range(n)]) for column, (_, n) in label_columns.items()})
    return datasets.Dataset.from_dict(
        {"img": [Image.fromarray(image) for image in raw.images], **{k: v.tolist() for k, (v, _) in label_columns.items()}},
        features=datasets.Features(features),
    )
