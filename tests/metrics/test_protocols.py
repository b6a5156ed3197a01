"""tf_gans.metrics.protocols: the plain evaluate metrics on real MNIST, checked against the metric
modules (the PGGAN presets: test_presets.py; fid-rgan: test_rgan_fid.py)."""

import os

import keras
import numpy as np
import pytest

from tf_gans.metrics import evaluation, fid, ms_ssim, protocols, swd
from tf_gans.models import savedmodel

NUM = 160


@pytest.fixture(scope='module')
def gen32(tmp_path_factory):
  """A (random) 32x32 grayscale generator export: tanh of a dense map of N(0, 1) latents."""
  keras.utils.set_random_seed(0)
  g = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32 * 32, activation='tanh'),
                        keras.layers.Reshape((32, 32, 1))])
  path = tmp_path_factory.mktemp('gen') / 'export'
  savedmodel.export_generator(g, 8, 'normal', (-1.0, 1.0), str(path))
  return savedmodel.load_generator(str(path))


def plain_options(mnist_dir, **kw):
  """Options of the plain metrics on the first NUM MNIST test images, padded to 32x32."""
  base = dict(data=f'mnist_idx:{mnist_dir}', split=f'test[:{NUM}]', pad_to=32, num_samples=NUM,
              features='classifier', classifier_epochs=1, progress=False)
  return evaluation.Options(**{**base, **kw})


def padded_reals(mnist_dir):
  """The first NUM MNIST test images, padded to 32x32 as --pad_to=32 reads them."""
  from tf_gans.data import mnist_idx  # pylint: disable=import-outside-toplevel
  images = mnist_idx.load_mnist_idx(str(mnist_dir), 'test').images[:NUM]
  return np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))


def test_swd_ms_ssim_and_nn_are_the_metric_functions_on_the_right_images(gen32, mnist_dir, tmp_path):
  grid = tmp_path / 'nn.png'
  opts = plain_options(mnist_dir, nn_out=str(grid), nn_num=4, nn_k=2, seed=3)
  results = protocols.run(['swd', 'ms_ssim', 'nn'], gen32, opts)
  reals = padded_reals(mnist_dir)
  fakes = gen32.signatures['generate'](seed=3, num=NUM)['images'].numpy()
  assert results['swd'] == {**swd.sliced_wasserstein(reals, fakes, seed=3), 'num_images': NUM}
  assert results['ms_ssim']['ms_ssim'] == ms_ssim.ms_ssim(fakes)
  assert results['ms_ssim']['ms_ssim_reals'] == ms_ssim.ms_ssim(reals)
  # Pixel-space neighbours by brute force.
  d = ((fakes[:4, None].astype(np.float64) - reals[None].astype(np.float64))**2).sum((2, 3, 4))
  np.testing.assert_array_equal(results['nn']['pixel_indices'], np.argsort(d, axis=1)[:, :2])
  assert os.path.exists(grid)


def test_fid_with_classifier_features_caches_the_real_statistics(gen32, mnist_dir, tmp_path):
  stats = tmp_path / 'reals.npz'
  opts = plain_options(mnist_dir, fid_stats=str(stats), num_samples=NUM)
  ev = evaluation.Evaluation(gen32, opts)
  first = protocols.fid_metric(ev)
  mu_r, sigma_r = fid.statistics(ev.features('reals'))
  mu_g, sigma_g = fid.statistics(ev.features('fakes'))
  assert first['fid'] == pytest.approx(fid.frechet_distance(mu_r, sigma_r, mu_g, sigma_g))
  assert first['fid'] > 0
  mu, sigma = fid.load_statistics(stats)
  np.testing.assert_allclose(mu, mu_r)
  # The cache is read on the next run (the reals are not even loaded).
  again = protocols.fid_metric(evaluation.Evaluation(gen32, opts))
  assert again['reals'].endswith('(cached)')


def test_fid_says_how_many_images_the_covariance_needs(gen32, mnist_dir):
  opts = plain_options(mnist_dir, num_samples=100)
  with pytest.raises(ValueError, match=r'need at least 129 .*raise --num_samples'):
    protocols.run(['fid'], gen32, opts)


def test_classifier_score_lies_between_one_and_the_classes(gen32, mnist_dir):
  result = protocols.run(['is'], gen32, plain_options(mnist_dir))['is']
  assert 1.0 <= result['is_mean'] <= 10.0


def test_bad_requests_fail_with_the_reason(gen32, mnist_dir):
  with pytest.raises(ValueError, match='SWD needs real and generated images of one shape'):
    protocols.run(['swd'], gen32, plain_options(mnist_dir, pad_to=0))
  with pytest.raises(ValueError, match='--inception=<weights file>'):
    protocols.run(['fid'], gen32, plain_options(mnist_dir, features='inception'))
  with pytest.raises(ValueError, match='the metrics need --num_reals=500'):
    protocols.run(['swd'], gen32, plain_options(mnist_dir, num_samples=500))
  with pytest.raises(KeyError, match='bogus'):
    protocols.run(['swd', 'bogus'], gen32, plain_options(mnist_dir))
