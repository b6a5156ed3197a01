"""Keras callbacks for a `tf_gans.GAN` run, keyed on the GAN's own step counter.

The training loop (`tf_gans.gan.loop`) calls `fit()` once per logging
interval, so `on_epoch_end` fires every `log_every` steps with the interval's
mean metrics; each callback decides from `gan.step` whether it is due.
"""

import math
import os
import time

import keras

from tf_gans.training import grids as grids_lib
from tf_gans.training import images as images_lib
from tf_gans.training.checkpoint import divergence


class DivergenceGuard(keras.callbacks.Callback):
  """Stops training at the first non-finite metric, naming the step."""

  def on_train_batch_end(self, batch, logs=None):
    for name, value in (logs or {}).items():
      if not math.isfinite(float(value)):
        raise divergence(name, float(value), f'step {int(self.model.step.numpy())}')


class StopAtSignal(keras.callbacks.Callback):
  """Ends training after the current step when a stop was requested (`Lifecycle.check_stop`:
  SIGINT / SIGTERM where the command line took them, or `interrupts.stop_with` in Python)."""

  def __init__(self, check_stop):
    super().__init__()
    self.check_stop = check_stop

  def on_train_batch_end(self, batch, logs=None):
    self.check_stop()


class MonitorCallback(keras.callbacks.Callback):
  """Feeds a `tf_gans.training.monitor.Monitor`: the progress line after each step,
  the interval's mean metrics and steps/s to TensorBoard and history.csv after each
  logging interval (one `fit` call)."""

  def __init__(self, monitor):
    super().__init__()
    self.monitor = monitor
    self._t, self._step = time.time(), None

  def on_epoch_begin(self, epoch, logs=None):
    self._t, self._step = time.time(), int(self.model.step.numpy())

  def on_train_batch_end(self, batch, logs=None):
    self.monitor.progress(int(self.model.step.numpy()), dict(sorted((logs or {}).items())))

  def on_epoch_end(self, epoch, logs=None):
    step = int(self.model.step.numpy())
    row = {k: float(v) for k, v in sorted((logs or {}).items())}
    row['steps_per_sec'] = (step - self._step) / max(time.time() - self._t, 1e-9)
    self.monitor.scalars(step, row)


class SampleGrids(keras.callbacks.Callback):
  """Every `every` steps: G on fixed latents -> `<logdir>/samples/step_XXXXXXX.png` and
  TensorBoard (`tf_gans.training.grids`)."""

  def __init__(self, generator, logdir, monitor, latents, value_range, every):
    super().__init__()
    self.generator = generator
    self.dir = os.path.join(logdir, 'samples')
    self.writer = grids_lib.GridWriter(monitor)
    self.latents, self.value_range, self.every = latents, value_range, every

  def write(self, step):
    os.makedirs(self.dir, exist_ok=True)
    fake = self.generator(self.latents, training=False)
    path = os.path.join(self.dir, f'step_{step:07d}.png')
    self.writer.write(images_lib.to_uint8(fake, self.value_range), path, 'samples', step)
    return path

  def on_epoch_end(self, epoch, logs=None):
    step = int(self.model.step.numpy())
    if step % self.every == 0:
      self.write(step)


class CheckpointSaver(keras.callbacks.Callback):
  """Every `every` steps: `TrainState.save()` (which refuses non-finite weights)."""

  def __init__(self, state, every):
    super().__init__()
    self.state, self.every = state, every

  def on_epoch_end(self, epoch, logs=None):
    if self.state.step % self.every == 0:
      self.state.save()


class SnapshotSaver(keras.callbacks.Callback):
  """Every `every` steps (0: never): a generator snapshot (`tf_gans.training.snapshots`)."""

  def __init__(self, snapshots, every):
    super().__init__()
    self.snapshots, self.every = snapshots, every

  def on_epoch_end(self, epoch, logs=None):
    step = int(self.model.step.numpy())
    if self.every and step % self.every == 0:
      self.snapshots.write(step)
