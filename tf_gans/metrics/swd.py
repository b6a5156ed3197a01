"""Sliced Wasserstein distance between Laplacian-pyramid patches (PGGAN, Karras et al. 2018).

The protocol of the paper's Section 5 / Appendix D as coded in the official
github.com/tkarras/progressive_growing_of_gans `metrics/sliced_wasserstein.py`
(class `API`, run by `util_scripts.py` `evaluate_metrics`):

  1. Each image (uint8, read as float32 on the 0..255 scale) is split into a
     Laplacian pyramid with one level per resolution res, res/2, ..., 16:
       G_0 = image,  G_{i+1} = pyr_down(G_i),  L_i = G_i - pyr_up(G_{i+1}),
     the last level being the Gaussian residual G_{n-1}. pyr_down convolves
     with the 5x5 binomial kernel [1,4,6,4,1]^T [1,4,6,4,1] / 256 (boundary
     'mirror', i.e. d c b | a b c d | c b a) and keeps [::2, ::2]; pyr_up
     inserts zeros x2 and convolves with 4x the same kernel.
  2. From every level of every image, `NHOODS_PER_IMAGE` = 128 random 7x7xC
     neighbourhoods, centres y in [3, H-4] and x in [3, W-4], flattened
     channel-major: 147-d descriptors for RGB. Greyscale (C = 1) is tiled to
     three equal channels first, as the original's `util_scripts.py`
     (`evaluate_metrics`: `np.tile(images, [1, 3, 1, 1])  # grayscale => RGB`)
     does before every metric, whose SWD asserts C = 3: 147-d descriptors for
     greyscale too (module text below, Descriptor layout).
  3. Each set's descriptors of a level are normalised per colour channel
     (mean and population std over all its patches and pixels). Reals and
     fakes are normalised separately.
  4. For each of `DIR_REPEATS` = 4 repeats, `DIRS_PER_REPEAT` = 128 random
     unit directions (randn columns normalised, cast to float32) project both
     sets; each direction's projections are sorted and the mean absolute
     difference is taken. The level's distance is the mean over repeats
     (both sets must hold equally many descriptors).
  5. Reported: `SWDx1e3_<res>` = 1000 x distance for each level, finest
     first, and `SWDx1e3_avg`, their mean. The paper uses 16384 images.

Random numbers. The original draws from the global `np.random` state, so its
values are not reproducible run to run. Here every draw comes from a seeded
`numpy.random.Generator` (PCG64) on its own stream:

  * patch centres of pyramid level l: `default_rng([seed, 0, l])`, drawn as
    an [n * 128, 2] array of (y, x) per minibatch of n images; the draws are
    sequential, so the centres depend only on (seed, image index), not on the
    minibatch size. A `patch_stream` k > 0 draws fresh centres from
    `default_rng([seed, 0, l, k])` (one stream per pass of the original's
    `evaluate_metrics`: tf_gans.metrics.presets gives the reals passes 0
    and 1 and the fakes 2, as the original draws new positions every pass);
  * directions of level l: `default_rng([seed, 1, l])`, one
    standard_normal([D, 128]) array per repeat.

By default reals and fakes use the same `seed`, so the i-th real and the
i-th fake image are sampled at the same positions (common random numbers;
positions never depend on content, so each set's descriptor distribution is
the protocol's). Identical sets then give exactly 0, the value the
original's 'reals' pass reports; give `fake_seed` to draw independent
positions, as the original's later passes do.

Differences from the original, all at float32 rounding level: the pyramid
convolutions are separable 5-tap filters in float64 rounded to float32
(scipy.ndimage.convolve also sums in float64 and rounds to the float32
input type, so the pyramid matches it to the last bit or nearly); the
normalisation statistics and the mean |difference| accumulate in float64
(the original used float32 numpy reductions). Any channel count C is
accepted (the original asserts C = 3; C = 1 is tiled to 3 as its caller
does). A constant channel (std 0) is left at 0 after centring instead of
becoming nan.

Descriptor layout. Ours are ordered (channel, dy, dx): component
c * 49 + (dy + 3) * 7 + (dx + 3). The original's `get_descriptors_for_minibatch`
builds its index from `nhood, chan, x, y = np.ogrid[0:N, 0:3, -3:4, -3:4]`
and adds the width centre to x and the height centre to y, so its patch is
flattened (channel, dx, dy): each channel's 7x7 block is the transpose of
ours. The two orders are one fixed permutation P of the components (an
involution). The per-channel normalisation does not see the order, and the
projection of a descriptor on a direction d equals the projection of the
permuted descriptor on the permuted d, so with directions permuted by P the
values agree (to float32 rounding of the dot products); with fresh random
directions (i.i.d. normal components, so the direction law is invariant
under P) they have the same distribution. `tests/metrics/test_swd.py`
builds the original's order by hand and checks both.

Greyscale tiling is applied to the descriptors rather than the images
(`extract_descriptors` repeats the one channel's 49 components three times):
the pyramid is computed per channel, so the descriptors, their per-channel
statistics and the distance are the same bits as for the images tiled to
RGB first, at a third of the pyramid's cost.

Note that the per-channel normalisation makes SWD blind to per-channel
affine intensity changes (x -> a x + b gives the same descriptors): it
measures local structure at each scale, not colour or brightness.

Memory. `sliced_wasserstein` runs one pyramid level at a time: the pyramid
of every minibatch is computed down to that level only, the level's
descriptors of both sets are gathered into one preallocated float32 array
each (16384 images x 128 patches x 147 x 4 B = 1.2 GB per set at the
protocol size), normalised in place, and projected on `dirs_per_chunk`
directions at a time: the projections are held as [chunk, M] float32 rows,
sorted in place along the rows (one direction's M values contiguous), and
their |difference| summed in float64. A level's arrays are freed before the
next level. At 16384 vs 16384 images of 128x128 this holds ~2.7 GB at once
instead of all four levels of both sets (~10 GB plus copies); the numbers
equal the previous all-at-once computation (`reference_sliced_wasserstein`,
kept for the tests and tf_gans.bench.metrics) to float32 rounding of the
projections (the matmul's summation order), ~1e-9 relative per level.

Exact float32 pyramid steps. The pyramid of uint8 images is computed as if
in float64 (module text above), but the steps whose float32 arithmetic is
exact run in float32, which is several times faster: G_0 is integer and G_1
lies on the 1/256 grid below 256, so pyr_down(G_0), pyr_down(G_1) (outputs on
the 2^-16 grid below 256: 24 significant bits) and pyr_up(G_1) (partial sums
on the 2^-14 grid below 2^10: 24 bits) round nothing in float32 and give the
float64 result bit for bit. Deeper steps and non-uint8 inputs use float64.

The pyramid, patch gathering and the GPU projections run in TensorFlow; on a
CPU the projections and the sort run in numpy (BLAS sgemm and numpy's sort;
sorting is exact, so where it runs does not change the result).
"""

