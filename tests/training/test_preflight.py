"""Write permissions found out before any training step, and saves that fail mid-run.

Tests run as root in CI, where chmod denies nothing: the failures are injected by
putting a file where a folder is expected, or by making the write call fail."""

import errno
import os
import shutil
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from inprocess_cli import run_main
from tf_gans import atomic
from tf_gans.training import checkpoint as ckpt_lib
from tf_gans.training import run as run_lib
from tf_gans.training import snapshots as snapshots_lib

GAN = ['--batch_size=20', '--steps=20', '--log_every=10', '--sample_every=10',
       '--checkpoint_every=10', '--num_samples=16', '--noprogress', '--noexport']


def _one_error_line(out):
  lines = out.stderr.strip().splitlines()
  errors = [l for l in lines if l.startswith('error: ')]
  assert out.returncode == 2, out.stderr[-3000:]
  assert 'Traceback' not in out.stderr and len(errors) == 1, out.stderr[-3000:]
  return errors[0]


def _deny_writes_in(monkeypatch, folder):
  """Makes creating a file in `folder` fail as a read-only or foreign folder does."""
  real = tempfile.mkstemp

  def mkstemp(*args, dir=None, **kwargs):  # pylint: disable=redefined-builtin
    if dir is not None and os.path.abspath(dir) == os.path.abspath(folder):
      raise PermissionError(errno.EACCES, 'Permission denied', os.path.join(dir, 'x'))
    return real(*args, dir=dir, **kwargs)
  monkeypatch.setattr(atomic.tempfile, 'mkstemp', mkstemp)


@pytest.mark.parametrize('how', ['parent is a file', 'parent not writable'])
def test_a_logdir_that_cannot_be_created_is_one_error_before_training(tmp_path, monkeypatch, how):
  parent = tmp_path / 'parent'
  if how == 'parent is a file':
    parent.write_text('not a folder')
    why = f'{parent} is a file, so {parent}/run cannot be created'
  else:
    parent.mkdir()
    _deny_writes_in(monkeypatch, parent)
    why = f'{parent}/run cannot be created: {parent} is not writable (Permission denied)'
  line = _one_error_line(run_main('train', f'--logdir={parent}/run', *GAN))
  assert line == (f'error: --logdir={parent}/run: the run folder cannot be written: {why}. '
                  f'Nothing was trained; make it writable (a folder, not a file) or choose '
                  f'another --logdir.')
  assert not (parent / 'run').exists() or how == 'parent is a file'


@pytest.fixture
def gan_run(trained_run):
  """The shared 20-step GAN run (tests/conftest.py), checkpoints at 10 and 20; copy it."""
  return trained_run.logdir


def _snapshot(logdir):
  return {os.path.relpath(os.path.join(d, f), logdir): os.path.getsize(os.path.join(d, f))
          for d, _, files in os.walk(logdir) for f in files}


@pytest.mark.parametrize('folder, how', [('checkpoints', 'not writable'),
                                         ('snapshots', 'a file'), ('samples', 'a file')])
def test_an_unwritable_run_folder_is_one_error_before_any_step(tmp_path, monkeypatch, gan_run,
                                                               folder, how):
  logdir = tmp_path / 'run'
  shutil.copytree(gan_run, logdir)
  if how == 'a file':
    shutil.rmtree(logdir / folder)
    (logdir / folder).write_text('in the way')
    why = f'{logdir}/{folder} is a file, not a folder'
  else:
    _deny_writes_in(monkeypatch, logdir / folder)
    why = f'{logdir}/{folder} is not writable (Permission denied)'
  before = _snapshot(logdir)
  line = _one_error_line(run_main('train', '--resume', f'--logdir={logdir}', '--steps=40'))
  assert line.startswith(f'error: --logdir={logdir}: its {folder} folder cannot be written: '
                         f'{why}. Nothing was trained'), line
  assert _snapshot(logdir) == before  # not even run.json rewritten


