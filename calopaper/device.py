"""Which device a computation runs on: ``"auto"`` resolved once, every other name checked."""

from __future__ import annotations

__all__ = ["resolve_device"]


def resolve_device(device: str) -> str:
    """``"auto"`` becomes ``"cuda"`` when a GPU is visible, else ``"cpu"``; others are checked.

    Example:
        >>> resolve_device("cpu")
        'cpu'
    """
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" or device == "mps" or device.startswith("cuda"):
        return device
    msg = f"unknown device {device!r}; expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
    raise ValueError(msg)
