"""One run lifecycle for every model, met as a user meets it (one subprocess per command):
resume with `--resume --logdir` alone, SIGINT / SIGTERM after the output pipes died,
divergence, all the same for GAN and PGGAN."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO
from tf_gans.data import dataset_writers
from tf_gans.progressive import config as config_lib
from tf_gans.progressive import loop as progressive_loop

RESUME = 'Continue with: python -m tf_gans.train --resume --logdir='


def start_train(*args, **popen_kw):
  return subprocess.Popen([sys.executable, '-m', 'tf_gans.train', *args], cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen_kw)


def run_train(*args, timeout=300):
  return subprocess.run([sys.executable, '-m', 'tf_gans.train', *args], cwd=REPO,
                        capture_output=True, text=True, timeout=timeout)


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


@pytest.fixture(scope='module')
def blocks_tfrecords(tmp_path_factory):
  """64 RGB 16x16 images of 4x4 colour blocks, as a multi-resolution TFRecords folder."""
  rng = np.random.default_rng(0)
  base = rng.integers(0, 256, [64, 4, 4, 3]).astype(np.uint8)
  images = np.kron(base, np.ones([1, 4, 4, 1], np.uint8))
  path = tmp_path_factory.mktemp('data') / 'blocks'
  dataset_writers.write_arrays(str(path), images, progress=False)
  return path


# 16x16: 4x4, fade, 8x8, fade, 16x16 in 0.192 kimg, a tick and a checkpoint every 0.064.
PGGAN = dict(seed=3, total_kimg=0.192, lod_training_kimg=0.032, lod_transition_kimg=0.032,
             minibatch_base=8, fmap_base=16, fmap_max=8, fmap_decay=0.0, tick_kimg_base=0.064,
             tick_kimg_dict='', network_snapshot_ticks=1, mbstd_group_size=4, export=False)


def pggan_flags(data):
  return ['--model=pggan', f'--dataset=tfrecords:{data}'] + [
      f'--{k}={v}' if not isinstance(v, bool) else f'--{"" if v else "no"}{k}'
      for k, v in PGGAN.items()]


def test_pggan_stopped_mid_run_resumes_with_resume_and_logdir_alone(tmp_path, blocks_tfrecords):
  straight = progressive_loop.train(
      config_lib.ProgressiveConfig(logdir=str(tmp_path / 'straight'),
                                   dataset=f'tfrecords:{blocks_tfrecords}', progress=False,
                                   **PGGAN), log=lambda *a, **k: None)
  logdir = tmp_path / 'run'
  proc = start_train(*pggan_flags(blocks_tfrecords), f'--logdir={logdir}')
  wait_for(logdir / 'history.csv', proc)  # the first tick is written: mid-run
  proc.send_signal(signal.SIGINT)
  stdout, stderr = proc.communicate(timeout=120)
  assert proc.returncode == 130, stderr[-3000:]
  stopped = float(re.search(r'Stopped by SIGINT at ([\d.]+) kimg', stdout).group(1))
  assert 0.064 <= stopped < 0.192 and f'{RESUME}{logdir}' in stdout
  assert 'Traceback' not in stderr

  out = run_train('--resume', f'--logdir={logdir}')  # nothing else
  assert out.returncode == 0, out.stderr[-3000:]
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


@pytest.mark.parametrize('model', ['gan', 'pggan'])
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
  out = run_train('--resume', f'--logdir={logdir}', *more)
  assert out.returncode == 0 and 'Done:' in out.stdout, out.stderr[-3000:]


def test_pggan_divergence_stops_with_the_shared_error_and_status(tmp_path, blocks_tfrecords):
  logdir = tmp_path / 'run'
  # A D learning rate of 1e30 sends D's weights and losses to inf / NaN within a round.
  out = run_train(*pggan_flags(blocks_tfrecords), f'--logdir={logdir}', '--D_lrate_base=1e30',
                  '--G_lrate_base=1e30', '--noprogress')
  assert out.returncode == 1, out.stderr[-3000:]
  assert re.search(r'error: \w+ is (nan|inf|-inf|not finite) at [\d.]+ kimg: training '
                   r'diverged\. The last good checkpoint was kept', out.stderr), out.stderr[-3000:]
  assert 'Traceback' not in out.stderr
