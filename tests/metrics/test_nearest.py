"""Nearest training images of samples (tf_gans.metrics.nearest)."""

import numpy as np
import pytest

from tf_gans.metrics import nearest


def _brute_force(q, r, k):
  q = q.reshape(len(q), -1).astype(np.float64)
  r = r.reshape(len(r), -1).astype(np.float64)
  d2 = ((q[:, None, :] - r[None, :, :])**2).sum(-1)
  order = np.argsort(d2, axis=1, kind='stable')[:, :k]
  return order, np.sqrt(np.take_along_axis(d2, order, axis=1))


def test_matches_brute_force_in_pixel_space_with_small_blocks():
  rng = np.random.default_rng(0)
  refs = rng.integers(0, 256, size=(57, 8, 8, 3), dtype=np.uint8)
  queries = rng.integers(0, 256, size=(23, 8, 8, 3), dtype=np.uint8)
  idx, dist = nearest.nearest_neighbors(queries, refs, k=4, query_batch=5, reference_batch=7)
  ref_idx, ref_dist = _brute_force(queries, refs, 4)
  assert idx.shape == (23, 4) and idx.dtype == np.int64 and dist.dtype == np.float64
  np.testing.assert_array_equal(idx, ref_idx)
  np.testing.assert_allclose(dist, ref_dist, rtol=1e-12)


def test_exact_copies_find_themselves_at_distance_zero():
  rng = np.random.default_rng(1)
  refs = rng.integers(0, 256, size=(300, 16, 16, 1), dtype=np.uint8)
  picks = np.array([3, 150, 299])
  queries = np.concatenate([refs[picks], rng.integers(0, 256, (2, 16, 16, 1), dtype=np.uint8)])
  idx, dist = nearest.nearest_neighbors(queries, refs, k=2, reference_batch=64)
  np.testing.assert_array_equal(idx[:3, 0], picks)
  assert np.all(dist[:3, 0] == 0.0) and np.all(dist[:, 1] > 0)
  np.testing.assert_array_equal(idx, _brute_force(queries, refs, 2)[0])


def test_feature_space_search():
  rng = np.random.default_rng(2)
  refs = rng.standard_normal((40, 4, 4, 2)).astype(np.float32)
  queries = rng.standard_normal((9, 4, 4, 2)).astype(np.float32)
  feature_fn = lambda x: x.reshape(len(x), -1)[:, :5] * 3.0   # any [n, d] map
  idx, dist = nearest.nearest_neighbors(queries, refs, k=3, feature_fn=feature_fn,
                                        feature_batch=4)
  ref_idx, ref_dist = _brute_force(feature_fn(queries), feature_fn(refs), 3)
  np.testing.assert_array_equal(idx, ref_idx)
  np.testing.assert_allclose(dist, ref_dist, rtol=1e-6)


def test_k_equal_to_the_number_of_references_sorts_them_all():
  rng = np.random.default_rng(3)
  refs, queries = rng.standard_normal((6, 5)), rng.standard_normal((4, 5))
  idx, dist = nearest.nearest_neighbors(queries, refs, k=6)
  np.testing.assert_array_equal(idx, _brute_force(queries, refs, 6)[0])
  assert np.all(np.diff(dist, axis=1) >= 0)


def test_neighbor_grid_rows_are_sample_then_neighbours():
  rng = np.random.default_rng(4)
  refs = rng.integers(0, 256, size=(10, 4, 5, 3), dtype=np.uint8)
  samples = rng.integers(0, 256, size=(2, 4, 5, 3), dtype=np.uint8)
  indices = np.array([[7, 1], [0, 9]])
  g = nearest.neighbor_grid(samples, refs, indices, pad=1)
  assert g.dtype == np.uint8 and g.shape == (2 * 5 + 1, 3 * 6 + 1, 3)
  tile = lambda r, c: g[1 + r * 5:1 + r * 5 + 4, 1 + c * 6:1 + c * 6 + 5]
  np.testing.assert_array_equal(tile(0, 0), samples[0])
  np.testing.assert_array_equal(tile(0, 1), refs[7])
  np.testing.assert_array_equal(tile(1, 2), refs[9])
  floats = nearest.neighbor_grid(samples / 255.0, refs / 255.0, indices, value_range=(0, 1))
  np.testing.assert_array_equal(floats, g)


def test_clear_errors():
  x = np.zeros((4, 3, 3, 1), np.uint8)
  with pytest.raises(ValueError, match='k must be'):
    nearest.nearest_neighbors(x, x, k=5)
  with pytest.raises(ValueError, match='differ in shape'):
    nearest.nearest_neighbors(x, np.zeros((4, 3, 3, 3), np.uint8))
  with pytest.raises(ValueError, match='non-empty'):
    nearest.nearest_neighbors(x[:0], x)
  with pytest.raises(ValueError, match='uint8'):
    nearest.neighbor_grid(x.astype(np.float32), x, np.zeros((4, 1), int))
  with pytest.raises(ValueError, match='out of range'):
    nearest.neighbor_grid(x, x, np.full((4, 1), 4))


def test_labelled_grids_put_a_title_and_column_headers_over_each_panel():
  rng = np.random.default_rng(5)
  refs = rng.integers(0, 256, size=(20, 8, 8, 3), dtype=np.uint8)
  queries = refs[:3]
  idx, _ = nearest.nearest_neighbors(queries, refs, k=2)
  short = nearest.labelled_neighbor_grids(queries, refs, [('pixel space', idx),
                                                           ('feature space', idx[:, ::-1])],
                                          upscale=4, gap=6)
  grid = nearest.neighbor_grid(queries, refs, idx)
  up = np.repeat(np.repeat(grid, 4, axis=0), 4, axis=1)
  band = short.shape[0] - up.shape[0]
  assert band > 0 and short.shape[1] == 2 * up.shape[1] + 6 and short.shape[2] == 3
  np.testing.assert_array_equal(short[band:, :up.shape[1]], up)   # the tiles, unchanged
  np.testing.assert_array_equal(short[band:, up.shape[1] + 6:],
                                np.repeat(np.repeat(nearest.neighbor_grid(
                                    queries, refs, idx[:, ::-1]), 4, axis=0), 4, axis=1))
  tile = (8 + 1) * 4
  for left in (0, up.shape[1] + 6):  # a header over each column: query, NN 1, NN 2
    for col in range(3):
      x0 = left + 4 + col * tile
      assert (short[band // 2:band, x0:x0 + tile] < 128).any(), (left, col)
  # A title wider than its panel wraps onto more lines: a taller band.
  long = nearest.labelled_neighbor_grids(
      queries, refs, [('feature space: nearest reals by L2 on Inception pool_3 features', idx)],
      upscale=4)
  assert long.shape[0] - up.shape[0] > band
  with pytest.raises(ValueError, match='at least one'):
    nearest.labelled_neighbor_grids(queries, refs, [])
