"""GAN losses as plain functions of the critic outputs, selected by name.

Every entry of `LOSSES` is a `LossPair(d_loss, g_loss, g_needs_real,
default_gradient_penalty, g_real_batch)`; `d_loss` and `g_loss` are functions
`f(c_real, c_fake) -> scalar` of the discriminator's *logits* C(x_r), C(x_f)
(shape [N] or [N, 1]), returning the mean over the (local) minibatch. Taking
logits, never probabilities, keeps every log-sigmoid finite: log D = -sp(-a)
and log(1 - D) = -sp(a), with sp = softplus.

`c_real` is unused by the non-relativistic generator losses but is always
passed, so a relativistic loss (which needs real data in the generator step)
is a registry entry, not a change to the train step.

The losses of the Relativistic GAN paper (Jolicoeur-Martineau, ICLR 2019,
arXiv 1807.00734) are computed as the official code (AlexiaJM/RelativisticGAN,
`GAN_losses_iter.py`, `--loss_D` 1..8) computes them. Notation: C_r,i and
C_f,i are the logits of the i-th real and fake sample, m_r = mean_i C_r,i and
m_f = mean_i C_f,i are minibatch means that are *not* detached (gradients flow
through them), and "mean" is the mean over the minibatch. In a generator loss
C_r stands for C'_r, the critic on a real minibatch in the generator step
(`g_needs_real=True`): a fresh one for codes 5-8 (`g_real_batch='fresh'`),
the last D step's one for the paper-era RaLSGAN (`'last_d_batch'`, see
`ralsgan_paper_g_loss`); it gives the generator no gradient, so the
real-centred terms reach G only through m_f.

`gradient_penalty` is the two-sided WGAN-GP penalty (Gulrajani et al. 2017)
as the same code applies it; `LossPair.default_gradient_penalty` is the
weight lambda a loss uses unless the user sets one (10 for `wgan-gp`).
"""

import collections

import tensorflow as tf

from tf_gans.registry import Registry


# Which real minibatch a generator step that needs real logits evaluates D on.
FRESH = 'fresh'                # a new one, drawn for the G step (codes 5-8, 10, 12, 14)
LAST_D_BATCH = 'last_d_batch'  # the last D step's, under the updated D (code 15)
G_REAL_BATCHES = (FRESH, LAST_D_BATCH)


class LossPair(
    collections.namedtuple(
        'LossPair',
        ['d_loss', 'g_loss', 'g_needs_real', 'default_gradient_penalty', 'g_real_batch'])):
  """(d_loss, g_loss, g_needs_real, default_gradient_penalty, g_real_batch).

  g_needs_real: the generator loss looks at the critic on real data (the
  relativistic losses do); the train step then evaluates the current D, inside
  the G step, on the real minibatch `g_real_batch` names: `FRESH` ('fresh', the
  default: a new minibatch drawn for the G step, which costs the data pipeline
  one more minibatch an iteration) or `LAST_D_BATCH` ('last_d_batch': the real
  minibatch of the iteration's last D step, evaluated again by the updated D).
  Without g_needs_real, g_real_batch is None. default_gradient_penalty is the
  WGAN-GP weight lambda used unless the user sets one (0.0: no penalty).
  """

  def __new__(cls, d_loss, g_loss, g_needs_real=False, default_gradient_penalty=0.0,
              g_real_batch=None):
    g_needs_real = bool(g_needs_real)
    if g_needs_real:
      g_real_batch = FRESH if g_real_batch is None else g_real_batch
      if g_real_batch not in G_REAL_BATCHES:
        raise ValueError(f'g_real_batch must be one of {G_REAL_BATCHES}, got {g_real_batch!r}.')
    elif g_real_batch is not None:
      raise ValueError(f'g_real_batch={g_real_batch!r} needs g_needs_real=True (a generator '
                       f'loss that looks at real data).')
    return super().__new__(cls, d_loss, g_loss, g_needs_real, float(default_gradient_penalty),
                           g_real_batch)

  @property
  def g_draws_real(self):
    """Whether the generator step draws a real minibatch of its own."""
    return self.g_real_batch == FRESH


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


# --- Relativistic GAN paper (Jolicoeur-Martineau 2019), `--loss_D` codes 1-8. ---
# Code 1 (SGAN) is `nonsaturating`: the official code puts a sigmoid at the
# end of D and uses BCELoss, which clamps each log at -100; from logits the
# function is the same except in that saturation.


def _mean_sq(a):
  return tf.reduce_mean(tf.square(a))


def _mean_relu(a):
  return tf.reduce_mean(tf.nn.relu(a))


def lsgan_d_loss(c_real, c_fake):
  """LSGAN (Mao et al. 2017) with labels a = 0, b = 1 (RGAN code 2).

      L_D = mean (C_r - 1)^2 + mean C_f^2      (no factor 1/2)
  """
  return _mean_sq(_flat32(c_real) - 1.0) + _mean_sq(_flat32(c_fake))


