"""The RGAN steps as the code the paper ran, against hand-computed updates.

- RaLSGAN "used in paper" (c6cbdc9 `code/GAN_losses_iter.py`, loss code 15):
  its G step draws no real minibatch (only codes 10, 12, 14 do, ~line 665) and
  runs the just-updated D on the last D step's batch (`y_pred = D(x)`, ~695).
- PacGAN (`code/GAN_losses_iter_PAC.py`, the CAT 256x256 runs): the gradient
  penalty takes one u per packed pair and the norm over the packed pair (the
  WGAN-GP 256 run).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_gans import latents
from tf_gans import losses
from tf_gans.gan.loop import replica_rows
from tf_gans.gan.model import GAN
from tf_gans.models.dcgan import PackSamples, packing_of
from tf_gans.training import strategy as strategy_lib

M, LATENT, SHAPE, SEED = 8, 4, (2, 2, 1), 7


def tiny_nets(seed=0, pac=1):
  """G: z -> 2x2x1 images; D: images -> logits, packing `pac` images first when pac > 1."""
  keras.utils.set_random_seed(seed)
  g = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(6, 'tanh'),
                        keras.layers.Dense(4, 'sigmoid'), keras.layers.Reshape(SHAPE)])
  head = [PackSamples(pac, name='pack')] if pac > 1 else []
  d = keras.Sequential([keras.Input(SHAPE)] + head +
                       [keras.layers.Flatten(), keras.layers.Dense(5, 'tanh'),
                        keras.layers.Dense(1)])
  return g, d


def make_gan(loss, d_steps=1, lr=0.1, pac=1, gradient_penalty=None, **kw):
  g, d = tiny_nets(0, pac)
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


# ------------------------------------------- PacGAN's penalty: u per pair, norm over the pair


def packed(x):
  """GAN_losses_iter_PAC.py's `torch.cat([x[0:B], x[B:2B]], 1)`, NHWC: [2B,H,W,C] -> [B,H,W,2C]."""
  half = len(x) // 2
  return np.concatenate([x[:half], x[half:]], axis=-1)


def test_pac_penalty_mixes_pairs_with_one_u_and_takes_the_norm_over_the_pair():
  rng = np.random.default_rng(3)
  real, fake = (rng.normal(size=(2 * M,) + SHAPE).astype(np.float32) for _ in range(2))
  u = rng.uniform(size=(M, 1, 1, 1)).astype(np.float32)        # one per pair
  w = rng.normal(size=SHAPE[:2] + (2 * SHAPE[2],))             # a weight per packed entry
  pack = PackSamples(2)
  # C(pair) = sum w * pair^2: its gradient is 2 w x_hat (x_hat the packed interpolate).
  critic = lambda x, training=False: tf.reduce_sum(w * tf.square(pack(x)), axis=[1, 2, 3])
  gp = losses.gradient_penalty(critic, real, fake, u, 10.0, pac=2).numpy()
  x_hat = u * packed(real).astype(np.float64) + (1 - u) * packed(fake)   # [B, H, W, 2C]
  norms = np.sqrt(np.sum((2 * w * x_hat).reshape(M, -1) ** 2, axis=1))  # over 2C x H x W
  np.testing.assert_allclose(gp, 10.0 * np.mean((norms - 1.0) ** 2), rtol=1e-5)
  # The per-image form (one u per image, a norm per image) is another number.
  per_image = losses.gradient_penalty(critic, real, fake, np.tile(u, [2, 1, 1, 1]), 10.0)
  assert abs(float(per_image) - gp) > 1e-3 * gp


def test_a_packing_d_gets_the_pac_penalty_in_the_train_step():
  gp_weight = 10.0
  gan = make_gan('wgan-gp', pac=2)
  assert gan.pac == 2 and gan.gp_weight == gp_weight
  assert packing_of(tiny_nets()[1]) == 1
  x = reals(1, 1)[0]
  fit(gan, x[np.newaxis])
  ref_g, ref_d = tiny_nets(0, pac=2)
  inner = keras.Sequential([l for l in ref_d.layers if not isinstance(l, PackSamples)])
  pair = losses.get('wgan-gp')
  fake = ref_g(z_of(0)).numpy()
  u = losses.sample_interpolation_weights(   # M / 2 weights: one per pair
      M // 2, tf.random.experimental.stateless_fold_in(tf.constant([SEED, 0], tf.int64), 1))
  assert u.shape == (M // 2, 1, 1, 1)

  def d_loss():
    x_hat = tf.constant(u * packed(x) + (1 - u) * packed(fake))
    with tf.GradientTape() as tape:
      tape.watch(x_hat)
      total = tf.reduce_sum(inner(x_hat))
    g = tape.gradient(total, x_hat)
    norms = tf.sqrt(tf.reduce_sum(tf.square(tf.reshape(g, [M // 2, -1])), axis=1))
    return pair.d_loss(ref_d(x), ref_d(fake)) + gp_weight * tf.reduce_mean(tf.square(norms - 1))

  sgd_step(d_loss, ref_d.trainable_variables)
  sgd_step(lambda: pair.g_loss(None, ref_d(ref_g(z_of(1)))), ref_g.trainable_variables)
  assert_same_weights(gan, ref_g, ref_d)


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