import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

NHOOD_SIZE = 7
NHOODS_PER_IMAGE = 128
DIR_REPEATS = 4
DIRS_PER_REPEAT = 128
MIN_RESOLUTION = 16
# Bytes of projections held per set by `projected_distance` when no dirs_per_chunk
# is given: 16 directions of 2**21 descriptors (16384 images x 128 patches).
PROJECTION_BYTES = 128 << 20

# The 1-D binomial factor of the 5x5 kernel [1,4,6,4,1]^T [1,4,6,4,1] / 256.
_BINOMIAL = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)

_PATCH_STREAM = 0
_DIRECTION_STREAM = 1


def resolutions(height: int, min_resolution: int = MIN_RESOLUTION) -> List[int]:
  """Resolutions height, height/2, ... down to >= min_resolution (original `API.__init__`)."""
  out = []
  res = int(height)
  while res >= min_resolution:
    out.append(res)
    res //= 2
  return out


def metric_names(height: int, min_resolution: int = MIN_RESOLUTION) -> List[str]:
  """['SWDx1e3_<res>' finest first ..., 'SWDx1e3_avg'], the original's names."""
  return [f'SWDx1e3_{r}' for r in resolutions(height, min_resolution)] + ['SWDx1e3_avg']


def default_minibatch_size(resolution: int) -> int:
  """The original evaluation minibatch, clip(8192 // res, 4, 256) (`evaluate_metrics`)."""
  return int(np.clip(8192 // int(resolution), 4, 256))


def _check_seed(name: str, seed) -> int:
  if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
    raise ValueError(f'{name} must be a non-negative integer, got {seed!r}.')
  return int(seed)


def check_images(name: str, images, min_resolution: int = MIN_RESOLUTION) -> np.ndarray:
  """`images` as a uint8 NHWC array whose pyramid down to min_resolution is well defined.

  Raises:
    ValueError: not 4-D, not uint8, empty, smaller than `min_resolution`, or
      H / W not divisible by 2^(levels - 1) (odd sizes break pyr_up's shape,
      as they do in the original).
  """
  images = np.asarray(images)
  if images.ndim != 4:
    raise ValueError(f'{name} must be uint8 NHWC images [N, H, W, C], got shape {images.shape}.')
  if images.dtype != np.uint8:
    raise ValueError(
        f'{name} must be uint8 (0..255, as the protocol feeds Gs output), got {images.dtype}; '
        'convert float images with tf_gans.training.images.to_uint8.')
  n, h, w, c = images.shape
  if n == 0 or c == 0:
    raise ValueError(f'{name} is empty (shape {images.shape}).')
  if h < min_resolution or w < min_resolution:
    raise ValueError(
        f'{name}: SWD needs images of at least {min_resolution}x{min_resolution} (the coarsest '
        f'pyramid level), got {h}x{w}.')
  step = 2**(len(resolutions(h, min_resolution)) - 1)
  if h % step or w % step:
    raise ValueError(
        f'{name}: height and width must be divisible by {step} for a '
        f'{len(resolutions(h, min_resolution))}-level pyramid, got {h}x{w}.')
  if min(h, w) // step < NHOOD_SIZE:
    raise ValueError(f'{name}: {h}x{w} images are too small for {NHOOD_SIZE}x{NHOOD_SIZE} '
                     f'patches at the coarsest level ({h // step}x{w // step} pixels).')
  return images


def _blur(x: tf.Tensor, gain: float) -> tf.Tensor:
  """gain x the 5x5 binomial filter on float64 NHWC, boundary 'mirror' (scipy) = 'REFLECT' (tf)."""
  h, w = tf.shape(x)[1], tf.shape(x)[2]
  xp = tf.pad(x, [[0, 0], [2, 2], [0, 0], [0, 0]], mode='REFLECT')
  x = tf.add_n([wk * xp[:, k:k + h] for k, wk in enumerate(_BINOMIAL)])
  xp = tf.pad(x, [[0, 0], [0, 0], [2, 2], [0, 0]], mode='REFLECT')
  x = tf.add_n([(wk * gain) * xp[:, :, k:k + w] for k, wk in enumerate(_BINOMIAL)])
  return x


def _pyr_down(x, dtype) -> tf.Tensor:
  x = tf.cast(x, dtype)
  return tf.cast(_blur(x, 1.0)[:, ::2, ::2], tf.float32)


def _pyr_up(x, dtype) -> tf.Tensor:
  x = tf.cast(x, dtype)
  s = tf.shape(x)
  zeros = tf.zeros_like(x)
  # Interleave along W then H: [n, h, w, c] -> [n, h, 2w, c] -> [n, 2h, 2w, c].
  x = tf.reshape(tf.stack([x, zeros], axis=3), [s[0], s[1], 2 * s[2], s[3]])
  x = tf.reshape(tf.stack([x, tf.zeros_like(x)], axis=2), [s[0], 2 * s[1], 2 * s[2], s[3]])
  return tf.cast(_blur(x, 4.0), tf.float32)


def pyr_down(x) -> tf.Tensor:
  """Blur (5x5 binomial, 'mirror') then [::2, ::2]: float32 NHWC -> float32 NHWC (`pyr_down`)."""
  return _pyr_down(x, tf.float64)


def pyr_up(x) -> tf.Tensor:
  """Zero-insert x2, then 4 x the binomial blur ('mirror'): float32 NHWC, x2 size (`pyr_up`)."""
  return _pyr_up(x, tf.float64)


def _down_dtype(step: int, from_uint8: bool):
  """dtype of pyr_down(G_step): float32 where exact (G_0, G_1 of uint8 images; module docstring)."""
  return tf.float32 if from_uint8 and step <= 1 else tf.float64


def _up_dtype(level: int, from_uint8: bool):
  """dtype of pyr_up(G_{level+1}) for L_level: float32 where exact (L_0 of uint8 images)."""
  return tf.float32 if from_uint8 and level == 0 else tf.float64


def laplacian_pyramid(images, num_levels: int) -> List[tf.Tensor]:
  """[L_0, ..., L_{n-2}, G_{n-1}]: float32 NHWC levels on the 0..255 scale, finest first."""
  images = tf.convert_to_tensor(images)
  return _laplacian_pyramid(images, int(num_levels), images.dtype == tf.uint8)


@tf.function(reduce_retracing=True)
def _laplacian_pyramid(images, num_levels, from_uint8):
  pyramid = [tf.cast(images, tf.float32)]
  for i in range(1, num_levels):
    pyramid.append(_pyr_down(pyramid[-1], _down_dtype(i - 1, from_uint8)))
    pyramid[-2] = pyramid[-2] - _pyr_up(pyramid[-1], _up_dtype(i - 1, from_uint8))
  return pyramid


def laplacian_level(images, level: int, num_levels: int) -> tf.Tensor:
  """L_level of `laplacian_pyramid(images, num_levels)` alone, computing no finer-level output.

  The Gaussian levels G_1 .. G_{level+1} are computed and L_level = G_level -
  pyr_up(G_{level+1}) (the residual G_{n-1} for the last level), with the
  same operations as `laplacian_pyramid`, so the values are the same bits.
  """
  images = tf.convert_to_tensor(images)
  if not 0 <= level < num_levels:
    raise ValueError(f'level must be in [0, {num_levels}), got {level!r}.')
  return _laplacian_level(images, int(level), int(num_levels), images.dtype == tf.uint8)


@tf.function(reduce_retracing=True)
def _laplacian_level(images, level, num_levels, from_uint8):
  g = tf.cast(images, tf.float32)
  for i in range(level):
    g = _pyr_down(g, _down_dtype(i, from_uint8))
  if level == num_levels - 1:
    return g
  coarser = _pyr_down(g, _down_dtype(level, from_uint8))
  return g - _pyr_up(coarser, _up_dtype(level, from_uint8))


def patch_rng(seed: int, level: int, patch_stream: int = 0) -> np.random.Generator:
  """The generator of the patch centres of pyramid `level` (module docstring).

  Stream 0 is `default_rng([seed, 0, level])`; stream k > 0 is
  `default_rng([seed, 0, level, k])`, independent positions for another pass.
  """
  words = [seed, _PATCH_STREAM, level] + ([patch_stream] if patch_stream else [])
  return np.random.default_rng(words)


def patch_centres(rng: np.random.Generator, num_images: int, height: int, width: int,
                  nhood_size: int = NHOOD_SIZE,
                  nhoods_per_image: int = NHOODS_PER_IMAGE) -> np.ndarray:
  """int64 [num_images * nhoods_per_image, 2] of (y, x), y in [r, H-r-1], x in [r, W-r-1]."""
  r = nhood_size // 2
  return rng.integers(r, [height - r, width - r], size=(num_images * nhoods_per_image, 2))


def descriptor_channels(channels: int) -> int:
  """Channels of the descriptors of C-channel images: 3 for greyscale (tiled to RGB), else C."""
  return 3 if int(channels) == 1 else int(channels)


def extract_descriptors(level, centres: np.ndarray, nhood_size: int = NHOOD_SIZE,
                        nhoods_per_image: int = NHOODS_PER_IMAGE) -> np.ndarray:
  """Flattened nhood_size^2 x C' patches of `level` [n, h, w, C] around `centres`.

  Patch j belongs to image j // nhoods_per_image. Components are ordered
  (channel, dy, dx); the original flattens (channel, dx, dy), each channel's
  block transposed (module docstring, Descriptor layout). A greyscale level
  (C = 1) gives its patch three times, C' = `descriptor_channels(C)` = 3: the
  descriptors of the level tiled to RGB, as the original tiles greyscale.

  Returns:
    float32 [n * nhoods_per_image, C' * nhood_size^2].
  """
  level = tf.convert_to_tensor(level, tf.float32)
  n, h, w, c = level.shape
  r = nhood_size // 2
  offsets = np.arange(-r, r + 1)
  img = np.arange(len(centres)) // nhoods_per_image
  ys = centres[:, 0, None, None] + offsets[None, :, None]
  xs = centres[:, 1, None, None] + offsets[None, None, :]
  flat = (img[:, None, None] * h + ys) * w + xs                 # [m, k, k]
  patches = tf.gather(tf.reshape(level, [n * h * w, c]), flat)   # [m, k, k, C]
  patches = tf.transpose(patches, [0, 3, 1, 2])                  # [m, C, k, k]
  if c == 1:
    patches = tf.tile(patches, [1, 3, 1, 1])                     # greyscale => RGB
  return tf.reshape(patches, [len(centres), -1]).numpy()


def _channel_moments(desc: np.ndarray, channels: int) -> Tuple[np.ndarray, np.ndarray]:
  """float64 per-channel sum and sum of squares of float32 descriptors [m, C*k*k]."""
  per_channel = desc.reshape(len(desc), channels, -1)
  wide = per_channel.astype(np.float64)
  return (per_channel.sum(axis=(0, 2), dtype=np.float64),
          np.einsum('mck,mck->c', wide, wide))


def _normalise_in_place(desc: np.ndarray, total: np.ndarray, total_sq: np.ndarray,
                        channels: int) -> None:
  """Per-channel centring and population-std scaling in place (`finalize_descriptors`).

  Statistics from the float64 sums of `_channel_moments` over the whole set,
  applied in float32. A constant channel (std 0) is only centred; the
  original would divide by 0 (nan).
  """
  count = desc.shape[0] * desc.shape[1] / channels
  mean = total / count
  std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
  std[std == 0] = 1.0
  per_channel = desc.reshape(len(desc), channels, -1)
  per_channel -= mean.astype(np.float32)[None, :, None]
  per_channel /= std.astype(np.float32)[None, :, None]


@dataclasses.dataclass
class Descriptors:
  """Normalised descriptors of one image set, one float32 [M, C'*49] array per pyramid level.

  C' = `descriptor_channels(C)`: 3 for greyscale and RGB images.
  """
  resolutions: Tuple[int, ...]
  levels: List[np.ndarray]
  num_images: int


class DescriptorAccumulator:
  """Streams minibatches into per-level descriptors, as the original API.feed / end do.

  Usage:
    acc = DescriptorAccumulator(seed=0)
    for batch in batches:          # uint8 NHWC minibatches
      acc.update(batch)
    desc = acc.finalize()          # per-channel normalised (original `finalize_descriptors`)

  The per-channel sums for the normalisation accumulate in float64 as
  batches arrive; the raw float32 descriptors of every level are kept (M x
  C'*49 per level, e.g. 16384 images x 128 patches x 147 x 4 B = 1.2 GB per
  level), as the original's pass-by-pass API needs. When both whole sets
  are at hand, `sliced_wasserstein` needs one level at a time instead.
  """

  def __init__(self, seed: int = 0, min_resolution: int = MIN_RESOLUTION,
               nhood_size: int = NHOOD_SIZE, nhoods_per_image: int = NHOODS_PER_IMAGE,
               patch_stream: int = 0):
    self.seed = _check_seed('seed', seed)
    self.patch_stream = _check_seed('patch_stream', patch_stream)
    self.min_resolution = int(min_resolution)
    self.nhood_size = int(nhood_size)
    self.nhoods_per_image = int(nhoods_per_image)
    if self.nhood_size < 1 or self.nhood_size % 2 == 0:
      raise ValueError(f'nhood_size must be a positive odd integer, got {nhood_size!r}.')
    if self.nhoods_per_image < 1:
      raise ValueError(f'nhoods_per_image must be >= 1, got {nhoods_per_image!r}.')
    self.image_shape = None
    self.resolutions = None
    self.num_images = 0
    self._rngs = None
    self._chunks = None
    self._sum = None
    self._sum_sq = None

  def _start(self, shape):
    self.image_shape = tuple(shape[1:])
    self.resolutions = tuple(resolutions(shape[1], self.min_resolution))
    levels = len(self.resolutions)
    self._rngs = [patch_rng(self.seed, l, self.patch_stream) for l in range(levels)]
    self._chunks = [[] for _ in range(levels)]
    self._sum = np.zeros((levels, descriptor_channels(shape[3])), np.float64)
    self._sum_sq = np.zeros((levels, descriptor_channels(shape[3])), np.float64)

  def update(self, images) -> None:
    """Adds a uint8 NHWC minibatch: pyramid, random patches, running channel sums."""
    images = check_images('images', images, self.min_resolution)
    if self.image_shape is not None and self._chunks is None:
      raise ValueError('DescriptorAccumulator.update after finalize; start a new one.')
    if self.image_shape is None:
      self._start(images.shape)
    elif images.shape[1:] != self.image_shape:
      raise ValueError(f'minibatch images have shape {images.shape[1:]}, earlier ones '
                       f'{self.image_shape}; all images of a set must have one size.')
    n, c = images.shape[0], descriptor_channels(images.shape[3])
    for l, level in enumerate(laplacian_pyramid(images, len(self.resolutions))):
      centres = patch_centres(self._rngs[l], n, level.shape[1], level.shape[2],
                              self.nhood_size, self.nhoods_per_image)
      desc = extract_descriptors(level, centres, self.nhood_size, self.nhoods_per_image)
      total, total_sq = _channel_moments(desc, c)
      self._sum[l] += total
      self._sum_sq[l] += total_sq
      self._chunks[l].append(desc)
    self.num_images += n

  def finalize(self) -> Descriptors:
    """Concatenates, normalises each level per channel (population std): `finalize_descriptors`."""
    if self.image_shape is None:
      raise ValueError('DescriptorAccumulator.finalize: no images were added.')
    if self._chunks is None:
      raise ValueError('DescriptorAccumulator.finalize was already called; start a new one.')
    c = descriptor_channels(self.image_shape[2])
    levels = []
    for l in range(len(self._chunks)):
      desc = np.concatenate(self._chunks[l], axis=0)
      self._chunks[l] = None          # at most one level held twice while concatenating
      _normalise_in_place(desc, self._sum[l], self._sum_sq[l], c)
      levels.append(desc)
    self._chunks = None
    return Descriptors(self.resolutions, levels, self.num_images)


def level_descriptors(images, level: int, seed: int = 0, minibatch_size: Optional[int] = None,
                      min_resolution: int = MIN_RESOLUTION, patch_stream: int = 0,
                      nhood_size: int = NHOOD_SIZE,
                      nhoods_per_image: int = NHOODS_PER_IMAGE) -> np.ndarray:
  """Normalised descriptors of pyramid `level` of a whole uint8 NHWC set: float32 [N*128, C'*49].

  C' = `descriptor_channels(C)` (greyscale is tiled to RGB, as the original).

  The same values as `descriptors(...).levels[level]` (same minibatches,
  patch centres and float64 sums), computed for this level alone: each
  minibatch's pyramid runs only down to the level (`laplacian_level`), and
  the descriptors go straight into one preallocated array, normalised in
  place, so only this level of this set is held. The original computes every
  level of a minibatch in `API.feed` and keeps them all until `API.end`.
  """
  images = check_images('images', images, min_resolution)
  n, h, w, c = images.shape
  c = descriptor_channels(c)
  num_levels = len(resolutions(h, min_resolution))
  mb = minibatch_size or default_minibatch_size(h)
  rng = patch_rng(_check_seed('seed', seed), level, _check_seed('patch_stream', patch_stream))
  out = np.empty((n * nhoods_per_image, c * nhood_size**2), np.float32)
  total = np.zeros(c, np.float64)
  total_sq = np.zeros(c, np.float64)
  for start in range(0, n, mb):
    batch = images[start:start + mb]
    lap = laplacian_level(batch, level, num_levels)
    centres = patch_centres(rng, len(batch), lap.shape[1], lap.shape[2], nhood_size,
                            nhoods_per_image)
    desc = extract_descriptors(lap, centres, nhood_size, nhoods_per_image)
    batch_sum, batch_sum_sq = _channel_moments(desc, c)
    total += batch_sum
    total_sq += batch_sum_sq
    out[start * nhoods_per_image:(start + len(batch)) * nhoods_per_image] = desc
  _normalise_in_place(out, total, total_sq, c)
  return out


def unit_directions(rng: np.random.Generator, dim: int,
                    dirs_per_repeat: int = DIRS_PER_REPEAT) -> np.ndarray:
  """float32 [dim, dirs]: randn columns normalised to unit length in float64, then cast."""
  dirs = rng.standard_normal((dim, dirs_per_repeat))
  dirs /= np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))
  return dirs.astype(np.float32)


