"""Shared test set-up: quiet TF, two logical CPUs (for MirroredStrategy tests), paths."""

import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import pytest  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position

# Must happen before TensorFlow initialises its devices: tests of tf.distribute
# split this machine's CPU into two logical devices.
_cpus = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = REPO.parent / 'shared'


@pytest.fixture
def mnist_dir():
  path = SHARED / 'data' / 'mnist'
  if not path.is_dir():
    pytest.skip(f'{path} not present: the MNIST IDX files live in ../shared beside the repo.')
  return path


@pytest.fixture(scope='session')
def trained_run(tmp_path_factory):
  """A short digits run with an exported generator, shared by export / CLI tests."""
  from tf_gans.training import loop  # pylint: disable=import-outside-toplevel
  from tf_gans.training.config import RunConfig  # pylint: disable=import-outside-toplevel
  logdir = tmp_path_factory.mktemp('run')
  cfg = RunConfig(logdir=str(logdir), batch_size=20, steps=20, log_every=10, sample_every=10,
                  checkpoint_every=10, num_samples=16, progress=False, seed=1)
  return loop.train(cfg, log=lambda *_: None)


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


def lose_a_worker_after_the_first_checkpoint(procs, ckpts, timeout=180):
  """Multi-worker tests: waits for the chief's first checkpoint in `ckpts`, then kills the
  second worker (stopped first, so the chief cannot run ahead of its next collective and
  the kill lands mid-run) and waits for the chief to stop (or kills it, if it hangs on the
  broken collective). Returns the checkpoint number the run was killed at."""
  import signal  # pylint: disable=import-outside-toplevel
  import subprocess  # pylint: disable=import-outside-toplevel
  import time  # pylint: disable=import-outside-toplevel
  deadline = time.time() + timeout
  while not (ckpts.exists() and any(f.name.startswith('ckpt-') and f.name.endswith('.index')
                                    for f in ckpts.iterdir())):
    assert all(p.poll() is None for p in procs) and time.time() < deadline, \
        [p.communicate()[1][-2000:] for p in procs if p.poll() is not None]
    time.sleep(0.02)
  procs[1].send_signal(signal.SIGSTOP)
  procs[1].send_signal(signal.SIGKILL)
  try:
    procs[0].communicate(timeout=30)
  except subprocess.TimeoutExpired:
    procs[0].kill()
    procs[0].communicate()
  procs[1].communicate()
  latest = tf.train.latest_checkpoint(ckpts)
  assert latest is not None
  return int(latest.rsplit('-', 1)[1])
