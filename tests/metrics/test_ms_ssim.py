"""MS-SSIM, PGGAN protocol (original `metrics/ms_ssim.py` `msssim` and `API`;
tf_gans.metrics.ms_ssim)."""

import numpy as np
import pytest
import scipy.ndimage
from scipy import signal
from skimage import metrics as skmetrics
import tensorflow as tf

from tf_gans.metrics import ms_ssim


def _smooth(rng, n, size, channels, lo=4):
  low = rng.uniform(0, 255, size=(n, lo, lo, channels))
  return scipy.ndimage.zoom(low, (1, size / lo, size / lo, 1), order=1)


def _pairs(seed=0, n=4, size=64, channels=3, noise=20.0):
  """Correlated pairs: a smooth base image, each side with its own pixel noise."""
  rng = np.random.default_rng(seed)
  base = _smooth(rng, n, size, channels)
  a = np.clip(base + noise * rng.standard_normal(base.shape), 0, 255)
  b = np.clip(base + noise * rng.standard_normal(base.shape), 0, 255)
  return np.rint(a).astype(np.uint8), np.rint(b).astype(np.uint8)


def _interleave(a, b):
  out = np.empty((2 * len(a),) + a.shape[1:], a.dtype)
  out[0::2], out[1::2] = a, b
  return out


def _ref_valid_filter(x, window):
  """Direct 'valid' correlation by sliding windows, float64 (the window is symmetric)."""
  k = window.shape[0]
  views = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), (k, k), axis=(1, 2))
  return np.einsum('nhwcij,ij->nhwc', views, window)


