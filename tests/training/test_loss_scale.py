"""tf_gans.training.loss_scale: one interface, the Keras and the PGGAN reference schedules."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_gans.training import loss_scale


def test_log2_schedule_is_the_reference_optimizers():
  ls = loss_scale.Log2LossScale('D_log2_scale')
  assert ls.log2_scale.name.startswith('D_log2_scale') and not ls.log2_scale.trainable
  assert float(ls.log2_scale.numpy()) == 64.0 and float(ls.scale.numpy()) == 2.0 ** 64
  ls.update(tf.constant(False))  # a skipped step: -1
  assert float(ls.log2_scale.numpy()) == 63.0
  ls.update(tf.constant(True))  # an applied one: +0.0005
  assert float(ls.log2_scale.numpy()) == pytest.approx(63.0005)


def test_log2_scaled_gradients_equal_the_unscaled_ones_exactly():
  # Scaling by a power of two and dividing by it again is exact in float32 (no overflow).
  ls = loss_scale.Log2LossScale('s')
  ls.log2_scale.assign(12.0)
  w = tf.Variable(np.random.default_rng(0).standard_normal([5]).astype(np.float32))
  unused = tf.Variable(1.0)
  with tf.GradientTape(persistent=True) as tape:
    loss = tf.reduce_sum(tf.sin(w) * w)
    scaled = ls.scale_loss(loss)
  plain = tape.gradient(loss, [w, unused])
  got = ls.unscale(tape.gradient(scaled, [w, unused]))
  assert got[1] is None and float(scaled) == float(loss) * 2.0 ** 12
  np.testing.assert_array_equal(got[0].numpy(), plain[0].numpy())


def test_disabled_log2_scale_scales_nothing_and_stays():
  ls = loss_scale.Log2LossScale('G_log2_scale', enabled=False)
  assert ls.scale is None
  loss, grads = tf.constant(3.0), [tf.constant([1.0]), None]
  assert ls.scale_loss(loss) is loss and ls.unscale(grads) is grads
  ls.update(tf.constant(False))
  assert float(ls.log2_scale.numpy()) == 64.0


def test_keras_loss_scale_delegates_to_the_optimizer():
  w = tf.Variable([1.0, 2.0])
  plain = loss_scale.KerasLossScale(keras.optimizers.SGD(0.1))
  assert plain.scale is None and float(plain.scale_loss(tf.constant(3.0))) == 3.0
  grads = [tf.constant([1.0, 1.0])]
  assert plain.unscale(grads) is grads  # the optimizer unscales in apply_gradients

  opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1))
  with pytest.raises(ValueError, match='build the LossScaleOptimizer'):
    _ = loss_scale.KerasLossScale(opt).scale
  opt.build([w])
  ls = loss_scale.KerasLossScale(opt)
  assert ls.scale is opt.dynamic_scale
  np.testing.assert_allclose(float(ls.scale_loss(tf.constant(3.0))),
                             3.0 * float(opt.dynamic_scale.numpy()))
  assert isinstance(ls, loss_scale.LossScale)
