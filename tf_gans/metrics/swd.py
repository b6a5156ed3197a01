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
     neighbourhoods, centres y in [3, H-4] and x in [3, W-4], flattened in the
     original's (channel, y, x) order: 147-d descriptors for RGB.
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
    `evaluate_metrics`: tf_gans.metrics.protocols gives the reals passes 0
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
accepted (the original asserts C = 3). A constant channel (std 0) is left
at 0 after centring instead of becoming nan.

Note that the per-channel normalisation makes SWD blind to per-channel
affine intensity changes (x -> a x + b gives the same descriptors): it
measures local structure at each scale, not colour or brightness.

The pyramid, patch gathering and projections run in TensorFlow; the sort runs
in TensorFlow on a GPU and in numpy on a CPU (identical results).
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


def pyr_down(x) -> tf.Tensor:
  """Blur (5x5 binomial, 'mirror') then [::2, ::2]: float32 NHWC -> float32 NHWC (`pyr_down`)."""
  x = tf.cast(x, tf.float64)
  return tf.cast(_blur(x, 1.0)[:, ::2, ::2], tf.float32)


def pyr_up(x) -> tf.Tensor:
  """Zero-insert x2, then 4 x the binomial blur ('mirror'): float32 NHWC, x2 size (`pyr_up`)."""
  x = tf.cast(x, tf.float64)
  s = tf.shape(x)
  zeros = tf.zeros_like(x)
  # Interleave along W then H: [n, h, w, c] -> [n, h, 2w, c] -> [n, 2h, 2w, c].
  x = tf.reshape(tf.stack([x, zeros], axis=3), [s[0], s[1], 2 * s[2], s[3]])
  x = tf.reshape(tf.stack([x, tf.zeros_like(x)], axis=2), [s[0], 2 * s[1], 2 * s[2], s[3]])
  return tf.cast(_blur(x, 4.0), tf.float32)


def laplacian_pyramid(images, num_levels: int) -> List[tf.Tensor]:
  """[L_0, ..., L_{n-2}, G_{n-1}]: float32 NHWC levels on the 0..255 scale, finest first."""
  return _laplacian_pyramid(tf.convert_to_tensor(images), int(num_levels))


@tf.function(reduce_retracing=True)
def _laplacian_pyramid(images, num_levels):
  pyramid = [tf.cast(images, tf.float32)]
  for _ in range(1, num_levels):
    pyramid.append(pyr_down(pyramid[-1]))
    pyramid[-2] = pyramid[-2] - pyr_up(pyramid[-1])
  return pyramid


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


def extract_descriptors(level, centres: np.ndarray, nhood_size: int = NHOOD_SIZE,
                        nhoods_per_image: int = NHOODS_PER_IMAGE) -> np.ndarray:
  """Flattened nhood_size^2 x C patches of `level` [n, h, w, C] around `centres`.

  Patch j belongs to image j // nhoods_per_image. Components are ordered
  (channel, dy, dx) as in the original NCHW code.

  Returns:
    float32 [n * nhoods_per_image, C * nhood_size^2].
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
  return tf.reshape(patches, [len(centres), -1]).numpy()


@dataclasses.dataclass
class Descriptors:
  """Normalised descriptors of one image set, one float32 [M, C*49] array per pyramid level."""
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
  batches arrive; the raw float32 descriptors are kept (M x C*49 per level,
  e.g. 16384 images x 128 patches x 147 x 4 B = 1.2 GB per level).
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
    self._sum = np.zeros((levels, shape[3]), np.float64)
    self._sum_sq = np.zeros((levels, shape[3]), np.float64)

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
    n, c = images.shape[0], images.shape[3]
    for l, level in enumerate(laplacian_pyramid(images, len(self.resolutions))):
      centres = patch_centres(self._rngs[l], n, level.shape[1], level.shape[2],
                              self.nhood_size, self.nhoods_per_image)
      desc = extract_descriptors(level, centres, self.nhood_size, self.nhoods_per_image)
      per_channel = desc.reshape(len(desc), c, -1)
      self._sum[l] += per_channel.sum(axis=(0, 2), dtype=np.float64)
      self._sum_sq[l] += np.einsum('mck,mck->c', per_channel.astype(np.float64),
                                   per_channel.astype(np.float64))
      self._chunks[l].append(desc)
    self.num_images += n

  def finalize(self) -> Descriptors:
    """Concatenates, normalises each level per channel (population std): `finalize_descriptors`."""
    if self.image_shape is None:
      raise ValueError('DescriptorAccumulator.finalize: no images were added.')
    if self._chunks is None:
      raise ValueError('DescriptorAccumulator.finalize was already called; start a new one.')
    c = self.image_shape[2]
    levels = []
    for l, chunks in enumerate(self._chunks):
      desc = np.concatenate(chunks, axis=0)
      count = desc.shape[0] * desc.shape[1] / c
      mean = self._sum[l] / count
      var = np.maximum(self._sum_sq[l] / count - mean**2, 0.0)
      std = np.sqrt(var)
      std[std == 0] = 1.0   # a constant channel: the original would divide by 0 (nan)
      per_channel = desc.reshape(len(desc), c, -1)
      per_channel -= mean.astype(np.float32)[None, :, None]
      per_channel /= std.astype(np.float32)[None, :, None]
      levels.append(desc)
    self._chunks = None
    return Descriptors(self.resolutions, levels, self.num_images)


def unit_directions(rng: np.random.Generator, dim: int,
                    dirs_per_repeat: int = DIRS_PER_REPEAT) -> np.ndarray:
  """float32 [dim, dirs]: randn columns normalised to unit length in float64, then cast."""
  dirs = rng.standard_normal((dim, dirs_per_repeat))
  dirs /= np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))
  return dirs.astype(np.float32)


def projected_distance(a, b, rng: np.random.Generator, dir_repeats: int = DIR_REPEATS,
                                dirs_per_repeat: int = DIRS_PER_REPEAT) -> float:
  """The SWD of two equal-size descriptor sets [M, D] (original `sliced_wasserstein`, not x1e3).

  For each repeat: project both sets on `dirs_per_repeat` unit directions,
  sort each direction's projections, take mean |sorted_a - sorted_b| over
  points and directions; return the mean over repeats.
  """
  a = np.asarray(a)
  b = np.asarray(b)
  if a.ndim != 2 or a.shape != b.shape:
    raise ValueError(f'SWD needs two descriptor sets of one shape [M, D]; got {a.shape} and '
                     f'{b.shape} (equal image counts on both sides).')
  a = tf.convert_to_tensor(a, tf.float32)
  b = tf.convert_to_tensor(b, tf.float32)
  on_gpu = bool(tf.config.list_logical_devices('GPU'))
  results = []
  for _ in range(dir_repeats):
    dirs = tf.constant(unit_directions(rng, a.shape[1], dirs_per_repeat))
    results.append(_mean_sorted_difference(tf.matmul(a, dirs), tf.matmul(b, dirs), on_gpu))
  return float(np.mean(results))


def _mean_sorted_difference(proj_a: tf.Tensor, proj_b: tf.Tensor, on_gpu: bool) -> float:
  """mean |sort(proj_a, axis 0) - sort(proj_b, axis 0)|, accumulated in float64.

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
                              dirs_per_repeat: int = DIRS_PER_REPEAT) -> Dict[str, float]:
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
    rng = np.random.default_rng([seed, _DIRECTION_STREAM, l])
    out[f'SWDx1e3_{res}'] = 1e3 * projected_distance(a, b, rng, dir_repeats,
                                                     dirs_per_repeat)
  out['SWDx1e3_avg'] = float(np.mean(list(out.values())))
  return out


