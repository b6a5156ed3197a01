"""Image grids: generator outputs -> uint8 -> one PNG."""

import math

import numpy as np
from PIL import Image


def to_uint8(images, value_range):
  """Maps float images in `value_range` to uint8 [0, 255] (rounded, clipped)."""
  lo, hi = value_range
  x = (np.asarray(images, np.float32) - lo) * (255.0 / (hi - lo))
  return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def grid(images, cols=None, pad=1):
  """Tiles uint8 NHWC images into one HWC image, row-major, `pad` black pixels apart."""
  images = np.asarray(images)
  if images.ndim != 4:
    raise ValueError(f'expected NHWC images, got shape {images.shape}')
  n, h, w, c = images.shape
  cols = cols or math.ceil(math.sqrt(n))
  rows = math.ceil(n / cols)
  out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), images.dtype)
  for i in range(n):
    r, k = divmod(i, cols)
    out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + k * (w + pad):pad + k * (w + pad) + w] = images[i]
  return out


def save_png(image_hwc, path, upscale=1):
  """Writes a uint8 HWC image (C = 1 or 3) as PNG, optionally enlarged (nearest)."""
  img = image_hwc[..., 0] if image_hwc.shape[-1] == 1 else image_hwc
  if upscale > 1:
    img = np.repeat(np.repeat(img, upscale, axis=0), upscale, axis=1)
  Image.fromarray(img).save(path)
