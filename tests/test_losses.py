import numpy as np
import pytest
import tensorflow as tf

from tf_gans import losses


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


def test_unknown_loss_names_the_choices():
  with pytest.raises(KeyError, match='expected one of: gan2014, minimax, nonsaturating'):
    losses.get('wgan-typo')
