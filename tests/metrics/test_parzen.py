"""Tests of the Parzen-window estimate (Goodfellow et al. 2014, Table 1 protocol)."""

import json
import math

import numpy as np
import pytest
from scipy import special
from scipy import stats

from tf_gans.metrics import parzen


def _naive_ll(x, centres, sigma):
  """Direct reference: broadcast differences, scipy logsumexp, float64."""
  x = np.asarray(x, np.float64).reshape(len(x), -1)
  centres = np.asarray(centres, np.float64).reshape(len(centres), -1)
  d = x.shape[1]
  d2 = ((x[:, None, :] - centres[None, :, :])**2).sum(axis=-1)
  return (special.logsumexp(-d2 / (2 * sigma**2), axis=1) - np.log(len(centres))
          - d * np.log(sigma * np.sqrt(2 * np.pi)))


def _data(seed=0, n=37, num=23, d=11):
  rng = np.random.default_rng(seed)
  return rng.uniform(size=(num, d)), rng.uniform(size=(n, d))


def test_sigma_grid_is_the_protocol_grid():
  assert parzen.SIGMA_GRID.shape == (10,)
  np.testing.assert_allclose(parzen.SIGMA_GRID[0], 0.1)
  np.testing.assert_allclose(parzen.SIGMA_GRID[-1], 1.0)
  np.testing.assert_allclose(np.diff(np.log10(parzen.SIGMA_GRID)), 1 / 9)


def test_squared_distances_match_direct_difference():
  x, c = _data(1, n=50, num=31, d=64)
  direct = ((x[:, None, :] - c[None, :, :])**2).sum(-1)
  got = parzen.squared_distances(x, c, batch_size=7)
  assert got.shape == (31, 50) and got.dtype == np.float64
  np.testing.assert_allclose(got, direct, rtol=0, atol=1e-12)


def test_squared_distances_of_identical_points_are_exactly_non_negative():
  rng = np.random.default_rng(2)
  c = rng.uniform(size=(20, 784))
  d2 = parzen.squared_distances(c, c)
  assert np.all(d2 >= 0)
  np.testing.assert_allclose(np.diag(d2), 0, atol=1e-10)


@pytest.mark.parametrize('sigma', [0.1, 0.2154, 0.5, 1.0, 3.0])
def test_log_likelihood_matches_naive_scipy(sigma):
  x, c = _data(3)
  got = parzen.parzen_log_likelihood(x, c, sigma)
  assert got.shape == (23,) and got.dtype == np.float64
  np.testing.assert_allclose(got, _naive_ll(x, c, sigma), rtol=1e-9, atol=1e-9)


def test_array_of_sigmas_matches_one_sigma_at_a_time():
  x, c = _data(4)
  got = parzen.parzen_log_likelihood(x, c, parzen.SIGMA_GRID, batch_size=5)
  assert got.shape == (10, 23)
  for k, s in enumerate(parzen.SIGMA_GRID):
    np.testing.assert_allclose(got[k], _naive_ll(x, c, s), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(got[k], parzen.parzen_log_likelihood(x, c, s, batch_size=5))


def test_sigma_search_computes_distances_once(monkeypatch):
  x, c = _data(5)
  calls = []
  real = parzen._iter_sq_dist_rows  # pylint: disable=protected-access

  def counting(*args, **kwargs):
    for item in real(*args, **kwargs):
      calls.append(item[1] - item[0])
      yield item

  monkeypatch.setattr(parzen, '_iter_sq_dist_rows', counting)
  parzen.parzen_log_likelihood(x, c, parzen.SIGMA_GRID, batch_size=4)
  assert sum(calls) == len(x)  # every row's distances once, not once per sigma


def test_single_centre_is_the_gaussian_density():
  rng = np.random.default_rng(6)
  d = 9
  mu = rng.uniform(size=(1, d))
  x = rng.uniform(size=(15, d))
  for sigma in (0.1, 0.4, 1.0):
    want = stats.multivariate_normal.logpdf(x, mean=mu[0], cov=sigma**2 * np.eye(d))
    np.testing.assert_allclose(parzen.parzen_log_likelihood(x, mu, sigma), want, rtol=1e-10)
    # n identical centres: the mean of n equal kernels is the same density.
    same = np.repeat(mu, 25, axis=0)
    np.testing.assert_allclose(parzen.parzen_log_likelihood(x, same, sigma), want, rtol=1e-10)


def test_image_shaped_inputs_are_flattened():
  rng = np.random.default_rng(7)
  x = rng.uniform(size=(6, 4, 4, 1))
  c = rng.uniform(size=(9, 4, 4, 1)).astype(np.float32)
  got = parzen.parzen_log_likelihood(x, c, 0.3)
  np.testing.assert_allclose(got, _naive_ll(x.reshape(6, 16), c.reshape(9, 16), 0.3),
                             rtol=1e-9)


def test_far_away_points_are_finite_and_exact():
  # Distances so large that exp(-d2 / (2 sigma^2)) underflows to 0 for every centre.
  d = 4
  centres = np.zeros((3, d))
  centres[1] = 1.0
  centres[2] = 0.5
  x = np.full((2, d), 1e3)
  x[1] = -1e3
  sigma = 0.1
  got = parzen.parzen_log_likelihood(x, centres, sigma)
  assert np.all(np.isfinite(got))
  assert np.all(np.exp(-((x[:, None] - centres[None])**2).sum(-1) / (2 * sigma**2)) == 0)
  # Each point's nearest centre dominates completely; the others contribute
  # exp(-huge) = 0 relative to it, so log p = log N(x; nearest, s^2 I) - log 3.
  want = np.array([
      stats.multivariate_normal.logpdf(x[0], mean=centres[1], cov=sigma**2 * np.eye(d)),
      stats.multivariate_normal.logpdf(x[1], mean=centres[0], cov=sigma**2 * np.eye(d)),
  ]) - np.log(3)
  np.testing.assert_allclose(got, want, rtol=1e-12)
  np.testing.assert_allclose(got, _naive_ll(x, centres, sigma), rtol=1e-12)


@pytest.mark.parametrize('batch_size', [1, 2, 7, 23, 1000])
def test_batch_size_does_not_change_results(batch_size):
  x, c = _data(8)
  ref = parzen.parzen_log_likelihood(x, c, parzen.SIGMA_GRID)
  got = parzen.parzen_log_likelihood(x, c, parzen.SIGMA_GRID, batch_size=batch_size)
  np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13)


