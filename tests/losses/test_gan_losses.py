import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_gans.losses import gan as losses
from tf_gans.losses import penalty


def _sp(a):  # softplus in float64, stable
  return np.logaddexp(0.0, a)


def _sigmoid(a):
  return 1.0 / (1.0 + np.exp(-a))


RNG = np.random.default_rng(0)
C_REAL = RNG.normal(size=16).astype(np.float32)
C_FAKE = RNG.normal(size=16).astype(np.float32)


def _numpy_reference(name, cr, cf):
  cr, cf = cr.astype(np.float64), cf.astype(np.float64)
  d_minimax = -np.mean(np.log(_sigmoid(cr))) - np.mean(np.log(1 - _sigmoid(cf)))
  return {
      'minimax': (d_minimax, np.mean(np.log(1 - _sigmoid(cf)))),
      'nonsaturating': (d_minimax, -np.mean(np.log(_sigmoid(cf)))),
      'gan2014': (0.5 * d_minimax, -np.mean(np.log(_sigmoid(cf)))),
  }[name]


@pytest.mark.parametrize('name', ['minimax', 'nonsaturating', 'gan2014'])
@pytest.mark.parametrize('shape', [(16,), (16, 1)])
def test_losses_match_numpy_formulas(name, shape):
  pair = losses.get(name)
  d_ref, g_ref = _numpy_reference(name, C_REAL, C_FAKE)
  cr, cf = tf.constant(C_REAL.reshape(shape)), tf.constant(C_FAKE.reshape(shape))
  np.testing.assert_allclose(pair.d_loss(cr, cf).numpy(), d_ref, rtol=1e-5)
  np.testing.assert_allclose(pair.g_loss(cr, cf).numpy(), g_ref, rtol=1e-5)
  assert not pair.g_needs_real


@pytest.mark.parametrize('name', ['minimax', 'nonsaturating', 'gan2014'])
def test_huge_logits_stay_finite_and_exact(name):
  # A naive log(sigmoid(a)) gives -inf at a = -200; from logits it is exactly -200.
  cr = tf.constant([-200.0, 200.0])
  cf = tf.constant([200.0, -200.0])
  pair = losses.get(name)
  d, g = pair.d_loss(cr, cf).numpy(), pair.g_loss(cr, cf).numpy()
  scale = 0.5 if name == 'gan2014' else 1.0
  np.testing.assert_allclose(d, scale * (100.0 + 100.0), rtol=1e-6)  # sp(200)/2 twice
  expected_g = -100.0 if name == 'minimax' else 100.0
  np.testing.assert_allclose(g, expected_g, rtol=1e-6)


def test_all_equal_logits_give_log2():
  c = tf.zeros([8])
  np.testing.assert_allclose(losses.get('minimax').d_loss(c, c).numpy(), 2 * np.log(2), rtol=1e-6)
  np.testing.assert_allclose(losses.get('gan2014').d_loss(c, c).numpy(), np.log(2), rtol=1e-6)


def test_saturating_loss_vanishes_where_nonsaturating_does_not():
  # Paper Section 3: when D rejects samples confidently (logit << 0), log(1 - D(G(z)))
  # gives G almost no gradient, -log D(G(z)) a strong one.
  cf = tf.Variable([-10.0])
  grads = {}
  for name in ('minimax', 'nonsaturating'):
    with tf.GradientTape() as tape:
      loss = losses.get(name).g_loss(None, cf)
    grads[name] = abs(float(tape.gradient(loss, cf)[0]))
  assert grads['minimax'] < 1e-4 and grads['nonsaturating'] > 0.99


ALL_NAMES = ['gan2014', 'hinge', 'lsgan', 'minimax', 'nonsaturating', 'rahinge', 'ralsgan',
             'ralsgan-paper', 'rasgan', 'rasgan-paper', 'rsgan', 'sgan', 'wgan', 'wgan-gp']


def test_unknown_loss_names_the_choices():
  assert losses.LOSSES.names() == ALL_NAMES
  with pytest.raises(KeyError, match='expected one of: ' + ', '.join(ALL_NAMES) + r'\.'):
    losses.get('wgan-typo')


