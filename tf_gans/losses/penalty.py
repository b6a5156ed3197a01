"""Gradient penalties: the WGAN-GP penalty every model uses (compare_gan's `penalty_lib`).

`penalty_from_mixed` is the one penalty of both training stacks (GAN / RGAN
through `gradient_penalty`, PGGAN through `tf_gans.losses.pggan`).
"""

import tensorflow as tf


# --- WGAN-GP gradient penalty (Gulrajani et al. 2017; RGAN code, Section 2). ---


def sample_interpolation_weights(n, seed):
  """u ~ U[0, 1), one value per sample, shape [n, 1, 1, 1], float32.

  Args:
    n: number of samples.
    seed: a shape-[2] integer seed for `tf.random.stateless_uniform` (same
      seed, same u), or a Python int, used as (seed, 0).
  """
  if isinstance(seed, int):
    seed = (seed, 0)
  return tf.random.stateless_uniform([n, 1, 1, 1], seed=seed, minval=0.0, maxval=1.0,
                                     dtype=tf.float32)


def _l2_norm_per_sample(g, pac=1):
  """||g_i||_2 over all non-batch axes, with no epsilon.

  With `pac` > 1 the rows of g are the images of packed samples as
  `tf_gans.models.dcgan.PackSamples` packs them (row j belongs to packed
  sample j mod N/pac) and the norm is over each packed sample: sample i's is
  the L2 norm over rows i, N/pac + i, ..., i.e. over its pac*C x H x W
  input (packing only moves entries, so this is the norm of the gradient
  with respect to the packed input).

  Where g_i = 0 exactly, the value is 0 and the gradient is 0 (as torch's
  norm backward gives), not the NaN of d sqrt(s)/ds at s = 0.
  """
  squares = tf.reduce_sum(tf.square(tf.reshape(g, [tf.shape(g)[0], -1])), axis=1)
  if pac > 1:
    squares = tf.reduce_sum(tf.reshape(squares, [pac, -1]), axis=0)
  positive = tf.not_equal(squares, 0.0)  # a NaN gradient stays NaN (not a norm of 0)
  safe = tf.where(positive, squares, tf.ones_like(squares))
  return tf.where(positive, tf.sqrt(safe), tf.zeros_like(squares))


def penalty_from_mixed(critic_fn, mixed, weight, target=1.0, norm_scale=1.0, loss_scale=None,
                       pac=1):
  """The gradient penalty at given mixed (interpolated) inputs; float32 scalar.

      g_i = d(sum_j C(mixed_j)) / d mixed_i
      GP  = weight / target^2 * mean_i (||g_i||_2 * norm_scale - target)^2

  The one penalty of both training stacks: WGAN-GP (Gulrajani et al. 2017,
  Eq. 3; target 1) as the RGAN code applies it (`code/GAN_losses_iter.py`,
  the D iteration's `--grad_penalty` branch), and PGGAN's (paper Section
  A.1; the original `loss.py` `D_wgangp_acgan`: `mixed_loss =
  opt.apply_loss_scaling(tf.reduce_sum(mixed_scores_out))`, `mixed_grads =
  opt.undo_loss_scaling(...)`, `gradient_penalty * (wgan_lambda /
  (wgan_target**2))`), whose target gamma is `wgan_target` and whose norm is
  rescaled for a D evaluated at working resolution (`norm_scale`, see
  `tf_gans.losses.pggan`). The gradient is of the *batch sum* of the
  scores: a critic that couples samples (PGGAN's minibatch-stddev layer)
  gives each sample the gradient the original code gives it.

  g comes from a nested `tf.GradientTape`, so a tape recording around this
  call (the D step's) differentiates GP with respect to the critic's weights
  (double backprop). The norm is the flat L2 norm over all non-batch axes,
  with no epsilon; where g_i = 0 exactly its gradient is 0, not the NaN of
  d sqrt(s)/ds at s = 0 (`_l2_norm_per_sample`).

  Loss scaling: with a `loss_scale` (float16 training), g is taken of
  sum_j C(mixed_j) * loss_scale and divided by it, as the PGGAN reference's
  `apply_loss_scaling` / `undo_loss_scaling` do, else small input gradients
  flush to zero in float16 and so does the penalty's gradient.

  Args:
    critic_fn: `critic_fn(x) -> [N] or [N, 1]` scores (any float dtype).
    mixed: float32 [N, ...] mixed inputs; treated as the point of evaluation
      (watched here, so gradients with respect to it are g).
    weight: lambda (Python number or scalar tensor).
    target: gamma, the norm the penalty pulls towards.
    norm_scale: factor on each norm before the target is subtracted.
    loss_scale: None, or the current loss scale (a scalar).
    pac: packed critic (PacGAN): the norm of each packed sample, over its
      `pac` images (`_l2_norm_per_sample`); the mean is over the N/pac
      packed samples.
  """
  with tf.GradientTape() as tape:
    tape.watch(mixed)
    total = tf.reduce_sum(tf.cast(critic_fn(mixed), tf.float32))
  if loss_scale is None:
    g = tape.gradient(total, mixed, unconnected_gradients=tf.UnconnectedGradients.ZERO)
  else:
    loss_scale = tf.cast(loss_scale, tf.float32)
    g = tape.gradient(total, mixed, output_gradients=loss_scale,
                      unconnected_gradients=tf.UnconnectedGradients.ZERO) / loss_scale
  norms = _l2_norm_per_sample(tf.cast(g, tf.float32), pac) * norm_scale
  # The reference's order: the mean, then times lambda / gamma^2 (computed in Python
  # double precision when both are numbers, as the reference's graph constant is).
  factor = (tf.cast(weight, tf.float32) / target ** 2 if tf.is_tensor(weight)
            else weight / target ** 2)
  return tf.reduce_mean(tf.square(norms - target)) * factor


