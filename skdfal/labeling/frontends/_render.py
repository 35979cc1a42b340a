"""Pool samples as pictures for people: PNG bytes (widgets, files) and ASCII art (terminals).

PNG goes through Pillow (a dependency of matplotlib, and of skdfal), with no
display and no GUI backend: a labeling loop runs over ssh.
"""

from __future__ import annotations

import io

import numpy as np

__all__ = ["as_pixels", "png_bytes", "ascii_art", "side_by_side"]

_RAMP = " .:-=+*#%@"


def _as_image(sample) -> np.ndarray:
    """(H, W) or (H, W, 3) float view of one sample: (C, H, W), (H, W) or a flat square."""
    x = np.asarray(sample, dtype=np.float64)
    if x.ndim == 1:
        side = int(round(np.sqrt(x.size)))
        if side * side != x.size:
            raise ValueError(f"cannot show a flat sample of {x.size} features as an image")
        x = x.reshape(side, side)
    elif x.ndim == 3:
        if x.shape[0] == 1:
            x = x[0]
        elif x.shape[0] == 3:
            x = np.moveaxis(x, 0, -1)
        else:
            x = x.mean(axis=0)  # other channel counts: show the mean
    elif x.ndim != 2:
        raise ValueError(f"cannot show a sample of shape {x.shape} as an image")
    return x


def as_pixels(samples, *, scale: int = 1) -> list[np.ndarray]:
    """uint8 images of ``samples`` on one shared intensity scale (so copies compare).

    The scale runs from ``min(0, lowest)`` to the highest value across all
    samples; each pixel becomes a ``scale`` x ``scale`` block.
    """
    images = [_as_image(s) for s in samples]
    lo = min(0.0, min(float(np.min(im)) for im in images))
    hi = max(float(np.max(im)) for im in images)
    span = hi - lo if hi > lo else 1.0
    out = []
    for im in images:
        pixels = np.clip(np.round((im - lo) / span * 255), 0, 255).astype(np.uint8)
        if scale > 1:
            pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
        out.append(pixels)
    return out


def side_by_side(images, gap: int = 4) -> np.ndarray:
    """Images of equal height next to each other, separated by ``gap`` mid-grey columns."""
    height = max(im.shape[0] for im in images)
    color = any(im.ndim == 3 for im in images)
    parts = []
    for k, im in enumerate(images):
        if color and im.ndim == 2:
            im = np.repeat(im[..., None], 3, axis=-1)
        if im.shape[0] < height:
            pad = np.zeros((height - im.shape[0], *im.shape[1:]), dtype=np.uint8)
            im = np.concatenate([im, pad])
        if k:
            parts.append(np.full((height, gap, *im.shape[2:]), 128, dtype=np.uint8))
        parts.append(im)
    return np.concatenate(parts, axis=1)


def png_bytes(pixels) -> bytes:
    """Encode a uint8 (H, W) grey or (H, W, 3) RGB image as PNG.

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal.labeling.frontends._render import png_bytes
    >>> png_bytes(np.zeros((2, 3), dtype=np.uint8))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    from PIL import Image  # imported here: only drawing needs it, not ``import skdfal``

    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 3)):
        raise ValueError(f"pixels must be an (H, W) or (H, W, 3) image, got shape {pixels.shape}")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")  # 2-D uint8: grey ("L"), 3 channels: RGB
    return buffer.getvalue()


def ascii_art(samples, *, max_width: int = 40, gap: str = "   ") -> str:
    """Samples side by side as text, dark to bright with ``" .:-=+*#%@"``.

    Each pixel is two characters wide (terminal cells are about twice as
    tall as wide); images wider than ``max_width`` pixels are sub-sampled.

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal.labeling.frontends._render import ascii_art
    >>> ascii_art([np.eye(3)]).splitlines()
    ['@@    ', '  @@  ', '    @@']
    """
    grey = [im.mean(axis=-1) if im.ndim == 3 else im.astype(np.float64) for im in as_pixels(samples)]
    step = max(1, int(np.ceil(max(im.shape[1] for im in grey) / max_width)))
    grey = [im[::step, ::step] for im in grey]
    height = max(im.shape[0] for im in grey)
    lines = []
    for row in range(height):
        cells = []
        for im in grey:
            if row < im.shape[0]:
                levels = np.round(im[row] / 255 * (len(_RAMP) - 1)).astype(int)
                cells.append("".join(_RAMP[v] * 2 for v in levels))
            else:
                cells.append(" " * 2 * im.shape[1])
        lines.append(gap.join(cells))
    return "\n".join(lines)
