"""The RGAN steps as the code the paper ran, against hand-computed updates.

- RaLSGAN "used in paper" (c6cbdc9 `code/GAN_losses_iter.py`, loss code 15):
  its G step draws no real minibatch (only codes 10, 12, 14 do, ~line 665) and
  runs the just-updated D on the last D step's batch (`y_pred = D(x)`, ~695).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_gans import latents
from tf_gans import losses
from tf_gans.gan.loop import replica_rows
from tf_gans.gan.model import GAN
from tf_gans.training import strategy as strategy_lib

M, LATENT, SHAPE, SEED = 8, 4, (2, 2, 1), 7


def tiny_nets(seed=0):
  """G: z -> 2x2x1 images; D: images -> logits."""
  keras.utils.set_random_seed(seed)
  g = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(6, 'tanh'),
                        keras.layers.Dense(4, 'sigmoid'), keras.layers.Reshape(SHAPE)])
  d = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                        keras.layers.Dense(5, 'tanh'), keras.layers.Dense(1)])
  return g, d


def make_gan(loss, d_steps=1, lr=0.1, gradient_penalty=None, **kw):
  g, d = tiny_nets(0)
  gan = GAN(g, d, LATENT, 'normal', d_steps=d_steps, seed=SEED, **kw)
  gan.compile(keras.optimizers.SGD(lr), keras.optimizers.SGD(lr), loss=loss,
              gradient_penalty=gradient_penalty)
  return gan


def reals(steps, chunks, seed=0):
  return np.random.default_rng(seed).uniform(size=(steps, chunks * M) + SHAPE).astype(np.float32)


def fit(gan, batches):
  gan.fit(tf.data.Dataset.from_tensor_slices(batches), steps_per_epoch=len(batches), epochs=1,
          verbose=0, shuffle=False)


def z_of(slot, step=0, d_steps=1):
  """The GAN's noise of minibatch `slot` of iteration `step` (stateless, `gan_seed`)."""
  return latents.sample('normal', [M, LATENT],
                        tf.constant([SEED, step * (d_steps + 1) + slot], tf.int64))


def sgd_step(loss_fn, variables, lr=0.1):
  with tf.GradientTape() as tape:
    loss = loss_fn()
  for v, g in zip(variables, tape.gradient(loss, variables)):
    v.assign_sub(lr * g)


def assert_same_weights(gan, ref_g, ref_d, rtol=1e-5, atol=1e-6):
  for a, b in zip(gan.generator.weights + gan.discriminator.weights, ref_g.weights + ref_d.weights):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=rtol, atol=atol)


# ----------------------------------------------- RaLSGAN (code 15): the last D batch, updated D


@pytest.mark.parametrize('k', [1, 2])
def test_ralsgan_paper_g_step_sees_the_last_d_batch_under_the_updated_d(k):
  gan = make_gan('ralsgan-paper', d_steps=k)
  assert gan.real_batches_per_step == k  # no real minibatch of its own for the G step
  x = reals(1, k)[0]
  fit(gan, x[np.newaxis])
  pair = losses.get('ralsgan-paper')
  ref_g, ref_d = tiny_nets(0)
  before = None
  for i in range(k):
    xi, fake = x[i * M:(i + 1) * M], ref_g(z_of(i, d_steps=k))
    before = ref_d(xi)  # the last D step's real logits, before its update
    sgd_step(lambda: pair.d_loss(ref_d(xi), ref_d(fake)), ref_d.trainable_variables)
  x_last = x[(k - 1) * M:]
  z = z_of(k, d_steps=k)
  stale_g = [tf.Variable(v) for v in ref_g.trainable_variables]
  # Code 15: L_G = 2 mean_i (C_r,i - m_f + 1)^2 with C_r = D_updated(x_last), computed
  # here from the formula, not from the registered loss.
  def code_15(c_real):
    c_real, c_fake = tf.reshape(c_real, [-1]), tf.reshape(ref_d(ref_g(z)), [-1])
    return 2.0 * tf.reduce_mean(tf.square(c_real - tf.reduce_mean(c_fake) + 1.0))
  g_vars = ref_g.trainable_variables
  with tf.GradientTape() as tape:
    stale_loss = code_15(before)
  stale_grads = tape.gradient(stale_loss, g_vars)
  sgd_step(lambda: code_15(ref_d(x_last)), g_vars)
  assert_same_weights(gan, ref_g, ref_d)
  # The D step's own (pre-update) real logits would have given another G update.
  stale = [v - 0.1 * g for v, g in zip(stale_g, stale_grads)]
  assert max(float(tf.reduce_max(tf.abs(a - b))) for a, b in zip(stale, g_vars)) > 1e-6


