"""GAN losses as plain functions of the critic outputs, selected by name.

Every entry of `LOSSES` is a `LossPair(d_loss, g_loss)`; both are functions
`f(c_real, c_fake) -> scalar` of the discriminator's *logits* C(x_r), C(x_f)
(shape [N] or [N, 1]), returning the mean over the (local) minibatch. Taking
logits, never probabilities, keeps every log-sigmoid finite: log D = -sp(-a)
and log(1 - D) = -sp(a), with sp = softplus.

`c_real` is unused by the non-relativistic generator losses but is always
passed, so a relativistic loss (which needs real data in the generator step)
is a registry entry, not a change to the train step.
"""

import collections

import tensorflow as tf

from tf_gans.registry import Registry



class LossPair(collections.namedtuple('LossPair', ['d_loss', 'g_loss', 'g_needs_real'])):
  """(d_loss, g_loss, g_needs_real): g_needs_real asks the train step for a fresh
  real minibatch in the generator step (the relativistic losses do)."""

  def __new__(cls, d_loss, g_loss, g_needs_real=False):
    return super().__new__(cls, d_loss, g_loss, g_needs_real)

LOSSES = Registry('loss')


def _flat32(c):
  """Critic outputs as float32 [N] (losses are computed in float32)."""
  return tf.reshape(tf.cast(c, tf.float32), [-1])


def _mean_sp(a):
  return tf.reduce_mean(tf.math.softplus(a))


def minimax_d_loss(c_real, c_fake):
  """Discriminator loss of the minimax game (GAN 2014, Eq. 1, Algorithm 1).

  D ascends  E[log D(x)] + E[log(1 - D(G(z)))];  we descend its negation
      L_D = E[sp(-C(x_r))] + E[sp(C(x_f))].
  """
  return _mean_sp(-_flat32(c_real)) + _mean_sp(_flat32(c_fake))


def half_minimax_d_loss(c_real, c_fake):
  """L_D / 2: the original MNIST code's `AdversaryCost2` averages the two BCEs."""
  return 0.5 * minimax_d_loss(c_real, c_fake)


def saturating_g_loss(c_real, c_fake):
  """Generator loss of the minimax game: G descends E[log(1 - D(G(z)))] = -E[sp(C(x_f))].

  Saturates (vanishing gradient) when D confidently rejects the samples
  (GAN 2014, Section 3).
  """
  del c_real
  return -_mean_sp(_flat32(c_fake))


def non_saturating_g_loss(c_real, c_fake):
  """The heuristic of GAN 2014, Section 3: G descends -E[log D(G(z))] = E[sp(-C(x_f))]."""
  del c_real
  return _mean_sp(-_flat32(c_fake))


LOSSES.register('minimax', LossPair(minimax_d_loss, saturating_g_loss))
LOSSES.register('nonsaturating', LossPair(minimax_d_loss, non_saturating_g_loss))
# The original MNIST code (goodfeli/adversarial, AdversaryCost2): D on half the
# BCE sum, G non-saturating without the 1/2.
LOSSES.register('gan2014', LossPair(half_minimax_d_loss, non_saturating_g_loss))


def get(name):
  """Returns the `LossPair` registered under `name`."""
  return LOSSES.get(name)
