"""`tf.distribute` strategies by name (`--strategy`), and each worker's role.

  default       no distribution (one device)
  mirrored      all local GPUs (or the logical CPUs a test configures), one process
  multi_worker  MultiWorkerMirroredStrategy: several processes/hosts described by the
                standard TF_CONFIG environment variable (cluster + this task)
  tpu           TPUStrategy on the TPU that TPUClusterResolver finds (TPU VMs / Colab;
                not testable here)

One instance per name and process: two MirroredStrategy objects in one process
clash in their collective ops (TF 2.21: "Shape mismatch in the collective
instance"), e.g. when a notebook or a test suite trains twice.

Writes in multi-worker training (TensorFlow's multi-worker checkpointing
rule): every worker takes part in saving (variables may need collectives), but
only the chief writes into the run folder; the others write into a scratch
folder that is deleted afterwards, so they never touch the chief's files. The
chief is the task of type `chief`, or worker 0 when the cluster has no chief.
"""

import functools
import json
import os
import shutil
import socket

import tensorflow as tf

from tf_gans.registry import Registry

STRATEGIES = Registry('strategy')
STRATEGIES.register('default', tf.distribute.get_strategy)
STRATEGIES.register('mirrored', tf.distribute.MirroredStrategy)


@STRATEGIES.register('multi_worker')
def multi_worker():
  """MultiWorkerMirroredStrategy from TF_CONFIG (refused without one)."""
  raw = os.environ.get('TF_CONFIG')
  if not raw:
    raise ValueError('--strategy=multi_worker needs the TF_CONFIG environment variable '
                     '(e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}), one per process.')
  try:
    config = json.loads(raw)
    config['cluster'], config['task']['type'], config['task']['index']  # pylint: disable=pointless-statement
  except (ValueError, KeyError, TypeError) as e:
    raise ValueError(f'TF_CONFIG is not a cluster spec with a task ({e}): {raw[:200]}') from None
  return tf.distribute.MultiWorkerMirroredStrategy()


@STRATEGIES.register('tpu')
def tpu():
  """TPUStrategy on the TPU found by TPUClusterResolver (TPU VM or `--tpu` address)."""
  resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
  tf.config.experimental_connect_to_cluster(resolver)
  tf.tpu.experimental.initialize_tpu_system(resolver)
  return tf.distribute.TPUStrategy(resolver)


@functools.cache
def get(name):
  """The process's `tf.distribute.Strategy` for `name` (`default`: no distribution)."""
  return STRATEGIES.get(name)()


def task(strategy):
  """(task_type, task_id) of this process; (None, None) outside multi-worker training."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not getattr(resolver, 'task_type', None):
    return None, None
  return resolver.task_type, resolver.task_id


def is_chief(strategy):
  """Whether this process writes the run folder."""
  task_type, task_id = task(strategy)
  if task_type is None:
    return True
  has_chief = 'chief' in (strategy.cluster_resolver.cluster_spec().as_dict() or {})
  return task_type == 'chief' or (not has_chief and task_type == 'worker' and task_id == 0)


def write_dir(strategy, logdir):
  """Where this process writes: the run folder for the chief, a scratch folder for the others."""
  if is_chief(strategy):
    return logdir
  task_type, task_id = task(strategy)
  return os.path.join(logdir, '.workers', f'{task_type}-{task_id}')


def remove_scratch_dir(out_dir):
  """Deletes a non-chief's scratch folder, and <logdir>/.workers once it is empty."""
  shutil.rmtree(out_dir, ignore_errors=True)
  try:
    os.rmdir(os.path.dirname(out_dir))
  except OSError:
    pass


def loopback_tf_configs(num_workers):
  """TF_CONFIG values for `num_workers` worker processes on this machine (free loopback ports).

  For trying multi-worker training on one host (tests, `benchmark --multi_worker_bench`).
  """
  socks = [socket.socket() for _ in range(num_workers)]
  for s in socks:
    s.bind(('127.0.0.1', 0))
  ports = [s.getsockname()[1] for s in socks]
  for s in socks:
    s.close()
  cluster = {'worker': [f'127.0.0.1:{p}' for p in ports]}
  return [json.dumps({'cluster': cluster, 'task': {'type': 'worker', 'index': i}})
          for i in range(num_workers)]