def test_automatic_chunking_bounds_memory(monkeypatch):
  monkeypatch.setattr(parzen, '_CHUNK_BYTES', 8 * 37 * 5)  # 5 rows of 37 centres
  x, c = _data(9)
  seen = []
  parzen.parzen_log_likelihood(x, c, 0.3, progress=lambda done, total: seen.append((done, total)))
  assert seen == [(5, 23), (10, 23), (15, 23), (20, 23), (23, 23)]


def test_select_sigma_is_argmax_of_grid():
  rng = np.random.default_rng(10)
  c = rng.uniform(size=(40, 12))
  v = rng.uniform(size=(30, 12))
  best, means = parzen.select_sigma(c, v)
  brute = np.array([_naive_ll(v, c, s).mean() for s in parzen.SIGMA_GRID])
  np.testing.assert_allclose(means, brute, rtol=1e-10)
  assert best == parzen.SIGMA_GRID[int(np.argmax(brute))]
  # The optimum is interior here, so it is a real choice, not an end of the grid.
  assert 0 < int(np.argmax(brute)) < 9


def test_select_sigma_recovers_known_width():
  # One centre at 0 and validation data ~ N(0, s0^2 I): the model is exactly
  # N(0, sigma^2 I), whose validation likelihood peaks at sigma ~= s0.
  rng = np.random.default_rng(11)
  for k in (2, 5, 8):
    s0 = parzen.SIGMA_GRID[k]
    valid = rng.normal(scale=s0, size=(2000, 10))
    best, means = parzen.select_sigma(np.zeros((1, 10)), valid)
    assert best == s0
    assert int(np.argmax(means)) == k


def test_select_sigma_ties_go_to_first():
  # A grid with a repeated width gives an exact tie; like the original's strict
  # `>` comparison, the first of the tied widths wins.
  c = np.zeros((3, 2))
  v = np.full((4, 2), 0.2)
  best, means = parzen.select_sigma(c, v, sigmas=[0.3, 0.3, 0.1])
  assert means[0] == means[1]
  assert best == 0.3 and means[0] > means[2]


def test_evaluate_with_search_reports_protocol_numbers():
  rng = np.random.default_rng(12)
  c = rng.uniform(size=(50, 16))
  v = rng.uniform(size=(20, 16))
  t = rng.uniform(size=(33, 16))
  calls = []
  res = parzen.parzen_evaluate(c, t, valid=v, batch_size=8,
                               progress=lambda done, total: calls.append((done, total)))
  best = parzen.SIGMA_GRID[int(np.argmax(
      [_naive_ll(v, c, s).mean() for s in parzen.SIGMA_GRID]))]
  ll = _naive_ll(t, c, best)
  assert res.sigma == best
  np.testing.assert_allclose(res.mean, ll.mean(), rtol=1e-10)
  np.testing.assert_allclose(res.std_error, ll.std() / math.sqrt(33), rtol=1e-8)
  np.testing.assert_allclose(res.std_error, np.std(ll, ddof=0) / np.sqrt(len(ll)), rtol=1e-8)
  assert (res.num_test, res.num_centres, res.dim, res.num_valid) == (33, 50, 16, 20)
  assert len(res.valid_means) == 10 and res.sigmas[0] == parzen.SIGMA_GRID[0]
  # progress: validation rows, then test rows, on one running total.
  assert calls[-1] == (53, 53) and calls[0] == (8, 53)
  assert [d for d, _ in calls] == sorted(d for d, _ in calls)
  d = json.loads(json.dumps(res.to_dict()))
  assert d['sigma'] == best and d['num_test'] == 33 and len(d['valid_means']) == 10