def test_rasgan_paper_still_draws_a_fresh_batch_for_its_g_step():
  gan = make_gan('rasgan-paper')
  assert gan.real_batches_per_step == 2
  x = reals(1, 2)[0]
  fit(gan, x[np.newaxis])
  pair = losses.get('rasgan-paper')
  ref_g, ref_d = tiny_nets(0)
  fake = ref_g(z_of(0))
  sgd_step(lambda: pair.d_loss(ref_d(x[:M]), ref_d(fake)), ref_d.trainable_variables)
  sgd_step(lambda: pair.g_loss(ref_d(x[M:]), ref_d(ref_g(z_of(1)))), ref_g.trainable_variables)
  assert_same_weights(gan, ref_g, ref_d)


@pytest.mark.parametrize('loss,extra', [('nonsaturating', 0), ('rsgan', 1), ('rasgan', 1),
                                        ('ralsgan', 1), ('rahinge', 1), ('rasgan-paper', 1),
                                        ('ralsgan-paper', 0)])
def test_real_batches_per_step_counts_the_batches_the_g_step_draws(loss, extra):
  for k in (1, 3):
    gan = make_gan(loss, d_steps=k)
    assert gan.real_batches_per_step == k + extra
  g, d = tiny_nets()
  simultaneous = GAN(g, d, LATENT, simultaneous=True)
  simultaneous.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), loss=loss)
  assert simultaneous.real_batches_per_step == 1
  # Array input: fit() feeds m * real_batches_per_step rows a step.
  gan = make_gan(loss, d_steps=2)
  gan.fit(reals(1, 3 * gan.real_batches_per_step)[0], batch_size=M, epochs=1, verbose=0,
          shuffle=False)
  assert int(gan.step.numpy()) == 3
  assert int(gan.d_optimizer.iterations.numpy()) == 6


# ------------------------------------------------------------------ mirrored == one device


# (A penalty of weight 10 at lr 0.1 amplifies the float noise of the replicas' sums to ~1e-5
# on these tiny nets, for every loss; weight 1 keeps the comparison at float precision.)
@pytest.mark.parametrize('loss,kw', [('ralsgan-paper', {}),
                                     ('ralsgan-paper', {'gradient_penalty': 1.0})])
def test_mirrored_step_equals_one_device_step(loss, kw):
  k, steps = 2, 3
  single = make_gan(loss, d_steps=k, **kw)
  chunks = single.real_batches_per_step
  batches = reals(steps, chunks)
  fit(single, batches)
  strategy = strategy_lib.get('mirrored')  # two logical CPUs (tests/conftest.py)
  assert strategy.num_replicas_in_sync == 2
  with strategy.scope():
    mirrored = make_gan(loss, d_steps=k, **kw)
  order = [row for r in range(2) for row in replica_rows(chunks, M, 2, r)]
  ds = tf.data.Dataset.from_tensor_slices(batches).map(lambda b: tf.gather(b, order))
  mirrored.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
  for a, b in zip(single.generator.weights + single.discriminator.weights,
                  mirrored.generator.weights + mirrored.discriminator.weights):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)