def descriptors(images, seed: int = 0, minibatch_size: Optional[int] = None,
                min_resolution: int = MIN_RESOLUTION, patch_stream: int = 0) -> Descriptors:
  """Normalised descriptors of a whole uint8 NHWC set, fed in minibatches (as the original)."""
  images = check_images('images', images, min_resolution)
  mb = minibatch_size or default_minibatch_size(images.shape[1])
  acc = DescriptorAccumulator(seed=seed, min_resolution=min_resolution, patch_stream=patch_stream)
  for start in range(0, len(images), mb):
    acc.update(images[start:start + mb])
  return acc.finalize()


def sliced_wasserstein(real, fake, seed: int = 0, fake_seed: Optional[int] = None,
                       minibatch_size: Optional[int] = None,
                       dir_repeats: int = DIR_REPEATS,
                       dirs_per_repeat: int = DIRS_PER_REPEAT,
                       min_resolution: int = MIN_RESOLUTION) -> Dict[str, float]:
  """SWD x 1e3 per pyramid level and their average, PGGAN protocol (paper section 5, appendix D).

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

  Returns:
    dict: 'SWDx1e3_<res>' for res = H, H/2, ..., 16 (finest first), then
    'SWDx1e3_avg'.

  Raises:
    ValueError: non-uint8 / non-NHWC input, images smaller than
      min_resolution or not divisible through the pyramid, shapes differing
      between the sets, or unequal counts.
  """
  real = check_images('real', real, min_resolution)
  fake = check_images('fake', fake, min_resolution)
  if real.shape[1:] != fake.shape[1:]:
    raise ValueError(f'real and fake images differ in shape: {real.shape[1:]} vs {fake.shape[1:]}.')
  if len(real) != len(fake):
    raise ValueError(f'SWD needs equally many real and fake images, got {len(real)} and '
                     f'{len(fake)}.')
  fake_seed = seed if fake_seed is None else fake_seed
  desc_real = descriptors(real, seed, minibatch_size, min_resolution)
  desc_fake = descriptors(fake, fake_seed, minibatch_size, min_resolution)
  return distance_from_descriptors(desc_real, desc_fake, seed, dir_repeats, dirs_per_repeat)


def sliced_wasserstein_distance(reals, fakes, seed: int = 0, **kwargs) -> List[float]:
  """[SWD x 1e3 at H, H/2, ..., 16, then their average]: `sliced_wasserstein` as a list.

  reals, fakes: uint8 NHWC arrays of one shape. Other keyword arguments as
  `sliced_wasserstein`. The order is the original's metric columns.
  """
  result = sliced_wasserstein(reals, fakes, seed=seed, **kwargs)
  return [result[name] for name in metric_names(np.shape(reals)[1],
                                                kwargs.get('min_resolution', MIN_RESOLUTION))]
