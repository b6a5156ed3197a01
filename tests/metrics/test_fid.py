"""Frechet distance (TTUR fid.py), statistics files, streaming, KID (tf_gans.metrics.fid)."""

import warnings

import numpy as np
import pytest
from scipy import linalg

from tf_gans.metrics import fid


def _acts(seed=0, n=400, d=16, shift=0.0, scale=1.0):
  mix = np.random.default_rng(1234).standard_normal((d, d)) / np.sqrt(d)   # one distribution
  rng = np.random.default_rng(seed)
  return (rng.standard_normal((n, d)) @ mix) * scale + shift


def _ref_fid(a, b):
  """Independent formula: Tr (S1 S2)^(1/2) = Tr (S1^(1/2) S2 S1^(1/2))^(1/2), via eigh."""
  mu1, mu2 = a.mean(0), b.mean(0)
  s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  w, v = np.linalg.eigh(s1)
  root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
  inner = np.linalg.eigvalsh(root1 @ s2 @ root1)
  return np.sum((mu1 - mu2)**2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(
      np.sqrt(np.clip(inner, 0, None)))


def test_statistics_are_mean_and_np_cov():
  a = _acts()
  mu, sigma = fid.statistics(a)
  np.testing.assert_allclose(mu, a.mean(0), rtol=1e-12)
  np.testing.assert_allclose(sigma, np.cov(a, rowvar=False), rtol=1e-12)


def test_matches_the_direct_formula_on_random_activations():
  a, b = _acts(0), _acts(1, shift=0.3, scale=1.5)
  got = fid.frechet_distance_from_activations(a, b)
  np.testing.assert_allclose(got, _ref_fid(a, b), rtol=1e-8)
  # ... and the plain scipy sqrtm expression.
  mu1, s1 = fid.statistics(a)
  mu2, s2 = fid.statistics(b)
  direct = (np.sum((mu1 - mu2)**2) + np.trace(s1 + s2)
            - 2 * np.trace(linalg.sqrtm(s1 @ s2).real))
  np.testing.assert_allclose(got, direct, rtol=1e-10)


def test_eigh_method_agrees_with_sqrtm():
  a, b = _acts(0, d=32), _acts(1, d=32, shift=0.3, scale=1.5)
  np.testing.assert_allclose(fid.frechet_distance_from_activations(a, b, method='eigh'),
                             fid.frechet_distance_from_activations(a, b), rtol=1e-8)
  a, b = _acts(4, n=10, d=64), _acts(5, n=10, d=64, shift=0.1)      # rank-deficient
  np.testing.assert_allclose(fid.frechet_distance_from_activations(a, b, method='eigh'),
                             _ref_fid(a, b), rtol=1e-8)
  with pytest.raises(ValueError, match='method'):
    fid.frechet_distance_from_activations(a, b, method='svd')
  with pytest.raises(ValueError, match='symmetric'):
    fid.frechet_distance([0, 0], [[1, 0.5], [0, 1]], [0, 0], np.eye(2), method='eigh')


def test_one_dimensional_closed_form():
  # d^2 = (m1 - m2)^2 + (s1 - s2)^2 for 1-D Gaussians.
  np.testing.assert_allclose(fid.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]),
                             4.0 + 1.0, rtol=1e-12)


def test_identical_statistics_give_about_zero_and_distance_is_symmetric():
  a, b = _acts(2), _acts(3, shift=0.5)
  mu, sigma = fid.statistics(a)
  assert abs(fid.frechet_distance(mu, sigma, mu, sigma)) < 1e-9
  ab = fid.frechet_distance_from_activations(a, b)
  np.testing.assert_allclose(ab, fid.frechet_distance_from_activations(b, a), rtol=1e-8)
  assert ab > 16 * 0.5**2 * 0.9        # the mean shift alone gives ~ d * 0.25


