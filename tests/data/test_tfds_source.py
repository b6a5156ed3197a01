"""Tests of the TFDS source with mocked data and an empty data_dir."""

import time

import numpy as np
import pytest

from tf_gans import data

tfds = pytest.importorskip('tensorflow_datasets')


def test_mock_mnist():
  with tfds.testing.mock_data(num_examples=12):
    src = data.load_source('tfds:mnist', 'train[:10]')
  assert src.images.shape == (10, 28, 28, 1)
  assert src.images.dtype == np.uint8
  assert src.labels.shape == (10,)
  assert src.labels.dtype == np.int64
  floats = src.as_float()
  assert 0.0 <= floats.min() and floats.max() <= 1.0
  assert floats.max() > 0.5  # Mock pixels are random over 0..255.


def test_mock_image_size():
  with tfds.testing.mock_data(num_examples=3):
    src = data.load_source('tfds:mnist', 'test', image_size=14)
  assert src.images.shape == (3, 14, 14, 1)


def test_not_prepared_is_fast_and_helpful(tmp_path):
  start = time.monotonic()
  with pytest.raises(FileNotFoundError) as info:
    data.load_source('tfds:mnist', 'train', data_dir=str(tmp_path))
  assert time.monotonic() - start < 5
  message = str(info.value)
  assert "'mnist'" in message
  assert str(tmp_path) in message
  assert 'tfds build mnist' in message


def test_unknown_tfds_name(tmp_path):
  with pytest.raises(ValueError, match='no_such_dataset_xyz'):
    data.load_source('tfds:no_such_dataset_xyz', data_dir=str(tmp_path))