def test_a_disk_without_room_for_one_checkpoint_is_one_error_before_training(
    tmp_path, monkeypatch, gan_run):
  logdir = tmp_path / 'run'
  shutil.copytree(gan_run, logdir)
  written = sum(os.path.getsize(logdir / 'checkpoints' / f)
                for f in os.listdir(logdir / 'checkpoints') if f.startswith('ckpt-20.'))
  usage = shutil.disk_usage(tmp_path)
  monkeypatch.setattr(run_lib.shutil, 'disk_usage',
                      lambda path: usage._replace(free=written // 2))
  before = _snapshot(logdir)
  line = _one_error_line(run_main('train', '--resume', f'--logdir={logdir}', '--steps=40'))
  need = float(line.split('less than one checkpoint of this run (')[1].split(' MB')[0]) * 1e6
  assert line.startswith(f'error: --logdir={logdir}: {written // 2 / 1e6:.1f} MB free on the '
                         f'disk of {logdir}/checkpoints, less than one checkpoint'), line
  # The estimate (the state's variables) is the checkpoint's size to within its index.
  assert abs(need - written) / written < 0.01, (need, written)
  assert _snapshot(logdir) == before


def test_a_save_that_fails_mid_run_keeps_the_previous_checkpoint_and_resumes(tmp_path):
  # Something in the way of the save at step 20 (its temporary folder's name is a file):
  # TensorFlow's SaveV2 fails for real, after 10 steps were checkpointed.
  logdir = tmp_path / 'run'
  (logdir / 'checkpoints').mkdir(parents=True)
  blocker = logdir / 'checkpoints' / 'ckpt-20_temp'
  blocker.write_text('in the way')
  line = _one_error_line(run_main('train', f'--logdir={logdir}', *GAN))
  assert line.startswith(f'error: could not write checkpoint ckpt-20 into {logdir}/checkpoints '
                         f'at step 20 (FailedPreconditionError: '), line
  assert line.endswith(f'the newest checkpoint, ckpt-10, is kept intact and a resume continues '
                       f'from it. Free some space or make the folder writable, then continue '
                       f'with: python -m tf_gans.train --resume --logdir={logdir}'), line
  ckpts = logdir / 'checkpoints'
  assert tf.train.latest_checkpoint(str(ckpts)).endswith('ckpt-10')
  assert not [f for f in os.listdir(ckpts) if f.startswith('ckpt-20.')]
  assert ckpt_lib.damage(str(ckpts / 'ckpt-10')) == []
  # history.csv claims no step the run cannot resume from (the row of step 20 is dropped).
  rows = (logdir / 'history.csv').read_text().splitlines()[1:]
  assert [int(float(r.split(',')[0])) for r in rows] == [10]
  blocker.unlink()
  out = run_main('train', '--resume', f'--logdir={logdir}', '--noprogress')
  assert out.returncode == 0 and 'Done: step 20' in out.stdout, out.stderr[-3000:]
  assert 'at step 10 of 20' in out.stdout
  rows = (logdir / 'history.csv').read_text().splitlines()[1:]
  assert [int(float(r.split(',')[0])) for r in rows] == [10, 20]


class Tiny:
  def __init__(self, logdir):
    self.net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(64)])
    self.step = tf.Variable(0, dtype=tf.int64)
    checkpoint = tf.train.Checkpoint(net=self.net, step=self.step)
    self.ckpt = ckpt_lib.Checkpointer(checkpoint, str(logdir), str(logdir), 2, [self.net],
                                      number=lambda: int(self.step.numpy()),
                                      where=lambda: f'step {int(self.step.numpy())}')


def _torn_save(error):
  """CheckpointManager.save that leaves half a checkpoint (a data file cut short, the
  temporary folder), then fails with `error`."""
  real = tf.train.CheckpointManager.save

  def save(self, checkpoint_number=None, **kwargs):
    if checkpoint_number != 20:
      return real(self, checkpoint_number=checkpoint_number, **kwargs)
    prefix = os.path.join(self.directory, f'ckpt-{checkpoint_number}')
    os.makedirs(prefix + '_temp')
    with open(prefix + '_temp/part-00000-of-00001.data-00000-of-00001', 'wb') as f:
      f.write(b'\0' * 100)
    with open(prefix + '.data-00000-of-00001', 'wb') as f:
      f.write(b'\0' * 100)
    raise error
  return save


