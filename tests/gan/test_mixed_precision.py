"""--mixed_precision: float16 compute, float32 variables and losses, one loss scale per optimizer."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_gans.gan import loop
from tf_gans.gan.config import RunConfig

CFG = RunConfig(logdir='unused', dataset='digits', model='mlp2014', loss='nonsaturating',
                batch_size=50, optimizer='adam', learning_rate=2e-4, beta1=0.5, seed=0)


def _gan(policy):
  cfg = dataclasses.replace(CFG, dtype=policy).validate()
  keras.utils.set_random_seed(0)
  source = loop.load_data(cfg)
  gan, _ = loop.build_gan(cfg, source)  # optimizers built
  return gan, source


def _batch(source, n):
  return tf.constant(source.as_float()[:n] * 2.0 - 1.0)


def _weights(gan):
  return [v.numpy().astype(np.float64) for v in
          gan.generator.trainable_variables + gan.discriminator.trainable_variables]


def _g_grads(gan, z):
  """Gradients of the non-saturating G loss (D in inference mode: no dropout masks)."""
  from tf_gans import losses  # pylint: disable=import-outside-toplevel
  with tf.GradientTape() as tape:
    c_fake = gan.discriminator(gan.generator(z, training=False), training=False)
    # As the train step: the loss scaled by the optimizer (x 2^15 under mixed_float16, so
    # that small gradients do not flush to zero in float16), the gradients unscaled.
    scaled = gan.g_optimizer.scale_loss(losses.get('nonsaturating').g_loss(None, c_fake))
  scale = float(getattr(gan.g_optimizer, 'dynamic_scale', 1.0))
  return [g.numpy().astype(np.float64) / scale for g in
          tape.gradient(scaled, gan.generator.trainable_variables)]


def test_mixed_float16_matches_float32_and_keeps_float32_variables():
  ref, _ = _gan('')
  mixed, _ = _gan('mixed_float16')
  assert keras.config.dtype_policy().name == 'float32'  # the policy does not leak out
  assert all(v.dtype == 'float32' for v in mixed.generator.trainable_variables)
  assert mixed.generator.layers[-1].compute_dtype == 'float16'
  assert isinstance(mixed.d_optimizer, keras.optimizers.LossScaleOptimizer)
  for a, b in zip(_weights(ref), _weights(mixed)):
    np.testing.assert_array_equal(a, b)  # the same initial weights
  z = tf.random.stateless_uniform([64, 100], [1, 2], -np.sqrt(3), np.sqrt(3))
  # Stated tolerance: float16 compute gives G's gradient to 5% of its norm, per tensor
  # (measured 3.3% on the first 100x1200 kernel: float16 has ~3 significant digits).
  for a, b in zip(_g_grads(ref, z), _g_grads(mixed, z)):
    assert np.linalg.norm(b - a) <= 0.05 * np.linalg.norm(a)


def test_an_overflow_skips_the_step_of_that_optimizer_only():
  gan, source = _gan('mixed_float16')
  gan.d_optimizer.dynamic_scale.assign(2.0**120)  # D's scaled loss overflows float16 grads
  d0 = [v.numpy() for v in gan.discriminator.trainable_variables]
  g0 = [v.numpy() for v in gan.generator.trainable_variables]
  gan.train_step(_batch(source, 2 * CFG.batch_size))
  for v, w in zip(gan.discriminator.trainable_variables, d0):
    np.testing.assert_array_equal(v.numpy(), w)  # skipped
  assert float(gan.d_optimizer.dynamic_scale.numpy()) == 2.0**119  # and the scale halved
  assert any(not np.array_equal(v.numpy(), w) for v, w in
             zip(gan.generator.trainable_variables, g0))  # G still stepped
  for v in gan.generator.trainable_variables + gan.discriminator.trainable_variables:
    assert np.all(np.isfinite(v.numpy()))


def test_unknown_policy_is_refused():
  with pytest.raises(ValueError, match='--dtype must be one of float32, float16, bfloat16'):
    dataclasses.replace(CFG, dtype='float8')
  assert dataclasses.replace(CFG, dtype='mixed_float16').dtype == 'float16'  # one spelling


def _penalty_grads(policy, loss_scale):
  """d GP / d critic weights for a small-weight critic (its input gradients ~1e-8)."""
  from tf_gans import losses  # pylint: disable=import-outside-toplevel
  keras.config.set_dtype_policy(policy)
  try:
    keras.utils.set_random_seed(0)
    critic = keras.Sequential([keras.layers.Dense(64, activation='relu'), keras.layers.Dense(1)])
    critic.build((None, 256))
  finally:
    keras.config.set_dtype_policy('float32')
  for v in critic.trainable_variables:
    v.assign(v * 2e-4)
  rng = np.random.default_rng(0)
  real, fake = (rng.normal(size=[8, 256]).astype(np.float32) for _ in range(2))
  u = np.full([8, 1], 0.3, np.float32)
  outer = loss_scale or 1.0  # the D optimizer scales the whole loss, the penalty included
  with tf.GradientTape() as tape:
    gp = losses.gradient_penalty(critic, real, fake, u, 10.0, loss_scale=loss_scale) * outer
  grads = tape.gradient(gp, critic.trainable_variables)
  return np.concatenate([tf.reshape(tf.cast(g, tf.float32), [-1]).numpy() / outer
                         for g in grads if g is not None])


def test_loss_scale_keeps_the_penalty_gradient_in_float16():
  # The penalty's inner gradient d C / d x_hat is ~1e-8 here: float16 flushes it to zero
  # and with it the penalty's gradient, unless it is taken of C * loss_scale (the D
  # optimizer's scale, as the PGGAN reference does). Stated tolerance: 10% of the norm.
  want = _penalty_grads('float32', None)
  unscaled = _penalty_grads('mixed_float16', None)
  scaled = _penalty_grads('mixed_float16', 2.0 ** 15)
  assert np.linalg.norm(unscaled - want) > 0.9 * np.linalg.norm(want)  # lost
  assert np.linalg.norm(scaled - want) <= 0.1 * np.linalg.norm(want)  # measured 2.7%
  np.testing.assert_allclose(_penalty_grads('float32', 2.0 ** 15), want, rtol=1e-5, atol=1e-12)


def test_a_penalty_that_overflows_float16_skips_the_d_step_without_a_divergence_alarm():
  # The penalty's inner gradient sees D's whole loss scale per sample: at 2^16 (above
  # float16's max 65504) it overflows. That step is skipped and the scale halved; the
  # gradient_penalty metric averages only finite values, so no false DivergenceError.
  cfg = dataclasses.replace(CFG, dtype='float16', loss='wgan-gp').validate()
  keras.utils.set_random_seed(0)
  source = loop.load_data(cfg)
  gan, _ = loop.build_gan(cfg, source)
  gan.d_optimizer.dynamic_scale.assign(2.0 ** 16)
  d0 = [v.numpy() for v in gan.discriminator.trainable_variables]
  logs = gan.train_step(_batch(source, gan.real_batches_per_step * CFG.batch_size))
  assert float(gan.d_optimizer.dynamic_scale.numpy()) == 2.0 ** 15
  for v, w in zip(gan.discriminator.trainable_variables, d0):
    np.testing.assert_array_equal(v.numpy(), w)
  assert all(np.all(np.isfinite(np.asarray(v))) for v in logs.values())
