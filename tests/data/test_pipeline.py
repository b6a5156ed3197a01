"""Tests of make_dataset: determinism, O(1) resume, epochs, value range."""

import numpy as np
import pytest

from tf_gans import data


def _indexed_source(n):
  """A source whose image k is filled with the value k (k < 256)."""
  images = np.broadcast_to(
      np.arange(n, dtype=np.uint8).reshape(n, 1, 1, 1), (n, 2, 2, 1))
  return data.ArraySource('indexed', images, 1.0 / 255)


def _ids(dataset, num_batches):
  """Reads the example ids of the first `num_batches` batches."""
  batches = list(dataset.take(num_batches).as_numpy_iterator())
  return np.stack([np.rint(b[:, 0, 0, 0] * 255).astype(int) for b in batches])


def test_shape_dtype_and_determinism():
  src = _indexed_source(10)
  first = _ids(data.make_dataset(src, 4, seed=7), 6)
  again = _ids(data.make_dataset(src, 4, seed=7), 6)
  other = _ids(data.make_dataset(src, 4, seed=8), 6)
  np.testing.assert_array_equal(first, again)
  assert not np.array_equal(first, other)
  batch = next(iter(data.make_dataset(src, 4, seed=7)))
  assert batch.shape == (4, 2, 2, 1)
  assert batch.dtype.name == 'float32'


@pytest.mark.parametrize('batch_size,start_batch', [(4, 3), (3, 7), (25, 2)])
def test_resume_equals_skip(batch_size, start_batch):
  src = _indexed_source(10)
  full = data.make_dataset(src, batch_size, seed=3)
  skipped = _ids(full.skip(start_batch), 5)
  resumed = _ids(
      data.make_dataset(src, batch_size, seed=3, start_batch=start_batch), 5)
  np.testing.assert_array_equal(skipped, resumed)


def test_every_epoch_is_a_fresh_permutation():
  n, batch_size = 10, 4
  src = _indexed_source(n)
  stream = _ids(data.make_dataset(src, batch_size, seed=11), 10).reshape(-1)
  epochs = stream.reshape(-1, n)  # 40 samples = 4 epochs.
  for epoch in epochs:
    assert sorted(epoch.tolist()) == list(range(n))
  assert len({tuple(e) for e in epochs}) == len(epochs)
  assert any(epoch.tolist() != list(range(n)) for epoch in epochs)


def test_epoch_coverage_on_real_digits():
  src = data.load_source('digits', 'train[:300]')
  dataset = data.make_dataset(src, 50, seed=0)
  batches = np.concatenate(list(dataset.take(6).as_numpy_iterator()))
  flat = src.as_float().reshape(300, -1)
  seen = batches.reshape(300, -1)
  # Every example appears once: sorted rows match as multisets.
  order = np.lexsort(flat.T[::-1])
  seen_order = np.lexsort(seen.T[::-1])
  np.testing.assert_allclose(seen[seen_order], flat[order])


def test_value_range_mapping():
  images = np.array([0, 51, 255], np.uint8).reshape(3, 1, 1, 1)
  src = data.ArraySource('three', images, 1.0 / 255)
  batch = next(iter(data.make_dataset(src, 3, seed=0, value_range=(-1, 1))))
  np.testing.assert_allclose(
      sorted(batch.numpy().reshape(-1)), [-1.0, -0.6, 1.0], atol=1e-6)
  batch = next(iter(data.make_dataset(src, 3, seed=0)))
  np.testing.assert_allclose(
      sorted(batch.numpy().reshape(-1)), [0.0, 0.2, 1.0], atol=1e-6)


def test_single_example_source():
  src = _indexed_source(1)
  assert _ids(data.make_dataset(src, 3, seed=0), 2).tolist() == [[0, 0, 0]] * 2


@pytest.mark.parametrize('kwargs,match', [
    (dict(batch_size=0), 'batch_size must be positive'),
    (dict(batch_size=-2), 'batch_size must be positive'),
    (dict(start_batch=-1), 'start_batch must be >= 0'),
    (dict(value_range=(1, -1)), 'low < high'),
])
def test_bad_arguments(kwargs, match):
  args = dict(source=_indexed_source(4), batch_size=2, seed=0)
  args.update(kwargs)
  with pytest.raises(ValueError, match=match):
    data.make_dataset(**args)


def test_independent_minibatches_are_distinct_within_and_resumable():
  from tf_gans.data import ArraySource, make_dataset  # pylint: disable=import-outside-toplevel
  n = 50
  src = ArraySource('ids', np.arange(n, dtype=np.uint8).reshape(n, 1, 1, 1), scale=1 / 255)
  ds = make_dataset(src, 3 * 20, seed=4, sampling='independent', minibatch_size=20,
                    value_range=(0.0, 255.0))
  batches = [np.rint(b.numpy().reshape(3, 20)).astype(int) for b in ds.take(6)]
  seen = np.zeros(n, int)
  for b in batches:
    for mb in b:
      assert len(set(mb.tolist())) == 20        # without replacement in a minibatch
      seen[mb] += 1
  # Independent minibatches: not an epoch pass, so some examples repeat across them
  # while every example is eventually drawn.
  assert seen.max() > 2 and (seen > 0).all()
  assert not np.array_equal(batches[0][0], batches[0][1])
  resumed = make_dataset(src, 60, seed=4, start_batch=4, sampling='independent',
                         minibatch_size=20, value_range=(0.0, 255.0))
  np.testing.assert_array_equal(np.rint(next(iter(resumed)).numpy().reshape(3, 20)), batches[4])
  with pytest.raises(ValueError, match='minibatch_size'):
    make_dataset(src, 60, seed=0, sampling='independent', minibatch_size=25)
  with pytest.raises(ValueError, match='sampling'):
    make_dataset(src, 60, seed=0, sampling='bootstrap')
