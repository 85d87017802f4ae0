"""Choosing the device a run uses: ``auto`` takes CUDA when present, else the CPU."""
from __future__ import annotations

import torch


class DeviceUnavailable(RuntimeError):
    """The spec asks for a device this machine does not have."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailable(f"device {name!r} requested but CUDA is not available here (use device: auto or cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceUnavailable(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceUnavailable("device 'mps' requested but it is not available here")
    return device


def device_name(device: torch.device) -> str:
    """A human name of the hardware, for the record."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return platform.processor() or platform.machine() or "cpu"
