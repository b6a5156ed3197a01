"""Faults outside the training steps (issue 25 item 8).

Under MultiWorkerMirroredStrategy a worker lost during the set-up (the nets' first
broadcast), at the restore or at the first collective after it ends the survivors as one
lost during training does: one `error: lost worker N (...)` line naming the last checkpoint
and the command to start again, exit 3 within conftest.LOST_WORKER_EXIT_S, no traceback.
A stop signal during one worker's set-up stops every worker at its end (exit 130, each
saying what is kept). A stop during the (chief-only) export keeps the final checkpoint and
names the command that writes the SavedModel; a stop elsewhere outside the training steps
names the checkpoint kept and its position.

The faults are injected by tests/training/setup_fault_worker.py, which wraps one function
of the run template in the victim's process only; the code under test has no hook.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import types

import pytest
import tensorflow as tf

import inprocess_cli
from conftest import LOST_WORKER_EXIT_S, REPO, check_lost_worker_message
from tf_gans import cli
from tf_gans.training import lifecycle
from tf_gans.training import run as run_lib
from tf_gans.training import strategy

FAULT_WORKER = os.path.join(os.path.dirname(__file__), 'setup_fault_worker.py')
NEW_RUN = ['--flagfile=configs/quickstart.cfg', '--steps=10', '--log_every=10',
           '--sample_every=1000', '--checkpoint_every=10']
COMMON = ['--noprogress', '--noexport', '--strategy=multi_worker']


def _two_workers(point, action, victim, logdir, *args):
  """Starts two loopback workers training with `args` (default: a new 10-step quickstart run);
  `victim` does `action` at `point` (setup_fault_worker.py)."""
  procs = []
  for tf_config in strategy.loopback_tf_configs(2):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', TF_CONFIG=tf_config)
    procs.append(subprocess.Popen(
        [sys.executable, FAULT_WORKER, point, action, str(victim), *(args or NEW_RUN),
         *COMMON, f'--logdir={logdir}'],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
  return procs


def _survivor_of_a_kill(procs, victim=1, timeout=180):
  """Waits for the victim's SIGKILL, then for the other worker (killed after the bound).
  Returns ((returncode, stdout, stderr) of the survivor, seconds from the kill to its exit)."""
  deadline = time.time() + timeout
  while procs[victim].poll() is None:
    assert time.time() < deadline, 'the victim never reached the fault point'
    assert procs[1 - victim].poll() is None, procs[1 - victim].communicate()[1][-3000:]
    time.sleep(0.05)
  assert procs[victim].returncode == -signal.SIGKILL, procs[victim].communicate()[1][-3000:]
  killed = time.time()
  survivor = procs[1 - victim]
  try:
    out, err = survivor.communicate(timeout=LOST_WORKER_EXIT_S + 15)
  except subprocess.TimeoutExpired:
    survivor.kill()
    out, err = survivor.communicate()
  procs[victim].communicate()
  return (survivor.returncode, out, err), time.time() - killed


def test_a_worker_killed_in_the_set_up_ends_the_other_with_the_lost_worker_error(tmp_path):
  # Worker 1 dies after the strategy exists, before the nets' first broadcast: worker 0
  # then waits in that broadcast (before: an UnavailableError traceback, exit 1).
  logdir = tmp_path / 'run'
  result, seconds = _survivor_of_a_kill(_two_workers('setup', 'kill', 1, logdir))
  print(f'SIGKILL of worker 1 in the set-up -> worker 0 exited after {seconds:.1f} s')
  rc, _, err = result
  assert rc == cli.WORKER_LOST_EXIT_STATUS, err[-3000:]
  assert 'Traceback' not in err, err[-3000:]
  lines = [line for line in err.splitlines() if line.startswith('error:')]
  assert len(lines) == 1, err[-3000:]
  assert lines[0].startswith('error: lost worker 1 (127.0.0.1:'), lines[0]
  assert 'during the set-up (this is worker 0; UnavailableError:' in lines[0], lines[0]
  assert 'Detected at node' not in lines[0] and 'File "' not in lines[0], lines[0]
  assert ('nothing was written yet (no run file: there is nothing to resume). Once every worker '
          'can run, start all of them with the command that started them') in lines[0]
  assert seconds < LOST_WORKER_EXIT_S, seconds


def test_a_worker_killed_at_the_restore_ends_the_other_with_the_lost_worker_error(
    tmp_path, trained_run):
  # A one-device run's step-20 checkpoint resumed on two workers; worker 1 dies as it
  # restores, worker 0 learns it at the first collective after its own restore.
  logdir = tmp_path / 'run'
  shutil.copytree(trained_run.logdir, logdir)
  result, seconds = _survivor_of_a_kill(
      _two_workers('restore', 'kill', 1, logdir, '--resume', '--steps=30'))
  print(f'SIGKILL of worker 1 at the restore -> worker 0 exited after {seconds:.1f} s')
  assert f'Resumed {logdir} at step 20 of 30.' in result[1], result[1][-2000:]
  check_lost_worker_message(result, seconds, 'worker 1', logdir, 20)
  assert 'during the set-up, before step 20 (this is worker 0;' in result[2]
  assert tf.train.latest_checkpoint(logdir / 'checkpoints').endswith('ckpt-20')  # nothing lost


def test_a_stop_in_one_workers_set_up_stops_every_worker(tmp_path):
  # SIGTERM on worker 1 while it sets up (before: it ended alone, exit 130, and worker 0
  # waited in its first broadcast until the heartbeats timed out, then a traceback).
  logdir = tmp_path / 'run'
  procs = _two_workers('setup', 'term', 1, logdir)
  results = []
  for p in procs:
    try:
      out, err = p.communicate(timeout=180)
    except subprocess.TimeoutExpired:
      p.kill()
      out, err = p.communicate()
    results.append((p.returncode, out, err))
  for index, (rc, out, err) in enumerate(results):
    assert rc == cli.INTERRUPTED_EXIT_STATUS, err[-3000:]
    assert 'Traceback' not in err, err[-3000:]
    by = 'SIGTERM' if index == 1 else 'SIGTERM on worker 1'
    assert (f'Stopped by {by} during the set-up, at step 0; nothing was trained, so nothing '
            f'was saved: no checkpoint was written yet') in out, out[-2000:]
    assert f'python -m tf_gans.train --resume --logdir={logdir} on every worker' in out
  assert 'SIGTERM: stopping every worker at the end of the set-up' in results[1][1]
  assert (logdir / 'run.json').exists()  # the printed resume command has its run file
  assert not (logdir / '.workers').exists()


def _copy_run(trained_run, tmp_path):
  logdir = tmp_path / 'run'
  shutil.copytree(trained_run.logdir, logdir)
  shutil.rmtree(logdir / 'export', ignore_errors=True)
  return logdir


def test_a_stop_during_the_export_keeps_the_final_checkpoint_and_says_how_to_export(
    tmp_path, trained_run, monkeypatch):
  logdir = _copy_run(trained_run, tmp_path)

  def stopped(self, out_dir):
    raise KeyboardInterrupt('SIGTERM')  # what tf_gans.train's SIGTERM handler raises
  from tf_gans.gan import loop  # pylint: disable=import-outside-toplevel
  monkeypatch.setattr(loop.GanRun, 'export', stopped)
  res = inprocess_cli.run_main('train', '--resume', f'--logdir={logdir}', '--export',
                               '--noprogress')
  assert res.returncode == cli.INTERRUPTED_EXIT_STATUS, res.stderr[-3000:]
  assert (f'Stopped by SIGTERM during the export of the generator (training had finished at '
          f'step 20); the final checkpoint, {logdir}/checkpoints/ckpt-20 (step 20), is kept. '
          f'Write the SavedModel with: python -m tf_gans.export --logdir={logdir} '
          f'--out={logdir}/export/generator --overwrite') in res.stderr, res.stderr[-3000:]
  monkeypatch.undo()
  # The command it names writes the SavedModel from that checkpoint.
  res = inprocess_cli.run_main('export', f'--logdir={logdir}',
                               f'--out={logdir}/export/generator', '--overwrite')
  assert res.returncode == 0, res.stderr[-3000:]
  assert (logdir / 'export' / 'generator' / 'saved_model.pb').exists()


def test_a_stop_in_the_set_up_names_the_kept_checkpoint(tmp_path, trained_run, monkeypatch):
  logdir = _copy_run(trained_run, tmp_path)

  def stopped(*args, **kwargs):
    raise KeyboardInterrupt
  monkeypatch.setattr(run_lib, 'train', stopped)
  res = inprocess_cli.run_main('train', '--resume', f'--logdir={logdir}')
  assert res.returncode == cli.INTERRUPTED_EXIT_STATUS, res.stderr[-3000:]
  assert (f'Stopped outside the training steps; the latest checkpoint, '
          f'{logdir}/checkpoints/ckpt-20 (step 20), is kept; continue with: '
          f'python -m tf_gans.train --resume --logdir={logdir}') in res.stderr, res.stderr
  assert lifecycle.kept_checkpoint(str(tmp_path / 'none')) == 'no checkpoint was written yet'


def test_a_peer_failure_is_found_inside_the_errors_that_wrap_it():
  lost = tf.errors.UnavailableError(None, None, (
      'Graph execution error:\n\nDetected at node CollectiveReduceV2 defined at (most recent '
      'call last):\n  File "run.py", line 1, in <module>\n\n  File "x.py", line 2, in f\n\n'
      'Collective ops is aborted by: the following tasks are unhealthy (stopped sending '
      'heartbeats):\n/job:worker/replica:0/task:1\nThe error could be from a previous '
      'operation. Restart your program to reset.'))
  try:
    try:
      raise lost
    except tf.errors.OpError as e:  # as Checkpointer.restore wraps a failed read
      raise ValueError('Checkpoint x does not match this model') from e
  except ValueError as wrapped:
    assert strategy.peer_error_in(wrapped) is lost
  assert strategy.peer_error_in(ValueError('no peer')) is None
  assert lifecycle.error_detail(lost) == (
      'Collective ops is aborted by: the following tasks are unhealthy (stopped sending '
      'heartbeats): /job:worker/replica:0/task:1')
  assert lifecycle.checkpoint_name('/r/checkpoints/ckpt-5000', 'pggan') == (
      '/r/checkpoints/ckpt-5000 (5 kimg)')


def test_export_stop_without_a_checkpoint_says_so():
  trainer = types.SimpleNamespace(
      export=lambda out_dir: (_ for _ in ()).throw(KeyboardInterrupt()),
      checkpointer=None, where=lambda: 'step 3')
  life = types.SimpleNamespace(logdir='/r', latest_checkpoint=lambda c: None)
  with pytest.raises(run_lib.StoppedDuringExport, match=r'Stopped by KeyboardInterrupt during '
                     r'the export of the generator \(training had finished at step 3\); no '
                     r'checkpoint is kept'):
    run_lib._export(trainer, life)  # pylint: disable=protected-access
