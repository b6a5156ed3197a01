"""Multi-resolution TFRecords datasets in the PGGAN layout (pggan.md section 7).

A dataset folder `tfrecord_dir` holds, for a top resolution 2^R:

  <basename>-r02.tfrecords ... <basename>-rRR.tfrecords  (one file per lod)
  <basename>-rxx.labels                                   (optional)

File `-rNN` holds every image at resolution 2^NN, i.e. at lod R - NN, so
lod 0 is the full resolution and lod R - 2 is 4x4. The files are uncompressed
TFRecords; each record is a `tf.train.Example` with the features `shape`
(int64 [C, H, W]) and `data` (bytes: the uint8 pixels in CHW, C order), with
C 1 or 3. The labels file is `np.save` of a float32 array [N, label_size];
row i belongs to record i of every file (all files hold the images in the
same order). Folders written by the original `dataset_tool.py` are read as
they are, and folders written here can be read by the original
`dataset.py`.

Lower lods are computed as the original `TFRecordExporter.add_image` does:
from the *unquantised* float32 image of the level above, as the 2x2 mean
(a + b + c + d) * 0.25 of the strided slices [0::2, 0::2], [0::2, 1::2],
[1::2, 0::2], [1::2, 1::2]; every level is then quantised separately with
`np.rint(x).clip(0, 255)` (ties to even).

Writing: `MultiResWriter` (our `TFRecordExporter`). Reading: `MultiResDataset`
(our `TFRecordDataset`), whose `images(lod, seed, skip)` is an infinite,
shuffled stream that is a pure function of (seed, skip): position i of the
stream lies in epoch e = i // N at slot p = i % N and shows record
`index_shuffle(p, seed=(seed, e, 2), max_index=N - 1)`, so every epoch is a
fresh permutation of all N images (the original shuffles with a buffer of
4096 MB, a whole-epoch permutation for all but the largest datasets), and
resuming at position k costs nothing.

Our names vs the original `dataset.py` / `dataset_tool.py`:

  MultiResWriter(tfrecord_dir, expected_images)  TFRecordExporter(...)
  MultiResWriter.add_image(image [H, W, C])      add_image(img [C, H, W])
  MultiResWriter.add_labels(labels)              add_labels(labels)
  MultiResDataset(tfrecord_dir)                  TFRecordDataset(tfrecord_dir)
  MultiResDataset.images(lod, seed, skip)        configure(mb, lod) + get_minibatch_tf()
  resolution, resolution_log2, label_size        the same names
  num_channels                                   shape[0]

TensorFlow is imported inside the functions that need it, so importing this
module is cheap.
"""

import dataclasses
import math
import os
import pathlib
import re
import shutil
import struct
import sys
import time

import numpy as np

TFRECORDS_SUFFIX = '.tfrecords'
LABELS_SUFFIX = '.labels'
# Files smaller than this are decoded into memory by `images`; larger ones
# are read record by record from disk.
IN_MEMORY_BYTES = 256 * 2**20
MIN_RESOLUTION_LOG2 = 2  # The smallest file is 4x4 (r02), as the original.

# TFRecord framing: uint64 length, uint32 masked CRC of the length, the data,
# uint32 masked CRC of the data (all little-endian).
_LENGTH_BYTES = 8
_HEADER_BYTES = 12
_FOOTER_BYTES = 4
# Third word of the index_shuffle seed (seed, epoch, _SHUFFLE_SALT); the
# in-memory pipeline of `tf_gans.data.pipeline` uses 0 and 1.
_SHUFFLE_SALT = 2
_FILE_RE = re.compile(r'^(?P<basename>.*)-r(?P<log2>\d\d)\.tfrecords$')
_LOADED_BATCH = 1024


def tfrecord_name(basename, resolution_log2):
  """File name of one lod: `<basename>-rNN.tfrecords` (pggan.md section 7)."""
  return f'{basename}-r{resolution_log2:02d}{TFRECORDS_SUFFIX}'


def labels_name(basename):
  """File name of the labels: `<basename>-rxx.labels` (pggan.md section 7)."""
  return f'{basename}-rxx{LABELS_SUFFIX}'


# ---------------------------------------------------------------------------
# The image rules shared by writer and reader.


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


