"""Multi-scale SSIM between image pairs, as PGGAN evaluates sample diversity (Karras et al. 2018).

The protocol of the official github.com/tkarras/progressive_growing_of_gans
`metrics/ms_ssim.py` (`msssim` and class `API`, adapted there from the TF
models repository), as `util_scripts.py` `evaluate_metrics` runs it:

  * Pairs are images[0::2] vs images[1::2] (within each fed minibatch), NHWC
    float32 on the 0..255 scale, max_val = 255. The paper uses 20000 images
    (10000 pairs); a LOW mean MS-SSIM between random sample pairs means
    diverse samples.
  * Single-scale SSIM: an 11x11 Gaussian window of sigma 1.5, shrunk to
    size = min(11, H, W) with sigma scaled to size * 1.5 / 11; local
    statistics by `scipy.signal.fftconvolve(..., mode='valid')`;
      c1 = (0.01 * 255)^2,  c2 = (0.03 * 255)^2,
      cs   = (2 s12 + c2) / (s11 + s22 + c2),
      ssim = (2 mu1 mu2 + c1) / (mu1^2 + mu2^2 + c1) * cs,
    each averaged over H, W and C per pair.
  * 5 scales with weights [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]; between
    scales a 2x2 box average. ssim and cs are clipped at >= 0, and
      MS-SSIM = prod_{l<4} cs_l^{w_l} * ssim_4^{w_4}
    per pair, averaged over pairs.

This module follows it in numpy/scipy with the original's dtypes (float32
images and products, a float64 window, so float64 local statistics). Two
small guards: the final (unused) 2x2 downsampling of the original is not
computed, and sizes that do not halve evenly through the scales (which make
the original fail with a numpy broadcast error) raise a ValueError instead.

Relation to `tf.image.ssim_multiscale`: the single-scale statistics are the
same formula, but TF multiplies the scales per channel and averages the
per-channel MS-SSIM (this code averages ssim / cs over channels first), pads
odd sizes before its 2x2 average pooling, never shrinks the window (it needs
every scale >= 11 pixels) and clips only the cs terms and the last ssim. For
one channel and sizes that halve evenly to >= 11 the two agree.
"""

from typing import Optional, Sequence, Tuple

import numpy as np
from scipy import signal

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MAX_VAL = 255.0
FILTER_SIZE = 11
FILTER_SIGMA = 1.5
K1 = 0.01
K2 = 0.03


def gaussian_window(size: int, sigma: float) -> np.ndarray:
  """Normalised 2-D Gaussian [size, size] on a grid centred on 0 (half-integers for even size)."""
  radius = size // 2
  if size % 2:
    coords = np.arange(-radius, radius + 1, dtype=np.float64)
  else:
    coords = np.arange(-radius, radius, dtype=np.float64) + 0.5
  y, x = np.meshgrid(coords, coords, indexing='ij')
  g = np.exp(-(x**2 + y**2) / (2.0 * sigma**2))
  return g / g.sum()


def box_downsample(images: np.ndarray) -> np.ndarray:
  """2x2 box average of NHWC images with even H and W (the original's downsampling)."""
  return (images[:, 0::2, 0::2] + images[:, 1::2, 0::2]
          + images[:, 0::2, 1::2] + images[:, 1::2, 1::2]) * 0.25


def ssim_and_cs(img1, img2, max_val: float = MAX_VAL, filter_size: int = FILTER_SIZE,
                filter_sigma: float = FILTER_SIGMA, k1: float = K1,
                k2: float = K2) -> Tuple[np.ndarray, np.ndarray]:
  """Single-scale SSIM and contrast-structure cs of each pair, NOT clipped.

  Args:
    img1, img2: NHWC arrays of one shape, values on the 0..max_val scale.
    max_val, filter_size, filter_sigma, k1, k2: the protocol's 255, 11, 1.5,
      0.01, 0.03. The window shrinks to min(filter_size, H, W) with sigma
      scaled proportionally; filter_size 0 uses per-pixel statistics.

  Returns:
    (ssim, cs): [N] each, means over H, W and C of the maps (float64 when
    filtered: the images are float32 and the window float64, as in the
    original).
  """
  img1 = np.asarray(img1, np.float32)
  img2 = np.asarray(img2, np.float32)
  _, height, width, _ = img1.shape
  size = min(filter_size, height, width)
  if filter_size:
    sigma = size * filter_sigma / filter_size
    window = gaussian_window(size, sigma)[None, :, :, None]     # float64, as the original
    conv = lambda x: signal.fftconvolve(x, window, mode='valid')
  else:
    conv = lambda x: x
  mu1, mu2 = conv(img1), conv(img2)
  sigma11 = conv(img1 * img1) - mu1 * mu1
  sigma22 = conv(img2 * img2) - mu2 * mu2
  sigma12 = conv(img1 * img2) - mu1 * mu2
  c1 = (k1 * max_val)**2
  c2 = (k2 * max_val)**2
  v1 = 2.0 * sigma12 + c2
  v2 = sigma11 + sigma22 + c2
  ssim_map = ((2.0 * mu1 * mu2 + c1) * v1) / ((mu1 * mu1 + mu2 * mu2 + c1) * v2)
  cs_map = v1 / v2
  return ssim_map.mean(axis=(1, 2, 3)), cs_map.mean(axis=(1, 2, 3))


