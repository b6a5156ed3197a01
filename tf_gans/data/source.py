"""In-memory image sources, split strings and the dataset registry.

A source is an `ArraySource`: every image of one split as an array [N, H, W, C]
plus the `scale` that maps its stored values into [0, 1]. Sources are made by
loaders registered in `DATASETS` and looked up by `load_source` from a spec
such as `digits`, `mnist_idx:/data/mnist` or `folder:~/faces`.

The images are a numpy array, or (`tfrecords:` sets, which may be far larger
than memory: CelebA-HQ 1024 is 88 GiB) a `LazyImages`: indexing it reads only
the rows asked for, so a caller that walks a source in minibatches (the PGGAN
metric presets) holds one minibatch at a time; `np.asarray` of it (what the
in-memory training pipelines do) reads every image.

Labels are either class indices (int [N], `label_size` classes) or label
vectors (float [N, label_size], e.g. the multi-hot rows of a PGGAN `.labels`
file); `label_vectors()` gives vectors for both, `class_indices()` indices
where the rows are one-hot.

A split string is a base split name optionally followed by a python-like
slice, e.g. `train`, `test`, `train[:9000]`, `train[9000:]`, `test[-1000:]`.
The loader only sees the base name; `load_source` applies the slice.
"""

import dataclasses
import re
from typing import Optional

import numpy as np

from tf_gans.registry import Registry

DATASETS = Registry('dataset')

# Tolerance for floating point images whose scaled maximum is a hair above 1.
_RANGE_TOLERANCE = 1e-6

_SPLIT_RE = re.compile(
    r'^(?P<base>[A-Za-z_][A-Za-z0-9_]*)'
    r'(?:\[(?P<start>-?\d*):(?P<stop>-?\d*)\])?$')

_SPLIT_FORM = ("'<name>' or '<name>[start:stop]' with optional integer "
               "bounds, e.g. 'train', 'train[:9000]', 'test[-1000:]'")


