"""Our working-resolution PGGAN losses and gradients vs the oracle's full-size training graph.

The oracle (official_ports.pggan_tf1.loss) builds the reference's loss on
full-size NCHW tensors (reals nearest-upsampled, G's output full size, the
gradient penalty on full-size mixed images). Ours runs G and D at the
schedule's resolution and rescales the penalty's gradient norm. Same weights,
latents, labels, alpha and reals: same loss values and the same gradients
for every variable.
"""

import numpy as np
import pytest
import tensorflow as tf

from official_ports.pggan_tf1 import loss as oracle_loss
from official_ports.pggan_tf1 import network as oracle_network
from tf_gans.layers import pggan as pgl
from tf_gans.models import pggan
from tf_gans.models import pggan_convert
from tf_gans.losses import pggan as loss_lib
from tf_gans.progressive import trainer as trainer_lib
from tf_gans.training import optimizers

tf1 = tf.compat.v1
# 16x16 (three resolutions, two fades): the oracle's gradient graph through its lod conds
# costs ~17 s per case here (32x32: ~30 s).
R = 16
KW = dict(resolution=R, num_channels=3, fmap_base=64, fmap_max=32)


def _setup(label_size, seed):
  kw = dict(KW, label_size=label_size)
  sess = oracle_network.new_session()
  og = oracle_network.Network('G', 'G_paper', sess, **kw, latent_size=16)
  od = oracle_network.Network('D', 'D_paper', sess, **kw, mbstd_group_size=4)
  og.randomize(seed)
  od.randomize(seed + 1)
  g = pggan.G_paper(**kw, latent_size=16)
  d = pggan.D_paper(**kw, mbstd_group_size=4)
  pggan_convert.assign_reference_weights(g, og.get_vars(), 'oracle G')
  pggan_convert.assign_reference_weights(d, od.get_vars(), 'oracle D')
  return og, od, g, d


def _grads_by_name(model, grads):
  names = {id(v): n for n, v in model.reference_variables().items()}
  return {names[id(v)]: (np.zeros(v.shape, np.float32) if g is None else g.numpy())
          for v, g in zip(model.trainable_variables, grads)}


@pytest.mark.parametrize('lod, label_size', [
    (2.0, 0), (1.4, 3), (0.6, 3),  # 4x4 alone; the fades 4 -> 8 and 8 -> 16
    pytest.param(1.0, 0, marks=pytest.mark.slow), pytest.param(0.0, 0, marks=pytest.mark.slow)])
