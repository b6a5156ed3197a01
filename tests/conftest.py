"""Shared test set-up: quiet TF, two logical CPUs (for MirroredStrategy tests), paths."""

import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# Evaluations cache their features (tf_gans.metrics.features): in a folder of this session,
# never the user's ~/.cache.
os.environ['TF_GANS_FEATURE_CACHE'] = __import__('tempfile').mkdtemp(prefix='tf_gans_features_')

import pytest  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position

# Must happen before TensorFlow initialises its devices: tests of tf.distribute
# split this machine's CPU into two logical devices.
_cpus = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = REPO.parent / 'shared'


@pytest.fixture(autouse=True)
def ctrl_c_stops_the_suite():
  """Fails a test that leaves a SIGINT / SIGTERM handler or the command lines' opt-in
  (`interrupts.take_stop_signals`) behind: Ctrl-C must stay pytest's own."""
  import signal  # pylint: disable=import-outside-toplevel
  from tf_gans.training import interrupts  # pylint: disable=import-outside-toplevel
  signals = (signal.SIGINT, signal.SIGTERM)
  before = [signal.getsignal(s) for s in signals]
  yield
  after = [signal.getsignal(s) for s in signals]
  taken = interrupts.stop_signals_taken()
  for s, handler in zip(signals, before):
    signal.signal(s, handler)
  interrupts.take_stop_signals(False)
  if after != before or taken:
    pytest.fail(f'the test left SIGINT / SIGTERM handlers {after} (before: {before}) or the '
                f'stop-signal opt-in ({taken}) behind; restored them')


@pytest.fixture
def mnist_dir():
  path = SHARED / 'data' / 'mnist'
  if not path.is_dir():
    pytest.skip(f'{path} not present: the MNIST IDX files live in ../shared beside the repo.')
  return path


@pytest.fixture(scope='session')
def trained_run(tmp_path_factory):
  """A short digits run with an exported generator, shared by export / CLI tests."""
  from tf_gans.gan import loop  # pylint: disable=import-outside-toplevel
  from tf_gans.gan.config import RunConfig  # pylint: disable=import-outside-toplevel
  logdir = tmp_path_factory.mktemp('run')
  cfg = RunConfig(logdir=str(logdir), batch_size=20, steps=20, log_every=10, sample_every=10,
                  checkpoint_every=10, num_samples=16, progress=False, seed=1)
  return loop.train(cfg, log=lambda *_: None)


# PGGAN's whole schedule at its smallest: 16x16 blocks, 4x4 for 32 images, fade, 8x8, fade,
# 16x16 in 0.192 kimg; a tick and a checkpoint every 0.064 kimg.
PGGAN_BLOCKS = dict(seed=3, total_kimg=0.192, lod_training_kimg=0.032, lod_transition_kimg=0.032,
                    minibatch_base=8, fmap_base=16, fmap_max=8, fmap_decay=0.0,
                    tick_kimg_base=0.064, tick_kimg_dict='', network_snapshot_ticks=1,
                    mbstd_group_size=4)


