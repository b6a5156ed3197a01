"""The PGGAN losses: WGAN-GP with the drift term and the AC-GAN label terms.

Reference: the original `loss.py` (TF version), `D_wgangp_acgan` and
`G_wgan_acgan`; paper section A.1 ("we use the WGAN-GP loss ... with an
extra term eps_drift * E[D(x)^2], eps_drift = 0.001").

D (`D_wgangp_acgan`, wgan_lambda 10, wgan_epsilon 0.001, wgan_target 1):
  E[D(fake)] - E[D(real)]
  + lambda / target^2 * E[(||grad_mixed sum_batch D(mixed)|| - target)^2]
  + epsilon * E[D(real)^2]
  + cond_weight * (xent(real labels) + xent(fake labels))      (label_size > 0)
with mixed = real + (fake - real) * alpha, alpha ~ U[0, 1) per sample, the
gradient of the *batch sum* of scores (the minibatch-stddev layer couples
samples), the norm over H, W, C per sample. The fakes get fresh z and the
real minibatch's labels. The reference sums [mb, 1] and [mb] terms into an
[mb, mb] tensor and takes its mean, which equals the sum of the per-term
means used here.

G (`G_wgan_acgan`): -E[D(G(z, labels))] + cond_weight * xent(labels), labels
random rows of the dataset's label table.

The penalty is `tf_gans.losses.penalty.penalty_from_mixed`, the one the GAN/RGAN
step uses, with target gamma = wgan_target. Where a sample's gradient is
exactly zero its norm's gradient is zero there (the reference's plain sqrt
gives NaN). `grad_scale` rescales the gradient norm for a D evaluated at
working resolution: the reference feeds D full-size images that D box-pools by
2**k (k = floor(lod)); the gradient with respect to the full-size mixed
images is the low-resolution gradient spread over 4**k pixels each divided by
4**k, so its norm is the low-resolution norm / 2**k. The trainer passes
2**-k and the penalty is the reference's exactly.
"""

import tensorflow as tf

from tf_gans.losses import penalty as penalty_lib


def _xent(labels, logits):
  return tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=tf.cast(logits, tf.float32))


def d_wgangp_acgan(D, reals, fakes, labels, alpha, resolution=None, wgan_lambda=10.0,
                   wgan_epsilon=0.001, wgan_target=1.0, cond_weight=1.0, grad_scale=1.0,
                   loss_scale=None):
  """The D loss (a float32 scalar) and its terms, for a D called at `resolution`.

  Args:
    D: a `DPaper` (returns (scores, label logits)).
    reals, fakes: NHWC images at `resolution`, the same shape.
    labels: the real minibatch's labels [N, label_size] (also G's for fakes).
    alpha: [N, 1, 1, 1] interpolation weights in [0, 1).
    loss_scale: under float16 loss scaling, the current scale: the penalty's
      inner gradient is taken of sum(D(mixed)) * scale and divided by it, as
      the reference's `opt.apply_loss_scaling` / `opt.undo_loss_scaling` do
      (else small gradients flush to zero in float16).
  """
  # pylint: disable=invalid-name
  real_scores, real_label_logits = D(reals, resolution=resolution)
  fake_scores, fake_label_logits = D(fakes, resolution=resolution)
  real_scores = tf.cast(real_scores, tf.float32)
  fake_scores = tf.cast(fake_scores, tf.float32)
  # The original's mixed_images_out = reals + (fake_images_out - reals) * mixing_factors.
  mixed = tf.cast(reals, tf.float32) + (tf.cast(fakes, tf.float32)
                                        - tf.cast(reals, tf.float32)) * alpha
  with tf.name_scope('GradientPenalty'):   # the reference's scope (profiles split by it)
    penalty = penalty_lib.penalty_from_mixed(lambda x: D(x, resolution=resolution)[0], mixed,
                                        wgan_lambda, target=wgan_target, norm_scale=grad_scale,
                                        loss_scale=loss_scale)
  terms = {
      'wasserstein': tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores),
      'gradient_penalty': penalty,
      'drift': wgan_epsilon * tf.reduce_mean(tf.square(real_scores)),
  }
  if labels.shape[-1]:
    terms['label_xent'] = cond_weight * (tf.reduce_mean(_xent(labels, real_label_logits))
                                         + tf.reduce_mean(_xent(labels, fake_label_logits)))
  return tf.add_n(list(terms.values())), terms


def g_wgan_acgan(D, fakes, labels, resolution=None, cond_weight=1.0):
  """The G loss (a float32 scalar) and its terms."""
  # pylint: disable=invalid-name
  scores, label_logits = D(fakes, resolution=resolution)
  terms = {'wasserstein': -tf.reduce_mean(tf.cast(scores, tf.float32))}
  if labels.shape[-1]:
    terms['label_xent'] = cond_weight * tf.reduce_mean(_xent(labels, label_logits))
  return tf.add_n(list(terms.values())), terms
