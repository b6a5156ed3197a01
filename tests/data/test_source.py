"""Tests of ArraySource, split/spec parsing and load_source."""

import numpy as np
import pytest

from tf_gans import data
from tf_gans.data import source as source_lib


def _source(n=10, labels=True):
  images = np.arange(n * 2 * 3 * 1, dtype=np.uint8).reshape(n, 2, 3, 1)
  return data.ArraySource(
      'toy', images, 1.0 / 255, np.arange(n) if labels else None)


def test_properties_and_as_float():
  src = _source()
  assert src.num_examples == 10
  assert src.image_shape == (2, 3, 1)
  floats = src.as_float()
  assert floats.dtype == np.float32
  np.testing.assert_allclose(floats, src.images / 255.0, rtol=1e-6)


def test_pixel_mean():
  images = np.array([0, 16, 8], np.uint8).reshape(3, 1, 1, 1)
  src = data.ArraySource('m', np.broadcast_to(images, (3, 2, 2, 1)), 1 / 16)
  mean = src.pixel_mean()
  assert mean.dtype == np.float32
  assert mean.shape == (2, 2, 1)
  np.testing.assert_allclose(mean, 0.5)


@pytest.mark.parametrize('start,stop,expected', [
    (None, 3, [0, 1, 2]),
    (7, None, [7, 8, 9]),
    (-2, None, [8, 9]),
    (2, -6, [2, 3]),
])
def test_slice(start, stop, expected):
  sliced = _source().slice(start, stop)
  assert sliced.labels.tolist() == expected
  assert sliced.num_examples == len(expected)
  np.testing.assert_array_equal(sliced.images, _source().images[expected])


def test_empty_slice_names_source():
  with pytest.raises(ValueError, match="'toy\\[5:5\\]' has no examples"):
    _source().slice(5, 5)


@pytest.mark.parametrize('kwargs,match', [
    (dict(images=np.zeros((4, 4, 1), np.uint8)), '4-D'),
    (dict(images=np.zeros((0, 4, 4, 1), np.uint8)), "'bad' has no examples"),
    (dict(scale=0.0), 'scale must be > 0'),
    (dict(labels=np.zeros(3)), 'labels must have shape \\[2\\]'),
    (dict(images=np.full((2, 4, 4, 1), 255, np.uint8), scale=1 / 16),
     'must lie in \\[0, 1\\]'),
])
def test_validation(kwargs, match):
  args = dict(name='bad', images=np.zeros((2, 4, 4, 1), np.uint8),
              scale=1 / 255)
  args.update(kwargs)
  with pytest.raises(ValueError, match=match):
    data.ArraySource(**args)


@pytest.mark.parametrize('split,expected', [
    ('train', ('train', None)),
    ('test', ('test', None)),
    ('train[:9000]', ('train', slice(None, 9000))),
    ('train[9000:]', ('train', slice(9000, None))),
    ('test[-1000:]', ('test', slice(-1000, None))),
    ('train[10:-5]', ('train', slice(10, -5))),
    ('train[:]', ('train', slice(None, None))),
])
def test_parse_split(split, expected):
  assert data.parse_split(split) == expected


@pytest.mark.parametrize('split', [
    '', 'train[', 'train[5]', 'train[1:2:3]', 'train[a:]', 'train [1:]',
    'train[-:]', '[1:2]', 'train[1:2]x', 'train[50%:]', None,
])
def test_parse_split_malformed(split):
  with pytest.raises(ValueError, match='Malformed split .*expected'):
    data.parse_split(split)


def test_parse_spec_splits_on_first_colon():
  assert data.parse_spec('digits') == ('digits', None)
  assert data.parse_spec('mnist_idx:/a/b') == ('mnist_idx', '/a/b')
  assert data.parse_spec('tfds:mnist:3.*.*') == ('tfds', 'mnist:3.*.*')


def test_load_source_unknown_name():
  with pytest.raises(ValueError, match="'nope:x'.*Unknown dataset 'nope'.*digits"):
    data.load_source('nope:x')


def test_load_source_slices():
  assert data.load_source('digits', 'all[:1500]').num_examples == 1500
  held_out = data.load_source('digits', 'all[1500:]')
  assert held_out.num_examples == 297
  full = data.load_source('digits', 'all')
  np.testing.assert_array_equal(held_out.images, full.images[1500:])
  np.testing.assert_array_equal(held_out.labels, full.labels[1500:])


def test_load_source_empty_slice():
  with pytest.raises(ValueError, match="'train\\[2000:\\]' selects no examples"):
    data.load_source('digits', 'train[2000:]')


