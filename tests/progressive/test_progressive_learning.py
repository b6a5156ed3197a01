"""Progressive training learns: MNIST (test set, padded to 32x32) from 4x4 to 32x32.

Slow (~10 min on 2 idle cores): `python -m pytest -m slow tests/progressive/test_progressive_learning.py`.
The same run from the command line is in docs/results.md ("PGGAN progressive training learns").
"""

import numpy as np
import pytest
import tensorflow as tf

from tf_gans import dataset_tool
from tf_gans.data import tfrecords
from tf_gans.metrics import swd
from tf_gans.progressive import config as config_lib
from tf_gans.progressive import loop
from tf_gans.progressive import model


def _samples(net, n):
  net.lod.assign(0.0)
  z = tf.random.stateless_normal([n, net.latent_size], [7, 7])
  x = np.concatenate([net(z[i:i + 256]).numpy() for i in range(0, n, 256)])
  return np.clip(np.rint(x * 127.5 + 127.5), 0, 255).astype(np.uint8)


@pytest.mark.slow
def test_progressive_training_to_32x32_lowers_swd_at_every_level(tmp_path, mnist_dir):
  dataset_tool.create_mnist(tmp_path / 'mnist', mnist_dir, split='test', progress=False)
  data = tfrecords.MultiResDataset(tmp_path / 'mnist')
  cfg = config_lib.ProgressiveConfig(
      logdir=str(tmp_path / 'run'), dataset=f'tfrecords:{tmp_path / "mnist"}', fmap_base=512,
      fmap_max=64, minibatch_base=16, lod_training_kimg=8, lod_transition_kimg=8,
      total_kimg=72, tick_kimg_base=8, tick_kimg_dict='', image_snapshot_ticks=100,
      network_snapshot_ticks=100, progress=False, export=False).validate()
  n = 1024
  reals = data.load_images(0)[:n]
  untrained = model.PGGAN(cfg, data)
  before = swd.sliced_wasserstein(reals, _samples(untrained.Gs, n), seed=0, fake_seed=1,
                                  min_resolution=8)
  loop.train(cfg, dataset=data, log=lambda *a, **k: None)
  trained = model.PGGAN(cfg, data)
  trained.restore()
  after = swd.sliced_wasserstein(reals, _samples(trained.Gs, n), seed=0, fake_seed=1,
                                 min_resolution=8)
  # Measured (docs/results.md): Gs 15 / 15 / 62 after vs 236 / 85 / 542 before at 32 / 16 / 8.
  for level in ('SWDx1e3_32', 'SWDx1e3_16', 'SWDx1e3_8'):
    assert after[level] < 0.5 * before[level], (level, before, after)
