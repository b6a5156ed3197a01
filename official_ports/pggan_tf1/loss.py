"""Our tf.compat.v1 port of the official PGGAN `loss.py` (WGAN-GP + drift + AC-GAN).

Written after github.com/tkarras/progressive_growing_of_gans `loss.py`,
`G_wgan_acgan` and `D_wgangp_acgan` (no code copied). Graph-mode
functions of `Network`s (`official_ports.pggan_tf1.network`) on full-size NCHW
tensors, as the reference's training graph (`train.py` `train_progressive_gan`)
builds them. The random draws
(latents, alpha, labels) are arguments so that tests can feed both sides the
same values.
"""

import tensorflow as tf


def G_wgan_acgan(G, D, latents, labels, cond_weight=1.0):  # pylint: disable=invalid-name
  fake_images_out = G.get_output_for(latents, labels, is_training=True)
  fake_scores_out, fake_labels_out = D.get_output_for(fake_images_out, is_training=True)
  loss = -fake_scores_out
  if D.static_kwargs.get('label_size', 0):
    with tf.name_scope('LabelPenalty'):
      label_penalty_fakes = tf.nn.softmax_cross_entropy_with_logits(
          labels=labels, logits=fake_labels_out)
    loss += label_penalty_fakes * cond_weight
  return loss


def D_wgangp_acgan(G, D, reals, labels, latents, mixing_factors,  # pylint: disable=invalid-name
                   wgan_lambda=10.0, wgan_epsilon=0.001, wgan_target=1.0, cond_weight=1.0):
  fake_images_out = G.get_output_for(latents, labels, is_training=True)
  real_scores_out, real_labels_out = D.get_output_for(reals, is_training=True)
  fake_scores_out, fake_labels_out = D.get_output_for(fake_images_out, is_training=True)
  loss = fake_scores_out - real_scores_out
  with tf.name_scope('GradientPenalty'):
    mixed_images_out = reals + (fake_images_out - reals) * mixing_factors
    mixed_scores_out, _ = D.get_output_for(mixed_images_out, is_training=True)
    mixed_loss = tf.reduce_sum(mixed_scores_out)
    mixed_grads = tf.gradients(mixed_loss, [mixed_images_out])[0]
    mixed_norms = tf.sqrt(tf.reduce_sum(tf.square(mixed_grads), axis=[1, 2, 3]))
    gradient_penalty = tf.square(mixed_norms - wgan_target)
  loss += gradient_penalty * (wgan_lambda / (wgan_target ** 2))   # [mb, 1] + [mb] -> [mb, mb]
  with tf.name_scope('EpsilonPenalty'):
    loss += tf.square(real_scores_out) * wgan_epsilon
  if D.static_kwargs.get('label_size', 0):
    with tf.name_scope('LabelPenalty'):
      label_penalty_reals = tf.nn.softmax_cross_entropy_with_logits(
          labels=labels, logits=real_labels_out)
      label_penalty_fakes = tf.nn.softmax_cross_entropy_with_logits(
          labels=labels, logits=fake_labels_out)
      loss += (label_penalty_reals + label_penalty_fakes) * cond_weight
  return loss