def check_image_shape(shape, name='image', first=None):
  """Checks one [H, W, C] shape against the rules of pggan.md section 7.

  Args:
    shape: (H, W, C) of the image.
    name: The image's file name or index, for the messages.
    first: (H, W, C) of the first image of the dataset and its name, as a
      pair, or None for the first image itself.

  Returns:
    resolution_log2 = log2(H).

  Raises:
    ValueError: Naming `name`, if the image is not square, its side is not a
      power of two >= 4, it has neither 1 nor 3 channels, or its shape differs
      from the first image's.
  """
  height, width, channels = (int(d) for d in shape)
  if height != width:
    raise ValueError(
        f'{name} is not square: {width}x{height} (width x height); PGGAN '
        'datasets hold square images.')
  if height < 2**MIN_RESOLUTION_LOG2 or height & (height - 1):
    raise ValueError(
        f'{name}: side {height} is not a power of two >= '
        f'{2**MIN_RESOLUTION_LOG2}; crop or resize it (e.g. --resolution).')
  if channels not in (1, 3):
    raise ValueError(
        f'{name} has {channels} channels; expected 1 (grey) or 3 (RGB).')
  if first is not None and tuple(first[0]) != (height, width, channels):
    first_shape, first_name = first
    raise ValueError(
        f'{name} is {width}x{height}x{channels} but the first image '
        f'({first_name}) is {first_shape[1]}x{first_shape[0]}x{first_shape[2]}; '
        'every image of a dataset must have the same size and channels.')
  return height.bit_length() - 1


def quantise(image):
  """Rounds to uint8 as the original: `np.rint(x).clip(0, 255)` (ties to even)."""
  return np.rint(image).clip(0, 255).astype(np.uint8)


def downscale2x(image):
  """Halves an [H, W, C] image with the 2x2 mean, in float32 (pggan.md section 7).

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
    quantised copy (pggan.md section 7).
  """
  levels = [quantise(image)]
  x = image
  while x.shape[0] > 2**MIN_RESOLUTION_LOG2:
    x = downscale2x(x)
    levels.append(quantise(x))
  return levels


def encode_example(image):
  """Serialises a uint8 [H, W, C] image as the original `tf.train.Example`.

  Returns:
    Bytes of an Example with `shape` = [C, H, W] (int64) and `data` = the CHW
    pixels in C order.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  chw = np.ascontiguousarray(np.transpose(image, (2, 0, 1)), dtype=np.uint8)
  feature = {
      'shape': tf.train.Feature(int64_list=tf.train.Int64List(value=chw.shape)),
      'data': tf.train.Feature(bytes_list=tf.train.BytesList(value=[chw.tobytes()])),
  }
  example = tf.train.Example(features=tf.train.Features(feature=feature))
  return example.SerializeToString()


def decode_example(record, name='record'):
  """Parses one serialised Example into its uint8 [H, W, C] image.

  Raises:
    ValueError: Naming `name`, if the record lacks `shape` or `data`, the
      shape is not [C, H, W] or the byte count does not match it.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  try:
    features = tf.train.Example.FromString(record).features.feature
  except Exception as error:  # pylint: disable=broad-except  (protobuf DecodeError)
    raise ValueError(f'{name} is not a tf.train.Example: {error}') from None
  if 'shape' not in features or 'data' not in features:
    raise ValueError(
        f'{name} lacks the features "shape" and "data" of the PGGAN format; '
        f'it has: {", ".join(sorted(features)) or "none"}.')
  shape = tuple(int(d) for d in features['shape'].int64_list.value)
  data = features['data'].bytes_list.value
  if len(shape) != 3 or len(data) != 1 or len(data[0]) != math.prod(shape):
    raise ValueError(
        f'{name}: "shape" {list(shape)} and {sum(len(d) for d in data)} bytes of '
        '"data" do not form one uint8 [C, H, W] image.')
  chw = np.frombuffer(data[0], np.uint8).reshape(shape)
  return np.transpose(chw, (1, 2, 0))


# ---------------------------------------------------------------------------
# Raw TFRecord access (framing only; the reader checks record contents).


def _pread_exact(fd, length, offset, path):
  """Reads exactly `length` bytes at `offset`, or raises naming `path`."""
  data = os.pread(fd, length, offset)
  if len(data) != length:
    raise ValueError(
        f'{path} is truncated: wanted {length} bytes at offset {offset}, got '
        f'{len(data)}.')
  return data