def lsgan_g_loss(c_real, c_fake):
  """LSGAN with c = 1 (RGAN code 2):  L_G = mean (C_f - 1)^2."""
  del c_real
  return _mean_sq(_flat32(c_fake) - 1.0)


def wgan_d_loss(c_real, c_fake):
  """WGAN critic loss (RGAN code 3, without its gradient penalty).

      L_D = -m_r + m_f
  """
  return tf.reduce_mean(_flat32(c_fake)) - tf.reduce_mean(_flat32(c_real))


def wgan_g_loss(c_real, c_fake):
  """WGAN generator loss (RGAN codes 3 and 4):  L_G = -m_f."""
  del c_real
  return -tf.reduce_mean(_flat32(c_fake))


def hinge_d_loss(c_real, c_fake):
  """HingeGAN discriminator loss (RGAN code 4).

      L_D = mean relu(1 - C_r) + mean relu(1 + C_f)
  The generator loss is `wgan_g_loss` (-m_f).
  """
  return _mean_relu(1.0 - _flat32(c_real)) + _mean_relu(1.0 + _flat32(c_fake))


def rsgan_d_loss(c_real, c_fake):
  """Relativistic standard GAN, discriminator (RGAN code 5).

      L_D = mean_i sp(-(C_r,i - C_f,i))
  The i-th real sample is paired with the i-th fake one (no shuffling), so
  both batches must have the same size.
  """
  return _mean_sp(_flat32(c_fake) - _flat32(c_real))


def rsgan_g_loss(c_real, c_fake):
  """Relativistic standard GAN, generator (RGAN code 5; C_r on a fresh batch).

      L_G = mean_i sp(-(C_f,i - C'_r,i))
  """
  return _mean_sp(_flat32(c_real) - _flat32(c_fake))


# The all-reduced minibatch mean lives with the other replica helpers; the name stays here.
def global_batch_mean(c):
  """The mean of `c` over the global minibatch.

  Outside `tf.distribute` (or with one replica) a plain mean. Under a strategy
  each replica holds a slice of the minibatch; the relativistic average is
  over the whole minibatch (RGAN eq. 6-8 with the paper's minibatch), so the
  sum and the count are all-reduced across replicas. All-reduce is
  differentiable (its gradient is the all-reduced upstream gradient), so
  every sample's gradient through m is the one-device gradient.
  """
  ctx = tf.distribute.get_replica_context()
  if ctx is None or ctx.num_replicas_in_sync == 1:
    return tf.reduce_mean(c)
  local = tf.stack([tf.reduce_sum(c), tf.cast(tf.size(c), c.dtype)])
  total = ctx.all_reduce(tf.distribute.ReduceOp.SUM, local)
  return total[0] / total[1]


def _relative_to_means(c_real, c_fake):
  """(C_r - m_f, C_f - m_r) with the means (over the global minibatch) not detached."""
  c_real, c_fake = _flat32(c_real), _flat32(c_fake)
  return (c_real - global_batch_mean(c_fake), c_fake - global_batch_mean(c_real))


def rasgan_d_loss(c_real, c_fake):
  """Relativistic average standard GAN, discriminator (RGAN code 6).

      L_D = 1/2 [mean_i sp(-(C_r,i - m_f)) + mean_i sp(C_f,i - m_r)]
  """
  real_rel, fake_rel = _relative_to_means(c_real, c_fake)
  return 0.5 * (_mean_sp(-real_rel) + _mean_sp(fake_rel))


def rasgan_g_loss(c_real, c_fake):
  """Relativistic average standard GAN, generator (RGAN code 6).

      L_G = 1/2 [mean_i sp(C'_r,i - m_f) + mean_i sp(-(C_f,i - m'_r))]
  """
  real_rel, fake_rel = _relative_to_means(c_real, c_fake)
  return 0.5 * (_mean_sp(real_rel) + _mean_sp(-fake_rel))


def ralsgan_d_loss(c_real, c_fake):
  """Relativistic average LSGAN, discriminator (RGAN code 7).

      L_D = 1/2 [mean_i (C_r,i - m_f - 1)^2 + mean_i (C_f,i - m_r + 1)^2]
  """
  real_rel, fake_rel = _relative_to_means(c_real, c_fake)
  return 0.5 * (_mean_sq(real_rel - 1.0) + _mean_sq(fake_rel + 1.0))


def ralsgan_g_loss(c_real, c_fake):
  """Relativistic average LSGAN, generator (RGAN code 7).

      L_G = 1/2 [mean_i (C'_r,i - m_f + 1)^2 + mean_i (C_f,i - m'_r - 1)^2]
  """
  real_rel, fake_rel = _relative_to_means(c_real, c_fake)
  return 0.5 * (_mean_sq(real_rel + 1.0) + _mean_sq(fake_rel - 1.0))


def rahinge_d_loss(c_real, c_fake):
  """Relativistic average HingeGAN, discriminator (RGAN code 8).

      L_D = 1/2 [mean_i relu(1 - (C_r,i - m_f)) + mean_i relu(1 + (C_f,i - m_r))]
  """
  real_rel, fake_rel = _relative_to_means(c_real, c_fake)
  return 0.5 * (_mean_relu(1.0 - real_rel) + _mean_relu(1.0 + fake_rel))


