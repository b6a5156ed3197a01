"""One run lifecycle for every model, met as a user meets it: SIGINT / SIGTERM on a real
`python -m tf_gans.train` process (also after its output pipes died), then resume with
`--resume --logdir` alone, and divergence, all the same for GAN and PGGAN. The signals
need a process of their own; the resumes and the divergence run the command's main()
in this process (`inprocess_cli`), with the same flags, messages and exit statuses."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import PGGAN_BLOCKS, REPO
from inprocess_cli import run_main

RESUME = 'Continue with: python -m tf_gans.train --resume --logdir='


def start_train(*args, **popen_kw):
  return subprocess.Popen([sys.executable, '-m', 'tf_gans.train', *args], cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen_kw)


def wait_for(path, proc, timeout=240):
  deadline = time.time() + timeout
  while not os.path.exists(path):
    if proc.poll() is not None or time.time() > deadline:
      proc.kill()
      raise AssertionError(f'{path} never appeared: {proc.communicate()[1][-3000:]}')
    time.sleep(0.2)


def checkpoint_tensors(logdir):
  reader = tf.train.load_checkpoint(os.path.join(logdir, 'checkpoints'))
  return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
          if not k.startswith('_CHECKPOINTABLE') and 'save_counter' not in k}


# The straight run's schedule (tests/conftest.py), without the export.
PGGAN = dict(PGGAN_BLOCKS, export=False)


def pggan_flags(data):
  return ['--model=pggan', f'--dataset=tfrecords:{data}'] + [
      f'--{k}={v}' if not isinstance(v, bool) else f'--{"" if v else "no"}{k}'
      for k, v in PGGAN.items()]


def test_pggan_stopped_mid_run_resumes_with_resume_and_logdir_alone(
    tmp_path, blocks_tfrecords, pggan_straight):
  straight = pggan_straight
  logdir = tmp_path / 'run'
  proc = start_train(*pggan_flags(blocks_tfrecords), f'--logdir={logdir}')
  wait_for(logdir / 'history.csv', proc)  # the first tick is written: mid-run
  proc.send_signal(signal.SIGINT)
  stdout, stderr = proc.communicate(timeout=120)
  assert proc.returncode == 130, stderr[-3000:]
  stopped = float(re.search(r'Stopped by SIGINT at ([\d.]+) kimg', stdout).group(1))
  assert 0.064 <= stopped < 0.192 and f'{RESUME}{logdir}' in stdout
  assert 'Traceback' not in stderr

  out = run_main('train', '--resume', f'--logdir={logdir}')  # nothing else
  assert out.returncode == 0, out.stderr[-3000:]
  assert out.stop_signals  # the command opts in; in-process, Ctrl-C stays pytest's
  assert f'Resumed {logdir} at {stopped:g} kimg' in out.stdout and 'Done: 0.192 kimg' in out.stdout
  a, b = checkpoint_tensors(straight.logdir), checkpoint_tensors(logdir)
  assert sorted(a) == sorted(b) and any(k.startswith('Gs/') for k in a)
  for k in a:
    np.testing.assert_allclose(b[k], a[k], rtol=1e-5, atol=1e-6, err_msg=k)
  # The monitoring every model has, from a tfrecords: dataset.
  names = set(os.listdir(logdir))
  assert {'run.json', 'reals.png', 'history.csv', 'loss_curves.png', 'tensorboard'} <= names
  assert any(f.startswith('events.out') for f in os.listdir(logdir / 'tensorboard'))
  rows = open(logdir / 'history.csv').read().splitlines()
  kimg = [float(r.split(',')[0]) for r in rows[1:]]
  assert rows[0].startswith('kimg,') and kimg == sorted(kimg) and kimg[-1] == 0.192
  assert 'lod' in rows[0].split(',') and 'images_per_sec' in rows[0].split(',')


# PGGAN's variant is slow (~30 s): its dead pipes are the GAN variant's (one Monitor, one
# protect_output), and SIGTERM saving a PGGAN run at a round, exit 130, then resuming it is
# test_progressive_multi_worker's (on both workers).
@pytest.mark.parametrize('model', ['gan', pytest.param('pggan', marks=pytest.mark.slow)])
def test_a_stop_signal_after_the_output_pipes_died_leaves_a_resumable_run(
    tmp_path, blocks_tfrecords, model):
  # A progress line every round / step, so the dead pipes are written to while training.
  logdir = tmp_path / model
  if model == 'gan':
    args = ['--flagfile=configs/quickstart.cfg', '--batch_size=20', '--log_every=10',
            '--sample_every=1000', '--checkpoint_every=1000', '--steps=100000', '--noexport']
  else:
    args = pggan_flags(blocks_tfrecords) + ['--total_kimg=100', '--network_snapshot_ticks=1000']
  proc = start_train(*args, f'--logdir={logdir}', '--progress_every_s=0')
  # The first logged interval / tick: training has started (reals.png comes before the
  # run's set-up ends, and a signal there stops it with nothing to save).
  wait_for(logdir / 'history.csv', proc)
  proc.stdout.close()  # what `| head` or a closed ssh session does to a run
  proc.stderr.close()
  time.sleep(3)  # it keeps training and writing progress lines into the dead pipes
  assert proc.poll() is None, 'the run died with its output pipes'
  proc.send_signal(signal.SIGTERM if model == 'pggan' else signal.SIGINT)
  assert proc.wait(timeout=120) == 130
  saved = int(re.search(r'ckpt-(\d+)"', open(logdir / 'checkpoints' / 'checkpoint').read())[1])
  assert saved > 0
  # Resumable: continue it a little further.
  more = ([f'--steps={saved + 10}'] if model == 'gan' else
          [f'--total_kimg={(saved + 16) / 1000}', '--allow_partial_schedule'])
  out = run_main('train', '--resume', f'--logdir={logdir}', *more)
  assert out.returncode == 0 and 'Done:' in out.stdout, out.stderr[-3000:]


def test_pggan_divergence_stops_with_the_shared_error_and_status(tmp_path, blocks_tfrecords):
  logdir = tmp_path / 'run'
  # A D learning rate of 1e30 sends D's weights and losses to inf / NaN within a round.
  out = run_main('train', *pggan_flags(blocks_tfrecords), f'--logdir={logdir}',
                 '--D_lrate_base=1e30', '--G_lrate_base=1e30', '--noprogress')
  assert out.returncode == 1, out.stderr[-3000:]
  assert re.search(r'error: \w+ is (nan|inf|-inf|not finite) at [\d.]+ kimg: training '
                   r'diverged\. The last good checkpoint was kept', out.stderr), out.stderr[-3000:]
