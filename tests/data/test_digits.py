"""Tests of the scikit-learn digits source."""

import numpy as np
import pytest

from tf_gans import data


def test_train_shape_range_and_labels():
  src = data.load_source('digits', 'train')
  assert src.images.shape == (1797, 8, 8, 1)
  assert src.images.dtype == np.uint8
  assert src.scale == 1 / 16
  floats = src.as_float()
  assert floats.min() == 0.0
  assert floats.max() == 1.0
  assert src.labels.shape == (1797,)
  assert src.labels[0] == 0
  assert sorted(set(src.labels.tolist())) == list(range(10))


def test_test_split_is_all_examples():
  train = data.load_source('digits', 'train')
  test = data.load_source('digits', 'test')
  np.testing.assert_array_equal(train.images, test.images)


def test_pixel_mean_matches_numpy():
  src = data.load_source('digits')
  np.testing.assert_allclose(
      src.pixel_mean(), src.as_float().mean(axis=0), atol=1e-6)


def test_unknown_split():
  with pytest.raises(ValueError, match="no split 'validation'.*train, test"):
    data.load_source('digits', 'validation')


def test_argument_rejected():
  with pytest.raises(ValueError, match='takes no argument'):
    data.load_source('digits:foo')
