"""MNIST from the original IDX files (LeCun's distribution format), offline.

The spec `mnist_idx:<dir>` reads, for split `train`, the single file matching
`train-images*idx3-ubyte*` (and `train-labels*idx1-ubyte*`), and for `test`
`t10k-images*idx3-ubyte*` (and `t10k-labels*idx1-ubyte*`); files may be
gzipped. A label file longer than the image file is truncated to match, so a
subset such as `train-images-first10k-idx3-ubyte.gz` works with the full
`train-labels-idx1-ubyte.gz`. A missing label file gives labels None.
"""

import gzip
import os
import pathlib
import struct
import zlib

import numpy as np

from tf_gans.data.source import ArraySource
from tf_gans.data.source import DATASETS
from tf_gans.data.source import check_split
from tf_gans.data.source import reject_options

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension

_PREFIX = {'train': 'train', 'test': 't10k'}
_GZIP_MAGIC = b'\x1f\x8b'


def read_idx(path, magic):
  """Reads an IDX file of unsigned bytes, gzipped or not.

  Args:
    path: The file.
    magic: Expected 32-bit magic number (IMAGES_MAGIC or LABELS_MAGIC); its
      low byte is the number of dimensions.

  Returns:
    A uint8 array with the dimensions given in the header.

  Raises:
    ValueError: For a bad magic number, a corrupt gzip stream or a size that
      does not match the header.
  """
  data = _read_bytes(path)
  if len(data) < 4:
    raise ValueError(
        f'IDX file {path} is truncated: {len(data)} bytes, no magic number.')
  found = struct.unpack('>I', data[:4])[0]
  if found != magic:
    raise ValueError(
        f'IDX file {path} has magic number 0x{found:08x}, expected '
        f'0x{magic:08x}; is it the right (uncorrupted) file?')
  ndim = magic & 0xFF
  header_size = 4 * (1 + ndim)
  if len(data) < header_size:
    raise ValueError(
        f'IDX file {path} is truncated: {len(data)} bytes, shorter than its '
        f'{header_size}-byte header.')
  dims = struct.unpack(f'>{ndim}I', data[4:header_size])
  expected = int(np.prod(dims)) + header_size
  if len(data) != expected:
    state = 'truncated' if len(data) < expected else 'too long'
    raise ValueError(
        f'IDX file {path} is {state}: header dims {dims} need {expected} '
        f'bytes, found {len(data)}.')
  return np.frombuffer(data, np.uint8, offset=header_size).reshape(dims)


def _read_bytes(path):
  """Returns the (decompressed) bytes of `path`."""
  raw = pathlib.Path(path).read_bytes()
  if not raw.startswith(_GZIP_MAGIC):
    return raw
  try:
    return gzip.decompress(raw)
  except (OSError, EOFError, zlib.error) as error:
    raise ValueError(
        f'IDX file {path} is a corrupt or truncated gzip file: {error}') from None


def find_file(directory, pattern, required=True):
  """Returns the single file in `directory` matching the glob `pattern`.

  Args:
    directory: Folder to search (not recursive).
    pattern: Glob pattern, e.g. 'train-images*idx3-ubyte*'.
    required: If False, return None when nothing matches.

  Raises:
    FileNotFoundError: If nothing matches and `required`.
    ValueError: If more than one file matches.
  """
  matches = sorted(p for p in directory.glob(pattern) if p.is_file())
  if len(matches) == 1:
    return matches[0]
  if not matches and not required:
    return None
  listing = ', '.join(sorted(p.name for p in directory.iterdir())) or '(empty)'
  if not matches:
    raise FileNotFoundError(
        f'No file matching {pattern!r} in {directory}; it holds: {listing}.')
  names = ', '.join(p.name for p in matches)
  raise ValueError(
      f'Expected exactly one file matching {pattern!r} in {directory}, found '
      f'{len(matches)}: {names}.')


def _match_labels(labels, num_images, labels_path):
  """Truncates `labels` to the images, raising if there are too few."""
  if labels.shape[0] < num_images:
    raise ValueError(
        f'Label file {labels_path} has {labels.shape[0]} labels, fewer than '
        f'the {num_images} images.')
  return labels[:num_images].astype(np.int64)


@DATASETS.register('mnist_idx', usage='mnist_idx:<dir>')
def load_mnist_idx(arg, split, **options):
  """Loads MNIST from IDX files in a folder.

  Args:
    arg: The folder holding the IDX files.
    split: 'train' or 'test'.
    **options: Unused; each must be None.

  Returns:
    An `ArraySource` with uint8 images [N, 28, 28, 1], scale 1/255, and
    labels when a label file is present.
  """
  if not arg:
    raise ValueError("Dataset 'mnist_idx' needs a folder: 'mnist_idx:<dir>'.")
  check_split('mnist_idx', split, tuple(_PREFIX))
  reject_options('mnist_idx', options)
  directory = pathlib.Path(os.path.expanduser(arg))
  if not directory.is_dir():
    raise FileNotFoundError(f'MNIST IDX folder {directory} does not exist.')
  prefix = _PREFIX[split]
  images_path = find_file(directory, f'{prefix}-images*idx3-ubyte*')
  images = read_idx(images_path, IMAGES_MAGIC)
  labels_path = find_file(
      directory, f'{prefix}-labels*idx1-ubyte*', required=False)
  labels = None
  if labels_path is not None:
    labels = _match_labels(
        read_idx(labels_path, LABELS_MAGIC), images.shape[0], labels_path)
  return ArraySource(
      name=f'mnist_idx:{split}',
      images=images[..., np.newaxis],
      scale=1.0 / 255,
      labels=labels)