@pytest.mark.parametrize('error, reason', [
    (tf.errors.PermissionDeniedError(None, None, 'ckpt-20_temp/part; Permission denied'),
     'permission denied: ckpt-20_temp/part; Permission denied'),
    (tf.errors.ResourceExhaustedError(None, None, 'ckpt-20_temp/part; No space left on device'),
     'the disk is full: ckpt-20_temp/part; No space left on device'),
    (OSError(errno.ENOSPC, 'No space left on device'),
     'the disk is full: [Errno 28] No space left on device'),
])
def test_a_failed_save_removes_its_partial_files_and_keeps_the_latest(
    tmp_path, monkeypatch, error, reason):
  tiny = Tiny(tmp_path)
  tiny.step.assign(10)
  tiny.ckpt.save()
  tiny.step.assign(20)
  monkeypatch.setattr(tf.train.CheckpointManager, 'save', _torn_save(error))
  with pytest.raises(ckpt_lib.SaveError) as e:
    tiny.ckpt.save()
  ckpts = tmp_path / 'checkpoints'
  assert str(e.value) == (
      f'could not write checkpoint ckpt-20 into {ckpts} at step 20 ({reason}): the newest '
      f'checkpoint, ckpt-10, is kept intact and a resume continues from it; the partial files '
      f'of ckpt-20 were removed. Free some space or make the folder writable, then continue '
      f'with: python -m tf_gans.train --resume --logdir={tmp_path}')
  assert isinstance(e.value, OSError) and isinstance(e.value, ValueError)
  assert sorted(os.listdir(ckpts)) == ['checkpoint', 'ckpt-10.data-00000-of-00001',
                                       'ckpt-10.index', 'ckpt-10.sha256.json']
  assert Tiny(tmp_path).ckpt.latest().endswith('ckpt-10')


def test_a_seal_that_fails_after_the_state_file_named_the_new_checkpoint_rolls_it_back(
    tmp_path, monkeypatch):
  # The checkpoint and the state file were written, then its checksum record hits a full disk.
  tiny = Tiny(tmp_path)
  tiny.step.assign(10)
  tiny.ckpt.save()
  tiny.step.assign(20)
  real_replace = os.replace

  def replace(src, dst):
    if str(dst).endswith('ckpt-20.sha256.json'):
      raise OSError(errno.ENOSPC, 'No space left on device')
    return real_replace(src, dst)
  monkeypatch.setattr(ckpt_lib.os, 'replace', replace)
  with pytest.raises(ckpt_lib.SaveError, match=r'ckpt-20 .*\(the disk is full: .*ckpt-10, is kept'):
    tiny.ckpt.save()
  monkeypatch.undo()
  ckpts = str(tmp_path / 'checkpoints')
  assert tf.train.latest_checkpoint(ckpts).endswith('ckpt-10')
  assert not [f for f in os.listdir(ckpts) if f.startswith('ckpt-20')]
  tiny.step.assign(30)  # the next save works, the manager's list is the disk's
  assert tiny.ckpt.save().endswith('ckpt-30')
  assert [os.path.basename(p) for p in tiny.ckpt.manager.checkpoints] == ['ckpt-10', 'ckpt-30']


def test_a_failed_snapshot_names_its_folder_and_removes_its_partial_files(tmp_path, monkeypatch):
  net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
  snaps = snapshots_lib.Snapshots(str(tmp_path), 'gan', {'G': net})
  snaps.write(10)
  real = tf.train.Checkpoint.write

  def write(self, prefix, **kwargs):
    with open(prefix + '.data-00000-of-00001', 'wb') as f:
      f.write(b'\0' * 10)
    raise tf.errors.ResourceExhaustedError(None, None, 'No space left on device')
  monkeypatch.setattr(tf.train.Checkpoint, 'write', write)
  with pytest.raises(ckpt_lib.SaveError) as e:
    snaps.write(20)
  monkeypatch.setattr(tf.train.Checkpoint, 'write', real)
  folder = tmp_path / 'snapshots'
  assert str(e.value).startswith(f'could not write snapshot snapshot-0000020 into {folder} '
                                 f'(the disk is full: No space left on device): the snapshots '
                                 f'before it and the checkpoints are kept')
  assert sorted(os.listdir(folder)) == ['snapshot-0000010.data-00000-of-00001',
                                        'snapshot-0000010.index']
  assert snaps.last.endswith('snapshot-0000010')
  np.testing.assert_equal(len(snapshots_lib.list_snapshots(str(tmp_path))), 1)


def test_a_pggan_run_folder_that_is_a_file_is_one_error_before_training(tmp_path,
                                                                       blocks_tfrecords):
  logdir = tmp_path / 'run'
  logdir.write_text('not a folder')
  line = _one_error_line(run_main('train', '--model=pggan',
                                  f'--dataset=tfrecords:{blocks_tfrecords}', f'--logdir={logdir}',
                                  '--noprogress'))
  assert line.startswith(f'error: --logdir={logdir}: the run folder cannot be written: {logdir} '
                         f'is a file, not a folder. Nothing was trained'), line