def gradient_penalty(critic, real, fake, u, weight, loss_scale=None, pac=1):
  """Two-sided WGAN-GP penalty on the critic's raw output (GAN/RGAN).

      x_hat_i = u_i x_r,i + (1 - u_i) x_f,i          (the real batch gets u)
      GP      = weight * mean_i (||d(sum_j C(x_hat_j)) / d x_hat_i||_2 - 1)^2

  as the RGAN code computes it (`code/GAN_losses_iter.py`, the D
  iteration's `--grad_penalty` branch): `penalty_from_mixed` with target 1.
  `real` and `fake` are treated as constants (the official code interpolates
  detached batches).

  Mixed precision: `real`, `fake` and `u` are cast to float32 before
  interpolating, so x_hat, g, the norm and the mean are float32. A critic with
  a mixed policy casts x_hat to float16/bfloat16 internally; its gradient comes
  back through that cast as float32. Under float16, pass the D optimizer's
  loss scale (`tf_gans.training.loss_scale`), which then also scales the
  inner gradient.

  PacGAN (`pac` > 1, a critic that packs its input, `tf_gans.models.dcgan`
  `PackSamples`: packed sample i = images i, B + i, ..., B = N/pac): as
  `code/GAN_losses_iter_PAC.py` (~line 634-643 of c6cbdc9, ~647-656 of HEAD)
  computes it for the WGAN-GP 256x256 run, which interpolates the *packed*
  batches with u of shape (B, 1, 1, 1) and takes the norm over 2C x H x W:
  `u` holds one weight per packed sample, [N/pac, 1, 1, 1], which every
  image of that sample shares, and the norm is over the packed sample's
  images together. Mixing the images with their sample's u and then packing
  is packing and then mixing, so the critic sees the original's x_hat.

  Args:
    critic: callable `critic(x, training=True) -> [N] or [N, 1]` logits; it
      is called once, in training mode, on x_hat.
    real: real minibatch [N, H, W, C] (the one the D step used).
    fake: fake minibatch, same shape.
    u: interpolation weights [N, 1, 1, 1] in [0, 1] (see
      `sample_interpolation_weights`); reshaped to broadcast over any rank.
      With `pac` > 1, [N/pac, 1, 1, 1]: one per packed sample.
    weight: lambda (Python float or scalar tensor).
    loss_scale: None, or the current float16 loss scale (a scalar).
    pac: the critic's packing (1: none).

  Returns:
    float32 scalar.
  """
  real = tf.stop_gradient(tf.cast(real, tf.float32))
  fake = tf.stop_gradient(tf.cast(fake, tf.float32))
  u = tf.cast(u, tf.float32)
  if pac > 1:  # image g*B + i takes packed sample i's weight
    u = tf.reshape(tf.tile(tf.reshape(u, [-1]), [pac]), [-1, 1, 1, 1])
  if real.shape.rank is not None:
    u = tf.reshape(u, [-1] + [1] * (real.shape.rank - 1))
  x_hat = u * real + (1.0 - u) * fake
  return penalty_from_mixed(lambda x: critic(x, training=True), x_hat, weight,
                            loss_scale=loss_scale, pac=pac)
