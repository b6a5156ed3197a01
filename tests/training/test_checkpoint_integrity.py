"""Checkpoint integrity: every checkpoint sealed when written and checked when restored; a
damaged newest one is skipped for the newest intact one, its files kept aside, for GAN and
PGGAN runs alike."""

import json
import re
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import PGGAN_BLOCKS
from inprocess_cli import run_main
from tf_gans.training import checkpoint as ckpt_lib

DATA = 'ckpt-{}.data-00000-of-00001'


def _damage(directory, number, how):
  """Damages checkpoint ckpt-<number> in `directory` as a user's disk or copy might."""
  data = os.path.join(directory, DATA.format(number))
  if how == 'truncated':
    with open(data, 'r+b') as f:
      f.truncate(os.path.getsize(data) // 3)
  elif how == 'missing index':
    os.remove(os.path.join(directory, f'ckpt-{number}.index'))
  elif how == 'corrupted bytes':
    with open(data, 'r+b') as f:
      f.seek(os.path.getsize(data) // 2)
      byte = f.read(1)
      f.seek(-1, os.SEEK_CUR)
      f.write(bytes([byte[0] ^ 0xFF]))
  else:
    raise ValueError(how)


class Tiny:
  """A Dense net, its Adam and a step counter, checkpointed every `save()` at the step."""

  def __init__(self, logdir, lines=None):
    self.net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(64)])
    self.opt = keras.optimizers.Adam()
    self.opt.build(self.net.trainable_variables)
    self.step = tf.Variable(0, dtype=tf.int64)
    self.lines = [] if lines is None else lines
    checkpoint = tf.train.Checkpoint(net=self.net, opt=self.opt, step=self.step)
    self.ckpt = ckpt_lib.Checkpointer(checkpoint, str(logdir), str(logdir), 3, [self.net],
                                      number=lambda: int(self.step.numpy()),
                                      where=lambda: f'step {int(self.step.numpy())}',
                                      warn=self.lines.append)

  def train_to(self, step):
    self.step.assign(step)
    self.net.layers[0].kernel.assign(np.full((3, 64), step, np.float32))
    return self.ckpt.save()


def _three_checkpoints(logdir):
  tiny = Tiny(logdir)
  for step in (10, 20, 30):
    tiny.train_to(step)
  return os.path.join(logdir, 'checkpoints')


def test_every_save_is_sealed_with_the_sizes_and_sha256_of_its_files(tmp_path):
  ckpts = _three_checkpoints(tmp_path)
  record = json.load(open(os.path.join(ckpts, 'ckpt-30.sha256.json')))
  assert sorted(record) == ['ckpt-30.data-00000-of-00001', 'ckpt-30.index']
  for name, entry in record.items():
    path = os.path.join(ckpts, name)
    assert entry['bytes'] == os.path.getsize(path)
    assert entry['sha256'] == ckpt_lib._sha256(path)  # pylint: disable=protected-access
  # A fourth save sweeps ckpt-10 (max_to_keep 3), and its record with it.
  tiny = Tiny(tmp_path)
  tiny.train_to(40)
  names = set(os.listdir(ckpts))
  assert 'ckpt-10.index' not in names and 'ckpt-10.sha256.json' not in names
  assert {'ckpt-20.sha256.json', 'ckpt-40.sha256.json'} <= names


@pytest.mark.parametrize('how, phrase', [
    ('truncated', r'ckpt-30.data-00000-of-00001 is truncated \(\d+ of \d+ bytes\)'),
    ('missing index', r'ckpt-30.index is missing'),
    ('corrupted bytes', r'ckpt-30.data-00000-of-00001 has corrupted bytes'),
])
def test_a_damaged_newest_checkpoint_is_skipped_for_the_newest_intact_one(tmp_path, how, phrase):
  ckpts = _three_checkpoints(tmp_path)
  _damage(ckpts, 30, how)
  damaged_files = sorted(f for f in os.listdir(ckpts) if f.startswith('ckpt-30'))
  tiny = Tiny(tmp_path)
  path = tiny.ckpt.restore()
  assert path.endswith('ckpt-20') and int(tiny.step.numpy()) == 20
  np.testing.assert_array_equal(tiny.net.layers[0].kernel.numpy(), 20)
  assert len(tiny.lines) == 1, tiny.lines
  line = tiny.lines[0]
  assert line.startswith(f'warning: damaged checkpoint ckpt-30 in {ckpts} (')
  assert re.search(phrase, line), line
  assert 'resuming from ckpt-20' in line and f'moved to {ckpts}/damaged (nothing deleted)' in line
  # Kept aside, never deleted; the state file now names the intact one.
  assert sorted(os.listdir(os.path.join(ckpts, 'damaged'))) == damaged_files
  assert not any(f.startswith('ckpt-30') for f in os.listdir(ckpts))
  assert tf.train.latest_checkpoint(ckpts).endswith('ckpt-20')
  # Training goes on from there: the next save is the latest, ckpt-10 and -20 still listed.
  tiny.train_to(25)
  again = Tiny(tmp_path)
  assert again.ckpt.restore().endswith('ckpt-25') and not again.lines
  assert [os.path.basename(p) for p in again.ckpt.manager.checkpoints] == [
      'ckpt-10', 'ckpt-20', 'ckpt-25']


