"""A kill during a save leaves the previous checkpoint loadable; NaN weights are never saved."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tf_gans.gan import loop
from tf_gans.training.checkpoint import DivergenceError, TrainState
from tf_gans.gan.config import RunConfig

# Saves the quickstart-sized model (~2M weights + Adam slots) as fast as it can,
# printing each step number once its save has returned.
SAVER = '''
import sys
from tf_gans.gan import loop
from tf_gans.training.checkpoint import TrainState
from tf_gans.gan.config import RunConfig
cfg = RunConfig(logdir=sys.argv[1])
gan, _ = loop.build_gan(cfg, loop.load_data(cfg))
state = TrainState(gan, cfg.logdir, max_to_keep=2)
while True:
  gan.step.assign_add(1)
  state.save()
  print(state.step, flush=True)
'''


def _build(logdir):
  cfg = RunConfig(logdir=str(logdir))
  gan, _ = loop.build_gan(cfg, loop.load_data(cfg))
  return gan, TrainState(gan, str(logdir), max_to_keep=2)


def test_sigkill_during_saves_leaves_a_loadable_checkpoint(tmp_path):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  for attempt, delay in enumerate((0.05, 0.23)):
    proc = subprocess.Popen([sys.executable, '-c', SAVER, str(tmp_path)], stdout=subprocess.PIPE,
                            text=True, env=env, cwd=os.getcwd())
    first = proc.stdout.readline()  # wait until saves are under way
    assert first.strip(), f'saver did not start (attempt {attempt})'
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    gan, state = _build(tmp_path)
    step = state.restore()
    assert step >= int(first)
    assert all(np.all(np.isfinite(v.numpy())) for v in gan.generator.weights)


def test_non_finite_weights_are_never_saved(tmp_path):
  gan, state = _build(tmp_path)
  gan.step.assign(5)
  state.save()
  gan.generator.trainable_variables[0].assign(
      tf.fill(gan.generator.trainable_variables[0].shape, np.nan))
  gan.step.assign(6)
  with pytest.raises(DivergenceError, match=r'weight .* is not finite at step 6: training diverged'):
    state.save()
  assert tf.train.latest_checkpoint(os.path.join(tmp_path, 'checkpoints')).endswith('ckpt-5')
