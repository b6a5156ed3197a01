"""Our GAN / RGAN / PGGAN loss terms against TF-GAN 2.1.0's losses_impl, a live oracle.

TF-GAN is loaded by tests/tfgan_oracle.py (its package __init__ needs the
tf.estimator TF 2.16 removed); the `tfgan` fixture is in tests/conftest.py.
Where TF-GAN's convention differs from the one we follow (the RGAN code, the
PGGAN reference), the test states the exact relation instead of skipping:

  ours                     TF-GAN (losses_impl)                           relation
  minimax_d_loss           minimax_discriminator_loss(label_smoothing=0)  equal
  saturating_g_loss        minimax_generator_loss(label_smoothing=0)      ours = theirs + sp(-1)
  non_saturating_g_loss    modified_generator_loss(label_smoothing=0)     equal
  lsgan_d_loss, _g_loss    least_squares_discriminator/generator_loss     ours = 2 theirs (no 1/2)
  wgan_d_loss, _g_loss     wasserstein_discriminator/generator_loss       equal
  hinge_d_loss             wasserstein_hinge_discriminator_loss           equal
  rasgan_d_loss, _g_loss   relativistic_discriminator/generator_loss      ours = theirs / 2
  gradient_penalty,        wasserstein_gradient_penalty (x weight,        equal at the same
  penalty_from_mixed       its eps 1e-10 under the sqrt)                  interpolates
  PGGAN label_xent (D, G)  acgan_discriminator/generator_loss             equal (cond_weight 1)

TF-GAN 2.1.0 has no counterpart of RSGAN (non-average), RaLSGAN, RaHinge, the
"paper" variants or PGGAN's drift term, so those are not cross-checked here
(tests/test_losses.py checks them against numpy formulas).
"""

import pathlib

import numpy as np
import pytest
import tensorflow as tf

from tf_gans.losses import gan as losses
from tf_gans.losses import penalty
from tf_gans.losses import pggan as pggan_loss

RNG = np.random.default_rng(21)
C_REAL = (1.5 * RNG.standard_normal(32) + 0.3).astype(np.float32)
C_FAKE = (2.0 * RNG.standard_normal(32) - 0.4).astype(np.float32)
SHAPES = [(32,), (32, 1)]
TOL = dict(rtol=1e-5, atol=1e-6)


def _critic_outputs(shape):
  return tf.constant(C_REAL.reshape(shape)), tf.constant(C_FAKE.reshape(shape))


def _softplus(x):
  return float(np.logaddexp(0.0, x))


@pytest.mark.parametrize('shape', SHAPES)
def test_minimax_and_nonsaturating_agree_with_tfgan(tfgan, shape):
  cr, cf = _critic_outputs(shape)
  tl = tfgan.losses
  np.testing.assert_allclose(losses.minimax_d_loss(cr, cf),
                             tl.minimax_discriminator_loss(cr, cf, label_smoothing=0.0), **TOL)
  # TF-GAN's minimax G loss is -(its D loss with real logits fixed at 1): the extra
  # -sp(-1) is a constant (no gradient), so the two give G the same updates.
  np.testing.assert_allclose(losses.saturating_g_loss(cr, cf),
                             tl.minimax_generator_loss(cf, label_smoothing=0.0) + _softplus(-1.0),
                             **TOL)
  np.testing.assert_allclose(losses.non_saturating_g_loss(cr, cf),
                             tl.modified_generator_loss(cf, label_smoothing=0.0), **TOL)


