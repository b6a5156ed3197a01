"""GAN.train_step: Algorithm 1's k-step schedule, the 2014 simultaneous update,
and MirroredStrategy equivalence, checked against hand-computed updates."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_gans import latents
from tf_gans.gan.model import GAN
from tf_gans.training import strategy as strategy_lib
from tf_gans.gan.loop import replica_rows

M, LATENT, SHAPE = 8, 4, (2, 2, 1)


def tiny_nets(seed=0):
  keras.utils.set_random_seed(seed)
  g = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(6, 'tanh'),
                        keras.layers.Dense(4, 'sigmoid'), keras.layers.Reshape(SHAPE)])
  d = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                        keras.layers.Dense(5, 'relu'), keras.layers.Dense(1)])
  return g, d


def real_batches(n, chunks, seed=0):
  x = np.random.default_rng(seed).uniform(size=(n, chunks * M) + SHAPE).astype(np.float32)
  return x


def make_gan(d_steps=1, simultaneous=False, loss='nonsaturating', lr=0.1, seed=0):
  g, d = tiny_nets(seed)
  gan = GAN(g, d, LATENT, 'normal', d_steps=d_steps, simultaneous=simultaneous, seed=7)
  gan.compile(keras.optimizers.SGD(lr), keras.optimizers.SGD(lr), loss=loss)
  return gan


def fit_batches(gan, batches):
  ds = tf.data.Dataset.from_tensor_slices(batches)
  gan.fit(ds, steps_per_epoch=len(batches), epochs=1, verbose=0, shuffle=False)


def grads_of(loss_fn, variables):
  with tf.GradientTape() as tape:
    loss = loss_fn()
  return tape.gradient(loss, variables)


def sgd(variables, grads, lr):
  for v, g in zip(variables, grads):
    v.assign_sub(lr * g)


def test_k_discriminator_steps_per_generator_step():
  gan = make_gan(d_steps=3)
  assert gan.real_batches_per_step == 3
  fit_batches(gan, real_batches(4, 3))
  assert int(gan.step.numpy()) == 4
  assert int(gan.d_optimizer.iterations.numpy()) == 12
  assert int(gan.g_optimizer.iterations.numpy()) == 4


def test_alternating_step_matches_algorithm_1_by_hand():
  k, lr = 2, 0.1
  gan = make_gan(d_steps=k, lr=lr)
  ref_g, ref_d = tiny_nets(0)  # same initial weights
  x = real_batches(1, k)[0]
  fit_batches(gan, x[np.newaxis])
  pair = gan.loss_pair
  for i in range(k):  # D steps on fresh minibatches and fresh noise
    z = latents.sample('normal', [M, LATENT], tf.constant([7, i], tf.int64))
    xi = x[i * M:(i + 1) * M]
    g = grads_of(lambda: pair.d_loss(ref_d(xi), ref_d(ref_g(z))), ref_d.trainable_variables)
    sgd(ref_d.trainable_variables, g, lr)
  z = latents.sample('normal', [M, LATENT], tf.constant([7, k], tf.int64))
  g = grads_of(lambda: pair.g_loss(None, ref_d(ref_g(z))), ref_g.trainable_variables)
  sgd(ref_g.trainable_variables, g, lr)
  for a, b in zip(gan.generator.weights + gan.discriminator.weights, ref_g.weights + ref_d.weights):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_simultaneous_step_uses_pre_update_parameters():
  lr = 0.1
  gan = make_gan(simultaneous=True, loss='gan2014', lr=lr)
  assert gan.real_batches_per_step == 1
  ref_g, ref_d = tiny_nets(0)
  x = real_batches(1, 1)[0]
  fit_batches(gan, x[np.newaxis])
  pair = gan.loss_pair
  z = latents.sample('normal', [M, LATENT], tf.constant([7, 0], tf.int64))
  gd = grads_of(lambda: pair.d_loss(ref_d(x), ref_d(ref_g(z))), ref_d.trainable_variables)
  gg = grads_of(lambda: pair.g_loss(None, ref_d(ref_g(z))), ref_g.trainable_variables)
  sgd(ref_d.trainable_variables, gd, lr)
  sgd(ref_g.trainable_variables, gg, lr)
  for a, b in zip(gan.generator.weights + gan.discriminator.weights, ref_g.weights + ref_d.weights):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_bad_arguments_are_refused():
  g, d = tiny_nets()
  with pytest.raises(ValueError, match='d_steps'):
    GAN(g, d, LATENT, d_steps=0)
  with pytest.raises(ValueError, match='simultaneous'):
    GAN(g, d, LATENT, d_steps=2, simultaneous=True)
  with pytest.raises(KeyError, match='latent distribution'):
    GAN(g, d, LATENT, latent_distribution='cauchy')


@pytest.mark.parametrize('loss', ['nonsaturating', 'sgan', 'rasgan', 'ralsgan', 'rahinge'])
def test_mirrored_strategy_step_equals_single_device_step(loss):
  # Two logical CPUs (tests/conftest.py); per-replica losses scaled by 1/replicas. The
  # relativistic losses' minibatch means m_r, m_f must be means over the global batch
  # (all replicas), else two replicas would train a different objective than one device.
  k, steps = 2, 3
  single = make_gan(d_steps=k, loss=loss)
  # k real minibatches per step, one more for the relativistic G step (a fresh real batch).
  batches = real_batches(steps, single.real_batches_per_step)
  fit_batches(single, batches)
  strategy = strategy_lib.get('mirrored')  # all (two logical) CPUs
  assert strategy.num_replicas_in_sync == 2
  with strategy.scope():
    mirrored = make_gan(d_steps=k, loss=loss)
  chunks = single.real_batches_per_step
  order = [row for r in range(2) for row in replica_rows(chunks, M, 2, r)]
  ds = tf.data.Dataset.from_tensor_slices(batches).map(lambda b: tf.gather(b, order))
  mirrored.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
  assert int(mirrored.step.numpy()) == steps
  for a, b in zip(single.generator.weights + single.discriminator.weights,
                  mirrored.generator.weights + mirrored.discriminator.weights):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


def test_gradient_penalty_and_fresh_real_batch_in_the_relativistic_g_step():
  from tf_gans import losses  # pylint: disable=import-outside-toplevel
  lr, k, gp = 0.1, 1, 10.0
  g, d = tiny_nets(0)
  gan = GAN(g, d, LATENT, 'normal', d_steps=k, seed=7)
  gan.compile(keras.optimizers.SGD(lr), keras.optimizers.SGD(lr), loss='rasgan',
              gradient_penalty=gp)
  assert gan.real_batches_per_step == k + 1 and gan.gp_weight == gp
  ref_g, ref_d = tiny_nets(0)
  x = real_batches(1, k + 1)[0]
  fit_batches(gan, x[np.newaxis])
  pair = losses.get('rasgan')
  x0, x_fresh = x[:M], x[M:]
  z = latents.sample('normal', [M, LATENT], tf.constant([7, 0], tf.int64))
  fake = ref_g(z)
  u = losses.sample_interpolation_weights(
      M, tf.random.experimental.stateless_fold_in(tf.constant([7, 0], tf.int64), 1))
  grads = grads_of(lambda: pair.d_loss(ref_d(x0), ref_d(fake)) +
                   losses.gradient_penalty(ref_d, x0, fake, u, gp), ref_d.trainable_variables)
  sgd(ref_d.trainable_variables, grads, lr)
  z = latents.sample('normal', [M, LATENT], tf.constant([7, k], tf.int64))
  grads = grads_of(lambda: pair.g_loss(ref_d(x_fresh), ref_d(ref_g(z))), ref_g.trainable_variables)
  sgd(ref_g.trainable_variables, grads, lr)
  for a, b in zip(gan.generator.weights + gan.discriminator.weights, ref_g.weights + ref_d.weights):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
  assert 'gradient_penalty' in [m.name for m in gan.metrics]


def test_wgan_gp_takes_its_default_penalty_and_an_override():
  gan = make_gan(loss='wgan-gp')
  assert gan.gp_weight == 10.0
  g, d = tiny_nets()
  gan = GAN(g, d, LATENT)
  gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), loss='wgan-gp',
              gradient_penalty=0.0)
  assert gan.gp_weight == 0.0 and 'gradient_penalty' not in [m.name for m in gan.metrics]
  with pytest.raises(ValueError, match='gradient_penalty must be >= 0'):
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), gradient_penalty=-1.0)
