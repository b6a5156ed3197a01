"""Tests of the MNIST IDX source on the real files and on synthetic ones."""

import gzip
import pathlib
import shutil
import struct

import numpy as np
import pytest

from tf_gans import data
from tf_gans.data import mnist_idx

REPO = pathlib.Path(__file__).resolve().parents[2]
MNIST_DIR = REPO.parent / 'shared' / 'data' / 'mnist'

needs_mnist = pytest.mark.skipif(
    not MNIST_DIR.is_dir(),
    reason=f'../shared/data/mnist not present: expected the MNIST IDX files '
    f'in {MNIST_DIR}')


def _idx_bytes(array, magic):
  """Serialises a uint8 array as an IDX file."""
  header = struct.pack(f'>I{array.ndim}I', magic, *array.shape)
  return header + array.astype(np.uint8).tobytes()


def _write_split(directory, prefix, images, labels, gz=True):
  """Writes an images and a labels IDX file, gzipped or not."""
  suffix = '.gz' if gz else ''
  opener = gzip.open if gz else open
  with opener(directory / f'{prefix}-images-idx3-ubyte{suffix}', 'wb') as f:
    f.write(_idx_bytes(images, mnist_idx.IMAGES_MAGIC))
  with opener(directory / f'{prefix}-labels-idx1-ubyte{suffix}', 'wb') as f:
    f.write(_idx_bytes(labels, mnist_idx.LABELS_MAGIC))


@needs_mnist
def test_real_train():
  src = data.load_source(f'mnist_idx:{MNIST_DIR}', 'train')
  assert src.images.shape == (10000, 28, 28, 1)
  assert src.images.dtype == np.uint8
  assert src.labels.shape == (10000,)
  assert src.labels[:5].tolist() == [5, 0, 4, 1, 9]
  floats = src.as_float()
  assert floats.min() == 0.0 and floats.max() == 1.0


@needs_mnist
def test_real_test():
  src = data.load_source(f'mnist_idx:{MNIST_DIR}', 'test')
  assert src.images.shape == (10000, 28, 28, 1)
  assert src.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
  # Mean MNIST intensity is about 0.13.
  assert 0.1 < float(src.pixel_mean().mean()) < 0.16


@needs_mnist
def test_real_test_slice():
  src = data.load_source(f'mnist_idx:{MNIST_DIR}', 'test[-1000:]')
  assert src.num_examples == 1000


@needs_mnist
def test_truncated_real_file(tmp_path):
  raw = gzip.decompress((MNIST_DIR / 't10k-images-idx3-ubyte.gz').read_bytes())
  bad = tmp_path / 't10k-images-idx3-ubyte'
  bad.write_bytes(raw[:len(raw) // 2])
  with pytest.raises(ValueError, match=f'{bad}.*truncated'):
    data.load_source(f'mnist_idx:{tmp_path}', 'test')


@needs_mnist
def test_truncated_gzip(tmp_path):
  raw = (MNIST_DIR / 't10k-images-idx3-ubyte.gz').read_bytes()
  bad = tmp_path / 't10k-images-idx3-ubyte.gz'
  bad.write_bytes(raw[:len(raw) // 2])
  shutil.copy(MNIST_DIR / 't10k-labels-idx1-ubyte.gz', tmp_path)
  with pytest.raises(ValueError, match=f'{bad}.*truncated'):
    data.load_source(f'mnist_idx:{tmp_path}', 'test')


@pytest.mark.parametrize('gz', [True, False])
def test_synthetic_roundtrip(tmp_path, gz):
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
  labels = np.array([3, 1, 4, 1, 5, 9, 2], np.uint8)
  _write_split(tmp_path, 'train', images, labels, gz=gz)
  src = data.load_source(f'mnist_idx:{tmp_path}', 'train')
  np.testing.assert_array_equal(src.images[..., 0], images)
  assert src.labels.tolist() == [3, 1, 4, 1, 5]


def test_bad_magic(tmp_path):
  images = np.zeros((2, 28, 28), np.uint8)
  (tmp_path / 'train-images-idx3-ubyte').write_bytes(
      _idx_bytes(images, 0x00000903))
  with pytest.raises(ValueError, match='train-images-idx3-ubyte.*magic'):
    data.load_source(f'mnist_idx:{tmp_path}', 'train')


def test_labels_file_swapped_for_images(tmp_path):
  labels = np.zeros(4, np.uint8)
  (tmp_path / 'train-images-idx3-ubyte').write_bytes(
      _idx_bytes(labels, mnist_idx.LABELS_MAGIC))
  with pytest.raises(ValueError, match='magic number 0x00000801'):
    data.load_source(f'mnist_idx:{tmp_path}', 'train')


def test_too_few_labels(tmp_path):
  _write_split(tmp_path, 't10k', np.zeros((3, 28, 28), np.uint8),
               np.zeros(2, np.uint8))
  with pytest.raises(ValueError, match='has 2 labels, fewer than the 3'):
    data.load_source(f'mnist_idx:{tmp_path}', 'test')


def test_missing_labels_gives_none(tmp_path):
  (tmp_path / 't10k-images-idx3-ubyte').write_bytes(
      _idx_bytes(np.ones((3, 28, 28), np.uint8), mnist_idx.IMAGES_MAGIC))
  assert data.load_source(f'mnist_idx:{tmp_path}', 'test').labels is None


def test_two_matching_image_files(tmp_path):
  _write_split(tmp_path, 'train', np.zeros((1, 28, 28), np.uint8),
               np.zeros(1, np.uint8))
  (tmp_path / 'train-images-copy-idx3-ubyte').write_bytes(b'')
  with pytest.raises(ValueError, match='exactly one.*found 2'):
    data.load_source(f'mnist_idx:{tmp_path}', 'train')


def test_no_image_file_lists_folder(tmp_path):
  (tmp_path / 'readme.txt').write_text('hi')
  with pytest.raises(FileNotFoundError, match='t10k-images.*readme.txt'):
    data.load_source(f'mnist_idx:{tmp_path}', 'test')


def test_missing_dir(tmp_path):
  missing = tmp_path / 'nowhere'
  with pytest.raises(FileNotFoundError, match=str(missing)):
    data.load_source(f'mnist_idx:{missing}', 'train')


def test_needs_argument_and_known_split(tmp_path):
  with pytest.raises(ValueError, match='needs a folder'):
    data.load_source('mnist_idx', 'train')
  with pytest.raises(ValueError, match="no split 'valid'"):
    data.load_source(f'mnist_idx:{tmp_path}', 'valid')
