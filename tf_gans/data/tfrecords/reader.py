"""Reads a multi-resolution TFRecords dataset (`MultiResDataset`, the original `TFRecordDataset`).

`images(lod, seed, skip)` is an infinite, shuffled stream that is a pure
function of (lod, seed, skip): position i of the stream lies in epoch
e = i // N at slot p = i % N and shows record `index_shuffle(p, seed=(seed,
e, 2 + lod), max_index=N - 1)`, so every epoch is a fresh permutation of all
N images (the original shuffles with a buffer of 4096 MB, a whole-epoch
permutation for all but the largest datasets), every lod has its own
permutations (the original `dataset.py` `TFRecordDataset` gives each lod its
own `TFRecordDataset(...).shuffle(...)`, shuffled independently), and
resuming at position k costs nothing. Under several workers
`images(..., rows=WorkerRows)` keeps only the positions one worker's
replicas train on before mapping them to records, so a worker reading from
disk reads and decodes only its 1/W of the records (the global order is
unchanged: it is the shuffle's, a function of the position alone).
`iter_images(lod)` reads a file in record order (the original's
`shuffle_mb=0, repeat=False`); `read_records(lod, indices)` reads just the
given records, by offset (the streaming `tfrecords:` source).
"""

import os
import pathlib
import struct

import numpy as np

from tf_gans.data.tfrecords.format import FILE_RE
from tf_gans.data.tfrecords.format import LABELS_SUFFIX
from tf_gans.data.tfrecords.format import TFRECORDS_SUFFIX
from tf_gans.data.tfrecords.format import check_image_shape
from tf_gans.data.tfrecords.format import decode_example
from tf_gans.data.tfrecords.format import feature_spec
from tf_gans.data.tfrecords.format import tfrecord_name

# Files smaller than this are decoded into memory by `images`; larger ones
# are read record by record from disk.
IN_MEMORY_BYTES = 256 * 2**20

