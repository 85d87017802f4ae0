"""Image-classification data, and the augmentation that runs on the device."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from registry.datasets.tensors import TensorData


@dataclass(frozen=True)
class ImageClassificationData(TensorData):
    """Labelled images; optionally the standard crop + flip augmentation on training batches."""

    crop_padding: int = 0  # > 0: random crop with this zero padding + horizontal flip on training batches

    def augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Training-time augmentation of one batch (identity when ``crop_padding`` is 0)."""
        if self.crop_padding <= 0:
            return x
        return random_crop_flip(x, self.crop_padding, generator)


def random_crop_flip(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """The standard CIFAR augmentation (He et al. 2016, sec. 4.2): zero-pad by ``padding``, take a
    random crop of the original size, flip horizontally with probability 1/2. Vectorised over the
    batch; the random draws come from ``generator`` on the CPU, so results do not depend on device."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    rows = dy[:, None] + torch.arange(h, device=x.device)[None, :]  # (n, h)
    cols = dx[:, None] + torch.arange(w, device=x.device)[None, :]  # (n, w)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