def test_near_singular_covariances_stay_finite():
  # Fewer samples than dimensions: both covariances have rank 9 of 64.
  a, b = _acts(4, n=10, d=64), _acts(5, n=10, d=64, shift=0.1)
  with warnings.catch_warnings():
    warnings.simplefilter('ignore', RuntimeWarning)
    got = fid.frechet_distance_from_activations(a, b)
  assert np.isfinite(got) and got > 0
  np.testing.assert_allclose(got, _ref_fid(a, b), rtol=1e-6)


def test_non_finite_sqrtm_retries_with_the_eps_offset(monkeypatch):
  calls = []
  real_sqrtm = fid._sqrtm  # pylint: disable=protected-access

  def flaky(a):
    calls.append(a.copy())
    return np.full_like(a, np.nan) if len(calls) == 1 else real_sqrtm(a)

  monkeypatch.setattr(fid, '_sqrtm', flaky)
  s = np.diag([1.0, 2.0])
  with pytest.warns(RuntimeWarning, match='adding 1e-06'):
    got = fid.frechet_distance([0, 0], s, [0, 0], s)
  np.testing.assert_allclose(calls[1], (s + 1e-6 * np.eye(2)) @ (s + 1e-6 * np.eye(2)))
  np.testing.assert_allclose(got, 0.0, atol=1e-5)


def test_imaginary_parts_are_dropped_when_small_and_rejected_when_large(monkeypatch):
  s = np.diag([1.0, 4.0])
  root = np.diag([1.0, 4.0]).astype(np.complex128)     # sqrtm(S S) = S
  monkeypatch.setattr(fid, '_sqrtm', lambda a: root + 1e-4j)
  np.testing.assert_allclose(fid.frechet_distance([0, 0], s, [0, 0], s), 0.0, atol=1e-12)
  monkeypatch.setattr(fid, '_sqrtm', lambda a: root + np.diag([0.0, 0.01j]))
  with pytest.raises(ValueError, match='imaginary component'):
    fid.frechet_distance([0, 0], s, [0, 0], s)


def test_npz_round_trip_uses_the_ttur_keys(tmp_path):
  mu, sigma = fid.statistics(_acts(6))
  path = tmp_path / 'stats.npz'
  fid.save_statistics(path, mu, sigma)
  with np.load(path) as f:
    assert sorted(f.files) == ['mu', 'sigma']
  mu2, sigma2 = fid.load_statistics(path)
  np.testing.assert_array_equal(mu, mu2)
  np.testing.assert_array_equal(sigma, sigma2)
  np.savez(tmp_path / 'other.npz', mean=mu)
  with pytest.raises(ValueError, match='lacks'):
    fid.load_statistics(tmp_path / 'other.npz')
  with pytest.raises(ValueError, match='.npz'):
    fid.save_statistics(tmp_path / 'stats.txt', mu, sigma)


def test_streaming_accumulator_equals_np_cov_of_the_concatenation():
  a = _acts(7, n=1001, shift=1000.0)      # a large mean: the naive sum-of-squares would lose digits
  acc = fid.StatisticsAccumulator()
  for start in range(0, len(a), 97):
    acc.update(a[start:start + 97])
  mu, sigma = acc.result()
  assert acc.count == 1001
  np.testing.assert_allclose(mu, a.mean(0), rtol=1e-12)
  np.testing.assert_allclose(sigma, np.cov(a, rowvar=False), rtol=1e-9, atol=1e-12)
  with pytest.raises(ValueError, match='features'):
    acc.update(a[:5, :3])


def test_kid_is_about_zero_for_one_distribution_and_positive_for_a_shift():
  a, b, c = _acts(8, n=600), _acts(9, n=600), _acts(10, n=600, shift=0.5)
  same = fid.kernel_distance(a, b, num_subsets=20, max_subset_size=300)
  shifted = fid.kernel_distance(a, c, num_subsets=20, max_subset_size=300)
  assert same.subset_size == 300 and same.num_subsets == 20
  assert abs(same.mean) < 0.05 * shifted.mean
  assert shifted.mean > 10 * shifted.std / np.sqrt(20)


