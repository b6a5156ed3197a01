"""Loss scaling for float16 training behind one interface, two schedules.

float16 flushes small gradients to zero. A loss scale multiplies the loss
before the backward pass and divides the gradients after it; a step whose
gradients overflowed is skipped and the scale lowered. One `LossScale` per
optimizer:

    with tf.GradientTape() as tape:
      loss = ...
      scaled = loss_scale.scale_loss(loss)
    grads = loss_scale.unscale(tape.gradient(scaled, variables))
    applied = <apply grads unless one is non-finite>
    loss_scale.update(applied)

and `loss_scale.scale` (the current scale, or None without scaling) also
multiplies the gradient penalty's inner gradient
(`tf_gans.losses.penalty_from_mixed`), as the PGGAN reference does.

Two implementations:

  `KerasLossScale`  GAN/RGAN under --mixed_precision=mixed_float16: the Keras
                    `LossScaleOptimizer` of D and of G (dynamic scale, halved
                    on overflow, doubled after 2000 finite steps). Its
                    `apply_gradients` unscales, checks finiteness, skips and
                    updates the scale itself, so `unscale` and `update` are
                    the identity here.
  `Log2LossScale`   PGGAN --dtype=float16: the original `tfutil.py`
                    `Optimizer` (`use_loss_scaling`): a log2 scale variable
                    per optimizer, initially 64, +0.0005 after an applied
                    step, -1 after a skipped one; loss * 2**s, gradients / 2**s.
"""

import keras
import tensorflow as tf

# The PGGAN reference's log2 scale (`tfutil.py` `Optimizer`: loss_scaling_init,
# loss_scaling_inc, loss_scaling_dec).
LOSS_SCALE_INIT, LOSS_SCALE_INC, LOSS_SCALE_DEC = 64.0, 0.0005, 1.0


class LossScale:
  """The interface: the current scale, scale the loss, unscale the gradients, update."""

  @property
  def scale(self):
    """The current scale, a float32 scalar tensor, or None without loss scaling."""
    raise NotImplementedError

  def scale_loss(self, loss):
    """The loss to differentiate (inside the tape)."""
    raise NotImplementedError

  def unscale(self, grads):
    """The gradients of `scale_loss(loss)` -> what the optimizer is given."""
    raise NotImplementedError

  def update(self, applied):
    """After a step: `applied` (a bool tensor) is False where it was skipped."""
    raise NotImplementedError


class KerasLossScale(LossScale):
  """The loss scale of a Keras optimizer (GAN/RGAN; `LossScaleOptimizer` under mixed_float16).

  A plain optimizer has no dynamic scale (`scale` is None) and its
  `scale_loss` applies its static `loss_scale_factor`, if any, which its
  `apply_gradients` divides out again. A `LossScaleOptimizer` must be built
  before its scale is read (`tf_gans.gan.loop.build_gan` builds it).
  """

  def __init__(self, optimizer):
    self.optimizer = optimizer

  @property
  def scale(self):
    if not isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
      return None
    if not self.optimizer.built:
      raise ValueError('build the LossScaleOptimizer before training '
                       '(optimizer.build(model.trainable_variables)).')
    return self.optimizer.dynamic_scale

  def scale_loss(self, loss):
    return self.optimizer.scale_loss(loss)

  def unscale(self, grads):
    return grads  # the optimizer's apply_gradients divides by its scale

  def update(self, applied):
    del applied  # the optimizer's apply_gradients updates its scale


class Log2LossScale(LossScale):
  """The PGGAN reference's schedule (original `tfutil.py` `Optimizer`).

  Owns the log2 scale variable (create it under the strategy's scope); with
  `enabled=False` it is kept (at its initial value) but nothing is scaled.
  """

  def __init__(self, name, enabled=True):
    self.enabled = bool(enabled)
    self.log2_scale = tf.Variable(LOSS_SCALE_INIT, trainable=False, name=name)

  @property
  def scale(self):
    """2**log2_scale with loss scaling, else None."""
    return tf.pow(2.0, self.log2_scale) if self.enabled else None

  def scale_loss(self, loss):
    """loss * 2**log2_scale (reference `apply_loss_scaling`)."""
    if not self.enabled:
      return loss
    return loss * tf.cast(self.scale, loss.dtype)

  def unscale(self, grads):
    """float32 gradients / 2**log2_scale (reference `undo_loss_scaling`)."""
    if not self.enabled:
      return grads
    scale = self.scale
    return [None if g is None else tf.cast(g, tf.float32) / scale for g in grads]

  def update(self, applied):
    """+LOSS_SCALE_INC after an applied step, -LOSS_SCALE_DEC after a skipped one."""
    if self.enabled:
      self.log2_scale.assign_add(tf.where(applied, LOSS_SCALE_INC, -LOSS_SCALE_DEC))