def test_evaluate_with_fixed_sigma():
  x, c = _data(13)
  res = parzen.parzen_evaluate(c, x, sigma=0.25)
  ll = _naive_ll(x, c, 0.25)
  np.testing.assert_allclose(res.mean, ll.mean(), rtol=1e-10)
  np.testing.assert_allclose(res.std_error, ll.std() / np.sqrt(len(ll)), rtol=1e-8)
  assert res.sigma == 0.25 and res.num_valid is None and res.valid_means is None
  assert res.to_dict()['sigmas'] is None
  json.dumps(res.to_dict())


def test_evaluate_needs_exactly_one_of_valid_and_sigma():
  x, c = _data(14)
  with pytest.raises(ValueError, match='exactly one'):
    parzen.parzen_evaluate(c, x)
  with pytest.raises(ValueError, match='exactly one'):
    parzen.parzen_evaluate(c, x, valid=x, sigma=0.2)


def test_mismatched_dimensionality_names_both_shapes():
  rng = np.random.default_rng(15)
  c = rng.uniform(size=(10, 28, 28, 1))
  t = rng.uniform(size=(5, 32, 32, 1))
  with pytest.raises(ValueError, match=r'\(5, 32, 32, 1\).*\(10, 28, 28, 1\)'):
    parzen.parzen_evaluate(c, t, sigma=0.2)
  with pytest.raises(ValueError, match='valid'):
    parzen.parzen_evaluate(c, rng.uniform(size=(5, 784)), valid=rng.uniform(size=(4, 783)))
  with pytest.raises(ValueError, match='different dimensionality'):
    parzen.parzen_log_likelihood(t, c, 0.2)


@pytest.mark.parametrize('bad', [np.zeros((0, 5)), np.zeros((4, 0)), np.zeros(5), np.float64(1)])
def test_empty_or_rank_deficient_inputs_raise(bad):
  c = np.zeros((3, 5))
  with pytest.raises(ValueError):
    parzen.parzen_evaluate(c, bad, sigma=0.2)
  with pytest.raises(ValueError):
    parzen.parzen_evaluate(bad, c, sigma=0.2)


@pytest.mark.parametrize('value', [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_raise(value):
  x, c = _data(16)
  bad = x.copy()
  bad[3, 2] = value
  with pytest.raises(ValueError, match='non-finite'):
    parzen.parzen_evaluate(c, bad, sigma=0.2)
  with pytest.raises(ValueError, match='non-finite'):
    parzen.parzen_evaluate(bad, x, sigma=0.2)
  with pytest.raises(ValueError, match='non-finite'):
    parzen.parzen_evaluate(c, x, valid=bad)


@pytest.mark.parametrize('sigma', [0.0, -0.1, np.nan, np.inf, [0.1, 0.0], []])
def test_bad_sigma_raises(sigma):
  x, c = _data(17)
  with pytest.raises(ValueError, match='sigma'):
    parzen.parzen_log_likelihood(x, c, sigma)


def test_bad_sigma_in_evaluate_and_search_raises():
  x, c = _data(18)
  with pytest.raises(ValueError, match='sigma'):
    parzen.parzen_evaluate(c, x, sigma=0.0)
  with pytest.raises(ValueError, match='sigma'):
    parzen.parzen_evaluate(c, x, sigma=-1.0)
  with pytest.raises(ValueError, match='sigma'):
    parzen.parzen_evaluate(c, x, sigma=[0.1, 0.2])
  with pytest.raises(ValueError, match='sigma'):
    parzen.select_sigma(c, x, sigmas=[0.2, -0.2])
  with pytest.raises(ValueError, match='sigma'):
    parzen.select_sigma(c, x, sigmas=0.2)


@pytest.mark.parametrize('batch_size', [0, -3, 2.5, True])
def test_bad_batch_size_raises(batch_size):
  x, c = _data(19)
  with pytest.raises(ValueError, match='batch_size'):
    parzen.parzen_log_likelihood(x, c, 0.2, batch_size=batch_size)


def test_mnist_sized_run_is_bounded_and_fast():
  # The protocol's shapes for d = 784, scaled down in n so the test is quick.
  rng = np.random.default_rng(20)
  c = rng.uniform(size=(2000, 784)).astype(np.float32)
  t = rng.uniform(size=(300, 784)).astype(np.float32)
  ll = parzen.parzen_log_likelihood(t, c, parzen.SIGMA_GRID)
  assert ll.shape == (10, 300) and np.all(np.isfinite(ll))
  sub = _naive_ll(t[:3], c, parzen.SIGMA_GRID[3])
  np.testing.assert_allclose(ll[3, :3], sub, rtol=1e-10)