def _ref_ms_ssim_pair(a, b, weights=ms_ssim.WEIGHTS):
  """Independent float64 implementation of the protocol for one batch of pairs."""
  a, b = a.astype(np.float64), b.astype(np.float64)
  c1, c2 = (0.01 * 255)**2, (0.03 * 255)**2
  terms = []
  for level in range(len(weights)):
    size = min(11, a.shape[1], a.shape[2])
    sigma = size * 1.5 / 11
    coords = np.arange(size) - (size - 1) / 2
    g1 = np.exp(-coords**2 / (2 * sigma**2))
    window = np.outer(g1, g1) / np.outer(g1, g1).sum()
    mu_a, mu_b = _ref_valid_filter(a, window), _ref_valid_filter(b, window)
    var_a = _ref_valid_filter(a * a, window) - mu_a**2
    var_b = _ref_valid_filter(b * b, window) - mu_b**2
    cov = _ref_valid_filter(a * b, window) - mu_a * mu_b
    cs = (2 * cov + c2) / (var_a + var_b + c2)
    lum = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
    value = (lum * cs if level == len(weights) - 1 else cs).mean(axis=(1, 2, 3))
    terms.append(np.maximum(value, 0) ** weights[level])
    a = a.reshape(len(a), a.shape[1] // 2, 2, a.shape[2] // 2, 2, -1).mean(axis=(2, 4))
    b = b.reshape(len(b), b.shape[1] // 2, 2, b.shape[2] // 2, 2, -1).mean(axis=(2, 4))
  return np.prod(terms, axis=0)


def test_gaussian_window_is_the_normalised_separable_gaussian():
  w = ms_ssim.gaussian_window(11, 1.5)
  g = signal.windows.gaussian(11, 1.5)
  np.testing.assert_allclose(w, np.outer(g, g) / np.outer(g, g).sum(), rtol=1e-12)
  w8 = ms_ssim.gaussian_window(8, 8 * 1.5 / 11)       # even sizes sit on half-integers
  np.testing.assert_allclose(w8, w8[::-1, ::-1], rtol=1e-12)
  np.testing.assert_allclose(w8.sum(), 1.0)
  assert ms_ssim.gaussian_window(1, 0.1).tolist() == [[1.0]]


def test_identical_pairs_give_one():
  a, _ = _pairs()
  np.testing.assert_allclose(ms_ssim.ms_ssim(_interleave(a, a)), 1.0, rtol=0, atol=1e-12)


def test_matches_an_independent_float64_implementation():
  a, b = _pairs(seed=1, size=32, noise=25)             # scales 32..2: windows 11, 11, 8, 4, 2
  got = ms_ssim.ms_ssim_pairs(a, b)
  np.testing.assert_allclose(got, _ref_ms_ssim_pair(a, b), rtol=1e-5)
  np.testing.assert_allclose(ms_ssim.ms_ssim(_interleave(a, b)), got.mean(), rtol=1e-12)


def test_single_scale_ssim_matches_skimage():
  a, b = _pairs(seed=2, n=3, noise=30)
  ssim, _ = ms_ssim.ssim_and_cs(a, b)
  for i in range(len(a)):
    ref = skmetrics.structural_similarity(
        a[i], b[i], data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False)
    np.testing.assert_allclose(ssim[i], ref, rtol=1e-5)


def test_single_scale_ssim_matches_tf_image_ssim():
  a, b = _pairs(seed=3, n=3, noise=30)
  ssim, _ = ms_ssim.ssim_and_cs(a, b)
  ref = tf.image.ssim(tf.constant(a, tf.float32), tf.constant(b, tf.float32), max_val=255.0)
  np.testing.assert_allclose(ssim, ref.numpy(), rtol=1e-4)


def test_matches_tf_ssim_multiscale_where_the_definitions_coincide():
  """One channel, sizes halving evenly to >= 11: TF's per-channel product = ours."""
  a, b = _pairs(seed=4, n=2, size=176, channels=1, noise=25)
  ours = ms_ssim.ms_ssim_pairs(a, b)
  ref = tf.image.ssim_multiscale(tf.constant(a, tf.float32), tf.constant(b, tf.float32),
                                 max_val=255.0, power_factors=ms_ssim.WEIGHTS)
  np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-4)


def test_noise_pairs_score_lower_than_near_duplicates():
  rng = np.random.default_rng(5)
  noise = rng.integers(0, 256, size=(8, 64, 64, 3), dtype=np.uint8)
  a, b = _pairs(seed=5, n=4, noise=5)
  near = ms_ssim.ms_ssim(_interleave(a, b))
  assert ms_ssim.ms_ssim(noise) < 0.1 < 0.8 < near < 1.0


def test_minibatch_pairing_and_accumulator_agree():
  a, b = _pairs(seed=6, n=6, size=32)
  images = _interleave(a, b)
  whole = ms_ssim.ms_ssim(images)
  np.testing.assert_allclose(ms_ssim.ms_ssim(images, minibatch_size=4), whole, rtol=1e-12)
  np.testing.assert_allclose(ms_ssim.ms_ssim(images, pairs_per_chunk=1), whole, rtol=1e-12)
  acc = ms_ssim.MSSSIMAccumulator()
  acc.update(images[:8])
  acc.update(images[8:])
  assert acc.num_pairs == 6
  np.testing.assert_allclose(acc.result(), whole, rtol=1e-12)


def test_clear_errors():
  a, b = _pairs(seed=7, n=2, size=32)
  images = _interleave(a, b)
  with pytest.raises(ValueError, match='even number'):
    ms_ssim.ms_ssim(images[:3])
  with pytest.raises(ValueError, match='divisible by 16'):
    ms_ssim.ms_ssim(np.zeros((2, 28, 28, 1), np.uint8))
  with pytest.raises(ValueError, match='NHWC'):
    ms_ssim.ms_ssim(images[..., 0])
  with pytest.raises(ValueError, match='one shape'):
    ms_ssim.ms_ssim_pairs(a, b[..., :1])
  with pytest.raises(ValueError, match='minibatch_size'):
    ms_ssim.ms_ssim(images, minibatch_size=3)
  with pytest.raises(ValueError, match='no images'):
    ms_ssim.MSSSIMAccumulator().result()


def test_msssim_pairs_img1_with_img2_and_is_one_for_identical_images():
  rng = np.random.RandomState(3)
  a = rng.randint(0, 256, size=(4, 64, 64, 3)).astype(np.uint8)
  b = rng.randint(0, 256, size=(4, 64, 64, 3)).astype(np.uint8)
  assert ms_ssim.msssim(a, a) == pytest.approx(1.0)
  want = np.mean(ms_ssim.ms_ssim_pairs(a, b))
  assert ms_ssim.msssim(a, b) == pytest.approx(want) and ms_ssim.msssim(a, b) < 0.5
  # Interleaving the two batches gives the [0::2] / [1::2] pairing of `ms_ssim`.
  both = np.stack([a, b], axis=1).reshape(8, 64, 64, 3)
  assert ms_ssim.ms_ssim(both) == pytest.approx(ms_ssim.msssim(a, b))
