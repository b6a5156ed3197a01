"""Writes a multi-resolution TFRecords dataset (`MultiResWriter`, the original `TFRecordExporter`).

Lower lods are computed as the original `TFRecordExporter.add_image` does:
from the *unquantised* float32 image of the level above, as the 2x2 mean
(a + b + c + d) * 0.25 of the strided slices [0::2, 0::2], [0::2, 1::2],
[1::2, 0::2], [1::2, 1::2]; every level is then quantised separately with
`np.rint(x).clip(0, 255)` (ties to even).
"""

import dataclasses
import os

import numpy as np

from tf_gans import atomic
from tf_gans import progress as progress_lib
from tf_gans.data.tfrecords.format import FILE_RE
from tf_gans.data.tfrecords.format import MIN_RESOLUTION_LOG2
from tf_gans.data.tfrecords.format import check_image_shape
from tf_gans.data.tfrecords.format import encode_example
from tf_gans.data.tfrecords.format import labels_name
from tf_gans.data.tfrecords.format import tfrecord_name


def as_hwc(image, name='image'):
  """Returns `image` ([H, W] grey or [H, W, C]) as a numeric [H, W, C] array.

  Raises:
    ValueError: Naming `name`, for a non-numeric array or a rank other than
      2 or 3.
  """
  image = np.asarray(image)
  if image.dtype == np.bool_ or not np.issubdtype(image.dtype, np.number):
    raise ValueError(f'{name}: pixels must be numeric, got dtype {image.dtype}.')
  if image.ndim == 2:
    return image[:, :, np.newaxis]
  if image.ndim != 3:
    raise ValueError(
        f'{name}: expected an image [H, W] or [H, W, C], got shape {image.shape}.')
  return image


def quantise(image):
  """Rounds to uint8 as the original: `np.rint(x).clip(0, 255)` (ties to even)."""
  return np.rint(image).clip(0, 255).astype(np.uint8)


def downscale2x(image):
  """Halves an [H, W, C] image with the 2x2 mean, in float32.

  As the original `dataset_tool.py` `TFRecordExporter.add_image`.

  Same operation order as the original: (a + b + c + d) * 0.25 over the strided
  slices [0::2, 0::2], [0::2, 1::2], [1::2, 0::2], [1::2, 1::2].
  """
  x = image.astype(np.float32)
  total = x[0::2, 0::2] + x[0::2, 1::2] + x[1::2, 0::2] + x[1::2, 1::2]
  return total * np.float32(0.25)


def build_lods(image):
  """Returns the quantised uint8 levels [lod 0, lod 1, ..., 4x4] of an image.

  Args:
    image: Numeric [H, W, C] array with H = W = 2^R >= 4 and values in
      [0, 255] (values outside are clipped, fractions rounded).

  Returns:
    List of R - 1 uint8 arrays; entry lod is [H / 2^lod, W / 2^lod, C].
    Each level is downscaled from the float32 level above, not from its
    quantised copy (original `dataset_tool.py` `TFRecordExporter.add_image`).
  """
  levels = [quantise(image)]
  x = image
  while x.shape[0] > 2**MIN_RESOLUTION_LOG2:
    x = downscale2x(x)
    levels.append(quantise(x))
  return levels


@dataclasses.dataclass
class WriteSummary:
  """What `MultiResWriter.close` wrote.

  Attributes:
    tfrecord_dir: The dataset folder.
    files: Names of the files written, r02 first, then the labels file if any.
    num_images: N.
    resolution: Side of the lod-0 images.
    num_channels: 1 or 3.
    label_size: Columns of the labels (0 without labels).
  """

  tfrecord_dir: str
  files: list
  num_images: int
  resolution: int
  num_channels: int
  label_size: int

  def report(self):
    """A few human-readable lines: the folder, its files and their sizes."""
    labels = f'labels [{self.num_images}, {self.label_size}]' if self.label_size else 'no labels'
    lines = [f'Wrote {self.num_images} images of {self.resolution}x{self.resolution}x'
             f'{self.num_channels}, {labels}, to {self.tfrecord_dir}:']
    for name in self.files:
      size = os.path.getsize(os.path.join(self.tfrecord_dir, name))
      match = FILE_RE.match(name)
      what = ''
      if match:
        log2 = int(match.group('log2'))
        lod = self.resolution.bit_length() - 1 - log2
        what = f'{2**log2}x{2**log2} lod {lod}, '
      lines.append(f'  {name} ({what}{size:,} bytes)')
    return '\n'.join(lines)


def check_target(tfrecord_dir, overwrite=False):
  """Raises FileExistsError if `tfrecord_dir` cannot be (re)written.

  A missing or empty folder is fine; a file never is; a non-empty folder
  only with `overwrite`. Dataset tools call this before any expensive work.
  """
  tfrecord_dir = os.fspath(tfrecord_dir)
  if os.path.isfile(tfrecord_dir):
    raise FileExistsError(f'{tfrecord_dir} is a file, not a dataset folder.')
  if os.path.isdir(tfrecord_dir) and os.listdir(tfrecord_dir) and not overwrite:
    raise FileExistsError(
        f'{tfrecord_dir} exists and is not empty; pass overwrite=True '
        '(CLI --overwrite) to replace it.')


