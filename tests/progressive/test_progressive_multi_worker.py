"""PGGAN under MultiWorkerMirroredStrategy: two local workers over loopback (TF_CONFIG).

The two workers split each minibatch (4 + 4 of 8; each reads only its 4 rows from the
data stream) and follow the one-device trajectory
through the 4x4 phase, the fade and the 8x8 phase. SIGTERM on the chief stops both after
the same round, each saving (exit 130); the chief killed mid-run ends the other worker
within the bound with one message (exit 3, no traceback), and `--resume` on both
continues to the same weights after each. Every process has a timeout, so the test
stops by itself.
"""

import os
import signal
import subprocess
import sys

import numpy as np
import tensorflow as tf

from conftest import (REPO, check_coordinated_stop, check_lost_worker_message,
                      signal_a_worker_after_a_checkpoint)
from tf_gans.progressive import config as config_lib
from tf_gans.progressive import loop
from tf_gans.training import strategy

# sklearn's 8x8 digits: 4x4 for 32 images, the fade to 8x8, 8x8; rounds of one
# minibatch of 8 (a stop lands on one of them), one tick (and checkpoint) per 32 images.
RUN = dict(dataset='digits', fmap_base=16, fmap_max=8, fmap_decay=0.0, minibatch_base=8,
           minibatch_repeats=1,
           lod_training_kimg=0.032, lod_transition_kimg=0.032, total_kimg=0.096,
           tick_kimg_base=0.032, tick_kimg_dict='', network_snapshot_ticks=1,
           image_snapshot_ticks=100, progress=False, export=False)


def _start_workers(logdir, *extra):
  args = [f'--{k}={v}' for k, v in RUN.items() if not isinstance(v, bool)]
  args += [f'--{"" if v else "no"}{k}' for k, v in RUN.items() if isinstance(v, bool)]
  procs = []
  for tf_config in strategy.loopback_tf_configs(2):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', TF_CONFIG=tf_config)
    procs.append(subprocess.Popen(
        [sys.executable, '-m', 'tf_gans.train', '--model=pggan', *args,
         '--strategy=multi_worker', f'--logdir={logdir}', *extra], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
  return procs


def _weights(logdir):
  reader = tf.train.load_checkpoint(os.path.join(logdir, 'checkpoints'))
  names = [n for n in reader.get_variable_to_shape_map()
           if n.split('/')[0] in ('G', 'D', 'Gs', 'cur_nimg', 'data_pos')]
  return {n: reader.get_tensor(n) for n in names}


def test_two_pggan_workers_train_as_one_device_through_a_stop_and_a_kill(tmp_path):
  single = loop.train(config_lib.ProgressiveConfig(logdir=str(tmp_path / 'single'), **RUN),
                      log=lambda *a, **k: None)
  assert single.cur_nimg == 96
  want = _weights(single.logdir)

  run = tmp_path / 'mw'
  ckpts = run / 'checkpoints'
  # SIGTERM on the chief: both workers stop after the same round and save.
  stopped_at, results, seconds = signal_a_worker_after_a_checkpoint(
      _start_workers(run), ckpts, signal.SIGTERM, victim=0)
  print(f'SIGTERM on worker 0 -> both saved at {stopped_at} images and exited after '
        f'{seconds[0]:.1f} / {seconds[1]:.1f} s')
  assert stopped_at < 64, 'the stop came too late to test a kill and a resume'
  check_coordinated_stop(results, 0, run, f'{stopped_at / 1000:.3f} kimg')

  # Resumed, then the chief (which hosts the coordination service) killed: worker 1
  # ends within the bound, saying what to do.
  killed_at, results, seconds = signal_a_worker_after_a_checkpoint(
      _start_workers(run, '--resume'), ckpts, signal.SIGKILL, victim=0, after=stopped_at)
  print(f'SIGKILL of worker 0 -> worker 1 exited after {seconds[1]:.1f} s')
  assert f'Resumed {run} at {stopped_at / 1000:g} kimg' in results[1][1]
  assert killed_at < 96, 'the kill came too late to test a resume'
  check_lost_worker_message(results[1], seconds[1], 'worker 0', run, killed_at)

  procs = _start_workers(run, '--resume')
  outs = [p.communicate(timeout=240) for p in procs]
  for p, (_, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
  assert f'Resumed {tmp_path / "mw"} at {killed_at / 1000:g} kimg' in outs[0][0]
  for index, (out, _) in enumerate(outs):  # each worker streamed only its replica's rows
    assert (f'2 workers of 1 replicas: this worker (index {index}) reads only its replicas\' '
            f'rows, 1/2 of each minibatch.') in out
  assert tf.train.latest_checkpoint(ckpts).endswith('ckpt-96')
  got = _weights(run)
  assert got.keys() == want.keys() and any(k.startswith('Gs/') for k in got)
  for name in want:
    np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=2e-5, err_msg=name)
  assert not (run / '.workers').exists()  # the non-chief's scratch folder is gone
