"""--skip_nonfinite_steps: a D or G update whose gradients are not all finite is skipped and
training goes on, as the original `tfutil.py` `Optimizer.apply_updates` does
(`tf.cond(grad_ok, opt.apply_gradients(grads), tf.no_op)`: weights, Adam's moments and its
step count untouched); the default stops the run with DivergenceError.

The non-finite step is injected into the loss functions the trainer calls: a factor on the
loss value and one on its gradient, both 1 (exactly today's step) unless a test poisons them.
"""

import csv
import os

import numpy as np
import pytest
import tensorflow as tf

from conftest import PGGAN_BLOCKS, blocks_images
from tf_gans.models import pggan
from tf_gans.progressive import config as config_lib
from tf_gans.progressive import data as data_lib
from tf_gans.progressive import loop
from tf_gans.progressive import model
from tf_gans.progressive import trainer as trainer_lib
from tf_gans.training.checkpoint import DivergenceError


class Poison:
  """Multiplies the D and G losses by `value` (and so their gradients) and their gradients
  alone by `grad` (variables: changing them does not retrace)."""

  def __init__(self):
    self.value = {net: tf.Variable(1.0, trainable=False) for net in 'DG'}
    self.grad = {net: tf.Variable(1.0, trainable=False) for net in 'DG'}

  def set(self, net, value=1.0, grad=1.0):
    self.value[net].assign(value)
    self.grad[net].assign(grad)

  def wrap(self, fn, net):
    def poisoned(*args, **kwargs):
      loss, terms = fn(*args, **kwargs)
      return _scaled(loss, self.value[net].read_value(), self.grad[net].read_value()), terms
    return poisoned


@tf.custom_gradient
def _scaled(x, value, grad):
  """x * value, whose gradient is also multiplied by `grad`."""
  return x * value, lambda dy: (dy * value * grad, tf.zeros_like(value), tf.zeros_like(grad))


@pytest.fixture
def poison(monkeypatch):
  p = Poison()
  losses = trainer_lib.loss_lib
  monkeypatch.setattr(losses, 'd_wgangp_acgan', p.wrap(losses.d_wgangp_acgan, 'D'))
  monkeypatch.setattr(losses, 'g_wgan_acgan', p.wrap(losses.g_wgan_acgan, 'G'))
  return p


def _trainer():
  import keras  # pylint: disable=import-outside-toplevel
  kw = dict(resolution=4, num_channels=1, fmap_base=16, fmap_max=8, latent_size=8)
  keras.utils.set_random_seed(3)
  nets = pggan.G_paper(**kw, name='G'), pggan.D_paper(**kw), pggan.G_paper(**kw, name='Gs')
  trainer = trainer_lib.ProgressiveTrainer(*nets, np.zeros([1, 0], np.float32), seed=0,
                                           G_smoothing=0.9)
  trainer.set_schedule(0.0, 0.001, 0.001)
  return trainer


def _state(trainer, net):
  """Values of `net`'s weights and of every variable of its optimizer (slots, step count)."""
  opt = getattr(trainer, f'{net}_opt')
  return ([v.numpy() for v in getattr(trainer, net).trainable_variables]
          + [v.numpy() for v in opt.variables])


def _assert_same(a, b):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x, y)


def test_a_nonfinite_update_is_skipped_leaving_weights_and_adam_as_they_were(poison):
  reals = np.random.default_rng(1).integers(0, 256, [4, 4, 4, 1]).astype(np.uint8)
  labels = np.zeros([4, 0], np.float32)
  ours, today = _trainer(), _trainer()  # same initial weights; `today` never sees a poison
  _assert_same(_state(ours, 'D') + _state(ours, 'G'), _state(today, 'D') + _state(today, 'G'))

  # Finite steps (both factors 1) are today's steps, bit for bit; Adam counts them.
  for t in (ours, today):
    t.d_step(reals, labels, 4)
    t.g_step(4, 4)
  _assert_same(_state(ours, 'D') + _state(ours, 'G'), _state(today, 'D') + _state(today, 'G'))
  assert int(ours.D_opt.iterations.numpy()) == 1 and ours.skipped_updates() == (0, 0)

  # A NaN D loss (NaN gradients): no D update, no Adam move, no Adam step; the Gs average,
  # the step counter and cur_nimg go on (the original's Gs_update_op runs either way).
  d_before, g_before = _state(ours, 'D'), _state(ours, 'G')
  gs_before = [v.numpy() for v in ours.Gs.trainable_variables]
  step, nimg = int(ours.step.numpy()), int(ours.cur_nimg.numpy())
  poison.set('D', value=float('nan'))
  out = ours.d_step(reals, labels, 4)
  assert not bool(out['D_applied']) and np.isnan(float(out['D_loss']))
  _assert_same(_state(ours, 'D'), d_before)
  _assert_same(_state(ours, 'G'), g_before)
  assert ours.skipped_updates() == (1, 0)
  assert int(ours.step.numpy()) == step + 1 and int(ours.cur_nimg.numpy()) == nimg + 4
  assert any(not np.array_equal(v.numpy(), w)
             for v, w in zip(ours.Gs.trainable_variables, gs_before))

  # A finite G loss whose gradients are inf: skipped too (the check is on the gradients).
  poison.set('D')
  poison.set('G', grad=float('inf'))
  out = ours.g_step(4, 4)
  assert not bool(out['G_applied']) and np.isfinite(float(out['G_loss']))
  _assert_same(_state(ours, 'G'), g_before)
  assert ours.skipped_updates() == (1, 1)

  # Then finite steps again: the same update as today's trainer at the same step (D, G and
  # their optimizers were left as they were; only the counters moved).
  poison.set('G')
  today.step.assign(ours.step)
  for t in (ours, today):
    t.d_step(reals, labels, 4)
    t.g_step(4, 4)
  _assert_same(_state(ours, 'D') + _state(ours, 'G'), _state(today, 'D') + _state(today, 'G'))
  assert int(ours.D_opt.iterations.numpy()) == 2 and ours.skipped_updates() == (1, 1)


