"""Checkpoints of the whole training state, saved atomically, never with NaNs.

A checkpoint holds G, D, both optimizers, the step counter and the dropout
seed-generator states. The noise and the data position are pure functions of
(seed, step) (see `tf_gans.gan` and `tf_gans.data.make_dataset`), so restoring
the step restores them too.

`tf.train.CheckpointManager` writes the data files first and the `checkpoint`
index last (atomically), so a kill during a save leaves the previous
checkpoint as the latest loadable one (tests/training/test_checkpoint.py kills
a saving process to check this).
"""

import os

import numpy as np
import tensorflow as tf

CHECKPOINT_DIR = 'checkpoints'


class DivergenceError(RuntimeError):
  """Training produced a non-finite loss or weight."""


class NoCheckpointError(FileNotFoundError):
  """A folder that should hold a checkpoint holds none."""


def _seed_states(model):
  return [v for v in model.variables if 'seed_generator_state' in v.path]


class TrainState:
  """The checkpointable state of a `tf_gans.GAN` run in `<logdir>/checkpoints`."""

  def __init__(self, gan, logdir, max_to_keep=3):
    self.gan = gan
    self.directory = os.path.join(logdir, CHECKPOINT_DIR)
    # Optimizer slots must exist before a restore can fill them.
    for opt, net in ((gan.d_optimizer, gan.discriminator), (gan.g_optimizer, gan.generator)):
      if not opt.built:
        opt.build(net.trainable_variables)
    # Keys sort so that the nets come before the optimizers that also track
    # their variables: weights are then stored as G/... and D/....
    self.checkpoint = tf.train.Checkpoint(
        G=gan.generator, D=gan.discriminator,
        G_opt=gan.g_optimizer, D_opt=gan.d_optimizer, step=gan.step,
        seed_states=_seed_states(gan.generator) + _seed_states(gan.discriminator))
    self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory, max_to_keep)

  @property
  def step(self):
    return int(self.gan.step.numpy())

  def check_finite(self):
    """Raises DivergenceError if any weight of G or D is not finite."""
    for model in (self.gan.generator, self.gan.discriminator):
      for v in model.trainable_variables:
        if not np.all(np.isfinite(v.numpy())):
          raise DivergenceError(f'non-finite weights in {v.path} at step {self.step}')

  def save(self):
    """Saves as ckpt-<step>; refuses (DivergenceError) to save non-finite weights."""
    self.check_finite()
    return self.manager.save(checkpoint_number=self.step)

  def restore(self, path=None):
    """Restores `path` (default: the latest); returns the restored step.

    Raises:
      NoCheckpointError: there is no checkpoint.
      ValueError: the checkpoint belongs to a different model.
    """
    path = path or self.manager.latest_checkpoint
    if not path:
      raise NoCheckpointError(f'No checkpoint in {self.directory}.')
    try:
      self.checkpoint.restore(path).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
      raise ValueError(f'Checkpoint {path} does not match this model: {e}') from e
    return self.step