# --- Relativistic GAN paper losses (reference: rgan.md, Section 1). ---
# The numpy references below are written in the reference's own form (BCE with
# labels through a sigmoid, squared errors against labels, relu hinges), in
# float64, independently of the softplus forms used by tf_gans.losses. In a
# generator loss `cr` plays C'_r, the critic on the fresh real batch.


def _bce(logits, label):
  p = _sigmoid(logits)
  return -(label * np.log(p) + (1.0 - label) * np.log(1.0 - p))


def _relu(a):
  return np.maximum(a, 0.0)


def _rgan_reference(name):
  """(L_D, L_G) as float64 numpy functions of (cr, cf)."""
  m = np.mean
  table = {
      'sgan': (lambda cr, cf: m(_bce(cr, 1)) + m(_bce(cf, 0)),
               lambda cr, cf: m(_bce(cf, 1))),
      'lsgan': (lambda cr, cf: m((cr - 1) ** 2) + m((cf - 0) ** 2),
                lambda cr, cf: m((cf - 1) ** 2)),
      'wgan': (lambda cr, cf: -m(cr) + m(cf), lambda cr, cf: -m(cf)),
      'hinge': (lambda cr, cf: m(_relu(1 - cr)) + m(_relu(1 + cf)), lambda cr, cf: -m(cf)),
      'rsgan': (lambda cr, cf: m(_bce(cr - cf, 1)), lambda cr, cf: m(_bce(cf - cr, 1))),
      'rasgan': (lambda cr, cf: (m(_bce(cr - m(cf), 1)) + m(_bce(cf - m(cr), 0))) / 2,
                 lambda cr, cf: (m(_bce(cr - m(cf), 0)) + m(_bce(cf - m(cr), 1))) / 2),
      'ralsgan': (lambda cr, cf: (m((cr - m(cf) - 1) ** 2) + m((cf - m(cr) + 1) ** 2)) / 2,
                  lambda cr, cf: (m((cr - m(cf) + 1) ** 2) + m((cf - m(cr) - 1) ** 2)) / 2),
      'rahinge': (lambda cr, cf: (m(_relu(1 - (cr - m(cf)))) + m(_relu(1 + (cf - m(cr))))) / 2,
                  lambda cr, cf: (m(_relu(1 + (cr - m(cf)))) + m(_relu(1 - (cf - m(cr))))) / 2),
      # [history] forms: the fake term compares (m_f - C_r,i) instead of (C_f,i - m_r).
      'rasgan-paper': (
          lambda cr, cf: (m(_bce(cr - m(cf), 1)) + m(_bce(m(cf) - cr, 0))) / 2,
          lambda cr, cf: (m(_bce(cr - m(cf), 0)) + m(_bce(m(cf) - cr, 1))) / 2),
      'ralsgan-paper': (  # no 1/2
          lambda cr, cf: m((cr - m(cf) - 1) ** 2) + m((m(cf) - cr + 1) ** 2),
          lambda cr, cf: m((cr - m(cf) + 1) ** 2) + m((m(cf) - cr - 1) ** 2)),
  }
  table['wgan-gp'] = table['wgan']
  return table[name]


RGAN_NAMES = ['sgan', 'lsgan', 'wgan', 'wgan-gp', 'hinge', 'rsgan', 'rasgan', 'ralsgan',
              'rahinge', 'rasgan-paper', 'ralsgan-paper']
RELATIVISTIC = ['rsgan', 'rasgan', 'ralsgan', 'rahinge', 'rasgan-paper', 'ralsgan-paper']


def _tf_losses(name, cr, cf):
  pair = losses.get(name)
  cr, cf = tf.constant(cr, tf.float32), tf.constant(cf, tf.float32)
  return pair.d_loss(cr, cf).numpy(), pair.g_loss(cr, cf).numpy()


