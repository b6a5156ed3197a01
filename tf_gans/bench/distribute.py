"""Throughput of one training process vs two MultiWorkerMirroredStrategy workers, as JSON
(`python -m tf_gans.benchmark --flagfile=... --multi_worker_bench`).

Each variant is run as the user runs it (`python -m tf_gans.train` processes, the workers
on loopback ports described by TF_CONFIG) for `short` and for `long` steps; the
steps/s is (long - short) / (t_long - t_short), so process start-up, tracing and the
collective set-up cancel out. Both variants train the same global batch, so on one
machine the ratio measures the strategy's overhead (the cores are shared by the two
workers), not a speed-up.

`pggan_worker_reads` counts the images each PGGAN worker reads from its data
stream per step, before (every worker read the whole global minibatch) and
after per-worker input (`tf_gans.training.replicas.WorkerRows`).
"""

import os
import subprocess
import sys
import time

from tf_gans.training import strategy


def _run(args, steps, logdir, workers):
  """Wall seconds of one run of `steps` steps with `workers` processes (0: no strategy)."""
  base = [sys.executable, '-m', 'tf_gans.train', *args, f'--steps={steps}', f'--logdir={logdir}',
          '--noprogress', '--noexport', f'--log_every={steps}', f'--sample_every={steps}',
          f'--checkpoint_every={steps}']
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  t = time.perf_counter()
  if not workers:
    procs = [subprocess.Popen(base, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)]
  else:
    procs = [subprocess.Popen(base + ['--strategy=multi_worker'], env=dict(env, TF_CONFIG=c),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for c in strategy.loopback_tf_configs(workers)]
  for p in procs:
    _, err = p.communicate(timeout=1800)
    if p.returncode:
      raise RuntimeError(f'training process failed: {err.decode()[-2000:]}')
  return time.perf_counter() - t


def run(args, scratch, short=20, long=220, log=print):
  """{'single': steps/s, 'two_workers': steps/s, ratio}: same flags, same global batch."""
  results = {}
  for name, workers in (('single_process', 0), ('two_workers', 2)):
    times = {}
    for steps in (short, long):
      log(f'{name}: {steps} steps ...', flush=True)
      times[steps] = _run(args, steps, os.path.join(scratch, f'{name}-{steps}'), workers)
    results[name] = dict(seconds=times, steps_per_sec=(long - short) / (times[long] - times[short]))
  ratio = results['two_workers']['steps_per_sec'] / results['single_process']['steps_per_sec']
  return dict(benchmark='multi_worker', args=list(args), results=results,
              two_workers_over_single=float(ratio))


def pggan_worker_reads(minibatch, num_workers=2, local_replicas=1, steps=4):
  """Images each PGGAN worker reads from its stream per D step, before and after.

  Counted on real streams (`tf_gans.progressive.data.ArrayLods.images` of tiny
  images, batched as the loop batches them): `before` is the global stream
  every worker read until per-worker input, `after` each worker's
  `images(..., rows=WorkerRows(w, W, L))` (minibatch / W). No timing.
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  from tf_gans.progressive import data as data_lib  # pylint: disable=import-outside-toplevel
  from tf_gans.training import replicas  # pylint: disable=import-outside-toplevel
  dataset = data_lib.ArrayLods(np.zeros([max(minibatch, 4), 4, 4, 1], np.uint8))

  def per_step(stream, size):
    counts = [int(x.shape[0]) for x, _ in stream.batch(size, drop_remainder=True).take(steps)]
    return counts[0] if len(set(counts)) == 1 else counts

  before = per_step(dataset.images(0, 0), minibatch)
  after = []
  for w in range(num_workers):
    rows = replicas.WorkerRows(w, num_workers, local_replicas)
    after.append(per_step(dataset.images(0, 0, rows=rows), rows.share(minibatch)))
  return dict(minibatch=minibatch, workers=num_workers, replicas_per_worker=local_replicas,
              images_read_per_worker_per_step=dict(before=before, after=after),
              images_read_per_step_all_workers=dict(before=before * num_workers,
                                                    after=sum(after)))