@pytest.mark.parametrize('shape', SHAPES)
def test_lsgan_wgan_hinge_agree_with_tfgan(tfgan, shape):
  cr, cf = _critic_outputs(shape)
  tl = tfgan.losses
  # The RGAN code's LSGAN has no factor 1/2; TF-GAN's (Mao et al.'s) has.
  np.testing.assert_allclose(losses.lsgan_d_loss(cr, cf),
                             2.0 * tl.least_squares_discriminator_loss(cr, cf), **TOL)
  np.testing.assert_allclose(losses.lsgan_g_loss(cr, cf),
                             2.0 * tl.least_squares_generator_loss(cf), **TOL)
  np.testing.assert_allclose(losses.wgan_d_loss(cr, cf),
                             tl.wasserstein_discriminator_loss(cr, cf), **TOL)
  np.testing.assert_allclose(losses.wgan_g_loss(cr, cf), tl.wasserstein_generator_loss(cf), **TOL)
  np.testing.assert_allclose(losses.hinge_d_loss(cr, cf),
                             tl.wasserstein_hinge_discriminator_loss(cr, cf), **TOL)


@pytest.mark.parametrize('shape', SHAPES)
def test_rasgan_agrees_with_tfgan_relativistic_average(tfgan, shape):
  """TF-GAN's relativistic_* losses are RaSGAN summed over the two terms; the RGAN code
  (`--loss_D 6`) averages them, so ours is exactly half of TF-GAN's, D and G alike."""
  cr, cf = _critic_outputs(shape)
  tl = tfgan.losses
  np.testing.assert_allclose(losses.rasgan_d_loss(cr, cf),
                             0.5 * tl.relativistic_discriminator_loss(cr, cf), **TOL)
  np.testing.assert_allclose(losses.rasgan_g_loss(cr, cf),
                             0.5 * tl.relativistic_generator_loss(cr, cf), **TOL)


def test_rasgan_gradients_agree_with_tfgan(tfgan):
  """The means m_r, m_f are not detached in either: d/dC of ours = 1/2 d/dC of TF-GAN's."""
  cr, cf = _critic_outputs((32,))
  for ours_fn, theirs_fn in ((losses.rasgan_d_loss, tfgan.losses.relativistic_discriminator_loss),
                             (losses.rasgan_g_loss, tfgan.losses.relativistic_generator_loss)):
    with tf.GradientTape(persistent=True) as tape:
      tape.watch([cr, cf])
      ours, theirs = ours_fn(cr, cf), theirs_fn(cr, cf)
    for x in (cr, cf):
      np.testing.assert_allclose(tape.gradient(ours, x), 0.5 * tape.gradient(theirs, x), **TOL)


# --- WGAN-GP: TF-GAN's wasserstein_gradient_penalty draws its own alpha inside and uses
# tf.gradients (graph mode only), so it runs in a tf.function that also returns its
# interpolates; ours is evaluated at those same points. (It also needs a named
# discriminator_scope: variable_scope(None, reuse=AUTO_REUSE) raises.)

_W = tf.constant(np.random.default_rng(22).standard_normal((8, 8, 3)).astype(np.float32) / 4)


def _critic(x, training=None):
  """A nonlinear critic whose scores also couple the samples (a batch-std term, like
  PGGAN's minibatch-stddev layer): the penalty takes the gradient of the batch sum."""
  del training
  per_sample = tf.reduce_sum(tf.tanh(x * _W), axis=[1, 2, 3])
  coupling = tf.reduce_mean(tf.math.reduce_std(x, axis=0))
  return tf.reshape(per_sample + 3.0 * coupling * tf.reduce_mean(x, axis=[1, 2, 3]), [-1, 1])


def _tfgan_penalty(tfgan, real, fake, target):
  seen = []

  def discriminator_fn(inputs, unused_conditioning):
    seen.append(inputs)
    return _critic(inputs)

  @tf.function(autograph=False)
  def run():
    seen.clear()
    penalty = tfgan.losses.wasserstein_gradient_penalty(
        real, fake, None, discriminator_fn, discriminator_scope='critic', target=target)
    return penalty, seen[0]

  tf.random.set_seed(3)
  return run()


def _images(seed):
  return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (6, 8, 8, 3)).astype(np.float32))


