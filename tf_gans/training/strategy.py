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

Faults under several workers (`Lifecycle` uses these): a worker that dies,
freezes or leaves makes the others' next collective fail with one of
`PEER_ERRORS` (`peer_failure` recognises them by type and text, `peer_error_in` finds
one wrapped in another error, `lost_task` names the lost task from the addresses and
task names in the text), and a stop
signal on any worker reaches all of them through `StopVote`, an all-reduce of
the workers' stop requests at each consistent point.
"""

import functools
import json
import os
import re
import shutil
import socket

import numpy as np
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


def cluster_tasks(strategy):
  """[(task_type, task_id)] of every task that trains, chief first; [] outside multi-worker."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not getattr(resolver, 'task_type', None):
    return []
  spec = resolver.cluster_spec().as_dict() or {}
  return [(job, i) for job in ('chief', 'worker') for i in range(len(spec.get(job, ())))]


def describe_task(task_type, task_id):
  return f'{task_type} {task_id}'


# What a collective (or the coordination service) raises on the survivors when a peer
# is gone, TF 2.21: "Collective ops is aborted by: failed to connect to all addresses;
# ... Connection refused" (UnavailableError, a killed peer), heartbeat timeouts of the
# coordination service (UnavailableError / AbortedError / InternalError), a collective
# cancelled because another one failed (CancelledError) and the collective timeout of
# `tf.distribute.experimental.CommunicationOptions` (DeadlineExceededError).
PEER_ERRORS = (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.InternalError,
               tf.errors.CancelledError, tf.errors.DeadlineExceededError)
PEER_ERROR_TEXTS = ('collective ops is aborted', 'failed to connect', 'connection refused',
                    'connection reset', 'socket closed', 'heartbeat', 'coordination service',
                    'restart your program to reset', 'has been set to error',
                    'timed out waiting', 'collective has timed out', 'stream removed',
                    'cancelled', 'unavailable', 'preempted')


def peer_failure(error):
  """Whether `error` says that another worker of the cluster is gone (dead, frozen, left)."""
  if not isinstance(error, PEER_ERRORS):
    return False
  text = str(error).lower()
  return any(t in text for t in PEER_ERROR_TEXTS)


def peer_error_in(error):
  """The error of `error`'s chain (itself, then its causes and contexts) that says another
  worker is gone (`peer_failure`), or None. Set-up and restore code may wrap it: e.g.
  `Checkpointer.restore` turns a failed read into a ValueError "does not match this model"
  raised from the collective's UnavailableError."""
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    if peer_failure(error):
      return error
    error = error.__cause__ or error.__context__
  return None


def lost_task(error, strategy):
  """'worker 1 (127.0.0.1:4567)': the other task `error`'s text names, or None.

  Addresses of the cluster spec are the surest clue (gRPC names the peer it cannot
  reach); else the first `/job:X[/replica:0]/task:N` that is not this task (the coordination
  service's "tasks are unhealthy (stopped sending heartbeats)" lists them so).
  """
  tasks = cluster_tasks(strategy)
  if not tasks:
    return None
  me = task(strategy)
  spec = strategy.cluster_resolver.cluster_spec().as_dict()
  address = {spec[job][i]: (job, i) for job, i in tasks}
  text = str(error)
  for host_port in re.findall(r'[\w.\-\[\]:]+:\d+', text):
    for known, which in address.items():
      if which != me and host_port.endswith(known):
        return f'{describe_task(*which)} ({known})'
  for job, i in re.findall(r'/job:(\w+)(?:/replica:\d+)?/task:(\d+)', text):
    which = (job, int(i))
    if which != me and which in address.values():
      return f'{describe_task(*which)} ({spec[job][int(i)]})'
  if 'CoordinationService/Heartbeat' in text and tasks[0] != me:
    # This worker's heartbeats went unanswered: the coordination service's host (the
    # chief, or worker 0), frozen or gone.
    return f'{describe_task(*tasks[0])} ({spec[tasks[0][0]][tasks[0][1]]})'
  return None


class StopVote:
  """Every worker's stop request at once: an all-reduce at each consistent point.

  Each worker puts the number of the stop signal it received (0: none) at its own
  position of a vector, and the sum over the cluster tells every worker who was
  asked to stop, so all of them stop after the same step and save together (each
  into its own folder, `write_dir`). One tiny collective per call; used only with
  several workers (one process needs none).
  """

  def __init__(self, strategy):
    self.tasks = cluster_tasks(strategy)
    self.me = self.tasks.index(task(strategy))
    local = len(strategy.extended.worker_devices)  # each of them adds the worker's vote

    @tf.function
    def total(votes):
      per_replica = strategy.run(lambda v: v / local, args=(votes,))
      return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
    self._total = total

  def __call__(self, signum):
    """`signum`: this worker's stop signal (0: none). Returns {(task_type, task_id): signum}
    of every worker that was asked to stop (empty: go on)."""
    votes = np.zeros([len(self.tasks)], np.float32)
    votes[self.me] = signum or 0
    summed = np.rint(self._total(tf.constant(votes)).numpy()).astype(int)
    return {t: int(n) for t, n in zip(self.tasks, summed) if n}