def record_offsets(path):
  """Finds every record of an uncompressed TFRecord file from its framing.

  Reads only the 8-byte length of each record (one seek per record), so it
  is fast even for files of many gigabytes.

  Returns:
    (offsets, lengths): int64 arrays [num_records] with the byte offset and
    length of each record's data.

  Raises:
    ValueError: If the framing runs past the end of the file (a truncated or
      compressed file).
  """
  offsets, lengths = [], []
  with open(path, 'rb') as f:
    fd = f.fileno()
    size = os.fstat(fd).st_size
    position = 0
    while position < size:
      if position + _HEADER_BYTES > size:
        raise _framing_error(path, position, size)
      (length,) = struct.unpack('<Q', _pread_exact(fd, _LENGTH_BYTES, position, path))
      end = position + _HEADER_BYTES + length + _FOOTER_BYTES
      if end > size:
        raise _framing_error(path, position, size)
      offsets.append(position + _HEADER_BYTES)
      lengths.append(length)
      position = end
  return np.asarray(offsets, np.int64), np.asarray(lengths, np.int64)


def _framing_error(path, position, size):
  return ValueError(
      f'{path} is not a complete uncompressed TFRecord file: the record at '
      f'byte {position} runs past its end ({size} bytes); is it truncated or '
      'compressed?')


def read_first_record(path):
  """Returns the data of the first record of a TFRecord file.

  Raises:
    ValueError: If the file holds no record or its framing is broken.
  """
  with open(path, 'rb') as f:
    fd = f.fileno()
    size = os.fstat(fd).st_size
    if size == 0:
      raise ValueError(f'{path} holds no records (empty file).')
    if size < _HEADER_BYTES:
      raise _framing_error(path, 0, size)
    (length,) = struct.unpack('<Q', _pread_exact(fd, _LENGTH_BYTES, 0, path))
    if _HEADER_BYTES + length + _FOOTER_BYTES > size:
      raise _framing_error(path, 0, size)
    return _pread_exact(fd, length, _HEADER_BYTES, path)


class _RecordReader:
  """Random access to the records of one file (thread-safe: `os.pread`)."""

  def __init__(self, path, offsets, lengths):
    self._path = str(path)
    self._file = open(path, 'rb')  # pylint: disable=consider-using-with
    self._offsets = offsets
    self._lengths = lengths

  def read(self, index):
    """Returns the bytes of record `index` (a scalar tensor or int)."""
    index = int(index)
    return _pread_exact(self._file.fileno(), int(self._lengths[index]),
                        int(self._offsets[index]), self._path)

  def __del__(self):
    file = getattr(self, '_file', None)
    if file is not None:
      file.close()


# ---------------------------------------------------------------------------
# Writer.


