"""MultiWorkerMirroredStrategy: two local worker processes over loopback (TF_CONFIG).

The two workers' step equals a one-device step on the same global batch; a worker killed
mid-run leaves the chief's checkpoints intact and `--resume` on both continues the same
trajectory. Every process has a timeout, so the test stops by itself.
"""

import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from conftest import REPO, lose_a_worker_after_the_first_checkpoint
from tf_gans.training import loop
from tf_gans.training import strategy
from tf_gans.training.config import RunConfig

STEPS = 60
ARGS = ['--flagfile=configs/quickstart.cfg', f'--steps={STEPS}', '--log_every=10',
        '--sample_every=1000', '--checkpoint_every=10', '--noprogress', '--noexport']


def _start_workers(logdir, *extra):
  procs = []
  for tf_config in strategy.loopback_tf_configs(2):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', TF_CONFIG=tf_config)
    procs.append(subprocess.Popen(
        [sys.executable, '-m', 'tf_gans.train', *ARGS, '--strategy=multi_worker',
         f'--logdir={logdir}', *extra], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True))
  return procs


def _finish(procs, timeout=240):
  outs = [p.communicate(timeout=timeout) for p in procs]
  for p, (_, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
  return outs


def _g_weights(ckpt):
  reader = tf.train.load_checkpoint(ckpt)
  names = sorted(n for n in reader.get_variable_to_shape_map()
                 if n.startswith('G/') and 'OPTIMIZER' not in n)
  return {n: reader.get_tensor(n) for n in names}


def test_two_workers_train_as_one_device_and_resume_after_a_kill(tmp_path):
  # One device, the same global batch: the reference trajectory.
  single = RunConfig(logdir=str(tmp_path / 'single'), dataset='digits', model='mlp2014',
                     loss='nonsaturating', batch_size=100, optimizer='adam', learning_rate=2e-4,
                     beta1=0.5, steps=STEPS, seed=0, log_every=10, sample_every=1000,
                     checkpoint_every=10, progress=False, export=False)
  loop.train(single, log=lambda *a: None)
  want = _g_weights(tf.train.latest_checkpoint(tmp_path / 'single' / 'checkpoints'))

  run = tmp_path / 'mw'
  procs = _start_workers(run)
  ckpts = run / 'checkpoints'
  killed_at = lose_a_worker_after_the_first_checkpoint(procs, ckpts)
  assert killed_at < STEPS, 'the kill came too late to test a resume'

  outs = _finish(_start_workers(run, '--resume'))
  assert f'Resumed {run} at step {killed_at}' in outs[0][0]
  got = _g_weights(tf.train.latest_checkpoint(ckpts))
  assert tf.train.latest_checkpoint(ckpts).endswith(f'ckpt-{STEPS}')
  assert got.keys() == want.keys()
  for name in want:
    np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-6, err_msg=name)
  assert not (run / '.workers').exists()  # the non-chief's scratch folder is gone
