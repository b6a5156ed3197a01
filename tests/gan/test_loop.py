"""The training loop end to end on the built-in digits: artefacts, resume, errors."""

import dataclasses
import json
import os
import pathlib
import shutil
import signal

import numpy as np
import pytest
import tensorflow as tf

from tf_gans.gan import callbacks as cb
from tf_gans.gan import loop
from tf_gans.gan import restore
from tf_gans.training import interrupts
from tf_gans.training.checkpoint import DivergenceError, NoCheckpointError
from tf_gans.gan.config import RunConfig


def small_config(logdir, **kw):
  base = dict(logdir=str(logdir), dataset='digits', model='mlp2014', batch_size=20, steps=40,
              log_every=10, sample_every=20, checkpoint_every=20, num_samples=16, progress=False,
              export=False, seed=3)
  base.update(kw)
  return RunConfig(**base)


def quiet(*_):
  pass


def weights_of(logdir):
  """All G and D weights of the run's latest checkpoint, by variable path."""
  gan, _, _, _ = restore.load_run(str(logdir))
  return {f'{net.name}/{v.path}': v.numpy()
          for net in (gan.generator, gan.discriminator) for v in net.weights}


def test_run_writes_every_artefact(tmp_path):
  result = loop.train(small_config(tmp_path, export=True), log=quiet)
  assert result.step == 40 and not result.interrupted
  files = set(os.listdir(tmp_path))
  assert {'run.json', 'checkpoints', 'samples', 'tensorboard', 'history.csv', 'loss_curves.png',
          'export'} <= files
  assert sorted(os.listdir(tmp_path / 'samples')) == [
      'step_0000000.png', 'step_0000020.png', 'step_0000040.png']
  ckpts = tf.train.get_checkpoint_state(str(tmp_path / 'checkpoints')).all_model_checkpoint_paths
  assert [os.path.basename(p) for p in ckpts] == ['ckpt-20', 'ckpt-40']
  rows = open(tmp_path / 'history.csv').read().splitlines()
  assert rows[0].split(',')[:2] == ['step', 'd_fake'] and len(rows) == 5
  assert any(f.startswith('events.out') for f in os.listdir(tmp_path / 'tensorboard'))
  gen = tf.saved_model.load(result.export_dir)
  images = gen.signatures['generate'](seed=tf.constant(1, tf.int64), num=tf.constant(5))['images']
  assert images.shape == (5, 8, 8, 1) and images.dtype == tf.uint8


@pytest.mark.parametrize('variant', [
    dict(loss='nonsaturating', optimizer='adam', d_steps=2),
    dict(loss='gan2014', optimizer='sgd2014', simultaneous=True, learning_rate=0.1),
])
def test_interrupt_and_resume_gives_the_same_weights(tmp_path, monkeypatch, variant):
  straight = tmp_path / 'straight'
  loop.train(small_config(straight, **variant), log=quiet)

  # Same run, stopped at step 27 (mid-interval, not at a checkpoint), then --resume.
  split = tmp_path / 'split'
  original = cb.DivergenceGuard.on_train_batch_end
  handlers = set()

  def stop_at_27(self, batch, logs=None):
    original(self, batch, logs)
    handlers.add(signal.getsignal(signal.SIGINT))
    if int(self.model.step.numpy()) == 27:
      stop.set()  # the callbacks' stop check then ends the run after this step
  monkeypatch.setattr(cb.DivergenceGuard, 'on_train_batch_end', stop_at_27)
  with interrupts.stop_with() as stop:
    result = loop.train(small_config(split, steps_per_execution=1, **variant), log=quiet)
  assert result.interrupted and result.step == 27
  assert handlers == {signal.default_int_handler}  # a library run leaves Ctrl-C alone
  monkeypatch.setattr(cb.DivergenceGuard, 'on_train_batch_end', original)
  result = loop.train(small_config(split, **variant), resume=True, log=quiet)
  assert result.step == 40

  a, b = weights_of(straight), weights_of(split)
  assert a.keys() == b.keys() and len(a) >= 10
  for name in a:
    np.testing.assert_allclose(a[name], b[name], rtol=1e-6, atol=1e-7, err_msg=name)


@pytest.fixture(scope='module')
def ten_steps(tmp_path_factory):
  """A finished 10-step run (one checkpoint), trained once for the tests that resume it or
  point at it; each takes its own copy (`copy_of`)."""
  logdir = tmp_path_factory.mktemp('ten_steps')
  loop.train(small_config(logdir, steps=10, checkpoint_every=10, sample_every=10), log=quiet)
  return logdir


def copy_of(run, tmp_path):
  return pathlib.Path(shutil.copytree(run, tmp_path / 'run'))


