"""A PGGAN stop lands after the D or G step in progress, not at the end of its schedule round,
and the run resumes on the same trajectory from inside the round (`PGGAN.next_round`)."""

import os
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import PGGAN_BLOCKS, blocks_images
from tf_gans.progressive import config as config_lib
from tf_gans.progressive import data as data_lib
from tf_gans.progressive import loop
from tf_gans.progressive import model
from tf_gans.progressive import trainer as trainer_lib
from tf_gans.training import interrupts


def _cfg(logdir, **kw):
  # 16x16: 4x4 for 32 images, fade to 8x8, 8x8, fade to 16x16, then 16x16; rounds of
  # 4 x (D step + G step) on minibatches of 8 (32 images).
  args = dict(PGGAN_BLOCKS, logdir=str(logdir), dataset='unused', progress=False)
  return config_lib.ProgressiveConfig(**{**args, **kw})


def _state(logdir, checkpoint=''):
  reader = tf.train.load_checkpoint(os.path.join(logdir, 'checkpoints', checkpoint))
  return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
          if not k.startswith('_CHECKPOINTABLE') and 'save_counter' not in k}


def test_a_stop_inside_a_round_lands_after_the_step_and_resumes_on_the_same_trajectory(
    tmp_path, pggan_straight):
  data = data_lib.ArrayLods(blocks_images(), name='blocks')  # the straight run's stream
  steps, d_steps, log = [], [], []
  original = trainer_lib.ProgressiveTrainer.d_step

  def d_step(self, *args, **kwargs):
    out = original(self, *args, **kwargs)
    d_steps.append(time.time())
    if len(d_steps) == 14:  # the 2nd D step of the round of the 16x16 fade (96..128 images)
      stop.set()
    return out
  with interrupts.stop_with() as stop, pytest.MonkeyPatch.context() as mp:
    mp.setattr(trainer_lib.ProgressiveTrainer, 'd_step', _counting(d_step, steps))
    mp.setattr(trainer_lib.ProgressiveTrainer, 'g_step',
               _counting(trainer_lib.ProgressiveTrainer.g_step, steps))
    first = loop.train(_cfg(tmp_path / 'run'), dataset=data, log=log.append)
  # Stopped right after that D step (no further step), 16 images into the round.
  assert first.interrupted and first.cur_nimg == 112 and len(steps) == 14 + 13 == 27
  assert first.step == 27  # 3 rounds of 8 steps, then D, G, D
  announced = [line for line in log if line.startswith('a stop request: stopping at the next '
                                                       'consistent point (')]
  assert announced and announced[0].endswith('), then saving a checkpoint.')
  ckpt = os.path.join(first.logdir, 'checkpoints', 'ckpt-112')
  assert log[-1].startswith(f'Stopped by a stop request at 0.112 kimg; checkpoint {ckpt} '
                            f'written.')
  # The round's start and schedule come back from the checkpoint.
  resumed = model.PGGAN(_cfg(tmp_path / 'run'), data)
  resumed.restore()
  sched, done = resumed.next_round()
  assert done == 3 and sched == _cfg('x').schedule(96, 4)

  # Resumed to the end of the fade (128 images): the straight run's checkpoint there.
  more = loop.train(_cfg(tmp_path / 'run', total_kimg=0.128), resume=True, dataset=data,
                    explicit=('total_kimg',), log=log.append)
  assert more.cur_nimg == 128 and more.step == 32 and not more.interrupted
  a, b = _state(pggan_straight.logdir, 'ckpt-128'), _state(tmp_path / 'run')
  assert sorted(a) == sorted(b) and any('data_pos' in k for k in a)
  for k in a:
    np.testing.assert_allclose(b[k], a[k], rtol=1e-5, atol=1e-6, err_msg=k)


def _counting(fn, calls):
  def counted(*args, **kwargs):
    out = fn(*args, **kwargs)
    calls.append(time.time())
    return out
  return counted
