"""Checkpoints of a whole training state, saved atomically, never with NaNs.

`Checkpointer` is what every trainer uses: a `tf.train.CheckpointManager`
that refuses to save non-finite weights (`DivergenceError`), writes into this
process's folder (a scratch folder on non-chief workers) and restores the
chief's latest checkpoint. `TrainState` is the GAN / RGAN state built on it
(G, D, both optimizers, the step counter and the dropout seed-generator
states); `tf_gans.progressive.model.PGGAN` is the PGGAN one. The noise and the
data position are pure functions of (seed, step) (see `tf_gans.gan` and
`tf_gans.data.make_dataset`), so restoring the step restores them too.

`tf.train.CheckpointManager` writes the data files first and the `checkpoint`
index last (atomically), so a kill during a save leaves the previous
checkpoint as the latest loadable one (tests/training/test_checkpoint.py kills
a saving process to check this).
"""

import os

import numpy as np
import tensorflow as tf

CHECKPOINT_DIR = 'checkpoints'
# Exit status of a run stopped by a non-finite loss or weight (every model).
DIVERGENCE_EXIT_STATUS = 1


class DivergenceError(RuntimeError):
  """Training produced a non-finite loss or weight."""


class NoCheckpointError(FileNotFoundError):
  """A folder that should hold a checkpoint holds none."""


def divergence(what, value, where):
  """The one DivergenceError every model raises: what, where, and what was kept."""
  return DivergenceError(f'{what} is {value} at {where}: training diverged. The last good '
                         f'checkpoint was kept; resume from it with a smaller learning rate, '
                         f'or check the data.')


class Checkpointer:
  """Saves `checkpoint` into `<out_dir>/checkpoints`; restores from `<logdir>/checkpoints`.

  Args:
    checkpoint: the `tf.train.Checkpoint` of the whole training state.
    out_dir: where this process writes (the run folder, or a non-chief's scratch folder).
    logdir: the run folder (restores read the chief's checkpoints there).
    max_to_keep: checkpoints kept.
    models: the Keras models whose weights must be finite to be saved.
    number: callable -> the checkpoint number (the step, or PGGAN's images shown).
    where: callable -> 'step 120' / '12.3 kimg', for messages.
    check: optional callable(path) run before a restore; raises ValueError
      naming what does not fit (e.g. PGGAN's per-variable shapes).
  """

  def __init__(self, checkpoint, out_dir, logdir, max_to_keep, models, number, where,
               check=None):
    self.checkpoint = checkpoint
    self.directory = os.path.join(out_dir, CHECKPOINT_DIR)
    self.restore_dir = os.path.join(logdir, CHECKPOINT_DIR)
    self.manager = tf.train.CheckpointManager(checkpoint, self.directory, max_to_keep)
    self.models, self.number, self.where, self.check = models, number, where, check

  def check_finite(self):
    """Raises DivergenceError if any trainable weight is not finite."""
    for model in self.models:
      for v in model.trainable_variables:
        if not np.all(np.isfinite(v.numpy())):
          raise divergence(f'weight {v.path}', 'not finite', self.where())

  def save(self):
    """Saves as ckpt-<number>; refuses (DivergenceError) to save non-finite weights."""
    self.check_finite()
    return self.manager.save(checkpoint_number=self.number())

  def save_unless_saved(self):
    """Saves unless the latest checkpoint already holds this number; returns its path."""
    latest = self.manager.latest_checkpoint or ''
    if latest.endswith(f'ckpt-{self.number()}'):
      return latest
    return self.save()

  def latest(self):
    """The chief's latest checkpoint, or None."""
    return tf.train.latest_checkpoint(self.restore_dir)

  def restore(self, path=None):
    """Restores `path` (default: the chief's latest); returns the path.

    Raises:
      NoCheckpointError: there is no checkpoint.
      ValueError: the checkpoint belongs to a different model.
    """
    path = path or self.latest()
    if not path:
      raise NoCheckpointError(f'No checkpoint in {self.restore_dir}.')
    if self.check:
      self.check(path)
    try:
      self.checkpoint.restore(path).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
      raise ValueError(f'Checkpoint {path} does not match this model: {e}') from e
    return path


def _seed_states(model):
  return [v for v in model.variables if 'seed_generator_state' in v.path]


class TrainState(Checkpointer):
  """The checkpointable state of a `tf_gans.GAN` run."""

  def __init__(self, gan, logdir, max_to_keep=3, restore_logdir=None):
    self.gan = gan
    # Optimizer slots must exist before a restore can fill them.
    for opt, net in ((gan.d_optimizer, gan.discriminator), (gan.g_optimizer, gan.generator)):
      if not opt.built:
        opt.build(net.trainable_variables)
    # Keys sort so that the nets come before the optimizers that also track
    # their variables: weights are then stored as G/... and D/....
    checkpoint = tf.train.Checkpoint(
        G=gan.generator, D=gan.discriminator,
        G_opt=gan.g_optimizer, D_opt=gan.d_optimizer, step=gan.step,
        seed_states=_seed_states(gan.generator) + _seed_states(gan.discriminator))
    super().__init__(checkpoint, logdir, restore_logdir or logdir, max_to_keep,
                     models=(gan.generator, gan.discriminator), number=lambda: self.step,
                     where=lambda: f'step {self.step}')

  @property
  def step(self):
    return int(self.gan.step.numpy())

  def restore(self, path=None):
    """Restores `path` (default: the latest); returns the restored step."""
    super().restore(path)
    return self.step