@pytest.mark.parametrize('target', [1.0, 3.0])
def test_gradient_penalty_agrees_with_tfgan(tfgan, target):
  """GP = lambda / target^2 * mean (||grad sum C(x_hat)||_i - target)^2 at the same x_hat;
  both the penalty at given points (`penalty_from_mixed`, PGGAN's gamma = target) and
  `gradient_penalty`'s interpolation (u real + (1 - u) fake; TF-GAN's real + alpha (fake -
  real), so u = 1 - alpha)."""
  real, fake = _images(23), _images(24)
  theirs, mixed = _tfgan_penalty(tfgan, real, fake, target)
  weight = 10.0
  ours_at_points = penalty.penalty_from_mixed(_critic, mixed, weight, target=target)
  np.testing.assert_allclose(ours_at_points, weight * theirs, rtol=1e-5)
  diff = fake - real
  alpha = (tf.reduce_sum((mixed - real) * diff, axis=[1, 2, 3], keepdims=True)
           / tf.reduce_sum(diff * diff, axis=[1, 2, 3], keepdims=True))
  assert np.all((alpha.numpy() > 0) & (alpha.numpy() < 1))
  if target == 1.0:
    ours = penalty.gradient_penalty(_critic, real, fake, 1.0 - alpha, weight)
    np.testing.assert_allclose(ours, weight * theirs, rtol=1e-4)


# --- PGGAN (D_wgangp_acgan / G_wgan_acgan) terms: the Wasserstein, gradient-penalty and
# AC-GAN label terms against TF-GAN; the drift term has no TF-GAN counterpart.

_LABEL_W = tf.constant(np.random.default_rng(25).standard_normal((8 * 8 * 3, 5)).astype(np.float32))


class _ACCritic:
  """Stands for a DPaper: (scores [N, 1], label logits [N, 5])."""

  def __call__(self, x, resolution=None):
    del resolution
    return _critic(x), tf.matmul(tf.reshape(x, [tf.shape(x)[0], -1]), _LABEL_W)


def test_pggan_terms_agree_with_tfgan(tfgan):
  real, fake = _images(26), _images(27)
  labels = tf.one_hot(np.random.default_rng(28).integers(0, 5, 6), 5)
  d = _ACCritic()
  gp, mixed = _tfgan_penalty(tfgan, real, fake, target=2.0)
  diff = fake - real   # the PGGAN reference mixes as TF-GAN does: real + (fake - real) alpha
  alpha = (tf.reduce_sum((mixed - real) * diff, axis=[1, 2, 3], keepdims=True)
           / tf.reduce_sum(diff * diff, axis=[1, 2, 3], keepdims=True))
  _, terms = pggan_loss.d_wgangp_acgan(d, real, fake, labels, alpha, wgan_lambda=10.0,
                                       wgan_target=2.0, cond_weight=1.0)
  (real_scores, real_logits), (fake_scores, fake_logits) = d(real), d(fake)
  tl = tfgan.losses
  np.testing.assert_allclose(terms['wasserstein'],
                             tl.wasserstein_discriminator_loss(real_scores, fake_scores), **TOL)
  np.testing.assert_allclose(terms['gradient_penalty'], 10.0 * gp, rtol=1e-4)
  np.testing.assert_allclose(terms['label_xent'],
                             tl.acgan_discriminator_loss(real_logits, fake_logits, labels), **TOL)
  _, g_terms = pggan_loss.g_wgan_acgan(d, fake, labels, cond_weight=1.0)
  np.testing.assert_allclose(g_terms['wasserstein'], tl.wasserstein_generator_loss(fake_scores),
                             **TOL)
  np.testing.assert_allclose(g_terms['label_xent'], tl.acgan_generator_loss(fake_logits, labels),
                             **TOL)


def test_the_library_never_imports_tfgan():
  """TF-GAN is a test-time oracle only: no module of the installed packages names it."""
  repo = pathlib.Path(__file__).resolve().parents[1]
  offenders = [str(p.relative_to(repo)) for folder in ('tf_gans', 'official_ports')
               for p in (repo / folder).rglob('*.py')
               if 'tensorflow_gan' in p.read_text(encoding='utf-8')]
  assert not offenders
