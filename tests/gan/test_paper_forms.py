"""The RGAN steps as the code the paper ran, against hand-computed updates.

- RaLSGAN "used in paper" (c6cbdc9 `code/GAN_losses_iter.py`, loss code 15):
  its G step draws no real minibatch (only codes 10, 12, 14 do, ~line 665) and
  runs the just-updated D on the last D step's batch (`y_pred = D(x)`, ~695).
- PacGAN (`code/GAN_losses_iter_PAC.py`, the CAT 256x256 runs): the G step
  trains on the D step's fakes (its z); the gradient penalty takes one u per
  packed pair and the norm over the packed pair (the WGAN-GP 256 run).
"""

import pathlib
import signal

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_gans import latents
from tf_gans import losses
from tf_gans.gan import callbacks as cb
from tf_gans.gan import loop
from tf_gans.gan import restore
from tf_gans.gan.config import RunConfig
from tf_gans.gan.loop import replica_rows
from tf_gans.gan.model import GAN
from tf_gans.models.dcgan import PackSamples, packing_of
from tf_gans.training import interrupts
from tf_gans.training import strategy as strategy_lib

M, LATENT, SHAPE, SEED = 8, 4, (2, 2, 1), 7
RGAN_CONFIGS = pathlib.Path(__file__).resolve().parents[2] / 'configs' / 'rgan'


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


# ------------------------------------------------ PacGAN's G step: the D step's z (and fakes)


class RecordingG(keras.Model):
  """A generator that records (z, G(z)) of every eager call in `log`."""

  def __init__(self, inner, log):
    super().__init__()
    self.inner = inner
    self._record = log.append  # (a list attribute would be Keras' tracked copy)

  def call(self, z, training=False):
    out = self.inner(z, training=training)
    if tf.executing_eagerly():
      self._record((np.array(z), np.array(out)))
    return out


@pytest.mark.parametrize('reuse', [True, False])
def test_pac_g_step_trains_on_the_last_d_steps_z(reuse):
  k, log = 2, []
  g, d = tiny_nets(0, pac=2)
  gan = GAN(RecordingG(g, log), d, LATENT, 'normal', d_steps=k, seed=SEED, g_reuses_d_z=reuse)
  gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), loss='rasgan',
              run_eagerly=True)
  fit(gan, reals(1, gan.real_batches_per_step))
  (z_d0, _), (z_d1, fake_d1), (z_g, fake_g) = log   # two D steps, then the G step
  np.testing.assert_array_equal(z_d0, z_of(0, d_steps=k).numpy())
  np.testing.assert_array_equal(z_d1, z_of(1, d_steps=k).numpy())
  if reuse:
    # GAN_losses_iter_PAC.py packs the D step's `fake` tensor: the same z, the same images
    # (G has not changed since that D step).
    np.testing.assert_array_equal(z_g, z_d1)
    np.testing.assert_allclose(fake_g, fake_d1, rtol=0, atol=1e-7)
  else:
    np.testing.assert_array_equal(z_g, z_of(2, d_steps=k).numpy())


def test_pac_g_step_on_the_d_steps_z_matches_the_update_by_hand():
  k = 1
  gan = make_gan('rsgan', d_steps=k, pac=2, g_reuses_d_z=True)
  x = reals(1, gan.real_batches_per_step)[0]
  fit(gan, x[np.newaxis])
  pair = losses.get('rsgan')
  ref_g, ref_d = tiny_nets(0, pac=2)
  fake = ref_g(z_of(0))
  sgd_step(lambda: pair.d_loss(ref_d(x[:M]), ref_d(fake)), ref_d.trainable_variables)
  # G step: the D step's z (slot 0), and the fresh real batch rsgan draws.
  sgd_step(lambda: pair.g_loss(ref_d(x[M:]), ref_d(ref_g(z_of(0)))), ref_g.trainable_variables)
  assert_same_weights(gan, ref_g, ref_d)


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


# ------------------------------------------------------- mirrored == one device, resume == straight


# (A penalty of weight 10 at lr 0.1 amplifies the float noise of the replicas' sums to ~1e-5
# on these tiny nets, for every loss; weight 1 keeps the comparison at float precision.)
@pytest.mark.parametrize('loss,kw', [('ralsgan-paper', {}),
                                     ('ralsgan-paper', {'gradient_penalty': 1.0}),
                                     ('rasgan', {'g_reuses_d_z': True}),
                                     ('ralsgan-paper', {'g_reuses_d_z': True})])
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


def test_interrupt_and_resume_of_the_paper_forms_gives_the_same_weights(tmp_path, monkeypatch):
  """ralsgan-paper (k real batches a step) with the G step on the D step's z."""
  def config(logdir, **kw):
    return RunConfig(logdir=str(logdir), dataset='digits', model='mlp2014', batch_size=20,
                     steps=30, log_every=10, sample_every=10, checkpoint_every=10,
                     num_samples=16, progress=False, export=False, seed=3, loss='ralsgan-paper',
                     d_steps=2, pac_g_reuses_d_z=True, gradient_penalty=1.0, **kw)

  quiet = lambda *_: None
  loop.train(config(tmp_path / 'straight'), log=quiet)
  original = cb.DivergenceGuard.on_train_batch_end

  def stop_at_17(self, batch, logs=None):
    original(self, batch, logs)
    if int(self.model.step.numpy()) == 17:
      stop.set()
  monkeypatch.setattr(cb.DivergenceGuard, 'on_train_batch_end', stop_at_17)
  with interrupts.stop_with() as stop:
    result = loop.train(config(tmp_path / 'split', steps_per_execution=1), log=quiet)
  assert result.interrupted and result.step == 17
  monkeypatch.setattr(cb.DivergenceGuard, 'on_train_batch_end', original)
  assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
  assert loop.train(config(tmp_path / 'split'), resume=True, log=quiet).step == 30
  runs = [restore.load_run(str(tmp_path / name))[0] for name in ('straight', 'split')]
  assert all(gan.g_reuses_d_z and gan.real_batches_per_step == 2 for gan in runs)
  for net in ('generator', 'discriminator'):
    for a, b in zip(getattr(runs[0], net).weights, getattr(runs[1], net).weights):
      np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7, err_msg=a.path)


# ------------------------------------------------------------------------ the CAT 256 configs


def test_every_pac_config_trains_g_on_the_d_steps_z():
  pac = [p for p in sorted(RGAN_CONFIGS.rglob('*.cfg')) if '--pac=2' in p.read_text()]
  assert len(pac) == 9 and all(p.name.endswith('_cat256.cfg') for p in pac)
  for p in RGAN_CONFIGS.rglob('*.cfg'):
    flags = [line.strip() for line in p.read_text().splitlines()]
    assert ('--pac_g_reuses_d_z' in flags) == (p in pac), p
    assert ('Not reproduced' in p.read_text()) is False, p
