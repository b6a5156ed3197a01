"""MultiWorkerMirroredStrategy: two local worker processes over loopback (TF_CONFIG).

The two workers' step equals a one-device step on the same global batch. SIGTERM on one
worker stops both after the same step, each saving (exit 130); a worker killed mid-run
ends the other within conftest.LOST_WORKER_EXIT_S with one message (exit 3, no traceback) and
leaves the chief's checkpoints intact; `--resume` on both continues the same trajectory
after each. Every process has a timeout, so the test stops by itself.
"""

import os
import signal
import subprocess
import sys
import types

import numpy as np
import pytest
import tensorflow as tf

from conftest import (REPO, check_coordinated_stop, check_lost_worker_message,
                      signal_a_worker_after_a_checkpoint)
from tf_gans.training import interrupts
from tf_gans.gan import loop
from tf_gans.training import strategy
from tf_gans.gan.config import RunConfig


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


def test_two_workers_train_as_one_device_through_a_stop_and_a_kill(tmp_path):
  # One device, the same global batch: the reference trajectory.
  single = RunConfig(logdir=str(tmp_path / 'single'), dataset='digits', model='mlp2014',
                     loss='nonsaturating', batch_size=100, optimizer='adam', learning_rate=2e-4,
                     beta1=0.5, steps=STEPS, seed=0, log_every=10, sample_every=1000,
                     checkpoint_every=10, progress=False, export=False)
  loop.train(single, log=lambda *a: None)
  want = _g_weights(tf.train.latest_checkpoint(tmp_path / 'single' / 'checkpoints'))

  run = tmp_path / 'mw'
  ckpts = run / 'checkpoints'
  # SIGTERM on worker 1 (how schedulers preempt): both stop after the same step and save.
  stopped_at, results, seconds = signal_a_worker_after_a_checkpoint(
      _start_workers(run), ckpts, signal.SIGTERM)
  print(f'SIGTERM on worker 1 -> both saved at step {stopped_at} and exited after '
        f'{seconds[0]:.1f} / {seconds[1]:.1f} s')
  assert stopped_at < STEPS, 'the stop came too late to test a resume'
  check_coordinated_stop(results, 1, run, f'step {stopped_at}')
  assert os.path.exists(ckpts / f'ckpt-{stopped_at}.index')

  # Resumed, then worker 1 killed: the chief ends within the bound, saying what to do.
  killed_at, results, seconds = signal_a_worker_after_a_checkpoint(
      _start_workers(run, '--resume'), ckpts, signal.SIGKILL, after=stopped_at)
  print(f'SIGKILL of worker 1 -> the chief exited after {seconds[0]:.1f} s')
  assert f'Resumed {run} at step {stopped_at}' in results[0][1]
  assert killed_at < STEPS, 'the kill came too late to test a resume'
  check_lost_worker_message(results[0], seconds[0], 'worker 1', run, killed_at)

  outs = _finish(_start_workers(run, '--resume'))
  assert f'Resumed {run} at step {killed_at}' in outs[0][0]
  got = _g_weights(tf.train.latest_checkpoint(ckpts))
  assert tf.train.latest_checkpoint(ckpts).endswith(f'ckpt-{STEPS}')
  assert got.keys() == want.keys()
  for name in want:
    np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-6, err_msg=name)
  assert not (run / '.workers').exists()  # the non-chief's scratch folder is gone


def test_lost_task_is_read_from_the_error_text():
  cluster = {'worker': ['127.0.0.1:5000', '127.0.0.1:5001']}
  resolver = types.SimpleNamespace(
      task_type='worker', task_id=0,
      cluster_spec=lambda: types.SimpleNamespace(as_dict=lambda: cluster))
  fake = types.SimpleNamespace(cluster_resolver=resolver)
  refused = tf.errors.UnavailableError(None, None, (
      '{{function_node __wrapped__CollectiveReduceV2_device_/job:worker/replica:0/task:0/device:'
      'CPU:0}} Collective ops is aborted by: failed to connect to all addresses; last error: '
      'UNKNOWN: ipv4:127.0.0.1:5001: Failed to connect to remote host: Connection refused'))
  frozen = tf.errors.UnavailableError(None, None, (
      'Collective ops is aborted by: Error reported from /job:worker/task:1: The following '
      'tasks are unhealthy (stopped sending heartbeats):\n/job:worker/replica:0/task:1'))
  for error in (refused, frozen):
    assert strategy.peer_failure(error)
    assert strategy.lost_task(error, fake) == 'worker 1 (127.0.0.1:5001)'
  frozen_chief = tf.errors.DeadlineExceededError(None, None, (
      '{{function_node __wrapped__CollectiveReduceV2_device_/job:worker/replica:0/task:1/device:'
      'CPU:0}} Collective ops is aborted by: Deadline Exceeded RPC: '
      '/tensorflow.CoordinationService/Heartbeat'))
  resolver.task_id = 1
  assert strategy.peer_failure(frozen_chief)
  assert strategy.lost_task(frozen_chief, fake) == 'worker 0 (127.0.0.1:5000)'
  assert not strategy.peer_failure(tf.errors.InvalidArgumentError(None, None, 'shapes'))
  assert not strategy.peer_failure(tf.errors.UnavailableError(None, None, 'no such file'))


def test_a_stop_vote_stops_every_worker_and_names_the_signalled_one():
  request = interrupts.StopRequest()
  request.check(vote=lambda signum: {})  # nobody asked: go on
  with pytest.raises(interrupts.Interrupted) as e:
    request.check(vote=lambda signum: {('worker', 1): 15})
  assert e.value.args[0] == 'SIGTERM' and e.value.origin == 'worker 1'
  request.handle(signal.SIGINT, None)
  with pytest.raises(interrupts.Interrupted) as e:  # this worker's own signal comes first
    request.check(vote=lambda signum: {('worker', 0): signum, ('worker', 1): 15})
  assert e.value.args[0] == 'SIGINT' and e.value.origin is None
