"""BatchStatsNormalization (always batch statistics) and SpectralNorm (torch semantics)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_gans.layers.normalization import BatchStatsNormalization, SpectralNorm


def _numpy_batch_norm(x, gamma, beta, eps=1e-5):
  axes = tuple(range(x.ndim - 1))
  mean, var = x.mean(axis=axes), x.var(axis=axes)
  return gamma * (x - mean) / np.sqrt(var + eps) + beta


def test_batch_norm_uses_batch_statistics_whatever_training_is():
  keras.utils.set_random_seed(1)
  bn = BatchStatsNormalization(gamma_initializer='random_normal',
                               beta_initializer='random_normal')
  x = np.random.default_rng(0).normal(3.0, 2.0, size=(8, 5, 5, 4)).astype(np.float32)
  bn(x, training=True)   # builds and moves the moving statistics away from 0 / 1.
  expected = _numpy_batch_norm(x.astype(np.float64), bn.gamma.numpy(), bn.beta.numpy())
  for training in (True, False, None):
    np.testing.assert_allclose(bn(x, training=training).numpy(), expected, atol=2e-5)
  bn.trainable = False   # a frozen Keras BN would switch to the moving statistics.
  np.testing.assert_allclose(bn(x, training=True).numpy(), expected, atol=2e-5)
  np.testing.assert_allclose(bn(x).numpy(), expected, atol=2e-5)


def test_batch_norm_defaults_and_moving_statistics_are_pytorchs():
  bn = BatchStatsNormalization()
  assert bn.epsilon == 1e-5 and bn.momentum == pytest.approx(0.9)
  x = np.random.default_rng(2).normal(5.0, 1.0, size=(16, 3)).astype(np.float32)
  bn(x, training=False)
  np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(3))   # no update
  bn(x, training=True)
  np.testing.assert_allclose(bn.moving_mean.numpy(), 0.1 * x.mean(axis=0), rtol=1e-5)
  np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 + 0.1 * x.var(axis=0), rtol=1e-5)
  clone = BatchStatsNormalization.from_config(bn.get_config())
  assert isinstance(clone, BatchStatsNormalization) and clone.epsilon == 1e-5


def _sn_conv(filters=8, kernel=3, channels=4, seed=3):
  keras.utils.set_random_seed(seed)
  layer = SpectralNorm(keras.layers.Conv2D(
      filters, kernel, padding='same',
      kernel_initializer=keras.initializers.RandomNormal(0.0, 0.5)))
  layer.build((None, 6, 6, channels))
  return layer


def _x(seed=4, channels=4):
  return np.random.default_rng(seed).normal(size=(2, 6, 6, channels)).astype(np.float32)


def _sigma(kernel):
  return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


def test_u_and_v_start_as_unit_vectors_of_the_right_sizes():
  layer = _sn_conv()
  assert layer.u.shape == (8,) and layer.v.shape == (3 * 3 * 4,)
  assert not layer.u.trainable and not layer.v.trainable
  assert np.linalg.norm(layer.u.numpy()) == pytest.approx(1.0, abs=1e-6)
  assert np.linalg.norm(layer.v.numpy()) == pytest.approx(1.0, abs=1e-6)
  assert [w.name for w in layer.trainable_weights] == ['kernel', 'bias']


def test_power_iteration_drives_sigma_of_the_normalised_kernel_to_one():
  layer, x = _sn_conv(), _x()
  raw = layer.layer.kernel.numpy().copy()
  assert _sigma(raw) > 1.5   # far from normalised to begin with
  for _ in range(100):
    layer(x, training=True)
  normalised = keras.ops.convert_to_numpy(layer.normalized_kernel())
  assert _sigma(normalised) == pytest.approx(1.0, abs=1e-4)
  np.testing.assert_allclose(normalised, raw / _sigma(raw), rtol=1e-4, atol=1e-6)
  # The raw kernel (torch's weight_orig) is never overwritten,
  # unlike keras.layers.SpectralNormalization.
  np.testing.assert_array_equal(layer.layer.kernel.numpy(), raw)


def test_u_updates_on_training_calls_only():
  layer, x = _sn_conv(), _x()
  u0, v0 = layer.u.numpy().copy(), layer.v.numpy().copy()
  layer(x, training=False)
  layer(x)
  np.testing.assert_array_equal(layer.u.numpy(), u0)
  np.testing.assert_array_equal(layer.v.numpy(), v0)
  layer(x, training=True)
  assert not np.allclose(layer.u.numpy(), u0)
  assert not np.allclose(layer.v.numpy(), v0)
  # One power iteration from the stored u (torch: v = n(W^T u), u = n(W v)).
  w = layer.layer.kernel.numpy().reshape(-1, 8).T   # torch's (out, in*k*k) matrix
  v1 = w.T @ u0 / np.linalg.norm(w.T @ u0)
  u1 = w @ v1 / np.linalg.norm(w @ v1)
  np.testing.assert_allclose(layer.v.numpy(), v1, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(layer.u.numpy(), u1, rtol=1e-4, atol=1e-6)


def test_u_updates_inside_a_compiled_model_call():
  keras.utils.set_random_seed(5)
  inputs = keras.Input((6, 6, 4))
  sn = SpectralNorm(keras.layers.Conv2D(8, 3))
  model = keras.Model(inputs, sn(inputs))
  step = tf.function(lambda x: model(x, training=True))
  u0 = sn.u.numpy().copy()
  step(_x())
  u1 = sn.u.numpy().copy()
  step(_x())
  assert not np.allclose(u1, u0) and not np.allclose(sn.u.numpy(), u1)


def test_output_and_gradient_are_those_of_w_over_sigma():
  layer, x = _sn_conv(), _x()
  layer(x, training=True)
  u, v = layer.u.numpy(), layer.v.numpy()
  bias = layer.layer.bias.numpy()
  raw = tf.Variable(layer.layer.kernel.numpy())
  with tf.GradientTape() as tape:
    sigma = tf.reduce_sum(u * tf.linalg.matvec(tf.reshape(raw, (-1, 8)), v, transpose_a=True))
    expected = tf.nn.conv2d(x, raw / sigma, 1, 'SAME') + bias
    expected_loss = tf.reduce_sum(tf.square(expected))
  expected_grad = tape.gradient(expected_loss, raw).numpy()
  with tf.GradientTape() as tape:
    out = layer(x, training=False)   # no update: uses the stored u, v
    loss = tf.reduce_sum(tf.square(out))
  grad = tape.gradient(loss, layer.layer.kernel.value).numpy()
  np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(grad, expected_grad, rtol=1e-3, atol=1e-5)
  # The sigma term matters: the gradient is not that of a constant kernel W / sigma.
  with tf.GradientTape() as tape:
    const = tf.Variable(raw.numpy() / sigma.numpy())
    naive = tf.reduce_sum(tf.square(tf.nn.conv2d(x, const, 1, 'SAME') + bias))
  naive_grad = tape.gradient(naive, const).numpy() / sigma.numpy()
  assert not np.allclose(grad, naive_grad, rtol=1e-2)


def test_spectral_norm_refuses_bad_layers_and_serialises():
  with pytest.raises(ValueError, match='Conv2DTranspose'):
    SpectralNorm(keras.layers.Conv2DTranspose(4, 3))
  with pytest.raises(ValueError, match='power_iterations'):
    SpectralNorm(keras.layers.Dense(3), power_iterations=0)
  with pytest.raises(ValueError, match='no kernel'):
    SpectralNorm(keras.layers.ReLU()).build((None, 3))
  layer = SpectralNorm(keras.layers.Dense(3), power_iterations=2, eps=1e-8)
  clone = SpectralNorm.from_config(layer.get_config())
  assert (clone.power_iterations, clone.eps) == (2, 1e-8)
  assert clone(np.ones((2, 5), np.float32), training=True).shape == (2, 3)