def test_mmd2_unbiased_matches_explicit_sums():
  rng = np.random.default_rng(11)
  x, y = rng.standard_normal((7, 3)), rng.standard_normal((5, 3)) + 0.2
  k = lambda u, v: (u @ v / 3 + 1)**3
  xx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
  yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
  xy = sum(k(x[i], y[j]) for i in range(7) for j in range(5)) / 35
  np.testing.assert_allclose(fid.mmd2_unbiased(x, y), xx + yy - 2 * xy, rtol=1e-12)


def test_classifier_features_from_a_keras_classifier():
  from tf_gans.metrics import classifier  # pylint: disable=import-outside-toplevel
  import keras  # pylint: disable=import-outside-toplevel
  keras.utils.set_random_seed(0)
  model = classifier.build_digit_classifier((16, 16, 1))
  images = np.random.default_rng(12).uniform(-1, 1, size=(20, 16, 16, 1)).astype(np.float32)
  features = fid.classifier_features(model, batch_size=7)(images)
  assert features.shape == (20, 128) and features.dtype == np.float64
  dense = [l for l in model.layers if isinstance(l, keras.layers.Dense)][0]
  by_name = fid.classifier_features(model, layer=dense.name)(images)
  np.testing.assert_allclose(features, by_name, rtol=1e-5, atol=1e-6)   # no dropout at inference
  mu, sigma = fid.feature_statistics(fid.classifier_features(model), images,
                                         batch_size=6)
  np.testing.assert_allclose(mu, features.mean(0), rtol=1e-6, atol=1e-9)
  np.testing.assert_allclose(sigma, np.cov(features, rowvar=False), rtol=1e-5, atol=1e-9)


def test_clear_errors():
  with pytest.raises(ValueError, match='2-D'):
    fid.statistics(np.zeros(5))
  with pytest.raises(ValueError, match='at least 2'):
    fid.statistics(np.zeros((1, 3)))
  with pytest.raises(ValueError, match='non-finite'):
    fid.statistics(np.array([[0.0, np.nan], [1.0, 2.0]]))
  with pytest.raises(ValueError, match='one length'):
    fid.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
  with pytest.raises(ValueError, match='covariances'):
    fid.frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
  with pytest.raises(ValueError, match='feature sizes'):
    fid.kernel_distance(np.zeros((4, 2)), np.zeros((4, 3)))


def test_agrees_with_tfgan(tfgan):
  """FID and the unbiased cubic-kernel MMD^2 against TF-GAN 2.1.0 (tests/tfgan_oracle.py).

  TF-GAN's FID takes the matrix square root by SVD, ours by scipy's sqrtm as the
  TTUR code: they agree to rtol 1e-4 in float64. Its KID with 300 <= max_block_size
  rows is one block, i.e. exactly the unbiased MMD^2 of all rows.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  a, b = _acts(13, n=300), _acts(14, n=300, shift=0.2)
  theirs = tfgan.eval.frechet_classifier_distance_from_activations(
      tf.constant(a), tf.constant(b))
  np.testing.assert_allclose(fid.frechet_distance_from_activations(a, b),
                             float(theirs), rtol=1e-4)
  kid = tfgan.eval.kernel_classifier_distance_from_activations(
      tf.constant(a), tf.constant(b), max_block_size=1024)
  np.testing.assert_allclose(fid.mmd2_unbiased(a, b), float(kid), rtol=1e-4, atol=1e-6)


def test_kid_blocks_agree_with_tfgan(tfgan):
  """TF-GAN's block KID (max_block_size < N) is the mean of the unbiased MMD^2 of
  consecutive equal blocks (arXiv 1307.1954), here 3 blocks of 100 rows; its std is
  the blocks' Bessel-corrected std / sqrt(blocks)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  a, b = _acts(15, n=300), _acts(16, n=300, scale=1.3)
  kid, std = tfgan.eval.kernel_classifier_distance_and_std_from_activations(
      tf.constant(a), tf.constant(b), max_block_size=100)
  blocks = [fid.mmd2_unbiased(a[i:i + 100], b[i:i + 100]) for i in range(0, 300, 100)]
  np.testing.assert_allclose(np.mean(blocks), float(kid), rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(np.std(blocks, ddof=1) / np.sqrt(3), float(std), rtol=1e-3)