def _on_gpu() -> bool:
  return bool(tf.config.list_logical_devices('GPU'))


def projected_distance(a, b, rng: np.random.Generator, dir_repeats: int = DIR_REPEATS,
                       dirs_per_repeat: int = DIRS_PER_REPEAT,
                       dirs_per_chunk: Optional[int] = None) -> float:
  """The SWD of two equal-size descriptor sets [M, D] (original `sliced_wasserstein`, not x1e3).

  For each repeat: project both sets on `dirs_per_repeat` unit directions,
  sort each direction's projections, take mean |sorted_a - sorted_b| over
  points and directions; return the mean over repeats.

  The directions of a repeat are drawn at once (as the original), then used
  `dirs_per_chunk` at a time: each set's projections on a chunk are one
  [chunk, M] float32 array, sorted in place along its rows. None picks the
  chunk from PROJECTION_BYTES (16 directions at M = 2^21, all 128 below
  2^18); the chunk only changes float32 rounding of the projections (the
  BLAS kernel's summation order), ~1e-9 relative in the result.
  """
  a = np.asarray(a, np.float32)
  b = np.asarray(b, np.float32)
  if a.ndim != 2 or a.shape != b.shape:
    raise ValueError(f'SWD needs two descriptor sets of one shape [M, D]; got {a.shape} and '
                     f'{b.shape} (equal image counts on both sides).')
  m = len(a)
  if dirs_per_chunk is None:
    dirs_per_chunk = max(1, PROJECTION_BYTES // (4 * max(m, 1)))
  elif (isinstance(dirs_per_chunk, bool) or int(dirs_per_chunk) != dirs_per_chunk
        or dirs_per_chunk < 1):
    raise ValueError(f'dirs_per_chunk must be a positive integer, got {dirs_per_chunk!r}.')
  chunk = int(min(dirs_per_chunk, dirs_per_repeat))
  if _on_gpu():
    a, b = tf.constant(a), tf.constant(b)
    sum_chunk = _sorted_difference_sum_tf
  else:
    buffers = (np.empty((chunk, m), np.float32), np.empty((chunk, m), np.float32))
    sum_chunk = lambda x, y, dirs_t: _sorted_difference_sum_np(x, y, dirs_t, *buffers)
  results = []
  for _ in range(dir_repeats):
    dirs = unit_directions(rng, a.shape[1], dirs_per_repeat)
    total = 0.0
    for first in range(0, dirs_per_repeat, chunk):
      total += sum_chunk(a, b, np.ascontiguousarray(dirs[:, first:first + chunk].T))
    results.append(total / (m * dirs_per_repeat))
  return float(np.mean(results))


def _sorted_difference_sum_np(a: np.ndarray, b: np.ndarray, dirs_t: np.ndarray,
                              buf_a: np.ndarray, buf_b: np.ndarray) -> float:
  """sum |sort(a @ d) - sort(b @ d)| over the directions d (rows of dirs_t [k, D]), in float64.

  The projections are written as [k, M] rows into the buffers (BLAS sgemm)
  and sorted in place along the rows, where one direction's values are
  contiguous.
  """
  k = len(dirs_t)
  proj_a, proj_b = buf_a[:k], buf_b[:k]
  np.matmul(dirs_t, a.T, out=proj_a)
  proj_a.sort(axis=1)
  np.matmul(dirs_t, b.T, out=proj_b)
  proj_b.sort(axis=1)
  np.subtract(proj_a, proj_b, out=proj_a)
  np.abs(proj_a, out=proj_a)
  return float(proj_a.sum(dtype=np.float64))


def _sorted_difference_sum_tf(a: tf.Tensor, b: tf.Tensor, dirs_t: np.ndarray) -> float:
  """As `_sorted_difference_sum_np` in TensorFlow (tf.sort, for a GPU)."""
  dirs_t = tf.constant(dirs_t)
  proj_a = tf.sort(tf.matmul(dirs_t, a, transpose_b=True), axis=-1)
  proj_b = tf.sort(tf.matmul(dirs_t, b, transpose_b=True), axis=-1)
  return float(tf.reduce_sum(tf.cast(tf.abs(proj_a - proj_b), tf.float64)))


def _mean_sorted_difference(proj_a: tf.Tensor, proj_b: tf.Tensor, on_gpu: bool) -> float:
  """mean |sort(proj_a, axis 0) - sort(proj_b, axis 0)| of [M, dirs], accumulated in float64.

  The previous implementation's column sort (`reference_sliced_wasserstein`).
  Sorting is exact, so where it runs does not change the result: tf.sort on
  a GPU, numpy on a CPU (tf.sort, built on top_k, is ~8x slower there).
  """
  if on_gpu:
    diff = tf.abs(tf.sort(proj_a, axis=0) - tf.sort(proj_b, axis=0))
    return float(tf.reduce_mean(tf.cast(diff, tf.float64)))
  diff = np.abs(np.sort(proj_a.numpy(), axis=0) - np.sort(proj_b.numpy(), axis=0))
  return float(diff.mean(dtype=np.float64))


def distance_from_descriptors(real: Descriptors, fake: Descriptors, seed: int = 0,
                              dir_repeats: int = DIR_REPEATS,
                              dirs_per_repeat: int = DIRS_PER_REPEAT,
                              dirs_per_chunk: Optional[int] = None) -> Dict[str, float]:
  """{'SWDx1e3_<res>': ..., 'SWDx1e3_avg': ...} from two finalised descriptor sets.

  Directions of level l come from `default_rng([seed, 1, l])`.

  Raises:
    ValueError: different pyramids or unequal numbers of images.
  """
  seed = _check_seed('seed', seed)
  if tuple(real.resolutions) != tuple(fake.resolutions):
    raise ValueError(f'real and fake pyramids differ: resolutions {real.resolutions} vs '
                     f'{fake.resolutions} (the images must have one size).')
  if real.num_images != fake.num_images:
    raise ValueError(f'SWD needs equally many real and fake images, got {real.num_images} '
                     f'and {fake.num_images}.')
  out = {}
  for l, (res, a, b) in enumerate(zip(real.resolutions, real.levels, fake.levels)):
    out[f'SWDx1e3_{res}'] = 1e3 * projected_distance(a, b, direction_rng(seed, l), dir_repeats,
                                                     dirs_per_repeat, dirs_per_chunk)
  out['SWDx1e3_avg'] = float(np.mean(list(out.values())))
  return out


def direction_rng(seed: int, level: int) -> np.random.Generator:
  """The generator of the directions of pyramid `level`: `default_rng([seed, 1, level])`."""
  return np.random.default_rng([seed, _DIRECTION_STREAM, level])


def descriptors(images, seed: int = 0, minibatch_size: Optional[int] = None,
                min_resolution: int = MIN_RESOLUTION, patch_stream: int = 0) -> Descriptors:
  """Normalised descriptors of a whole uint8 NHWC set, fed in minibatches (as the original)."""
  images = check_images('images', images, min_resolution)
  mb = minibatch_size or default_minibatch_size(images.shape[1])
  acc = DescriptorAccumulator(seed=seed, min_resolution=min_resolution, patch_stream=patch_stream)
  for start in range(0, len(images), mb):
    acc.update(images[start:start + mb])
  return acc.finalize()


def _check_pair(real, fake, min_resolution):
  real = check_images('real', real, min_resolution)
  fake = check_images('fake', fake, min_resolution)
  if real.shape[1:] != fake.shape[1:]:
    raise ValueError(f'real and fake images differ in shape: {real.shape[1:]} vs {fake.shape[1:]}.')
  if len(real) != len(fake):
    raise ValueError(f'SWD needs equally many real and fake images, got {len(real)} and '
                     f'{len(fake)}.')
  return real, fake


def sliced_wasserstein(real, fake, seed: int = 0, fake_seed: Optional[int] = None,
                       minibatch_size: Optional[int] = None,
                       dir_repeats: int = DIR_REPEATS,
                       dirs_per_repeat: int = DIRS_PER_REPEAT,
                       min_resolution: int = MIN_RESOLUTION,
                       dirs_per_chunk: Optional[int] = None) -> Dict[str, float]:
  """SWD x 1e3 per pyramid level and their average, PGGAN protocol (paper section 5, appendix D).

  One level at a time (module docstring, Memory): `level_descriptors` of
  both sets, then `projected_distance`, then the next level. The values are
  those of `reference_sliced_wasserstein`, the all-at-once computation, to
  float32 rounding of the projections.

  Args:
    real: uint8 NHWC reference images (the paper: 16384).
    fake: uint8 NHWC generated images, same shape as `real`.
    seed: seeds the real patch centres and the directions (module docstring).
    fake_seed: seeds the fake patch centres; None uses `seed` (identical
      sets then give exactly 0).
    minibatch_size: images per pyramid batch (None: clip(8192 // res, 4,
      256) as the original). Does not change the result.
    dir_repeats, dirs_per_repeat: 4 and 128 in the protocol.
    min_resolution: coarsest pyramid level (16 in the protocol).
    dirs_per_chunk: directions projected at once (None: from
      PROJECTION_BYTES). Changes only float32 rounding (~1e-9 relative).

  Returns:
    dict: 'SWDx1e3_<res>' for res = H, H/2, ..., 16 (finest first), then
    'SWDx1e3_avg'.

  Raises:
    ValueError: non-uint8 / non-NHWC input, images smaller than
      min_resolution or not divisible through the pyramid, shapes differing
      between the sets, or unequal counts.
  """
  real, fake = _check_pair(real, fake, min_resolution)
  seed = _check_seed('seed', seed)
  fake_seed = seed if fake_seed is None else _check_seed('fake_seed', fake_seed)
  out = {}
  for l, res in enumerate(resolutions(real.shape[1], min_resolution)):
    a = level_descriptors(real, l, seed, minibatch_size, min_resolution)
    b = level_descriptors(fake, l, fake_seed, minibatch_size, min_resolution)
    out[f'SWDx1e3_{res}'] = 1e3 * projected_distance(a, b, direction_rng(seed, l), dir_repeats,
                                                     dirs_per_repeat, dirs_per_chunk)
    del a, b                           # free this level before the next
  out['SWDx1e3_avg'] = float(np.mean(list(out.values())))
  return out


def sliced_wasserstein_distance(reals, fakes, seed: int = 0, **kwargs) -> List[float]:
  """[SWD x 1e3 at H, H/2, ..., 16, then their average]: `sliced_wasserstein` as a list.

  reals, fakes: uint8 NHWC arrays of one shape. Other keyword arguments as
  `sliced_wasserstein`. The order is the original's metric columns.
  """
  result = sliced_wasserstein(reals, fakes, seed=seed, **kwargs)
  return [result[name] for name in metric_names(np.shape(reals)[1],
                                                kwargs.get('min_resolution', MIN_RESOLUTION))]


# --- Reference: the previous all-at-once computation ---------------------------------------

def reference_sliced_wasserstein(real, fake, seed: int = 0, fake_seed: Optional[int] = None,
                                 minibatch_size: Optional[int] = None,
                                 dir_repeats: int = DIR_REPEATS,
                                 dirs_per_repeat: int = DIRS_PER_REPEAT,
                                 min_resolution: int = MIN_RESOLUTION) -> Dict[str, float]:
  """`sliced_wasserstein` as computed before the level-by-level path, for tests and benchmarks.

  Every level of both sets at once, as the original `API.feed` / `API.end`:
  the whole float64 pyramid of each minibatch (`pyr_down` / `pyr_up`), all
  levels' raw descriptors kept and concatenated, normalised, then per
  repeat `tf.matmul` of [M, D] by [D, 128] and a column sort. Same random
  streams, so the same numbers as `sliced_wasserstein` (up to float32
  rounding of the projections). At 16384 vs 16384 images of 128x128 it
  peaks at ~23 GB; tf_gans.bench.metrics times it against the new path.
  """
  real, fake = _check_pair(real, fake, min_resolution)
  seed = _check_seed('seed', seed)
  fake_seed = seed if fake_seed is None else _check_seed('fake_seed', fake_seed)
  sets = [_reference_descriptors(images, s, minibatch_size, min_resolution)
          for images, s in ((real, seed), (fake, fake_seed))]
  on_gpu = _on_gpu()
  out = {}
  for l, res in enumerate(resolutions(real.shape[1], min_resolution)):
    a = tf.convert_to_tensor(sets[0][l], tf.float32)
    b = tf.convert_to_tensor(sets[1][l], tf.float32)
    rng = direction_rng(seed, l)
    repeats = []
    for _ in range(dir_repeats):
      dirs = tf.constant(unit_directions(rng, a.shape[1], dirs_per_repeat))
      repeats.append(_mean_sorted_difference(tf.matmul(a, dirs), tf.matmul(b, dirs), on_gpu))
    out[f'SWDx1e3_{res}'] = 1e3 * float(np.mean(repeats))
  out['SWDx1e3_avg'] = float(np.mean(list(out.values())))
  return out


@tf.function(reduce_retracing=True)
def _reference_pyramid(images, num_levels):
  pyramid = [tf.cast(images, tf.float32)]
  for _ in range(1, num_levels):
    pyramid.append(pyr_down(pyramid[-1]))
    pyramid[-2] = pyramid[-2] - pyr_up(pyramid[-1])
  return pyramid


def _reference_descriptors(images, seed, minibatch_size, min_resolution) -> List[np.ndarray]:
  """All levels' normalised descriptors of one set, every level held (the previous accumulator)."""
  n, h, w, c = images.shape
  c = descriptor_channels(c)
  num_levels = len(resolutions(h, min_resolution))
  mb = minibatch_size or default_minibatch_size(h)
  rngs = [patch_rng(seed, l) for l in range(num_levels)]
  chunks = [[] for _ in range(num_levels)]
  sums = np.zeros((num_levels, 2, c), np.float64)
  for start in range(0, n, mb):
    batch = images[start:start + mb]
    for l, level in enumerate(_reference_pyramid(tf.convert_to_tensor(batch), num_levels)):
      centres = patch_centres(rngs[l], len(batch), level.shape[1], level.shape[2])
      desc = extract_descriptors(level, centres)
      sums[l] += _channel_moments(desc, c)
      chunks[l].append(desc)
  levels = []
  for l in range(num_levels):
    desc = np.concatenate(chunks[l], axis=0)
    _normalise_in_place(desc, sums[l, 0], sums[l, 1], c)
    levels.append(desc)
  return levels
