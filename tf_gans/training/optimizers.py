"""Optimizers by name, built in one place from a run's config: `build(name, cfg, net)`.

  adam        GAN / RGAN: Adam(learning_rate, beta1, beta2) from the run config
              (`--learning_rate`, `--d_learning_rate` for D, `--beta1`, `--beta2`)
  sgd2014     GAN 2014: the Pylearn2 momentum SGD and its learning-rate decay
  pggan_adam  PGGAN: the reference's Adam(beta1 0, beta2 0.99, epsilon 1e-8)
              (original `config.py` `G_opt` / `D_opt`); its learning rate is set
              every schedule round (`TrainingSchedule` G_lrate / D_lrate)

Each entry reads the config fields it needs, so a flag reaches its optimizer
in three hops: flag -> config field -> `build` -> the Keras optimizer.

The 2014 MNIST run (goodfeli/adversarial mnist.yaml, Pylearn2 SGD) used
classical momentum with
  lr_t = max(0.1 / 1.000004^t, 1e-6)            (t = updates done so far)
  mu_e = 0.5 + 0.2 * clip((e - 1) / 249, 0, 1)  (e = 1-based epoch)
shared by D and G. Keras' SGD takes a constant momentum, so the schedule needs
the small optimizer below (faithfulness demands it).
"""

import math

import keras
from keras import ops

from tf_gans.registry import Registry

OPTIMIZERS = Registry('optimizer')


@keras.saving.register_keras_serializable(package='tf_gans')
class FlooredExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
  """lr_t = max(initial / decay_factor^t, minimum) (Pylearn2 ExponentialDecay)."""

  def __init__(self, initial, decay_factor, minimum):
    self.initial, self.decay_factor, self.minimum = initial, decay_factor, minimum

  def __call__(self, step):
    # float64: 1.000004 is 1.0000039 in float32, 0.7% off after 125k updates.
    t = ops.cast(step, 'float64')
    lr = self.initial * ops.exp(-t * math.log(self.decay_factor))
    return ops.cast(ops.maximum(lr, self.minimum), 'float32')

  def get_config(self):
    return dict(initial=self.initial, decay_factor=self.decay_factor, minimum=self.minimum)


def momentum_at(step, updates_per_epoch, initial, final, saturate_epoch):
  """Pylearn2 MomentumAdjustor(start=1, saturate): linear in the 1-based epoch."""
  epoch = ops.floor(ops.cast(step, 'float32') / float(updates_per_epoch)) + 1.0
  frac = ops.clip((epoch - 1.0) / max(saturate_epoch - 1.0, 1.0), 0.0, 1.0)
  return initial + (final - initial) * frac


class ScheduledMomentumSGD(keras.optimizers.Optimizer):
  """Classical momentum with a per-epoch momentum schedule.

  v <- mu_t v - lr_t g ;  theta <- theta + v   (as Keras SGD(nesterov=False)).
  """

  def __init__(self, learning_rate, updates_per_epoch, momentum_initial=0.5,
               momentum_final=0.7, momentum_saturate_epoch=250, name='sgd2014', **kwargs):
    super().__init__(learning_rate=learning_rate, name=name, **kwargs)
    if updates_per_epoch < 1:
      raise ValueError(f'updates_per_epoch must be >= 1, got {updates_per_epoch}.')
    self.updates_per_epoch = updates_per_epoch
    self.momentum_initial = momentum_initial
    self.momentum_final = momentum_final
    self.momentum_saturate_epoch = momentum_saturate_epoch

  def build(self, variables):
    if self.built:
      return
    super().build(variables)
    self.velocities = [self.add_variable_from_reference(v, 'velocity') for v in variables]

  def momentum(self):
    return momentum_at(self.iterations, self.updates_per_epoch, self.momentum_initial,
                       self.momentum_final, self.momentum_saturate_epoch)

  def update_step(self, gradient, variable, learning_rate):
    lr = ops.cast(learning_rate, variable.dtype)
    mu = ops.cast(self.momentum(), variable.dtype)
    v = self.velocities[self._get_variable_index(variable)]
    self.assign(v, mu * v - lr * ops.cast(gradient, variable.dtype))
    self.assign_add(variable, v)

  def get_config(self):
    return {**super().get_config(), 'updates_per_epoch': self.updates_per_epoch,
            'momentum_initial': self.momentum_initial, 'momentum_final': self.momentum_final,
            'momentum_saturate_epoch': self.momentum_saturate_epoch}


def learning_rate(cfg, net):
  """The run's learning rate of `net` ('d' or 'g'): D's own when `--d_learning_rate` is set."""
  if net == 'd' and getattr(cfg, 'd_learning_rate', None):
    return cfg.d_learning_rate
  return cfg.learning_rate


@OPTIMIZERS.register('sgd2014')
def sgd2014(cfg, net, updates_per_epoch=None):
  """The GAN 2014 MNIST SGD: decaying lr with a floor, per-epoch momentum ramp.

  `updates_per_epoch`: the momentum ramp's epoch length when the config's
  `updates_per_epoch` is 0 (the run passes dataset size / batch).
  """
  lr = FlooredExponentialDecay(learning_rate(cfg, net), cfg.lr_decay_factor, cfg.lr_min)
  return ScheduledMomentumSGD(lr, cfg.updates_per_epoch or updates_per_epoch or 1,
                              cfg.momentum_initial, cfg.momentum_final,
                              cfg.momentum_saturate_epoch, name=f'{net}_sgd2014')


@OPTIMIZERS.register('adam')
def adam(cfg, net, **unused):
  """Adam with the run's learning rate and betas (epsilon 1e-8, Keras' is 1e-7)."""
  return keras.optimizers.Adam(learning_rate(cfg, net), beta_1=cfg.beta1, beta_2=cfg.beta2,
                               epsilon=1e-8, name=f'{net}_adam')


@OPTIMIZERS.register('pggan_adam')
def pggan_adam(cfg=None, net='', **unused):
  """The PGGAN reference's Adam: beta1 0, beta2 0.99, epsilon 1e-8 (original `config.py`
  `G_opt = EasyDict(beta1=0.0, beta2=0.99, epsilon=1e-8)`), epsilon-hat form as
  `tf.train.AdamOptimizer`; the initial rate is `--{net}_lrate_base`, and the loop
  assigns the schedule's rate each round."""
  rate = getattr(cfg, f'{net.upper()}_lrate_base', None)
  if rate is None:  # a GAN run's config: its own rates
    rate = learning_rate(cfg, net.lower()) if hasattr(cfg, 'learning_rate') else 0.001
  return keras.optimizers.Adam(learning_rate=rate, beta_1=0.0, beta_2=0.99, epsilon=1e-8)


def build(name, cfg, net, **context):
  """A fresh optimizer `name` for `net` ('d' / 'g'; PGGAN 'D' / 'G') configured by the
  run config `cfg`; `context` carries what only the run knows (sgd2014's
  `updates_per_epoch`)."""
  return OPTIMIZERS.get(name)(cfg, net, **context)