def blocks_images(n=64, res=16, seed=0):
  """n RGB res x res uint8 images of 4x4 colour blocks."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  base = np.random.default_rng(seed).integers(0, 256, [n, 4, 4, 3]).astype(np.uint8)
  return np.kron(base, np.ones([1, res // 4, res // 4, 1], np.uint8))


@pytest.fixture(scope='session')
def blocks_tfrecords(tmp_path_factory):
  """`blocks_images()` as a multi-resolution TFRecords folder."""
  from tf_gans.data import dataset_writers  # pylint: disable=import-outside-toplevel
  path = tmp_path_factory.mktemp('data') / 'blocks'
  dataset_writers.write_arrays(str(path), blocks_images(), progress=False)
  return path


@pytest.fixture(scope='session')
def pggan_straight(tmp_path_factory, blocks_tfrecords):
  """The PGGAN run every resume / mirrored / CLI test compares with, trained once per
  session (`PGGAN_BLOCKS` on `blocks_tfrecords`, exported). Copy its folder to change it."""
  from tf_gans.progressive import config  # pylint: disable=import-outside-toplevel
  from tf_gans.progressive import loop  # pylint: disable=import-outside-toplevel
  cfg = config.ProgressiveConfig(logdir=str(tmp_path_factory.mktemp('pggan_straight')),
                                 dataset=f'tfrecords:{blocks_tfrecords}', progress=False,
                                 **PGGAN_BLOCKS)
  return loop.train(cfg, log=lambda *a, **k: None)


@pytest.fixture(scope='session')
def tfgan():
  """TF-GAN 2.1.0's losses and eval functions, the independent oracle of the cross-checks.

  Loaded by tests/tfgan_oracle.py past tensorflow_gan/__init__ (whose estimator
  needs the tf.estimator TF 2.16 removed); only test code sees it. The test extra
  installs it, so under CI (CI set) a missing TF-GAN fails instead of skipping;
  an installed TF-GAN that does not load always fails.
  """
  import tfgan_oracle  # pylint: disable=import-outside-toplevel
  try:
    return tfgan_oracle.load()
  except tfgan_oracle.TFGANMissing as e:
    if os.environ.get('CI'):
      pytest.fail(f'{e} CI installs the test extra, so the TF-GAN cross-checks must run.')
    pytest.skip(str(e))


def signal_a_worker_after_a_checkpoint(procs, ckpts, signum, victim=1, after=0, timeout=180,
                                      wait=60):
  """Multi-worker tests: waits for a checkpoint numbered above `after` in `ckpts`, sends
  `signum` to worker `victim` (SIGKILL: stopped first, so the others cannot run ahead of
  their next collective and the kill lands mid-run) and waits up to `wait` s for every
  process to end, killing those still running. Returns (the latest checkpoint's number,
  [(returncode, stdout, stderr)] per worker, [seconds from the signal to each exit])."""
  import signal  # pylint: disable=import-outside-toplevel
  import subprocess  # pylint: disable=import-outside-toplevel
  import time  # pylint: disable=import-outside-toplevel

  def newest():
    names = [f.name for f in ckpts.iterdir()] if ckpts.exists() else []
    return max([int(n[5:-6]) for n in names if n.startswith('ckpt-') and n.endswith('.index')],
               default=-1)

  deadline = time.time() + timeout
  while newest() <= after:
    assert all(p.poll() is None for p in procs) and time.time() < deadline, \
        [p.communicate()[1][-2000:] for p in procs if p.poll() is not None]
    time.sleep(0.02)
  if signum == signal.SIGKILL:
    procs[victim].send_signal(signal.SIGSTOP)
  procs[victim].send_signal(signum)
  sent = time.time()
  results, seconds = [], []
  for p in procs:
    try:
      out, err = p.communicate(timeout=max(1, sent + wait - time.time()))
    except subprocess.TimeoutExpired:
      p.kill()
      out, err = p.communicate()
    seconds.append(time.time() - sent)
    results.append((p.returncode, out, err))
  latest = tf.train.latest_checkpoint(ckpts)
  assert latest is not None
  return int(latest.rsplit('-', 1)[1]), results, seconds


# A lost worker's survivors exit within this bound: the coordination service's missed
# heartbeats or the refused connection abort their collectives in ~7-12 s here; the rest
# is slack for a loaded CI machine.
LOST_WORKER_EXIT_S = 45


def check_lost_worker_message(result, seconds, lost, logdir, checkpoint):
  """The survivor of a lost worker: exit 3 within the bound, one message, no traceback."""
  from tf_gans import cli  # pylint: disable=import-outside-toplevel
  rc, _, err = result
  assert rc == cli.WORKER_LOST_EXIT_STATUS, err[-3000:]
  assert 'Traceback' not in err, err[-3000:]
  assert f'error: lost {lost} (127.0.0.1:' in err, err[-3000:]
  assert f'the last checkpoint is {logdir}/checkpoints/ckpt-{checkpoint} ' in err, err[-3000:]
  assert f'start all of them again with: python -m tf_gans.train --resume --logdir={logdir}' in err
  assert seconds < LOST_WORKER_EXIT_S, seconds


def check_coordinated_stop(results, signalled, logdir, step_text):
  """SIGTERM on worker `signalled`: every worker saved at the same point and exited 130."""
  from tf_gans import cli  # pylint: disable=import-outside-toplevel
  for index, (rc, out, err) in enumerate(results):
    assert rc == cli.INTERRUPTED_EXIT_STATUS, err[-3000:]
    assert 'Traceback' not in err, err[-3000:]
    by = 'SIGTERM' if index == signalled else f'SIGTERM on worker {signalled}'
    assert f'Stopped by {by} at {step_text}; checkpoint ' in out, out[-2000:]
    assert '(every worker saved at this step)' in out
    assert f'python -m tf_gans.train --resume --logdir={logdir} on every worker' in out