def test_resume_extends_steps_and_refuses_trajectory_changes(tmp_path, ten_steps):
  logdir = copy_of(ten_steps, tmp_path)
  with pytest.raises(ValueError, match=r"--seed=9 \(run has 3\)"):
    loop.train(small_config(logdir, steps=30, seed=9), resume=True, explicit=('steps', 'seed'),
               log=quiet)
  result = loop.train(small_config(logdir, steps=30), resume=True, explicit=('steps',), log=quiet)
  assert result.step == 30


def test_divergence_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
  loop.train(small_config(tmp_path, steps=20, optimizer='sgd2014', learning_rate=0.01), log=quiet)
  before = weights_of(tmp_path)
  # Make the continuation explode: an absurd learning rate in the saved run.
  run = json.loads((tmp_path / 'run.json').read_text())
  run.update(learning_rate=1e12, steps=40)
  (tmp_path / 'run.json').write_text(json.dumps(run))
  with pytest.raises(DivergenceError, match=r'at step 2[1-9]'):
    loop.train(small_config(tmp_path), resume=True, log=quiet)
  after = weights_of(tmp_path)
  assert tf.train.latest_checkpoint(str(tmp_path / 'checkpoints')).endswith('ckpt-20')
  for name in before:
    np.testing.assert_array_equal(before[name], after[name])
    assert np.all(np.isfinite(after[name]))


def test_resume_errors_name_the_folder(tmp_path):
  empty = tmp_path / 'empty'
  empty.mkdir()
  with pytest.raises(FileNotFoundError, match='not a tf_gans run folder'):
    loop.train(small_config(empty), resume=True, log=quiet)
  with pytest.raises(FileNotFoundError, match='does not exist'):
    loop.train(small_config(tmp_path / 'missing'), resume=True, log=quiet)


def test_a_run_stopped_before_its_first_checkpoint_resumes_from_step_0(tmp_path):
  # The folder of a run killed before its first checkpoint: run file, grids, history rows.
  no_ckpt = tmp_path / 'no_ckpt'
  no_ckpt.mkdir()
  small_config(no_ckpt, steps=20).save(str(no_ckpt / 'run.json'))
  with open(no_ckpt / 'history.csv', 'w') as f:
    f.write('step,d_loss\n10,0.5\n')
  messages = []
  result = loop.train(small_config(no_ckpt, steps=999), resume=True, log=messages.append)
  assert result.step == 20 and not result.interrupted  # the saved run's length, not the flag's
  assert any('No checkpoint' in m and 'from the beginning' in m for m in messages)
  steps = [int(r.split(',')[0]) for r in open(no_ckpt / 'history.csv').read().splitlines()[1:]]
  assert steps == [10, 20]  # the lost row was dropped and recomputed


def test_resume_of_a_foreign_checkpoint_is_refused(tmp_path, mnist_dir, ten_steps):
  logdir = copy_of(ten_steps, tmp_path)
  # Pretend the run was on 28x28 MNIST: its checkpoint cannot fit those models.
  cfg = dataclasses.replace(RunConfig.load(str(logdir / 'run.json')),
                            dataset=f'mnist_idx:{mnist_dir}', split='test[:100]')
  cfg.save(str(logdir / 'run.json'))
  with pytest.raises(ValueError, match='does not match this model'):
    loop.train(small_config(logdir), resume=True, log=quiet)


def test_a_new_run_never_overwrites_an_old_one(tmp_path, ten_steps):
  logdir = copy_of(ten_steps, tmp_path)
  before = {p: p.read_bytes() for p in logdir.rglob('*') if p.is_file()}
  with pytest.raises(FileExistsError, match='holds a run already; continue it with `python -m tf_gans.train --resume'):
    loop.train(small_config(logdir), log=quiet)
  assert {p: p.read_bytes() for p in logdir.rglob('*') if p.is_file()} == before


@pytest.mark.parametrize('overrides, message', [
    (dict(d_steps=0), '--d_steps must be >= 1'),
    (dict(simultaneous=True, d_steps=2), '--simultaneous .* --d_steps=1'),
    (dict(sample_every=15), '--sample_every=15 must be a multiple of --log_every=10'),
    (dict(batch_size=-1), '--batch_size must be >= 1'),
])
def test_contradictory_settings_fail_before_any_work(tmp_path, overrides, message):
  with pytest.raises(ValueError, match=message):
    loop.train(small_config(tmp_path / 'run', **overrides), log=quiet)
  assert not (tmp_path / 'run').exists()


def test_mirrored_strategy_run(tmp_path):
  result = loop.train(small_config(tmp_path, strategy='mirrored', steps=10, checkpoint_every=10,
                                   sample_every=10), log=quiet)
  assert result.step == 10
