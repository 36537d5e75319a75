"""Pictures in: every way the judge accepts an image ends as one HxWx3 uint8 array."""

from __future__ import annotations

import numpy as np
from PIL import Image


def as_rgb(image: Image.Image | np.ndarray, strict: bool = False) -> np.ndarray:
    """A PIL image or an array as HxWx3 uint8.

    Lenient (the default, for the scorer's callers): grey becomes RGB, alpha is dropped and floats
    (0..1 or 0..255) are scaled and clipped. `strict`: an array must already be HxWx3 uint8, else
    ValueError (the landmark witness, which is handed images by the judge and by tests directly).
    """
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if strict:
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 uint8 array, got {arr.dtype} {arr.shape}")
        return arr
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an HxWx3 image, got shape {arr.shape}")
    arr = arr[..., :3]
    if arr.dtype != np.uint8:
        arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)
