"""The generator SavedModel: signatures, standalone reload, atomic replacement."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tf_gans import families
from tf_gans.gan import restore
from tf_gans.models import savedmodel


def test_signatures_agree_with_the_generator(trained_run):
  module = tf.saved_model.load(trained_run.export_dir)
  assert set(module.signatures) == {'serving_default', 'generate', 'sample'}
  gan, nets, _, step = restore.load_run(trained_run.logdir)
  assert step == 20
  z = savedmodel.fixed_latents('uniform', 6, 100, 5)
  expected = nets.generator(z, training=False).numpy()
  served = module.signatures['serving_default'](latents=z)['images'].numpy()
  np.testing.assert_allclose(served, expected, atol=1e-6)
  sampled = module.signatures['sample'](seed=tf.constant(5, tf.int64), num=tf.constant(6))
  np.testing.assert_allclose(sampled['images'].numpy(), expected, atol=1e-6)
  uint8 = module.signatures['generate'](seed=tf.constant(5, tf.int64), num=tf.constant(6))['images']
  assert uint8.dtype == tf.uint8 and uint8.shape == (6, 8, 8, 1)
  np.testing.assert_array_equal(uint8.numpy(), np.rint(expected * 255).astype(np.uint8))
  # The latents are U(-sqrt 3, sqrt 3) (the 2014 noise), deterministic per seed.
  z_big = savedmodel.fixed_latents('uniform', 2000, 100, 0).numpy()
  assert np.abs(z_big).max() <= np.sqrt(3) and abs(z_big.var() - 1.0) < 0.02
  assert int(module.latent_dim.numpy()) == 100
  np.testing.assert_allclose(module.value_range.numpy(), [0.0, 1.0])


def test_reload_needs_only_tensorflow(trained_run):
  code = (
      'import sys, tensorflow as tf\n'
      f'm = tf.saved_model.load({trained_run.export_dir!r})\n'
      'x = m.signatures["generate"](seed=tf.constant(3, tf.int64), num=tf.constant(4))["images"]\n'
      'assert x.shape == (4, 8, 8, 1), x.shape\n'
      'assert not any(k.startswith("tf_gans") for k in sys.modules)\n'
      'print("ok", int(tf.reduce_sum(tf.cast(x, tf.int64))))\n')
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH='')
  out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env,
                       cwd='/', timeout=120)
  assert out.returncode == 0, out.stderr[-2000:]
  assert out.stdout.startswith('ok')


def test_export_refuses_an_existing_folder_and_replaces_atomically(trained_run, tmp_path):
  target = tmp_path / 'gen'
  target.mkdir()
  (target / 'keep.txt').write_text('precious')
  with pytest.raises(FileExistsError, match='--overwrite'):
    families.export_run(trained_run.logdir, str(target))
  assert (target / 'keep.txt').read_text() == 'precious'
  path, where = families.export_run(trained_run.logdir, str(target), overwrite=True)
  assert where == 'step 20' and os.path.exists(os.path.join(path, 'saved_model.pb'))
  assert not (target / 'keep.txt').exists()
  assert sorted(os.listdir(tmp_path)) == ['gen']  # no temporary or old folders left behind


def test_load_generator_explains_a_bad_path(tmp_path):
  with pytest.raises(FileNotFoundError, match='not a SavedModel export'):
    savedmodel.load_generator(str(tmp_path))


def test_in_memory_export_of_a_conditional_gs_is_fed_given_labels():
  # evaluate --run feeds a conditional Gs the labels of the reals (the original
  # util_scripts.evaluate_metrics: Gs.run(latents, labels[begin:end])): the in-memory
  # export carries the metadata generate_with_labels reads, as a saved export does.
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  from tf_gans.models import pggan  # pylint: disable=import-outside-toplevel
  gs = pggan.G_paper(num_channels=1, resolution=8, label_size=10, fmap_base=32, fmap_max=16,
                     latent_size=16)
  module = savedmodel.InMemoryExport(gs, 16, 'normal', (-1.0, 1.0), label_size=10)
  assert evaluation.label_size(module) == 10
  labels = np.eye(10, dtype=np.float32)[[3, 1, 4, 1, 5]]
  got = evaluation.generate_with_labels(module, 7, labels)
  latents = savedmodel.fixed_latents('normal', 5, 16, 7)
  expected = gs([latents, tf.constant(labels)], training=False).numpy()
  np.testing.assert_array_equal(
      got, np.round(np.clip((expected + 1.0) / 2.0, 0.0, 1.0) * 255.0).astype(np.uint8))
  # Other labels, other images: the labels reach the net.
  other = evaluation.generate_with_labels(module, 7, np.eye(10, dtype=np.float32)[[0] * 5])
  assert not np.array_equal(got, other)
  unconditional = savedmodel.InMemoryExport(tf.keras.Sequential([tf.keras.layers.Dense(4)]),
                                            3, 'uniform', (0, 1))
  assert evaluation.label_size(unconditional) == 0 and unconditional.latent_dim == 3
  assert unconditional.value_range == (0.0, 1.0)