class MultiResWriter:
  """Writes a multi-resolution TFRecords dataset (original `dataset_tool.py`).

  Our `TFRecordExporter`. Files are written into `<tfrecord_dir>.tmp-<pid>`,
  which `close` renames to `tfrecord_dir` (`tf_gans.atomic.AtomicFolder`, with
  `check_target` as its rule), so a crash or an error never leaves a folder
  that looks complete. Use it as a context manager: an exception inside the
  `with` block removes the temporary folder.

    with MultiResWriter('datasets/mnist', expected_images=n) as writer:
      for image in images:           # uint8 [H, W, C] or [H, W]
        writer.add_image(image)
      writer.add_labels(onehot)      # float32 [n, label_size], optional
    print(writer.summary.report())

  Args:
    tfrecord_dir: The folder to create; its last path component is the file
      basename, as in the original (`datasets/mnist/mnist-r05.tfrecords`).
    expected_images: Number of images that will be added, or None. Used for
      progress lines and checked by `close`.
    overwrite: Replace `tfrecord_dir` if it exists and is not empty.
    progress: Print periodic progress lines on stderr for long exports.

  Raises:
    FileExistsError: If `tfrecord_dir` is a file, or a non-empty folder and
      not `overwrite`.
  """

  def __init__(self, tfrecord_dir, expected_images=None, overwrite=False, progress=True):
    self.tfrecord_dir = os.path.normpath(os.fspath(tfrecord_dir))
    self.basename = os.path.basename(self.tfrecord_dir)
    self.expected_images = None if expected_images is None else int(expected_images)
    self.overwrite = overwrite
    self.summary = None
    self._folder = atomic.AtomicFolder(self.tfrecord_dir, overwrite, check=check_target)
    self._tmp_dir = self._folder.begin()
    self._writers = []
    self._first = None  # ((H, W, C), name) of the first image.
    self.resolution_log2 = None
    self.cur_images = 0
    self._labels = None
    self._progress = progress_lib.Progress(f'Writing {self.tfrecord_dir}', self.expected_images,
                                           'images', enabled=progress, quiet_start=True)

  def __enter__(self):
    return self

  def __exit__(self, exc_type, exc_value, traceback):
    if exc_type is None:
      if self.summary is None:
        self.close()
    else:
      self.abort()
    return False

  def add_image(self, image, name=None):
    """Adds one image at every lod.

    Args:
      image: [H, W] or [H, W, C] numeric array in [0, 255] (uint8 is kept
        exactly), H = W = 2^R >= 4, C 1 or 3, all images alike.
      name: How errors refer to the image (e.g. its file name); default
        'image <index>'.

    Raises:
      ValueError: Naming the image, if its shape breaks a rule of
        `check_image_shape`.
    """
    name = name or f'image {self.cur_images}'
    image = as_hwc(image, name)
    if self._first is None:
      self.resolution_log2 = check_image_shape(image.shape, name)
      self._first = (image.shape, name)
      self._open_writers()
    else:
      check_image_shape(image.shape, name, self._first)
    for writer, level in zip(self._writers, build_lods(image)):
      writer.write(encode_example(level))
    self.cur_images += 1
    self._progress.update(self.cur_images)

  def _open_writers(self):
    """Opens one uncompressed TFRecordWriter per lod, r<R> first."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    for lod in range(self.resolution_log2 - 1):
      name = tfrecord_name(self.basename, self.resolution_log2 - lod)
      self._writers.append(tf.io.TFRecordWriter(os.path.join(self._tmp_dir, name)))

  def add_labels(self, labels):
    """Sets the labels, float32 [num_images, label_size]; checked by `close`."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
      raise ValueError(f'labels must be 2-D [num_images, label_size], got shape {labels.shape}.')
    if not np.issubdtype(labels.dtype, np.number) or not np.isfinite(labels).all():
      raise ValueError('labels must be finite numbers.')
    self._labels = labels.astype(np.float32)

  def close(self):
    """Finishes the files and renames the temporary folder to `tfrecord_dir`.

    Returns:
      A `WriteSummary` (also kept as `self.summary`).

    Raises:
      ValueError: If no image was added, the count differs from
        `expected_images` or the labels have the wrong number of rows; the
        temporary folder is removed first.
    """
    try:
      self._check_complete()
      for writer in self._writers:
        writer.close()
      self._writers = []
      files = [tfrecord_name(self.basename, log2)
               for log2 in range(MIN_RESOLUTION_LOG2, self.resolution_log2 + 1)]
      if self._labels is not None:
        files.append(labels_name(self.basename))
        with open(os.path.join(self._tmp_dir, files[-1]), 'wb') as f:
          np.save(f, self._labels)  # Through a handle: np.save would add '.npy'.
      self._progress.finish(self.cur_images)
      self._folder.commit()
    except BaseException:
      self.abort()
      raise
    self.summary = WriteSummary(
        tfrecord_dir=self.tfrecord_dir, files=files, num_images=self.cur_images,
        resolution=2**self.resolution_log2, num_channels=int(self._first[0][2]),
        label_size=0 if self._labels is None else int(self._labels.shape[1]))
    return self.summary

  def _check_complete(self):
    if not self.cur_images:
      raise ValueError(f'No images were added to {self.tfrecord_dir}.')
    if self.expected_images is not None and self.cur_images != self.expected_images:
      raise ValueError(
          f'{self.tfrecord_dir}: {self.cur_images} images were added, '
          f'{self.expected_images} expected.')
    if self._labels is not None and self._labels.shape[0] != self.cur_images:
      raise ValueError(
          f'{self.tfrecord_dir}: {self._labels.shape[0]} label rows for '
          f'{self.cur_images} images.')

  def abort(self):
    """Closes the files and removes the temporary folder; writes nothing."""
    for writer in self._writers:
      writer.close()
    self._writers = []
    self._folder.abort()
