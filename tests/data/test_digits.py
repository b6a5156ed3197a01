"""Tests of the scikit-learn digits source and its held-out split (tf_gans/data/digits.py)."""

import numpy as np
import pytest
from sklearn import datasets

from tf_gans import data
from tf_gans.data import digits


def test_train_shape_range_and_labels():
  src = data.load_source('digits', 'train')
  assert src.images.shape == (1297, 8, 8, 1)
  assert src.images.dtype == np.uint8
  assert src.scale == 1 / 16
  floats = src.as_float()
  assert floats.min() == 0.0
  assert floats.max() == 1.0
  assert src.labels.shape == (1297,)
  assert src.labels[0] == 0
  assert sorted(set(src.labels.tolist())) == list(range(10))


def test_splits_are_disjoint_blocks_of_scikit_learns_order_with_every_class():
  bunch = datasets.load_digits()
  parts = {name: data.load_source('digits', name) for name in ('train', 'validation', 'test')}
  assert {name: p.num_examples for name, p in parts.items()} == {
      'train': 1297, 'validation': 200, 'test': 300}
  joined = np.concatenate([p.images for p in parts.values()])
  np.testing.assert_array_equal(joined[..., 0], bunch.images.astype(np.uint8))
  np.testing.assert_array_equal(np.concatenate([p.labels for p in parts.values()]), bunch.target)
  np.testing.assert_array_equal(data.load_source('digits', 'all').images, joined)
  for p in parts.values():
    assert sorted(set(p.labels.tolist())) == list(range(10))
  # No held-out image is pixel-for-pixel a training image.
  seen = {img.tobytes() for img in parts['train'].images}
  for name in ('validation', 'test'):
    assert not any(img.tobytes() in seen for img in parts[name].images), name


def test_default_evaluation_split_is_held_out_from_the_default_training_split():
  # A run trains on RunConfig.split; evaluate scores Options.split: different digits.
  from tf_gans.gan.config import RunConfig  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics.evaluation import Options  # pylint: disable=import-outside-toplevel
  from tf_gans.progressive.config import ProgressiveConfig  # pylint: disable=import-outside-toplevel
  train_splits = {RunConfig(logdir='x').split, ProgressiveConfig(logdir='x').split}
  assert train_splits == {'train'} and Options().split == 'test'
  assert digits.SPLITS['train'].stop <= digits.SPLITS['validation'].start
  assert digits.SPLITS['validation'].stop <= digits.SPLITS['test'].start


def test_slices_are_within_a_split():
  test = data.load_source('digits', 'test')
  np.testing.assert_array_equal(data.load_source('digits', 'test[100:]').images,
                                test.images[100:])
  with pytest.raises(ValueError, match=r"'test\[300:\]' selects no examples.*300 examples"):
    data.load_source('digits', 'test[300:]')


def test_pixel_mean_matches_numpy():
  src = data.load_source('digits')
  np.testing.assert_allclose(
      src.pixel_mean(), src.as_float().mean(axis=0), atol=1e-6)


def test_unknown_split():
  with pytest.raises(ValueError, match="no split 'valid'.*train, validation, test, all"):
    data.load_source('digits', 'valid')


def test_argument_rejected():
  with pytest.raises(ValueError, match='takes no argument'):
    data.load_source('digits:foo')