def test_d_and_g_losses_and_gradients_match_the_full_size_reference(lod, label_size):
  og, od, g, d = _setup(label_size, seed=int(lod * 10))
  n, k = 8, int(np.floor(lod))
  res = R >> k
  rng = np.random.default_rng(1)
  reals_uint8 = rng.integers(0, 256, [n, res, res, 3]).astype(np.uint8)
  z = rng.standard_normal([n, 16]).astype(np.float32)
  labels = np.eye(max(label_size, 1), dtype=np.float32)[rng.integers(0, max(label_size, 1), n)]
  labels = labels[:, :label_size]
  alpha = rng.uniform(size=[n, 1, 1, 1]).astype(np.float32)
  for net in (og, od):
    net.set_vars({'lod': np.float32(lod)})
  g.lod.assign(lod)
  d.lod.assign(lod)

  # Ours, at working resolution.
  reals = trainer_lib.process_reals(tf.constant(reals_uint8), tf.constant(lod, tf.float32))
  g_in = [z, labels] if label_size else z
  with tf.GradientTape() as tape:
    fakes = g(g_in, resolution=res)
    d_loss, _ = loss_lib.d_wgangp_acgan(d, reals, fakes, tf.constant(labels), alpha,
                                        resolution=res, grad_scale=2.0 ** -k)
  d_grads = _grads_by_name(d, tape.gradient(d_loss, d.trainable_variables))
  with tf.GradientTape() as tape:
    g_loss, _ = loss_lib.g_wgan_acgan(d, g(g_in, resolution=res), tf.constant(labels),
                                      resolution=res)
  g_grads = _grads_by_name(g, tape.gradient(g_loss, g.trainable_variables))

  # The reference: reals processed at their resolution, then upscaled to full size.
  reals_full = pgl.upscale2d(reals, 2 ** k).numpy().transpose(0, 3, 1, 2) if k else (
      reals.numpy().transpose(0, 3, 1, 2))
  with og.session.graph.as_default():
    ph = [tf1.placeholder(tf.float32, s) for s in ([None, 3, R, R], [None, label_size],
                                                   [None, 16], [None, 1, 1, 1])]
    o_d_loss = tf.reduce_mean(oracle_loss.D_wgangp_acgan(og, od, *ph))
    o_g_loss = tf.reduce_mean(oracle_loss.G_wgan_acgan(og, od, ph[2], ph[1]))
    o_d_grads = tf.gradients(o_d_loss, list(od.trainables.values()))
    o_g_grads = tf.gradients(o_g_loss, list(og.trainables.values()))
  feed = dict(zip(ph, [reals_full, labels, z, alpha]))
  want = og.session.run([o_d_loss, o_g_loss, o_d_grads, o_g_grads], feed)

  np.testing.assert_allclose(float(d_loss), want[0], rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(float(g_loss), want[1], rtol=1e-5, atol=1e-5)
  for names, ours, theirs in ((list(od.trainables), d_grads, want[2]),
                              (list(og.trainables), g_grads, want[3])):
    for name, w in zip(names, theirs):
      w = np.zeros(ours[name].shape, np.float32) if w is None else np.asarray(w)
      scale = max(1e-3, float(np.abs(w).max()))
      assert np.abs(ours[name] - w).max() <= 1e-4 * scale, name


def test_keras_adam_is_the_reference_adam():
  # tf.train.AdamOptimizer(lr, beta1=0, beta2=0.99, epsilon=1e-8): three updates.
  rng = np.random.default_rng(0)
  grads = [rng.standard_normal([5]).astype(np.float32) for _ in range(3)]
  init = rng.standard_normal([5]).astype(np.float32)
  var = tf.Variable(init)
  opt = optimizers.build('pggan_adam', None, 'D')
  opt.learning_rate.assign(0.003)
  for gr in grads:
    opt.apply_gradients([(tf.constant(gr), var)])
  graph = tf.Graph()
  with graph.as_default(), tf1.Session() as sess:
    v1 = tf1.Variable(init)
    ph = tf1.placeholder(tf.float32, [5])
    step = tf1.train.AdamOptimizer(0.003, beta1=0.0, beta2=0.99, epsilon=1e-8).apply_gradients(
        [(ph, v1)])
    sess.run(tf1.global_variables_initializer())
    for gr in grads:
      sess.run(step, {ph: gr})
    want = sess.run(v1)
  np.testing.assert_allclose(var.numpy(), want, rtol=1e-6, atol=1e-7)


def test_penalty_gradient_is_zero_not_nan_where_the_mixed_gradient_is_zero():
  # Sample 0's score ignores its input, so its mixed gradient is exactly 0 and its
  # penalty term lambda * (0 - gamma)^2 / gamma^2 is a constant. The reference's plain
  # sqrt gives d||g_0|| / d(||g_0||^2) = inf there and inf * 0 = NaN in D's gradient; the
  # shared penalty (tf_gans.losses.penalty_from_mixed) gives that term a zero gradient.
  rng = np.random.default_rng(0)
  w = tf.Variable(rng.standard_normal([4, 4, 3]).astype(np.float32))
  mask = tf.constant([0.0, 1.0, 1.0, 1.0])

  def D(x, resolution=None):  # pylint: disable=invalid-name
    del resolution
    return (tf.reduce_sum(w * x, axis=[1, 2, 3]) * mask)[:, None], tf.zeros([4, 0])

  reals, fakes = (tf.constant(rng.standard_normal([4, 4, 4, 3]).astype(np.float32))
                  for _ in range(2))
  alpha = tf.constant(rng.uniform(size=[4, 1, 1, 1]).astype(np.float32))
  lam, gamma, scale = 10.0, 2.0, 0.5
  with tf.GradientTape() as tape:
    _, terms = loss_lib.d_wgangp_acgan(D, reals, fakes, tf.zeros([4, 0]), alpha,
                                       wgan_lambda=lam, wgan_target=gamma, grad_scale=scale)
  grad = tape.gradient(terms['gradient_penalty'], w).numpy()
  # The other samples' input gradient is w: GP = lam/gamma^2 * (gamma^2 + 3 (s||w|| - gamma)^2) / 4.
  norm = float(np.linalg.norm(w.numpy()))
  np.testing.assert_allclose(float(terms['gradient_penalty']),
                             lam / gamma ** 2 * (gamma ** 2 + 3 * (scale * norm - gamma) ** 2) / 4,
                             rtol=1e-5)
  assert np.all(np.isfinite(grad))
  want = lam / gamma ** 2 * 3 * 2 * (scale * norm - gamma) * scale * w.numpy() / norm / 4
  np.testing.assert_allclose(grad, want, rtol=1e-4, atol=1e-6)

  # The plain-sqrt norm (the reference's, and ours before the shared penalty) is NaN here.
  mixed = reals + (fakes - reals) * alpha
  with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
      inner.watch(mixed)
      total = tf.reduce_sum(D(mixed)[0])
    g = inner.gradient(total, mixed)
    plain = tf.reduce_mean(tf.square(tf.sqrt(tf.reduce_sum(tf.square(g), axis=[1, 2, 3]))
                                     * scale - gamma)) * (lam / gamma ** 2)
  assert np.isnan(outer.gradient(plain, w).numpy()).any()