def test_a_checkpoint_without_a_checksum_record_is_read_back_whole(tmp_path):
  # Written before the record existed (or killed between its save and its record).
  ckpts = _three_checkpoints(tmp_path)
  for n in (20, 30):
    os.remove(os.path.join(ckpts, f'ckpt-{n}.sha256.json'))
  _damage(ckpts, 30, 'truncated')
  tiny = Tiny(tmp_path)
  assert tiny.ckpt.restore().endswith('ckpt-20')
  assert 'ckpt-30.data-00000-of-00001 does not read back (IndexError: Read less bytes' in (
      tiny.lines[0])


def test_no_intact_checkpoint_left_is_one_error_naming_the_files_and_nothing_moves(tmp_path):
  ckpts = _three_checkpoints(tmp_path)
  for n, how in ((10, 'truncated'), (20, 'corrupted bytes'), (30, 'missing index')):
    _damage(ckpts, n, how)
  before = sorted(os.listdir(ckpts))
  tiny = Tiny(tmp_path)
  with pytest.raises(ckpt_lib.DamagedCheckpointError) as e:
    tiny.ckpt.restore()
  message = str(e.value)
  assert message.startswith(f'no intact checkpoint in {ckpts} (')
  for phrase in ('ckpt-30.index is missing', 'ckpt-20.data-00000-of-00001 has corrupted bytes',
                 'ckpt-10.data-00000-of-00001 is truncated'):
    assert phrase in message
  assert 'nothing was moved or deleted' in message
  assert f'python -m tf_gans.train --resume --logdir={tmp_path}' in message
  assert sorted(os.listdir(ckpts)) == before
  # An explicitly chosen damaged checkpoint is refused by name, not skipped.
  with pytest.raises(ckpt_lib.DamagedCheckpointError, match=r'ckpt-20 is damaged: ckpt-20.data'):
    tiny.ckpt.restore(os.path.join(ckpts, 'ckpt-20'))


def test_gan_resume_skips_a_truncated_newest_checkpoint(tmp_path, trained_run):
  logdir = tmp_path / 'run'  # 20 steps, checkpoints at 10 and 20
  shutil.copytree(trained_run.logdir, logdir)
  ckpts = logdir / 'checkpoints'
  _damage(ckpts, 20, 'truncated')
  out = run_main('train', '--resume', f'--logdir={logdir}', '--steps=30', '--noprogress',
                 '--noexport')
  assert out.returncode == 0, out.stderr[-3000:]
  assert 'Traceback' not in out.stderr
  warnings = [l for l in out.stderr.splitlines() if l.startswith('warning:')]
  assert len(warnings) == 1 and 'ckpt-20.data-00000-of-00001 is truncated' in warnings[0]
  assert 'Resumed' in out.stdout and 'at step 10 of 30' in out.stdout
  assert 'Done: step 30' in out.stdout
  assert (ckpts / 'damaged' / DATA.format(20)).exists()
  rows = (logdir / 'history.csv').read_text().splitlines()[1:]
  assert [int(float(r.split(',')[0])) for r in rows] == [10, 20, 30]