def rahinge_g_loss(c_real, c_fake):
  """Relativistic average HingeGAN, generator (RGAN code 8).

      L_G = 1/2 [mean_i relu(1 + (C'_r,i - m_f)) + mean_i relu(1 - (C_f,i - m'_r))]
  """
  real_rel, fake_rel = _relative_to_means(c_real, c_fake)
  return 0.5 * (_mean_relu(1.0 + real_rel) + _mean_relu(1.0 - fake_rel))


# The first version of the official code (c6cbdc9, codes 12 and 15), labelled
# "incorrect used in paper" by a later commit: its fake term compares
# (m_f - C_r,i) where the corrected one compares (C_f,i - m_r), so both terms
# are the same comparison and the individual fakes enter only through m_f.


def rasgan_paper_d_loss(c_real, c_fake):
  """RaSGAN as first released (code 12):  L_D = mean_i sp(m_f - C_r,i).

  That is 1/2 [mean sp(-(C_r,i - m_f)) + mean sp(m_f - C_r,i)]: the two
  halves coincide.
  """
  real_rel, _ = _relative_to_means(c_real, c_fake)
  return _mean_sp(-real_rel)


def rasgan_paper_g_loss(c_real, c_fake):
  """RaSGAN as first released (code 12):  L_G = mean_i sp(C'_r,i - m_f).

  Code 12 drew a fresh real minibatch for the generator step (c6cbdc9
  `code/GAN_losses_iter.py`, ~line 665: codes 10, 12, 14), as we do
  (g_real_batch='fresh').
  """
  real_rel, _ = _relative_to_means(c_real, c_fake)
  return _mean_sp(real_rel)


def ralsgan_paper_d_loss(c_real, c_fake):
  """RaLSGAN as first released (code 15), without the factor 1/2.

      L_D = mean (C_r,i - m_f - 1)^2 + mean (m_f - C_r,i + 1)^2
          = 2 mean_i (C_r,i - m_f - 1)^2
  """
  real_rel, _ = _relative_to_means(c_real, c_fake)
  return 2.0 * _mean_sq(real_rel - 1.0)


def ralsgan_paper_g_loss(c_real, c_fake):
  """RaLSGAN as first released (code 15), without the factor 1/2.

      L_G = mean (C_r,i - m_f + 1)^2 + mean (m_f - C_r,i - 1)^2
          = 2 mean_i (C_r,i - m_f + 1)^2

  C_r here is the critic on the real minibatch of the iteration's last D
  step, evaluated again by the D that step just updated: code 15 draws no real
  minibatch in its G step (in c6cbdc9 `code/GAN_losses_iter.py` only codes
  10, 12 and 14 call `random_sample.__next__()` there, ~line 665) and runs
  `y_pred = D(x)` (~line 695), where `x` still holds the last D step's batch
  and D's parameters have had `optimizerD.step()`. The pair is registered with
  g_real_batch='last_d_batch', so the train step does the same: one fewer real
  minibatch an iteration than the fresh-batch losses, and C_r from the updated
  D inside the G step. The real logits give G no gradient; G's gradient
  depends on them only through m_r, dL_G/dC_f,j = -(4/B)(m_r - m_f + 1), and
  this m_r is that of a batch D has just been trained on.
  """
  real_rel, _ = _relative_to_means(c_real, c_fake)
  return 2.0 * _mean_sq(real_rel + 1.0)


LOSSES.register('sgan', LossPair(minimax_d_loss, non_saturating_g_loss))
LOSSES.register('lsgan', LossPair(lsgan_d_loss, lsgan_g_loss))
LOSSES.register('wgan', LossPair(wgan_d_loss, wgan_g_loss))
LOSSES.register('wgan-gp', LossPair(wgan_d_loss, wgan_g_loss, default_gradient_penalty=10.0))
LOSSES.register('hinge', LossPair(hinge_d_loss, wgan_g_loss))
LOSSES.register('rsgan', LossPair(rsgan_d_loss, rsgan_g_loss, g_needs_real=True))
LOSSES.register('rasgan', LossPair(rasgan_d_loss, rasgan_g_loss, g_needs_real=True))
LOSSES.register('ralsgan', LossPair(ralsgan_d_loss, ralsgan_g_loss, g_needs_real=True))
LOSSES.register('rahinge', LossPair(rahinge_d_loss, rahinge_g_loss, g_needs_real=True))
LOSSES.register('rasgan-paper',
                LossPair(rasgan_paper_d_loss, rasgan_paper_g_loss, g_needs_real=True))
LOSSES.register('ralsgan-paper',
                LossPair(ralsgan_paper_d_loss, ralsgan_paper_g_loss, g_needs_real=True,
                         g_real_batch=LAST_D_BATCH))


def get(name):
  """Returns the `LossPair` registered under `name`."""
  return LOSSES.get(name)
