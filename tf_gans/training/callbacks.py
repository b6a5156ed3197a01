"""Keras callbacks for a `tf_gans.GAN` run, keyed on the GAN's own step counter.

The training loop (`tf_gans.training.loop`) calls `fit()` once per logging
interval, so `on_epoch_end` fires every `log_every` steps with the interval's
mean metrics; each callback decides from `gan.step` whether it is due.
"""

import csv
import math
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tf_gans.training import images as images_lib
from tf_gans.training.checkpoint import DivergenceError


class DivergenceGuard(keras.callbacks.Callback):
  """Stops training at the first non-finite metric, naming the step."""

  def on_train_batch_end(self, batch, logs=None):
    for name, value in (logs or {}).items():
      if not math.isfinite(float(value)):
        step = int(self.model.step.numpy())
        raise DivergenceError(f'{name} is {float(value)} at step {step}: training diverged. '
                              f'The last good checkpoint was kept; resume from it with a smaller '
                              f'--learning_rate, or check the data.')


class ProgressBar(keras.callbacks.Callback):
  """One line of progress: step/total, steps/s, ETA and the running losses."""

  def __init__(self, total_steps, stream=None, min_interval=0.5):
    super().__init__()
    self.total = total_steps
    self.stream = stream or sys.stderr
    self.min_interval = min_interval
    self._last = 0.0
    self._t0 = self._s0 = None

  def on_train_batch_end(self, batch, logs=None):
    now = time.time()
    step = int(self.model.step.numpy())
    if self._t0 is None:
      self._t0, self._s0 = now, step
    if now - self._last < self.min_interval and step < self.total:
      return
    self._last = now
    rate = (step - self._s0) / max(now - self._t0, 1e-9)
    eta = (self.total - step) / rate if rate > 0 else float('nan')
    width = 24
    done = int(width * step / self.total)
    losses = ' '.join(f'{k} {float(v):.4f}' for k, v in sorted((logs or {}).items()))
    line = (f'\rstep {step}/{self.total} [{"=" * done}{"." * (width - done)}] '
            f'{rate:.1f} steps/s ETA {eta:.0f}s {losses}')
    self.stream.write(line)
    if step >= self.total:
      self.stream.write('\n')
    self.stream.flush()


class ScalarLogger(keras.callbacks.Callback):
  """Interval means to TensorBoard (`<logdir>/tensorboard`) and `<logdir>/history.csv`."""

  def __init__(self, logdir, writer):
    super().__init__()
    self.writer = writer
    self.path = os.path.join(logdir, 'history.csv')
    self._t = time.time()
    self._step = None

  def on_epoch_begin(self, epoch, logs=None):
    self._t, self._step = time.time(), int(self.model.step.numpy())

  def on_epoch_end(self, epoch, logs=None):
    step = int(self.model.step.numpy())
    row = {k: float(v) for k, v in sorted((logs or {}).items())}
    row['steps_per_sec'] = (step - self._step) / max(time.time() - self._t, 1e-9)
    with self.writer.as_default(step=step):
      for k, v in row.items():
        tf.summary.scalar(k, v)
    self.writer.flush()
    new = not os.path.exists(self.path)
    with open(self.path, 'a', newline='') as f:
      w = csv.DictWriter(f, ['step'] + list(row))
      if new:
        w.writeheader()
      w.writerow({'step': step, **row})


class SampleGrids(keras.callbacks.Callback):
  """Every `every` steps: G on fixed latents -> `<logdir>/samples/step_XXXXXXX.png` and TensorBoard."""

  def __init__(self, generator, logdir, writer, latents, value_range, every):
    super().__init__()
    self.generator = generator
    self.dir = os.path.join(logdir, 'samples')
    self.writer, self.latents, self.value_range, self.every = writer, latents, value_range, every

  def write(self, step):
    os.makedirs(self.dir, exist_ok=True)
    fake = self.generator(self.latents, training=False)
    grid = images_lib.grid(images_lib.to_uint8(fake, self.value_range))
    upscale = max(1, 256 // max(grid.shape[:2]))
    path = os.path.join(self.dir, f'step_{step:07d}.png')
    images_lib.save_png(grid, path, upscale=upscale)
    with self.writer.as_default(step=step):
      tf.summary.image('samples', grid[np.newaxis])
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
