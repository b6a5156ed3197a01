"""Tests of the dataset writers behind `python -m tf_gans.dataset_tool`.

The original PGGAN `dataset_tool.py` (`TFRecordExporter`, `create_*`).
"""

import os

import numpy as np
import pytest
from PIL import Image

from tf_gans.data import dataset_writers
from tf_gans.data import mnist_idx
from tf_gans.data import tfrecords


def _save(path, array):
  Image.fromarray(array).save(path)


def _folder(tmp_path, count=5, size=8):
  """Writes grey and colour PNG/BMP files whose first pixel encodes their index."""
  folder = tmp_path / 'images'
  folder.mkdir()
  for i in range(count):
    if i % 2:
      array = np.full([size, size, 3], [i, 100, 200], np.uint8)
      _save(folder / f'img{i:02d}.png', array)
    else:
      _save(folder / f'img{i:02d}.bmp', np.full([size, size], i, np.uint8))
  (folder / 'readme.txt').write_text('not an image')
  return folder


def test_create_from_images_orders_and_channels(tmp_path):
  folder = _folder(tmp_path)
  summary = dataset_writers.create_from_images(tmp_path / 'sorted', folder, shuffle=False,
                                               progress=False)
  assert (summary.num_images, summary.resolution, summary.num_channels) == (5, 8, 3)
  images = tfrecords.MultiResDataset(tmp_path / 'sorted').load_images(0)
  assert images[:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4]  # Sorted file names.
  assert images[0, 0, 0].tolist() == [0, 0, 0]  # Grey file converted to RGB.
  assert images[1, 0, 0].tolist() == [1, 100, 200]
  dataset_writers.create_from_images(tmp_path / 'shuffled', folder, progress=False)
  shuffled = tfrecords.MultiResDataset(tmp_path / 'shuffled').load_images(0)
  order = np.arange(5)
  np.random.RandomState(123).shuffle(order)
  assert shuffled[:, 0, 0, 0].tolist() == order.tolist()
  assert order.tolist() != list(range(5))


def test_create_from_images_grey_stays_grey(tmp_path):
  folder = tmp_path / 'grey'
  folder.mkdir()
  for i in range(3):
    _save(folder / f'{i}.png', np.full([4, 4], 50 * i, np.uint8))
  summary = dataset_writers.create_from_images(tmp_path / 'out', folder, shuffle=False,
                                               progress=False)
  assert summary.num_channels == 1
  assert summary.files == ['out-r02.tfrecords']


@pytest.mark.parametrize('bad_shape, message', [
    ((8, 4, 3), 'is not square'),
    ((12, 12, 3), 'side 12 is not a power of two'),
    ((4, 4, 3), r'is 4x4x1 but the first image \(.*img00.bmp\) is 8x8x1'),
])
def test_create_from_images_names_the_bad_file(tmp_path, bad_shape, message):
  folder = _folder(tmp_path, count=2)
  _save(folder / 'zzz.jpg', np.zeros(bad_shape, np.uint8))
  with pytest.raises(ValueError, match=f'zzz.jpg.*{message}'):
    dataset_writers.create_from_images(tmp_path / 'out', folder, progress=False)
  assert sorted(os.listdir(tmp_path)) == ['images']


def test_create_mnist(tmp_path, mnist_dir):
  summary = dataset_writers.create_mnist(tmp_path / 'mnist', mnist_dir, 'test', progress=False)
  assert summary.files[0] == 'mnist-r02.tfrecords'
  assert summary.files[-1] == 'mnist-rxx.labels'
  dataset = tfrecords.MultiResDataset(tmp_path / 'mnist')
  assert (dataset.num_images, dataset.resolution, dataset.num_channels) == (10000, 32, 1)
  assert dataset.lods == [0, 1, 2, 3]
  assert dataset.image_shape(3) == (4, 4, 1)
  source = mnist_idx.load_mnist_idx(str(mnist_dir), 'test')
  order = np.arange(10000)
  np.random.RandomState(123).shuffle(order)
  assert dataset.labels.shape == (10000, 10)
  np.testing.assert_array_equal(dataset.labels.argmax(axis=1), source.labels[order])
  np.testing.assert_array_equal(dataset.labels.sum(axis=1), 1.0)
  images = dataset.load_images(0)
  np.testing.assert_array_equal(images[:, 2:30, 2:30], source.images[order])
  assert images[:, :2].max() == 0 and images[:, :, 30:].max() == 0  # 2-pixel zero border.


def test_create_photo_crops_is_deterministic_and_real(tmp_path):
  args = dict(resolution=16, num_images=64, progress=False)
  dataset_writers.create_photo_crops(tmp_path / 'a', seed=1, **args)
  dataset_writers.create_photo_crops(tmp_path / 'b', seed=1, **args)
  dataset_writers.create_photo_crops(tmp_path / 'c', seed=2, **args)
  for name in ('a-r02.tfrecords', 'a-r03.tfrecords', 'a-r04.tfrecords'):
    assert (tmp_path / 'a' / name).read_bytes() == (tmp_path / 'b' / name.replace('a-', 'b-')).read_bytes()
  a = tfrecords.MultiResDataset(tmp_path / 'a')
  assert (a.num_images, a.resolution, a.num_channels, a.label_size) == (64, 16, 3, 0)
  images = a.load_images(0).astype(np.float32)
  other = tfrecords.MultiResDataset(tmp_path / 'c').load_images(0)
  assert not np.array_equal(images, other)
  assert images.std(axis=(1, 2)).mean() > 10  # Real texture inside each crop.
  assert images.mean(axis=(1, 2, 3)).std() > 10  # Crops differ from one another.
  assert len({image.tobytes() for image in images}) == 64


def test_create_photo_crops_refuses_bad_resolution(tmp_path):
  with pytest.raises(ValueError, match='--resolution=24'):
    dataset_writers.create_photo_crops(tmp_path / 'x', resolution=24, num_images=2, progress=False)
  assert not os.listdir(tmp_path)


def test_create_from_tfds_with_mock_data(tmp_path):
  tfds = pytest.importorskip('tensorflow_datasets')
  with tfds.testing.mock_data(num_examples=6):
    summary = dataset_writers.create_cifar10(tmp_path / 'cifar10', progress=False)
    source = tfds.as_numpy(tfds.load('cifar10', split='train', download=False))
    raw = list(source)
  assert (summary.num_images, summary.resolution, summary.num_channels) == (6, 32, 3)
  dataset = tfrecords.MultiResDataset(tmp_path / 'cifar10')
  assert dataset.labels.shape == (6, 10)
  order = np.arange(6)
  np.random.RandomState(123).shuffle(order)
  np.testing.assert_array_equal(dataset.load_images(0), np.stack([raw[i]['image'] for i in order]))
  np.testing.assert_array_equal(dataset.labels.argmax(axis=1), [raw[i]['label'] for i in order])
  with tfds.testing.mock_data(num_examples=3):
    dataset_writers.create_from_tfds(tmp_path / 'small', 'mnist', 'test', resolution=8,
                                     progress=False)
  small = tfrecords.MultiResDataset(tmp_path / 'small')
  assert (small.num_images, small.resolution, small.num_channels) == (3, 8, 1)


def test_create_cifar10_not_prepared_is_clear(tmp_path):
  pytest.importorskip('tensorflow_datasets')
  with pytest.raises(FileNotFoundError, match=r"'cifar10' is not prepared.*tfds build cifar10"):
    dataset_writers.create_cifar10(tmp_path / 'out', data_dir=str(tmp_path / 'tfds'),
                                   progress=False)
  assert not (tmp_path / 'out').exists()