def _cfg(logdir='', **kw):
  """8x8 blocks trained at 8x8 from the start (one trace per step), rounds of 32 images."""
  args = dict(PGGAN_BLOCKS, logdir=str(logdir), dataset='unused', progress=False,
              lod_initial_resolution=8)
  return config_lib.ProgressiveConfig(**{**args, **kw})


def _dataset():
  return data_lib.ArrayLods(blocks_images(res=8), name='blocks')


def test_the_default_stops_on_a_nonfinite_step_and_the_switch_goes_on(poison):
  data = _dataset()
  # Default: a NaN D loss stops the run, pointing at the switch.
  stop = model.PGGAN(_cfg(), data)
  stop.train_rounds(1)
  first_round = [v.numpy() for v in stop.G.variables + stop.D.variables]
  poison.set('D', value=float('nan'))
  with pytest.raises(DivergenceError, match=r'D_loss is nan at 0\.064 kimg: training diverged\. '
                     r'.*resume with --skip_nonfinite_steps\.'):
    stop.train_rounds(1)
  # A float32 update skipped for its gradients alone (the loss finite) stops it too.
  poison.set('D')
  poison.set('G', grad=float('nan'))
  with pytest.raises(DivergenceError, match=r'the G gradient is not finite \(4 G updates '
                     r'skipped\) at 0\.096 kimg'):
    stop.train_rounds(1)

  # --skip_nonfinite_steps: finite rounds are the default's; a non-finite round goes on.
  poison.set('G')
  go_on = model.PGGAN(_cfg(skip_nonfinite_steps=True), data)
  go_on.train_rounds(1)
  for a, b in zip(go_on.G.variables + go_on.D.variables, first_round):
    np.testing.assert_array_equal(a.numpy(), b)
  d_weights = [v.numpy() for v in go_on.D.trainable_variables]
  poison.set('D', value=float('nan'))
  terms = go_on.train_rounds(1)  # 4 D updates skipped, G trained on
  assert np.isnan(terms['D_loss']) and go_on.trainer.skipped_updates() == (4, 0)
  _assert_same([v.numpy() for v in go_on.D.trainable_variables], d_weights)
  poison.set('D')
  go_on.train_rounds(1)
  assert go_on.trainer.skipped_updates() == (4, 0) and go_on.cur_nimg == 96


def test_the_skipped_counts_show_in_the_progress_line_and_history(tmp_path, poison, capsys):
  # Three ticks of one round each (32 images); the second tick's D updates are all skipped.
  calls = {'n': 0}
  original = trainer_lib.ProgressiveTrainer.d_step

  def d_step(self, *args, **kwargs):
    calls['n'] += 1
    poison.set('D', value=float('nan') if 5 <= calls['n'] <= 8 else 1.0)
    return original(self, *args, **kwargs)
  with pytest.MonkeyPatch.context() as mp:
    mp.setattr(trainer_lib.ProgressiveTrainer, 'd_step', d_step)
    cfg = _cfg(tmp_path / 'run', total_kimg=0.096, allow_partial_schedule=True,
               tick_kimg_base=0.032, skip_nonfinite_steps=True, progress=True,
               progress_every_s=0, export=False)
    log = []
    result = loop.train(cfg, dataset=_dataset(), log=log.append)
  assert result.cur_nimg == 96 and not result.interrupted
  with open(os.path.join(result.logdir, 'history.csv'), newline='') as f:
    rows = list(csv.DictReader(f))
  assert [tuple(float(r[k]) for k in ('kimg', 'D_skipped', 'G_skipped')) for r in rows] == [
      (0.032, 0, 0), (0.064, 4, 0), (0.096, 0, 0)]
  assert any(line.startswith('tick 2 ') and line.endswith(' skipped D 4 G 0') for line in log)
  progress = [line for line in capsys.readouterr().err.splitlines() if 'ETA' in line]
  assert progress and progress[-1].endswith('D_skipped 4 G_skipped 0')