def _check_pair_shapes(img1: np.ndarray, img2: np.ndarray, levels: int) -> None:
  if img1.ndim != 4 or img1.shape != img2.shape:
    raise ValueError(f'MS-SSIM needs two NHWC arrays of one shape, got {img1.shape} and '
                     f'{img2.shape}.')
  step = 2**(levels - 1)
  h, w = img1.shape[1:3]
  if h < step or w < step or h % step or w % step:
    raise ValueError(
        f'MS-SSIM with {levels} scales needs H and W divisible by {step} (each scale halves the '
        f'image with a 2x2 box), got {h}x{w}; pad or resize the images (e.g. MNIST 28 -> 32).')
  if not np.issubdtype(img1.dtype, np.number) or np.issubdtype(img1.dtype, np.complexfloating):
    raise ValueError(f'MS-SSIM needs real-valued images, got dtype {img1.dtype}.')


def ms_ssim_pairs(img1, img2, max_val: float = MAX_VAL, filter_size: int = FILTER_SIZE,
                  filter_sigma: float = FILTER_SIGMA, k1: float = K1, k2: float = K2,
                  weights: Sequence[float] = WEIGHTS) -> np.ndarray:
  """MS-SSIM of each pair (img1[i], img2[i]), PGGAN protocol (original `msssim`).

  Returns:
    float64 [N]: prod_{l<L-1} max(cs_l, 0)^{w_l} * max(ssim_{L-1}, 0)^{w_{L-1}}.
  """
  img1 = np.asarray(img1)
  img2 = np.asarray(img2)
  weights = np.asarray(weights, np.float64)
  if weights.ndim != 1 or weights.size == 0:
    raise ValueError(f'weights must be a non-empty 1-D sequence, got {weights!r}.')
  _check_pair_shapes(img1, img2, weights.size)
  im1, im2 = img1.astype(np.float32), img2.astype(np.float32)
  ssims, css = [], []
  for level in range(weights.size):
    ssim, cs = ssim_and_cs(im1, im2, max_val, filter_size, filter_sigma, k1, k2)
    ssims.append(ssim)
    css.append(cs)
    if level + 1 < weights.size:
      im1, im2 = box_downsample(im1), box_downsample(im2)
  ssims = np.clip(np.asarray(ssims, np.float64), 0.0, np.inf)
  css = np.clip(np.asarray(css, np.float64), 0.0, np.inf)
  return np.prod(css[:-1] ** weights[:-1, None], axis=0) * ssims[-1] ** weights[-1]


def _check_images(images) -> np.ndarray:
  images = np.asarray(images)
  if images.ndim != 4:
    raise ValueError(f'MS-SSIM needs NHWC images [N, H, W, C], got shape {images.shape}.')
  if len(images) < 2 or len(images) % 2:
    raise ValueError(
        f'MS-SSIM pairs images[0::2] with images[1::2]: it needs an even number >= 2 of images, '
        f'got {len(images)}.')
  return images


class MSSSIMAccumulator:
  """Streams minibatches, pairing [0::2] with [1::2] within each (the original's API.feed)."""

  def __init__(self, pairs_per_chunk: int = 64, **kwargs):
    self.kwargs = kwargs
    self.pairs_per_chunk = int(pairs_per_chunk)
    self.total = 0.0
    self.num_pairs = 0

  def update(self, images) -> None:
    images = _check_images(images)
    first, second = images[0::2], images[1::2]
    for start in range(0, len(first), self.pairs_per_chunk):
      stop = start + self.pairs_per_chunk
      scores = ms_ssim_pairs(first[start:stop], second[start:stop], **self.kwargs)
      self.total += float(scores.sum())
      self.num_pairs += len(scores)

  def result(self) -> float:
    if not self.num_pairs:
      raise ValueError('MSSSIMAccumulator.result: no images were added.')
    return self.total / self.num_pairs


def ms_ssim(images, max_val: float = MAX_VAL, filter_size: int = FILTER_SIZE,
            filter_sigma: float = FILTER_SIGMA, k1: float = K1, k2: float = K2,
            weights: Sequence[float] = WEIGHTS, pairs_per_chunk: int = 64,
            minibatch_size: Optional[int] = None) -> float:
  """Mean MS-SSIM of images[0::2] vs images[1::2], PGGAN protocol (original `API.feed`).

  Args:
    images: NHWC images on the 0..max_val scale (uint8 or float), an even
      number of them (the paper: 20000 generated images).
    max_val, filter_size, filter_sigma, k1, k2, weights: the protocol's
      constants (module docstring).
    pairs_per_chunk: pairs per fftconvolve call (memory only; no effect on
      the result).
    minibatch_size: if given, pairs are formed within consecutive minibatches
      of this (even) size as the original evaluation loop does; None pairs
      over the whole array (the same when minibatches are even).

  Returns:
    The mean MS-SSIM over pairs, a float in [0, 1] (1 = identical pairs).

  Raises:
    ValueError: an odd number of images, non-NHWC input, or sizes that do
      not halve evenly through the scales.
  """
  images = _check_images(images)
  if minibatch_size is not None and (minibatch_size < 2 or minibatch_size % 2):
    raise ValueError(f'minibatch_size must be an even integer >= 2, got {minibatch_size!r}.')
  acc = MSSSIMAccumulator(pairs_per_chunk, max_val=max_val, filter_size=filter_size,
                          filter_sigma=filter_sigma, k1=k1, k2=k2, weights=weights)
  step = minibatch_size or len(images)
  for start in range(0, len(images), step):
    acc.update(images[start:start + step])
  return acc.result()


def msssim(img1, img2, **kwargs) -> float:
  """Mean MS-SSIM over the pairs (img1[i], img2[i]) (uint8 NHWC batches of one shape).

  The original's averaging: per-pair scores (`ms_ssim_pairs`), then their
  mean. Keyword arguments as `ms_ssim_pairs`.
  """
  return float(np.mean(ms_ssim_pairs(img1, img2, **kwargs)))