def test_pggan_resume_skips_a_damaged_newest_checkpoint(tmp_path, pggan_straight):
  logdir = tmp_path / 'run'
  shutil.copytree(pggan_straight.logdir, logdir)
  ckpts = logdir / 'checkpoints'
  newest = int(tf.train.latest_checkpoint(str(ckpts)).rsplit('-', 1)[1])
  assert newest == int(PGGAN_BLOCKS['total_kimg'] * 1000)
  _damage(str(ckpts), newest, 'corrupted bytes')
  out = run_main('train', '--resume', f'--logdir={logdir}', '--noprogress', '--noexport')
  assert out.returncode == 0, out.stderr[-3000:]
  warnings = [l for l in out.stderr.splitlines() if l.startswith('warning:')]
  assert len(warnings) == 1, out.stderr[-3000:]
  assert f'ckpt-{newest}.data-00000-of-00001 has corrupted bytes' in warnings[0]
  assert f'Resumed {logdir} at 0.128 kimg' in out.stdout and 'Done: 0.192 kimg' in out.stdout
  assert (ckpts / 'damaged' / DATA.format(newest)).exists()


def test_reading_a_gan_run_skips_a_damaged_checkpoint_and_leaves_it_in_place(
    tmp_path, trained_run, capsys):
  from tf_gans.gan import restore  # pylint: disable=import-outside-toplevel
  logdir = tmp_path / 'run'
  shutil.copytree(trained_run.logdir, logdir)
  ckpts = logdir / 'checkpoints'
  _damage(str(ckpts), 20, 'truncated')
  before = sorted(os.listdir(ckpts))
  state = (ckpts / 'checkpoint').read_text()
  _, _, _, step = restore.load_run(str(logdir))
  assert step == 10
  err = capsys.readouterr().err
  assert 'ckpt-20.data-00000-of-00001 is truncated' in err and 'skipped, reading ckpt-10' in err
  assert '(left where they are)' in err
  assert sorted(os.listdir(ckpts)) == before and (ckpts / 'checkpoint').read_text() == state
  with pytest.raises(ckpt_lib.DamagedCheckpointError, match='ckpt-20 is damaged'):
    restore.load_run(str(logdir), str(ckpts / 'ckpt-20'))


def test_export_generate_and_study_read_the_newest_intact_checkpoint(tmp_path, trained_run, capsys):
  """families.generator_module (generate --model=<run>, evaluate --fakes=run:) and the study's
  trained_step skip a damaged newest checkpoint as load_run does, moving nothing."""
  from tf_gans import families, study  # pylint: disable=import-outside-toplevel
  logdir = tmp_path / 'run'
  shutil.copytree(trained_run.logdir, logdir)
  ckpts = logdir / 'checkpoints'
  _damage(str(ckpts), 20, 'missing index')
  before = sorted(os.listdir(ckpts))
  _, where = families.generator_module(str(logdir))
  assert where == 'step 10'
  err = capsys.readouterr().err
  assert 'warning: damaged checkpoint ckpt-20' in err and 'ckpt-20.index' in err, err
  assert 'skipped, reading ckpt-10' in err
  assert study.trained_step(str(logdir)) == 10
  assert sorted(os.listdir(ckpts)) == before
  _damage(str(ckpts), 10, 'corrupted bytes')
  with pytest.raises(ckpt_lib.DamagedCheckpointError, match=r'no intact checkpoint in .*ckpt-20'):
    families.generator_module(str(logdir))


def test_newest_intact_names_the_damaged_newer_ones_and_moves_nothing(tmp_path):
  ckpts = _three_checkpoints(tmp_path)
  _damage(ckpts, 30, 'corrupted bytes')
  before = sorted(os.listdir(ckpts))
  intact, damaged = ckpt_lib.newest_intact(ckpts)
  assert intact == os.path.join(ckpts, 'ckpt-20')
  assert [name for name, _ in damaged] == ['ckpt-30']
  assert damaged[0][1][0].startswith('ckpt-30.data-00000-of-00001 has corrupted bytes')
  assert sorted(os.listdir(ckpts)) == before


def test_resume_with_no_intact_checkpoint_is_one_error_line_and_exit_2(tmp_path, trained_run):
  logdir = tmp_path / 'run'
  shutil.copytree(trained_run.logdir, logdir)
  ckpts = logdir / 'checkpoints'
  _damage(str(ckpts), 20, 'missing index')
  _damage(str(ckpts), 10, 'truncated')
  before = sorted(os.listdir(ckpts))
  out = run_main('train', '--resume', f'--logdir={logdir}', '--steps=30', '--noprogress')
  assert out.returncode == 2 and 'Traceback' not in out.stderr, out.stderr[-3000:]
  lines = out.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith(f'error: no intact checkpoint in {ckpts} ('), lines
  assert 'ckpt-20.index is missing' in lines[0]
  assert 'ckpt-10.data-00000-of-00001 is truncated' in lines[0]
  assert sorted(os.listdir(ckpts)) == before and 'Resumed' not in out.stdout