class LazyImages:
  """A read-on-demand uint8 image array [N, H, W, C] (its rows are read when indexed).

  `read(indices)` returns the images of the given row numbers (int64 [n], any order,
  repeats allowed) as uint8 [n, H, W, C]; it is the only way rows are read. Indexing
  with an int, a slice, an integer or boolean array (optionally followed by more
  indices, as `images[rows, :, ::-1]`) reads just those rows and returns numpy;
  `view(window)` is a lazy sub-array (what `ArraySource.slice` keeps); `np.asarray`
  reads every row, in chunks of `chunk` rows.
  """

  ndim = 4
  dtype = np.dtype(np.uint8)

  def __init__(self, read, num, image_shape, rows=None, chunk=256):
    self._read = read
    self._rows = np.arange(int(num), dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    self._image_shape = tuple(int(d) for d in image_shape)
    self._chunk = int(chunk)

  @property
  def shape(self):
    return (len(self._rows),) + self._image_shape

  def __len__(self):
    return len(self._rows)

  def view(self, window):
    """The rows `window` (a slice or row numbers) as a LazyImages: nothing is read."""
    return LazyImages(self._read, 0, self._image_shape, rows=self._rows[window],
                      chunk=self._chunk)

  def take(self, index):
    """uint8 [n, H, W, C]: the rows `index` (int array / list, any order) of this array."""
    rows = self._rows[np.asarray(index, np.int64)]
    if not len(rows):
      return np.zeros((0,) + self._image_shape, np.uint8)
    images = np.asarray(self._read(rows))
    if images.shape != (len(rows),) + self._image_shape or images.dtype != np.uint8:
      raise ValueError(f'LazyImages: the reader gave {images.dtype} {images.shape} for '
                       f'{len(rows)} rows of {self._image_shape} uint8 images.')
    return images

  def chunks(self):
    """(first row, uint8 images) of consecutive chunks of rows, in order."""
    for first in range(0, len(self), self._chunk):
      yield first, self.take(np.arange(first, min(first + self._chunk, len(self))))

  def __getitem__(self, key):
    rest = ()
    if isinstance(key, tuple):
      key, rest = key[0], key[1:]
    if isinstance(key, (int, np.integer)):
      out = self.take([range(len(self))[key]])[0]
    elif isinstance(key, slice):
      out = self.take(np.arange(len(self))[key])
    else:
      index = np.asarray(key)
      if index.dtype == np.bool_:
        if index.shape != (len(self),):
          raise IndexError(f'boolean index of shape {index.shape} for {len(self)} rows')
        index = np.flatnonzero(index)
      out = self.take(np.arange(len(self))[index.astype(np.int64)])
    return out[(slice(None),) + rest] if rest and out.ndim == 4 else (out[rest] if rest else out)

  def __array__(self, dtype=None, copy=None):
    del copy
    out = np.empty(self.shape, np.uint8)
    for first, images in self.chunks():
      out[first:first + len(images)] = images
    return out if dtype is None else out.astype(dtype)

  def astype(self, dtype):
    return np.asarray(self).astype(dtype)


@dataclasses.dataclass
class ArraySource:
  """All images of one dataset split, held in memory.

  Attributes:
    name: Human-readable name, used in error messages and logs.
    images: Numeric array [N, H, W, C], or a uint8 `LazyImages` read on demand;
      `images * scale` lies in [0, 1].
    scale: Positive factor mapping stored values into [0, 1] (1/255 for
      uint8 photos, 1/16 for the scikit-learn digits).
    labels: Optional labels: integer class indices [N], or float label vectors
      [N, K] (rows that need not be one-hot, e.g. multi-hot attributes).
    label_size: Width of the label vectors: the number of classes of class
      indices (0: max + 1), K for vectors (set from their shape).
  """

  name: str
  images: np.ndarray
  scale: float
  labels: Optional[np.ndarray] = None
  label_size: int = 0

  def __post_init__(self):
    lazy = isinstance(self.images, LazyImages)
    if not lazy:
      self.images = np.asarray(self.images)
    _check_images(self.name, self.images)
    self.scale = float(self.scale)
    if not self.scale > 0:
      raise ValueError(
          f'Source {self.name!r}: scale must be > 0, got {self.scale}.')
    if lazy:  # uint8 rows: in [0, 1] for any scale <= 1/255, without reading them
      if self.scale * 255 > 1 + _RANGE_TOLERANCE:
        raise ValueError(f'Source {self.name!r}: lazily read uint8 images need a scale '
                         f'<= 1/255, got {self.scale:g}.')
    else:
      _check_range(self.name, self.images, self.scale)
    self.label_size = int(self.label_size)
    if self.labels is not None:
      self.labels = np.asarray(self.labels)
      _check_labels(self.name, self.labels, self.images.shape[0], self.label_size)
      if self.labels.ndim == 2:
        self.label_size = int(self.labels.shape[1])

  def label_vectors(self):
    """float32 [N, K] label rows, or None without labels: label vectors as stored, class
    indices one-hot over `label_size` classes (0: the largest index + 1)."""
    if self.labels is None:
      return None
    if self.labels.ndim == 2:
      return self.labels.astype(np.float32)
    classes = self.label_size or (int(self.labels.max()) + 1 if self.labels.size else 0)
    return np.eye(classes, dtype=np.float32)[self.labels.astype(np.int64)]

  def class_indices(self):
    """int64 [N] class indices, or None without labels.

    Raises:
      ValueError: For label vectors whose rows are not one-hot (multi-hot or soft
        labels have no single class).
    """
    if self.labels is None:
      return None
    if self.labels.ndim == 1:
      return self.labels.astype(np.int64)
    if not is_one_hot(self.labels):
      raise ValueError(f'Source {self.name!r}: its {self.label_size}-wide labels are not '
                       f'one-hot (multi-hot or soft rows), so they have no class indices; '
                       f'use its label vectors.')
    return np.argmax(self.labels, axis=1).astype(np.int64)

  @property
  def num_examples(self):
    """Number of images N."""
    return int(self.images.shape[0])

  @property
  def image_shape(self):
    """Shape of one image as a tuple (H, W, C)."""
    return tuple(int(d) for d in self.images.shape[1:])

  def as_float(self):
    """Returns the images as float32 [N, H, W, C] with values in [0, 1]."""
    return np.asarray(self.images).astype(np.float32) * np.float32(self.scale)

  def pixel_mean(self):
    """Returns the per-pixel mean image, float32 [H, W, C] in [0, 1].

    Accumulates in float64 without materialising a float copy of the images.
    """
    if isinstance(self.images, LazyImages):  # one chunk of rows at a time
      total = np.zeros(self.image_shape, np.float64)
      for _, images in self.images.chunks():
        total += images.sum(axis=0, dtype=np.float64)
      mean = total / self.num_examples * self.scale
    else:
      mean = self.images.mean(axis=0, dtype=np.float64) * self.scale
    return mean.astype(np.float32)

  def pad_to(self, size):
    """Zero-pads every image, centred, to size x size (e.g. MNIST 28 -> 32).

    Raises:
      ValueError: If an image side exceeds `size`.
    """
    h, w, _ = self.image_shape
    if h > size or w > size:
      raise ValueError(f'Source {self.name!r}: cannot pad {h}x{w} images to {size}x{size}.')
    top, left = (size - h) // 2, (size - w) // 2
    pad = ((0, 0), (top, size - h - top), (left, size - w - left), (0, 0))
    return dataclasses.replace(self, name=f'{self.name}@pad{size}',
                               images=np.pad(np.asarray(self.images), pad))

  def slice(self, start=None, stop=None):
    """Returns the examples [start:stop] (python slice semantics) as a source.

    Args:
      start: First index (may be negative or None).
      stop: One past the last index (may be negative or None).

    Returns:
      A new `ArraySource` sharing memory with this one.

    Raises:
      ValueError: If the slice selects no examples.
    """
    window = slice(start, stop)
    labels = None if self.labels is None else self.labels[window]
    images = (self.images.view(window) if isinstance(self.images, LazyImages)
              else self.images[window])
    return ArraySource(
        name=f'{self.name}[{_bound_str(start)}:{_bound_str(stop)}]',
        images=images,
        scale=self.scale,
        labels=labels,
        label_size=self.label_size if labels is None or labels.ndim == 1 else 0)


def to_uint8(source, images) -> np.ndarray:
  """Stored images of `source` (rows of `source.images`) as uint8 NHWC on 0..255."""
  if images.dtype == np.uint8 and abs(source.scale * 255 - 1) < 1e-12:
    return images
  return np.clip(np.rint(images.astype(np.float64) * source.scale * 255), 0, 255).astype(np.uint8)


def _bound_str(bound):
  """Formats a slice bound, None as the empty string."""
  return '' if bound is None else str(bound)


def _check_images(name, images):
  """Raises ValueError unless `images` is a non-empty numeric 4-D array."""
  if images.ndim != 4:
    raise ValueError(
        f'Source {name!r}: images must be 4-D [N, H, W, C], got shape '
        f'{images.shape}.')
  if images.shape[0] == 0:
    raise ValueError(f'Source {name!r} has no examples (N = 0).')
  if min(images.shape[1:]) == 0:
    raise ValueError(
        f'Source {name!r}: images have an empty dimension: {images.shape}.')
  if images.dtype == np.bool_ or not np.issubdtype(images.dtype, np.number):
    raise ValueError(
        f'Source {name!r}: images must be numeric, got dtype {images.dtype}.')


def _check_range(name, images, scale):
  """Raises ValueError unless `images * scale` lies in [0, 1]."""
  low = float(images.min()) * scale
  high = float(images.max()) * scale
  if low < 0 or high > 1 + _RANGE_TOLERANCE:
    raise ValueError(
        f'Source {name!r}: images * scale must lie in [0, 1], got '
        f'[{low:g}, {high:g}] (scale {scale:g}).')


def _check_labels(name, labels, num_examples, label_size):
  """Raises ValueError unless `labels` has one row per example: class indices [N] in
  [0, label_size) (any when label_size is 0), or label vectors [N, K]."""
  if labels.ndim not in (1, 2) or labels.shape[0] != num_examples:
    raise ValueError(
        f'Source {name!r}: labels must have shape [{num_examples}] (class indices) or '
        f'[{num_examples}, label_size] (label vectors), got {labels.shape}.')
  if labels.ndim == 1 and labels.size and (
      labels.min() < 0 or (label_size and labels.max() >= label_size)):
    raise ValueError(
        f'Source {name!r}: class labels lie in [{labels.min()}, {labels.max()}], expected '
        f'[0, {label_size or "..."}).')


def is_one_hot(labels):
  """Whether every row of float labels [N, K] has one 1 and K - 1 zeros."""
  labels = np.asarray(labels)
  return bool(labels.ndim == 2 and labels.shape[1] > 0
              and np.all((labels == 0) | (labels == 1)) and np.all(labels.sum(axis=1) == 1))


def parse_split(split):
  """Parses a split string into its base name and optional slice bounds.

  Args:
    split: E.g. 'train', 'test', 'train[:9000]', 'train[9000:]',
      'test[-1000:]'.

  Returns:
    (base, window): the base split name and a `slice` object, or None when
    the string has no brackets.

  Raises:
    ValueError: If `split` is not of the accepted form.
  """
  match = _SPLIT_RE.match(split) if isinstance(split, str) else None
  if match is None:
    raise ValueError(f'Malformed split {split!r}; expected {_SPLIT_FORM}.')
  if match.group('start') is None:
    return match.group('base'), None
  start = _parse_bound(match.group('start'), split)
  stop = _parse_bound(match.group('stop'), split)
  return match.group('base'), slice(start, stop)


def _parse_bound(text, split):
  """Parses one slice bound: '' -> None, '-12' -> -12."""
  if text == '':
    return None
  if text == '-':
    raise ValueError(f'Malformed split {split!r}; expected {_SPLIT_FORM}.')
  return int(text)


def parse_spec(spec):
  """Splits a dataset spec 'name' or 'name:arg' on its first colon.

  Args:
    spec: E.g. 'digits', 'mnist_idx:/data/mnist', 'tfds:mnist'.

  Returns:
    (name, arg) with arg None when the spec has no colon.
  """
  name, colon, arg = spec.partition(':')
  return name, (arg if colon else None)


def load_source(spec, split='train', **options):
  """Loads one split of a registered dataset into memory.

  Args:
    spec: 'name' or 'name:arg', e.g. 'digits', 'mnist_idx:/data/mnist',
      'folder:~/faces', 'tfds:cifar10'. Registered names: `DATASETS.names()`.
    split: Base split with an optional slice, e.g. 'train[:1500]'.
    **options: Passed to the loader (e.g. `image_size`, `channels` for
      folders, `data_dir` for TFDS). Options a loader does not use must be
      None. One option is handled here for every dataset: `pad_to` (int)
      zero-pads the images to pad_to x pad_to after slicing.

  Returns:
    An `ArraySource`.

  Raises:
    ValueError: For an unknown dataset name, a malformed split, or a slice
      selecting no examples. Loaders raise their own specific errors.
  """
  name, arg = parse_spec(spec)
  try:
    loader = DATASETS.get(name)
  except KeyError as error:
    raise ValueError(f'Bad dataset spec {spec!r}: {error.args[0]}') from None
  base, window = parse_split(split)
  pad_to = options.pop('pad_to', None)
  source = loader(arg, base, **options)
  if window is not None:
    source = _apply_window(source, window, spec, split)
  return source.pad_to(pad_to) if pad_to else source


def _apply_window(source, window, spec, split):
  """Slices `source`, raising a ValueError naming the split when empty."""
  if not range(source.num_examples)[window]:
    raise ValueError(
        f'Split {split!r} selects no examples of {spec!r}, which has '
        f'{source.num_examples} examples in split {parse_split(split)[0]!r}.')
  return source.slice(window.start, window.stop)


def reject_options(source_name, options):
  """Raises ValueError if any option a loader does not use is set.

  Loaders call this with the options they ignore, so a CLI may pass e.g.
  `image_size=None` to every loader but a real value is never dropped.

  Args:
    source_name: The loader's registered name, for the message.
    options: Dict of the unused options.
  """
  unused = sorted(k for k, v in options.items() if v is not None)
  if unused:
    raise ValueError(
        f'Dataset {source_name!r} does not support option(s) '
        f'{", ".join(unused)}.')


def check_split(source_name, split, allowed):
  """Raises ValueError unless `split` is one of `allowed`.

  Args:
    source_name: The loader's registered name, for the message.
    split: The base split name the loader was given.
    allowed: Sequence of supported base split names.
  """
  if split not in allowed:
    raise ValueError(
        f'Dataset {source_name!r} has no split {split!r}; expected one of: '
        f'{", ".join(allowed)}.')