def test_load_source_malformed_split():
  with pytest.raises(ValueError, match="Malformed split 'train\\[:x\\]'"):
    data.load_source('digits', 'train[:x]')


def test_unused_option_is_rejected_but_none_is_fine():
  assert data.load_source('digits', 'all', image_size=None).num_examples == 1797
  with pytest.raises(ValueError, match='does not support option.*image_size'):
    data.load_source('digits', image_size=32)


def test_registry_is_the_shared_registry_type():
  assert isinstance(source_lib.DATASETS, type(data.DATASETS))
  assert data.DATASETS.names() == ['digits', 'folder', 'mnist_idx', 'tfds', 'tfrecords']


def test_pad_to_centres_the_images_and_refuses_to_shrink():
  from tf_gans.data import load_source  # pylint: disable=import-outside-toplevel
  src = load_source('digits', 'train[:5]', pad_to=12)
  assert src.image_shape == (12, 12, 1)
  raw = load_source('digits', 'train[:5]')
  np.testing.assert_array_equal(src.images[:, 2:10, 2:10], raw.images)
  assert not src.images[:, :2].any() and not src.images[:, 10:].any()
  with pytest.raises(ValueError, match='cannot pad 8x8 images to 6x6'):
    raw.pad_to(6)


def test_lazy_images_read_only_the_rows_asked_for():
  images = np.arange(6 * 2 * 2, dtype=np.uint8).reshape(6, 2, 2, 1)
  reads = []

  def read(rows):
    reads.append(rows.tolist())
    return images[rows]
  lazy = source_lib.LazyImages(read, 6, (2, 2, 1), chunk=4)
  src = data.ArraySource('lazy', lazy, 1 / 255, np.arange(6) % 3, label_size=3)
  assert src.num_examples == 6 and src.image_shape == (2, 2, 1) and reads == []
  sliced = src.slice(1, 5)  # a view: still nothing read
  assert isinstance(sliced.images, source_lib.LazyImages) and reads == []
  np.testing.assert_array_equal(sliced.images[[3, 0]], images[[4, 1]])
  np.testing.assert_array_equal(sliced.images[np.array([True, False, True, False]), :, ::-1],
                                images[[1, 3]][:, :, ::-1])
  assert reads == [[4, 1], [1, 3]]
  np.testing.assert_array_equal(np.asarray(src.images), images)  # chunks of 4 rows
  assert reads[2:] == [[0, 1, 2, 3], [4, 5]]
  np.testing.assert_allclose(src.pixel_mean(), images.mean(axis=0) / 255, rtol=1e-6)
  np.testing.assert_allclose(sliced.as_float(), images[1:5] / 255, rtol=1e-6)
  assert sliced.label_size == 3
  with pytest.raises(ValueError, match='need a scale <= 1/255'):
    data.ArraySource('lazy', lazy, 1 / 16)


def test_label_vectors_and_class_indices():
  images = np.zeros((4, 2, 2, 1), np.uint8)
  classes = data.ArraySource('c', images, 1 / 255, np.array([0, 2, 1, 2]), label_size=4)
  np.testing.assert_array_equal(classes.label_vectors(), np.eye(4)[[0, 2, 1, 2]])
  np.testing.assert_array_equal(classes.class_indices(), [0, 2, 1, 2])
  assert data.ArraySource('c', images, 1, np.array([0, 2, 1, 2])).label_vectors().shape == (4, 3)
  multi = np.array([[1, 1], [0, 0], [0, 1], [1, 0]], np.float32)
  vectors = data.ArraySource('m', images, 1, multi)
  assert vectors.label_size == 2 and vectors.slice(1, 3).label_size == 2
  np.testing.assert_array_equal(vectors.label_vectors(), multi)
  with pytest.raises(ValueError, match="'m'.* not one-hot"):
    vectors.class_indices()
  one_hot = data.ArraySource('o', images, 1, np.eye(3, dtype=np.float32)[[2, 0, 1, 1]])
  np.testing.assert_array_equal(one_hot.class_indices(), [2, 0, 1, 1])
  with pytest.raises(ValueError, match=r'class labels lie in \[0, 4\], expected \[0, 4\)'):
    data.ArraySource('c', images, 1, np.array([0, 4, 1, 2]), label_size=4)
  with pytest.raises(ValueError, match=r'\[4\] \(class indices\) or \[4, label_size\]'):
    data.ArraySource('c', images, 1, np.zeros((4, 2, 2)))