class _Progress:
  """Periodic 'what: done/total' lines on stderr, for long exports only.

  Nothing is printed during the first `interval` seconds, so short exports
  stay quiet; on a terminal the line is rewritten in place.
  """

  def __init__(self, what, total, enabled=True, stream=None):
    self._what = what
    self._total = total
    self._enabled = enabled
    self._stream = stream or sys.stderr
    self._tty = self._stream.isatty()
    self._interval = 1.0 if self._tty else 10.0
    self._start = self._last = time.monotonic()
    self._printed = False

  def update(self, done):
    now = time.monotonic()
    if self._enabled and now - self._last >= self._interval:
      self._last = now
      self._write(done, now, final=False)

  def finish(self, done):
    if self._enabled and self._printed:
      self._write(done, time.monotonic(), final=True)

  def _write(self, done, now, final):
    total = f'/{self._total}' if self._total else ''
    rate = done / max(now - self._start, 1e-9)
    text = f'{self._what}: {done}{total} images ({rate:.0f}/s)'
    if self._tty:
      self._stream.write(f'\r{text}' + ('\n' if final else ''))
    else:
      self._stream.write(text + '\n')
    self._stream.flush()
    self._printed = True


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
      match = _FILE_RE.match(name)
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
  """Writes a multi-resolution TFRecords dataset (pggan.md section 7).

  Our `TFRecordExporter`. Files are written into `<tfrecord_dir>.tmp-<pid>`,
  which `close` renames to `tfrecord_dir`, so a crash or an error never
  leaves a folder that looks complete. Use it as a context manager: an
  exception inside the `with` block removes the temporary folder.

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
    check_target(self.tfrecord_dir, overwrite)
    self._tmp_dir = f'{self.tfrecord_dir}.tmp-{os.getpid()}'
    if os.path.exists(self._tmp_dir):
      shutil.rmtree(self._tmp_dir)  # Left by a killed process with our pid.
    os.makedirs(self._tmp_dir)
    self._writers = []
    self._first = None  # ((H, W, C), name) of the first image.
    self.resolution_log2 = None
    self.cur_images = 0
    self._labels = None
    self._progress = _Progress(f'Writing {self.tfrecord_dir}', self.expected_images, progress)

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
      self._move_into_place()
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

  def _move_into_place(self):
    """Renames the temporary folder to `tfrecord_dir`, replacing an old one."""
    check_target(self.tfrecord_dir, self.overwrite)
    old = None
    if os.path.isdir(self.tfrecord_dir):
      if os.listdir(self.tfrecord_dir):
        old = f'{self.tfrecord_dir}.old-{os.getpid()}'
        os.rename(self.tfrecord_dir, old)
      else:
        os.rmdir(self.tfrecord_dir)
    os.rename(self._tmp_dir, self.tfrecord_dir)
    if old is not None:
      shutil.rmtree(old)

  def abort(self):
    """Closes the files and removes the temporary folder; writes nothing."""
    for writer in self._writers:
      writer.close()
    self._writers = []
    shutil.rmtree(self._tmp_dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Reader.


def _list_files(tfrecord_dir):
  """Returns the sorted *.tfrecords paths of a dataset folder, with checks."""
  directory = pathlib.Path(tfrecord_dir)
  if not directory.is_dir():
    raise FileNotFoundError(f'Dataset folder {directory} does not exist.')
  entries = sorted(p.name for p in directory.iterdir())
  if not entries:
    raise FileNotFoundError(f'Dataset folder {directory} is empty.')
  paths = [directory / n for n in entries if n.endswith(TFRECORDS_SUFFIX)]
  if not paths:
    listing = ', '.join(entries[:10]) + (', ...' if len(entries) > 10 else '')
    raise FileNotFoundError(
        f'Dataset folder {directory} holds no *{TFRECORDS_SUFFIX} files (it '
        f'holds: {listing}); create one with python -m tf_gans.dataset_tool.')
  return paths


def _first_shape(path):
  """Returns (H, W, C) of the first record of a file, with the format checks."""
  image = decode_example(read_first_record(path), f'the first record of {path}')
  check_image_shape(image.shape, f'the first record of {path}')
  return image.shape


class MultiResDataset:
  """Reads a multi-resolution TFRecords dataset (pggan.md section 7).

  Our `TFRecordDataset`. The constructor reads the first record of each
  file for its shape (a file's lod is R - log2(H)), counts the records of
  the top file and loads the labels, checking that every lod 0..R-2 is
  present, the channel counts agree and the labels have one row per image.

  Attributes:
    tfrecord_dir: The folder.
    resolution: Side 2^R of the lod-0 images.
    resolution_log2: R.
    num_channels: 1 or 3.
    num_images: Records in the top-resolution file.
    label_size: Columns of the labels; 0 without a labels file.
    labels: float32 [num_images, label_size] (zeros [N, 0] without labels).
    lods: Sorted list of the integer lods present (0..R-2 at least).
    in_memory_bytes: Files smaller than this are loaded into memory by
      `images`; larger ones are read record by record.
  """

  def __init__(self, tfrecord_dir, in_memory_bytes=IN_MEMORY_BYTES):
    self.tfrecord_dir = os.fspath(tfrecord_dir)
    self.in_memory_bytes = in_memory_bytes
    shapes = {path: _first_shape(path) for path in _list_files(self.tfrecord_dir)}
    top_path = max(shapes, key=lambda p: shapes[p][0])
    self.resolution = int(shapes[top_path][0])
    self.resolution_log2 = self.resolution.bit_length() - 1
    self.num_channels = int(shapes[top_path][2])
    self._files = self._files_by_lod(shapes, top_path)
    self.lods = sorted(self._files)
    self._indexes = {}
    self.num_images = len(self._record_index(0)[0])
    self.labels = self._load_labels()
    self.label_size = int(self.labels.shape[1])

  def _files_by_lod(self, shapes, top_path):
    """Maps lod -> path, checking channels, duplicates and missing lods."""
    files = {}
    for path, (height, _, channels) in shapes.items():
      if channels != self.num_channels:
        raise ValueError(
            f'{path} has {channels} channels but {top_path} has '
            f'{self.num_channels}; all files of a dataset must agree.')
      lod = self.resolution_log2 - (int(height).bit_length() - 1)
      if lod in files:
        raise ValueError(
            f'{files[lod]} and {path} both hold {height}x{height} images; '
            'a dataset folder holds one file per lod.')
      files[lod] = path
    match = _FILE_RE.match(top_path.name)
    basename = match.group('basename') if match else os.path.basename(os.path.normpath(self.tfrecord_dir))
    for lod in range(self.resolution_log2 - 1):
      if lod not in files:
        missing = tfrecord_name(basename, self.resolution_log2 - lod)
        raise FileNotFoundError(
            f'Dataset {self.tfrecord_dir} lacks lod {lod} ({2**(self.resolution_log2 - lod)}'
            f'x{2**(self.resolution_log2 - lod)}): expected file '
            f'{os.path.join(self.tfrecord_dir, missing)}.')
    return files

  def _load_labels(self):
    """Loads `*.labels` (np.save'd [N, label_size]) or returns zeros [N, 0]."""
    paths = sorted(pathlib.Path(self.tfrecord_dir).glob(f'*{LABELS_SUFFIX}'))
    if not paths:
      return np.zeros([self.num_images, 0], np.float32)
    if len(paths) > 1:
      raise ValueError(
          f'Dataset {self.tfrecord_dir} holds {len(paths)} label files '
          f'({", ".join(p.name for p in paths)}); expected at most one.')
    try:
      labels = np.load(paths[0], allow_pickle=False)
    except (ValueError, OSError) as error:
      raise ValueError(f'{paths[0]} is not a numpy .npy array: {error}') from None
    if labels.ndim != 2 or labels.shape[0] != self.num_images:
      raise ValueError(
          f'{paths[0]} has shape {labels.shape}; expected [{self.num_images}, '
          f'label_size], one row per image of {self.file(0)}.')
    return labels.astype(np.float32)

  def file(self, lod):
    """Path of the file of integer `lod`.

    Raises:
      ValueError: Naming `lod` and the available lods, if the folder lacks it.
    """
    if isinstance(lod, bool) or not isinstance(lod, (int, np.integer)) or int(lod) not in self._files:
      raise ValueError(
          f'Dataset {self.tfrecord_dir} has no lod {lod!r}; available lods: '
          f'{", ".join(str(l) for l in self.lods)} (lod 0 = {self.resolution}x'
          f'{self.resolution}).')
    return self._files[int(lod)]

  def image_shape(self, lod):
    """(H, W, C) of the images of `lod`."""
    side = 2**(self.resolution_log2 - int(lod))
    self.file(lod)
    return (side, side, self.num_channels)

  def _record_index(self, lod):
    """Cached (offsets, lengths) of the records of `lod`'s file."""
    if lod not in self._indexes:
      path = self.file(lod)
      offsets, lengths = record_offsets(path)
      if lod and len(offsets) != self.num_images:
        raise ValueError(
            f'{path} holds {len(offsets)} records but {self.file(0)} holds '
            f'{self.num_images}; every lod must hold the same images.')
      self._indexes[lod] = (offsets, lengths)
    return self._indexes[lod]

  def load_images(self, lod):
    """Decodes every image of `lod`, in file order.

    Returns:
      uint8 numpy array [num_images, H, W, C]; row i goes with `labels[i]`.

    Raises:
      ValueError: Naming the file, if a record's shape differs from the
        first record's or the record count differs from `num_images`.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    path = self.file(lod)
    shape = self.image_shape(lod)
    chw = [shape[2], shape[0], shape[1]]
    features = {'shape': tf.io.FixedLenFeature([3], tf.int64),
                'data': tf.io.FixedLenFeature([], tf.string)}
    chunks = []
    dataset = tf.data.TFRecordDataset(str(path)).batch(_LOADED_BATCH)
    for records in dataset.map(lambda r: tf.io.parse_example(r, features)).as_numpy_iterator():
      bad = np.flatnonzero((records['shape'] != chw).any(axis=1))
      if bad.size:
        index = sum(len(c) for c in chunks) + int(bad[0])
        raise ValueError(
            f'{path}: record {index} has shape {records["shape"][bad[0]].tolist()}, '
            f'expected {chw} like the first record.')
      pixels = np.frombuffer(b''.join(records['data']), np.uint8)
      chunks.append(np.transpose(pixels.reshape([-1] + chw), (0, 2, 3, 1)))
    images = np.concatenate(chunks)
    if len(images) != self.num_images:
      raise ValueError(
          f'{path} holds {len(images)} records but {self.file(0)} holds '
          f'{self.num_images}; every lod must hold the same images.')
    return images

  def images(self, lod, seed, skip=0, in_memory=None):
    """An infinite, shuffled stream of (image, label) pairs of one lod.

    Element i of the stream lies in epoch e = i // N at slot p = i % N and
    is record `index_shuffle(p, seed=(seed, e, 2), max_index=N - 1)` with its
    label row: every epoch shows each image once, in a fresh order. The
    stream is a pure function of (lod, seed, skip), the same in every
    process (it does not depend on TensorFlow's global seed), and
    `images(lod, seed, skip=k)` is exactly `images(lod, seed)` without its
    first k elements. Skipping costs nothing: no record is read to skip
    (the position is just the counter's start), so a resumed training run
    starts at once at any k. Both reading paths give the same stream.

    Args:
      lod: Integer lod present in `lods` (0 = full resolution).
      seed: Integer seed of the shuffle (fits in int64).
      skip: Number of leading elements to leave out (>= 0).
      in_memory: True to decode the whole file into memory first, False to
        read records from disk as they are needed (random access by record
        offset), None to load files smaller than `in_memory_bytes`.

    Returns:
      A `tf.data.Dataset` of (uint8 [H, W, C], float32 [label_size]); batch
      and prefetch it as needed.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    path = self.file(lod)
    if int(skip) < 0:
      raise ValueError(f'skip must be >= 0, got {skip}.')
    if in_memory is None:
      in_memory = os.path.getsize(path) < self.in_memory_bytes
    record_of = _shuffle_fn(self.num_images, int(seed))
    labels = tf.constant(self.labels)
    if in_memory:
      images = tf.constant(self.load_images(lod))
      def element(position):
        index = record_of(position)
        return tf.gather(images, index), tf.gather(labels, index)
    else:
      read = self._record_reader(lod)
      shape = self.image_shape(lod)
      def element(position):
        index = record_of(position)
        record = tf.py_function(read, [index], tf.string)
        return _parse_hwc(record, shape), tf.gather(labels, index)
    positions = tf.data.Dataset.counter(start=int(skip), dtype=tf.int64)
    return positions.map(element, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

  def _record_reader(self, lod):
    """A function index -> record bytes for `lod`'s file, by offset."""
    offsets, lengths = self._record_index(lod)
    return _RecordReader(self.file(lod), offsets, lengths).read

  def describe(self):
    """A few human-readable lines about the dataset."""
    labels = f'labels [{self.num_images}, {self.label_size}]' if self.label_size else 'no labels'
    lines = [f'{self.tfrecord_dir}: {self.num_images} images, {self.resolution}x'
             f'{self.resolution}x{self.num_channels}, {labels}']
    for lod in self.lods:
      side = self.image_shape(lod)[0]
      path = self.file(lod)
      lines.append(f'  lod {lod}: {side}x{side} {os.path.basename(path)} '
                   f'({os.path.getsize(path):,} bytes)')
    return '\n'.join(lines)


def _shuffle_fn(num_images, seed):
  """Returns position -> record index: one fresh permutation per epoch."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  max_index = tf.constant(num_images - 1, tf.int64)
  seed = tf.constant(seed, tf.int64)

  def record_of(position):
    epoch = position // num_images
    slot = position % num_images
    seeds = tf.stack([seed, epoch, tf.constant(_SHUFFLE_SALT, tf.int64)])
    return tf.raw_ops.RandomIndexShuffle(index=slot, seed=seeds, max_index=max_index, rounds=4)

  return record_of


def _parse_hwc(record, shape):
  """Parses one serialised Example (CHW bytes) into a uint8 [H, W, C] tensor."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  height, width, channels = shape
  features = tf.io.parse_single_example(
      record, {'data': tf.io.FixedLenFeature([], tf.string)})
  pixels = tf.io.decode_raw(features['data'], tf.uint8)
  image = tf.transpose(tf.reshape(pixels, [channels, height, width]), [1, 2, 0])
  return tf.ensure_shape(image, shape)
