"""The public Python API: `import tf_gans` and what a notebook user reaches from it."""

import subprocess
import sys

import numpy as np
import pytest

import tf_gans


def test_import_is_lazy_and_exposes_the_packages():
  # A fresh interpreter: importing tf_gans (and reading a config) loads no TensorFlow.
  code = ('import sys, tf_gans; tf_gans.RunConfig; tf_gans.ProgressiveConfig; '
          'print("tensorflow" in sys.modules)')
  out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
  assert out.stdout.strip() == 'False'
  for name in ('GAN', 'PGGAN', 'losses', 'models', 'data', 'layers', 'metrics', 'run_training'):
    assert getattr(tf_gans, name) is not None, name
  assert 'rasgan' in tf_gans.losses.names()
  assert {'PixelNorm', 'MinibatchStddev', 'WScaleConv2D', 'Maxout', 'SpectralNorm'} <= set(
      tf_gans.layers.__all__)
  with pytest.raises(AttributeError):
    tf_gans.nothing_here  # pylint: disable=pointless-statement


def _digits():
  source = tf_gans.data.load_source('digits')
  return source.images.astype(np.float32) * source.scale * 2.0 - 1.0  # [-1, 1]


def test_gan_fit_feeds_every_minibatch_of_a_relativistic_step():
  gan = tf_gans.GAN.from_model('standard_cnn_32', (32, 32, 1), loss='rasgan', width=0.125)
  assert gan.real_batches_per_step == 2  # the G step draws its own real minibatch
  images = np.pad(_digits()[:128], ((0, 0), (12, 12), (12, 12), (0, 0)), constant_values=-1.0)
  history = gan.fit(images, batch_size=16, epochs=1, verbose=0)
  # 128 images, m = 16, two minibatches a step: 4 steps, not the 8 of a halved minibatch.
  assert int(gan.step.numpy()) == 4
  assert np.isfinite(history.history['d_loss'][-1])
  samples = gan.generate(5, seed=1)
  assert samples.shape == (5, 32, 32, 1)
  np.testing.assert_array_equal(samples, gan.generate(5, seed=1))
  with pytest.raises(ValueError, match='real_batches_per_step'):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(16), batch_size=16)


def test_pggan_trains_rounds_and_samples_without_a_run_folder():
  pggan = tf_gans.PGGAN(dataset='digits', fmap_base=16, fmap_max=8, latent_size=8,
                        minibatch_base=4, minibatch_repeats=2, lod_training_kimg=0.008,
                        lod_transition_kimg=0.008, total_kimg=0.1)
  assert pggan.checkpointer is None  # nothing is written without a logdir
  before = pggan.generate(3, seed=2)
  terms = pggan.train_rounds(2)
  # Two rounds of minibatch_repeats (2) x [D_repeats (1) D step of 4 images, G step].
  assert pggan.cur_nimg == 2 * 2 * 4
  assert np.isfinite(terms['D_loss']) and np.isfinite(terms['G_loss'])
  after = pggan.generate(3, seed=2)
  assert after.shape == (3, 8, 8, 1) and not np.allclose(before, after)
  assert np.all(np.abs(after) < 10)


def test_run_training_is_the_command_line_run(tmp_path):
  cfg = tf_gans.RunConfig(logdir=str(tmp_path / 'run'), steps=4, log_every=2, sample_every=2,
                          checkpoint_every=2, batch_size=16, progress=False)
  result = tf_gans.run_training(cfg, log=lambda *_: None)
  assert result.step == 4 and not result.interrupted
  assert (tmp_path / 'run' / 'run.json').exists()
  assert (tmp_path / 'run' / 'export' / 'generator' / 'saved_model.pb').exists()
  more = tf_gans.run_training(tf_gans.RunConfig(logdir=str(tmp_path / 'run'), steps=6),
                              resume=True, log=lambda *_: None)
  assert more.step == 6