# TFRecord framing: uint64 length, uint32 masked CRC of the length, the data,
# uint32 masked CRC of the data (all little-endian).
_LENGTH_BYTES = 8
_HEADER_BYTES = 12
_FOOTER_BYTES = 4
# Third word of the index_shuffle seed is _SHUFFLE_SALT + lod, so every lod
# has its own permutations (lod 0 keeps the salt alone); the in-memory
# pipeline of `tf_gans.data.pipeline` uses 0 and 1.
_SHUFFLE_SALT = 2
_LOADED_BATCH = 1024


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
# The dataset.


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
  """Reads a multi-resolution TFRecords dataset (original `dataset.py` `TFRecordDataset`).

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
    match = FILE_RE.match(top_path.name)
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

  def iter_images(self, lod=0, batch_size=_LOADED_BATCH):
    """Decodes the images of `lod` in file order, a batch at a time.

    The order of the original `dataset.py` `TFRecordDataset` with
    `shuffle_mb=0, repeat=False` (what `dataset_tool.py` `display`, `extract`
    and `compare` read); memory stays one batch whatever the file's size.

    Yields:
      uint8 numpy arrays [<= batch_size, H, W, C]; their rows, concatenated,
      go with `labels`.

    Raises:
      ValueError: Naming the file, if a record's shape differs from the
        first record's or the record count differs from `num_images`.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    path = self.file(lod)
    shape = self.image_shape(lod)
    chw = [shape[2], shape[0], shape[1]]
    features = feature_spec()
    count = 0
    dataset = tf.data.TFRecordDataset(str(path)).batch(int(batch_size))
    for records in dataset.map(lambda r: tf.io.parse_example(r, features)).as_numpy_iterator():
      bad = np.flatnonzero((records['shape'] != chw).any(axis=1))
      if bad.size:
        raise ValueError(
            f'{path}: record {count + int(bad[0])} has shape '
            f'{records["shape"][bad[0]].tolist()}, expected {chw} like the first record.')
      pixels = np.frombuffer(b''.join(records['data']), np.uint8)
      count += len(records['data'])
      if count > self.num_images:
        break
      yield np.transpose(pixels.reshape([-1] + chw), (0, 2, 3, 1))
    if count != self.num_images:
      raise ValueError(
          f'{path} holds {"more than " if count > self.num_images else ""}{count} records '
          f'but {self.file(0)} holds {self.num_images}; every lod must hold the same images.')

  def read_records(self, lod, indices):
    """Decodes the records `indices` (row numbers, any order, repeats allowed) of `lod`.

    Random access by byte offset (`record_offsets`, `os.pread`): only those records
    are read, so memory is the images asked for, whatever the file's size. What a
    `tfrecords:` source (`tf_gans.data.tfrecords_source`) reads its minibatches with.

    Returns:
      uint8 numpy array [len(indices), H, W, C]; row i goes with `labels[indices[i]]`.

    Raises:
      ValueError: Naming the file and record, for an index outside [0, num_images) or a
        record whose shape differs from the first record's.
    """
    path = self.file(lod)
    shape = self.image_shape(lod)
    indices = np.asarray(indices, np.int64).reshape([-1])
    bad = indices[(indices < 0) | (indices >= self.num_images)]
    if bad.size:
      raise ValueError(f'{path}: no record {int(bad[0])}; it holds {self.num_images} '
                       f'(0..{self.num_images - 1}).')
    read = self._record_reader(lod)
    out = np.empty((len(indices),) + shape, np.uint8)
    for i, index in enumerate(indices):
      image = decode_example(read(index), f'record {int(index)} of {path}')
      if image.shape != shape:
        raise ValueError(f'{path}: record {int(index)} has shape {list(image.shape)} (H, W, C), '
                         f'expected {list(shape)} like the first record.')
      out[i] = image
    return out

  def load_images(self, lod):
    """Decodes every image of `lod`, in file order.

    Returns:
      uint8 numpy array [num_images, H, W, C]; row i goes with `labels[i]`.

    Raises:
      ValueError: Naming the file, if a record's shape differs from the
        first record's or the record count differs from `num_images`.
    """
    return np.concatenate(list(self.iter_images(lod)))

  def images(self, lod, seed, skip=0, in_memory=None, rows=None):
    """An infinite, shuffled stream of (image, label) pairs of one lod.

    Element i of the stream lies in epoch e = i // N at slot p = i % N and
    is record `index_shuffle(p, seed=(seed, e, 2 + lod), max_index=N - 1)`
    with its label row: every epoch shows each image once, in a fresh order,
    and each lod has its own permutations (as the original's per-lod
    shuffles; the lod is folded into the seed). The
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
      rows: a `tf_gans.training.replicas.WorkerRows` (several workers): only
        the elements this worker's replicas train on, i.e. the stream
        positions skip + i with i % R in [w L, w L + L), chosen before the
        position is mapped to its record. Read from disk, the worker reads
        and decodes only those records (1/W of the global stream's); loaded
        into memory, each worker still decodes the whole file once (every
        epoch is a permutation of all N images, so every worker needs every
        image over an epoch) and then gathers only its rows. The order is
        the global stream's either way: the shuffle is a function of the
        position, not of the worker. None or one worker: every element.

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
    record_of = _shuffle_fn(self.num_images, int(seed), int(lod))
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
    if rows is not None:
      positions = rows.select(positions)
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


def _shuffle_fn(num_images, seed, lod=0):
  """Returns position -> record index: one fresh permutation per (lod, epoch)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  max_index = tf.constant(num_images - 1, tf.int64)
  seed = tf.constant(seed, tf.int64)
  salt = tf.constant(_SHUFFLE_SALT + lod, tf.int64)

  def record_of(position):
    epoch = position // num_images
    slot = position % num_images
    seeds = tf.stack([seed, epoch, salt])
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