@pytest.mark.parametrize('name', RGAN_NAMES)
@pytest.mark.parametrize('shape', [(16,), (16, 1)])
def test_rgan_losses_match_numpy_formulas(name, shape):
  d_ref, g_ref = _rgan_reference(name)
  cr, cf = C_REAL.astype(np.float64), C_FAKE.astype(np.float64)
  d, g = _tf_losses(name, C_REAL.reshape(shape), C_FAKE.reshape(shape))
  assert d.dtype == np.float32 and g.dtype == np.float32 and d.shape == () and g.shape == ()
  np.testing.assert_allclose(d, d_ref(cr, cf), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(g, g_ref(cr, cf), rtol=1e-5, atol=1e-6)


def test_sgan_is_the_nonsaturating_pair():
  assert losses.get('sgan')[:3] == losses.get('nonsaturating')[:3]


@pytest.mark.parametrize('dtype', [tf.float16, tf.bfloat16])
def test_low_precision_logits_give_float32_losses(dtype):
  for name in RGAN_NAMES:
    pair = losses.get(name)
    cr, cf = tf.constant(C_REAL, dtype), tf.constant(C_FAKE, dtype)
    assert pair.d_loss(cr, cf).dtype == tf.float32
    assert pair.g_loss(cr, cf).dtype == tf.float32


# By hand, with every logit equal to k (real and fake alike): (L_D, L_G).
LOG2 = np.log(2.0)
ALL_EQUAL_BY_HAND = {
    0.0: {'sgan': (2 * LOG2, LOG2), 'lsgan': (1.0, 1.0), 'wgan': (0.0, 0.0),
          'hinge': (2.0, 0.0)},
    # lsgan: (0.3 - 1)^2 + 0.3^2 = 0.49 + 0.09; hinge: relu(0.7) + relu(1.3) = 2.
    0.3: {'sgan': (np.log1p(np.exp(-0.3)) + np.log1p(np.exp(0.3)), np.log1p(np.exp(-0.3))),
          'lsgan': (0.58, 0.49), 'wgan': (0.0, -0.3), 'hinge': (2.0, -0.3)},
}
# Relativistic losses only see differences, so they are the same for every k:
# sp(0) = log 2; (0 - 1)^2 = (0 + 1)^2 = 1; relu(1 - 0) = 1; the paper RaLSGAN has no 1/2.
RELATIVISTIC_BY_HAND = {'rsgan': (LOG2, LOG2), 'rasgan': (LOG2, LOG2), 'ralsgan': (1.0, 1.0),
                        'rahinge': (1.0, 1.0), 'rasgan-paper': (LOG2, LOG2),
                        'ralsgan-paper': (2.0, 2.0)}


@pytest.mark.parametrize('k', [0.0, 0.3])
def test_all_equal_logits_by_hand(k):
  expected = dict(ALL_EQUAL_BY_HAND[k], **RELATIVISTIC_BY_HAND)
  expected['wgan-gp'] = expected['wgan']
  assert sorted(expected) == sorted(RGAN_NAMES)
  for name, (d_hand, g_hand) in expected.items():
    d, g = _tf_losses(name, np.full([8, 1], k), np.full([8, 1], k))
    np.testing.assert_allclose(d, d_hand, rtol=1e-6, atol=1e-7, err_msg=name)
    np.testing.assert_allclose(g, g_hand, rtol=1e-6, atol=1e-7, err_msg=name)


@pytest.mark.parametrize('name', RELATIVISTIC)
def test_relativistic_losses_ignore_a_common_shift(name):
  d0, g0 = _tf_losses(name, C_REAL, C_FAKE)
  d1, g1 = _tf_losses(name, C_REAL + 3.0, C_FAKE + 3.0)
  np.testing.assert_allclose([d1, g1], [d0, g0], rtol=1e-5, atol=1e-6)


def _lim_sp(t):  # sp(t) -> max(t, 0) as |t| -> inf (the error is log1p(e^-|t|) < e^-400)
  return max(t, 0.0)


def _huge_limit(name, s):
  """(L_D, L_G) analytically for C_r = +s and C_f = -s everywhere (s = +-a, a huge)."""
  relu = lambda t: max(t, 0.0)
  return {
      'sgan': (_lim_sp(-s) + _lim_sp(-s), _lim_sp(s)),  # sp(-C_r) + sp(C_f); sp(-C_f)
      'lsgan': ((s - 1) ** 2 + s ** 2, (s + 1) ** 2),
      'wgan': (-2 * s, s),
      'hinge': (2 * relu(1 - s), s),
      'rsgan': (_lim_sp(-2 * s), _lim_sp(2 * s)),
      'rasgan': (_lim_sp(-2 * s), _lim_sp(2 * s)),
      'ralsgan': ((2 * s - 1) ** 2, (2 * s + 1) ** 2),
      'rahinge': (relu(1 - 2 * s), relu(1 + 2 * s)),
      'rasgan-paper': (_lim_sp(-2 * s), _lim_sp(2 * s)),
      'ralsgan-paper': (2 * (2 * s - 1) ** 2, 2 * (2 * s + 1) ** 2),
      'wgan-gp': (-2 * s, s),
  }[name]


@pytest.mark.parametrize('name', RGAN_NAMES)
@pytest.mark.parametrize('s', [200.0, -200.0, 1e4, -1e4])
def test_huge_logits_are_finite_and_equal_the_limit(name, s):
  # s > 0: D is confidently right; s < 0: confidently wrong.
  d, g = _tf_losses(name, np.full([4, 1], s), np.full([4, 1], -s))
  assert np.isfinite(d) and np.isfinite(g)
  d_lim, g_lim = _huge_limit(name, s)
  np.testing.assert_allclose(d, d_lim, rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(g, g_lim, rtol=1e-6, atol=1e-6)


def test_naive_log_sigmoid_overflows_where_the_losses_do_not():
  with np.errstate(over='ignore', divide='ignore'):
    naive = np.log(np.float32(1.0) / (np.float32(1.0) + np.exp(np.float32(200.0))))
  assert np.isneginf(naive)  # so the test above does exercise the stable form


def _numeric_grad(f, x, eps=1e-6):
  grad = np.zeros_like(x)
  for i in range(x.size):
    step = np.zeros_like(x)
    step.flat[i] = eps
    grad.flat[i] = (f(x + step) - f(x - step)) / (2 * eps)
  return grad


GRAD_REAL = np.array([0.3, -1.2, 0.8, 2.1, -0.4, 0.05])
GRAD_FAKE = np.array([-0.7, 0.2, 1.5, -2.2, 0.6, -0.15])


@pytest.mark.parametrize('name', RGAN_NAMES)
def test_gradients_match_finite_differences(name):
  # Far from every hinge kink, so central differences are exact enough.
  refs = _rgan_reference(name)
  cr_v = tf.Variable(GRAD_REAL.astype(np.float32))
  cf_v = tf.Variable(GRAD_FAKE.astype(np.float32))
  pair = losses.get(name)
  for loss_fn, ref in zip((pair.d_loss, pair.g_loss), refs):
    with tf.GradientTape() as tape:
      loss = loss_fn(cr_v, cf_v)
    got_r, got_f = tape.gradient(loss, [cr_v, cf_v], unconnected_gradients='zero')
    want_r = _numeric_grad(lambda x: ref(x, GRAD_FAKE), GRAD_REAL)
    want_f = _numeric_grad(lambda x: ref(GRAD_REAL, x), GRAD_FAKE)
    np.testing.assert_allclose(got_r.numpy(), want_r, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got_f.numpy(), want_f, rtol=1e-4, atol=1e-6)


def test_rasgan_gradient_flows_through_the_minibatch_means():
  # L_D = 1/2 [mean_i sp(m_f - C_r,i) + mean_j sp(C_f,j - m_r)], so
  # dL_D/dC_f,k = 1/2 [ (1/B^2) sum_i s(m_f - C_r,i) + (1/B) s(C_f,k - m_r) ];
  # a detached m_f drops the first term.
  cr, cf = GRAD_REAL, GRAD_FAKE
  b = len(cf)
  mean_term = np.sum(_sigmoid(cf.mean() - cr)) / b ** 2
  direct_term = _sigmoid(cf - cr.mean()) / b
  expected = 0.5 * (mean_term + direct_term)
  detached = 0.5 * direct_term
  cf_v = tf.Variable(cf.astype(np.float32))
  with tf.GradientTape() as tape:
    loss = losses.get('rasgan').d_loss(tf.constant(cr, tf.float32), cf_v)
  got = tape.gradient(loss, cf_v).numpy()
  np.testing.assert_allclose(got, expected, rtol=1e-5)
  assert np.min(np.abs(got - detached)) > 1e-2  # a detached-mean version would fail above


def test_paper_ralsgan_reaches_the_fakes_only_through_their_mean():
  # L_D = 2 mean_i (C_r,i - m_f - 1)^2  =>  dL_D/dC_f,j = -(4/B)(m_r - m_f - 1) for every j.
  cr, cf = GRAD_REAL, GRAD_FAKE
  b = len(cf)
  cf_v = tf.Variable(cf.astype(np.float32))
  with tf.GradientTape() as tape:
    loss = losses.get('ralsgan-paper').d_loss(tf.constant(cr, tf.float32), cf_v)
  expected = np.full(b, -(4.0 / b) * (cr.mean() - cf.mean() - 1.0))
  np.testing.assert_allclose(tape.gradient(loss, cf_v).numpy(), expected, rtol=1e-5)


def test_flags_and_default_penalties():
  needs_real = {name: losses.get(name).g_needs_real for name in losses.LOSSES.names()}
  assert {name for name, v in needs_real.items() if v} == set(RELATIVISTIC)
  # Which real batch the G step sees: c6cbdc9 `GAN_losses_iter.py` ~line 665 draws one only
  # for codes 10, 12, 14 (and the current code for 5-8); code 15 (~line 695) runs the updated
  # D on the last D step's batch.
  batches = {name: losses.get(name).g_real_batch for name in losses.LOSSES.names()}
  assert batches == {name: ('last_d_batch' if name == 'ralsgan-paper' else 'fresh')
                           if name in RELATIVISTIC else None for name in batches}
  assert {n for n in batches if losses.get(n).g_draws_real} == set(RELATIVISTIC) - {'ralsgan-paper'}
  penalties = {name: losses.get(name).default_gradient_penalty for name in losses.LOSSES.names()}
  assert penalties.pop('wgan-gp') == 10.0
  assert set(penalties.values()) == {0.0}
  wgan, wgan_gp = losses.get('wgan'), losses.get('wgan-gp')
  assert wgan_gp.d_loss is wgan.d_loss and wgan_gp.g_loss is wgan.g_loss


def test_loss_pair_keeps_the_three_argument_constructor():
  pair = losses.LossPair(losses.minimax_d_loss, losses.saturating_g_loss, True)
  assert pair.g_needs_real and pair.default_gradient_penalty == 0.0
  assert losses.LossPair(None, None).g_needs_real is False
  assert losses.LossPair._fields == ('d_loss', 'g_loss', 'g_needs_real',
                                     'default_gradient_penalty', 'g_real_batch')
  assert losses.LossPair(None, None, default_gradient_penalty=5).default_gradient_penalty == 5.0
  # g_needs_real alone means a fresh batch; the other batch must be asked for, and only
  # by a G loss that looks at real data.
  assert pair.g_real_batch == 'fresh' and pair.g_draws_real
  assert losses.LossPair(None, None).g_real_batch is None
  last = losses.LossPair(None, None, True, g_real_batch='last_d_batch')
  assert last.g_needs_real and not last.g_draws_real
  with pytest.raises(ValueError, match='g_real_batch must be one of'):
    losses.LossPair(None, None, True, g_real_batch='next')
  with pytest.raises(ValueError, match='needs g_needs_real=True'):
    losses.LossPair(None, None, g_real_batch='fresh')


# --- WGAN-GP gradient penalty (reference: rgan.md, Section 2). ---

SHAPE = (3, 2, 2, 2)
GP_RNG = np.random.default_rng(1)
X_REAL = GP_RNG.normal(size=SHAPE).astype(np.float32)
X_FAKE = GP_RNG.normal(size=SHAPE).astype(np.float32)
U = np.array([0.1, 0.5, 0.85], np.float32).reshape(3, 1, 1, 1)


class _LinearCritic:
  """C(x) = sum(w * x) + b per sample; records the `training` argument."""

  def __init__(self, w):
    self.w = tf.Variable(w, dtype=tf.float32)
    self.b = tf.Variable(0.7)
    self.training = []

  def __call__(self, x, training=False):
    self.training.append(training)
    return tf.reduce_sum(self.w * x, axis=[1, 2, 3])[:, None] + self.b


W = GP_RNG.normal(size=SHAPE[1:]).astype(np.float64)


@pytest.mark.parametrize('u', [U, np.zeros_like(U), np.ones_like(U)])
def test_penalty_of_a_linear_critic_and_its_double_backprop(u):
  critic = _LinearCritic(W)
  weight = 10.0
  norm = np.linalg.norm(W)
  with tf.GradientTape() as outer:
    gp = penalty.gradient_penalty(critic, X_REAL, X_FAKE, u, weight)
  assert gp.dtype == tf.float32 and gp.shape == ()
  np.testing.assert_allclose(gp.numpy(), weight * (norm - 1.0) ** 2, rtol=1e-5)
  grad_w, grad_b = outer.gradient(gp, [critic.w, critic.b], unconnected_gradients='zero')
  np.testing.assert_allclose(grad_w.numpy(), 2 * weight * (norm - 1.0) * W / norm, rtol=1e-5)
  assert grad_b.numpy() == 0.0
  assert critic.training == [True]


def test_penalty_double_backprop_inside_tf_function():
  critic = _LinearCritic(W)

  @tf.function
  def penalty_and_grad():
    with tf.GradientTape() as outer:
      gp = penalty.gradient_penalty(critic, X_REAL, X_FAKE, U, 2.0)
    return gp, outer.gradient(gp, critic.w)

  gp, grad_w = penalty_and_grad()
  norm = np.linalg.norm(W)
  np.testing.assert_allclose(gp.numpy(), 2.0 * (norm - 1.0) ** 2, rtol=1e-5)
  np.testing.assert_allclose(grad_w.numpy(), 4.0 * (norm - 1.0) * W / norm, rtol=1e-5)


def _square_critic(x, training=False):
  del training
  return tf.reduce_sum(tf.square(x), axis=[1, 2, 3])  # grad = 2 x_hat


def _square_critic_penalty_numpy(real, fake, u, weight):
  x_hat = u * real.astype(np.float64) + (1 - u) * fake.astype(np.float64)
  norms = np.sqrt(np.sum((2 * x_hat).reshape(len(x_hat), -1) ** 2, axis=1))
  return weight * np.mean((norms - 1.0) ** 2)


def test_penalty_of_a_nonlinear_critic_gives_u_to_the_real_batch():
  u = U.astype(np.float64)
  gp = penalty.gradient_penalty(_square_critic, X_REAL, X_FAKE, U, 10.0).numpy()
  np.testing.assert_allclose(gp, _square_critic_penalty_numpy(X_REAL, X_FAKE, u, 10.0),
                             rtol=1e-5)
  swapped = penalty.gradient_penalty(_square_critic, X_FAKE, X_REAL, U, 10.0).numpy()
  np.testing.assert_allclose(swapped, _square_critic_penalty_numpy(X_FAKE, X_REAL, u, 10.0),
                             rtol=1e-5)
  # Same as giving the real batch 1 - u; and it differs from the unswapped value.
  np.testing.assert_allclose(
      swapped, _square_critic_penalty_numpy(X_REAL, X_FAKE, 1 - u, 10.0), rtol=1e-5)
  assert abs(swapped - gp) > 1e-2 * gp


def test_penalty_with_bfloat16_inputs_is_float32():
  gp32 = penalty.gradient_penalty(_square_critic, X_REAL, X_FAKE, U, 10.0)
  gp16 = penalty.gradient_penalty(_square_critic, tf.constant(X_REAL, tf.bfloat16),
                                 tf.constant(X_FAKE, tf.bfloat16), tf.constant(U, tf.bfloat16),
                                 10.0)
  assert gp16.dtype == tf.float32
  np.testing.assert_allclose(gp16.numpy(), gp32.numpy(), rtol=3e-2)


def test_penalty_with_a_mixed_precision_keras_critic():
  kernel = (3.0 * W / np.linalg.norm(W)).reshape(-1, 1)  # ||w|| = 3: GP = weight * 4
  dense = keras.layers.Dense(1, dtype='mixed_bfloat16')
  critic = lambda x, training=False: dense(tf.reshape(x, [tf.shape(x)[0], -1]))
  critic(tf.constant(X_REAL))
  dense.kernel.assign(kernel.astype(np.float32))
  with tf.GradientTape() as outer:
    gp = penalty.gradient_penalty(critic, tf.constant(X_REAL, tf.bfloat16),
                                 tf.constant(X_FAKE, tf.bfloat16), U, 10.0)
  assert gp.dtype == tf.float32
  np.testing.assert_allclose(gp.numpy(), 40.0, rtol=2e-2)
  grad = outer.gradient(gp, dense.kernel)
  assert grad is not None and np.all(np.isfinite(grad.numpy()))
  np.testing.assert_allclose(grad.numpy(), 2 * 10.0 * 2.0 * kernel / 3.0, rtol=3e-2, atol=1e-2)


def test_penalty_of_a_flat_critic_has_a_zero_not_nan_gradient():
  # A dead-relu critic: g = 0 everywhere, so GP = weight * (0 - 1)^2 and (like torch's
  # norm backward at 0) the gradient is 0, not the NaN of d sqrt(s)/ds at s = 0.
  w = tf.Variable(np.ones(SHAPE[1:], np.float32))
  critic = lambda x, training=False: tf.reduce_sum(tf.nn.relu(w * x - 100.0), axis=[1, 2, 3])
  with tf.GradientTape() as outer:
    gp = penalty.gradient_penalty(critic, X_REAL, X_FAKE, U, 10.0)
  np.testing.assert_allclose(gp.numpy(), 10.0)
  grad = outer.gradient(gp, w, unconnected_gradients='zero').numpy()
  assert np.all(grad == 0.0)


def test_sample_interpolation_weights():
  u = penalty.sample_interpolation_weights(1000, tf.constant([3, 4], tf.int64))
  assert u.shape == (1000, 1, 1, 1) and u.dtype == tf.float32
  u = u.numpy()
  assert u.min() >= 0.0 and u.max() < 1.0 and 0.45 < u.mean() < 0.55
  np.testing.assert_array_equal(
      u, penalty.sample_interpolation_weights(1000, tf.constant([3, 4], tf.int64)).numpy())
  other = penalty.sample_interpolation_weights(1000, tf.constant([3, 5], tf.int64)).numpy()
  assert not np.array_equal(u, other)
  np.testing.assert_array_equal(penalty.sample_interpolation_weights(5, 7).numpy(),
                                penalty.sample_interpolation_weights(5, (7, 0)).numpy())


def test_pac_penalty_of_a_packing_linear_critic():
  # A critic on packed pairs (GAN_losses_iter_PAC.py: pair i = images i and B + i on the
  # channel axis), C(pair) = sum(w * pair): g = w for every pair, so ||g|| is the norm of w
  # over 2C x H x W (not of half of it) and GP = weight (||w|| - 1)^2 whatever u.
  b = 3
  rng = np.random.default_rng(5)
  real, fake = (rng.normal(size=(2 * b, 2, 2, 1)).astype(np.float32) for _ in range(2))
  w = rng.normal(size=(2, 2, 2))
  critic = lambda x, training=False: tf.reduce_sum(
      w * tf.concat([x[:b], x[b:]], axis=-1), axis=[1, 2, 3])
  u = np.array([0.2, 0.6, 0.9], np.float32).reshape(b, 1, 1, 1)   # one per pair
  gp = penalty.gradient_penalty(critic, real, fake, u, 10.0, pac=2).numpy()
  np.testing.assert_allclose(gp, 10.0 * (np.linalg.norm(w) - 1.0) ** 2, rtol=1e-5)
  # Pair i's u mixes both of its images: C(x_hat) = u C(real) + (1 - u) C(fake) pair by pair.
  seen = []
  def recording(x, training=False):
    seen.append(x)
    return critic(x)
  penalty.gradient_penalty(recording, real, fake, u, 1.0, pac=2)
  u_img = np.concatenate([u, u]).astype(np.float64)
  np.testing.assert_allclose(seen[0].numpy(), u_img * real + (1 - u_img) * fake, rtol=1e-5,
                             atol=1e-6)
