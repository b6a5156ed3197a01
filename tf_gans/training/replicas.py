"""Replicas of one training step: their rows, their draws, their global means.

Both training stacks train on a *global* minibatch split over the replicas of
a `tf.distribute` strategy, and both make R replicas take the one-device
step: the random draws are of the global minibatch (stateless seeds from the
step counter, so they depend neither on the replica count nor on a resume),
each replica keeps its rows of them, its loss is its share of the global
mean, and the optimizer sums the replicas' gradients.

Two rules for "this replica's rows", one per stack, side by side:

  contiguous  replica r holds rows [r*m, (r+1)*m) of the global draw
              (`contiguous_rows`): the GAN/RGAN step (`tf_gans.gan`), whose
              input pipeline hands each replica the matching contiguous
              share of every real minibatch (`tf_gans.gan.loop`
              `replica_rows`; each worker gathers only its replicas' rows). As the reference PGGAN `train.py` splits its
              minibatch over GPUs (`tf.split`).
  strided     replica r holds rows r, r + R, r + 2R, ... (`strided_rows`,
              `Shard`): PGGAN (`tf_gans.progressive.trainer`). The minibatch
              is a random draw either way; strided rows keep the
              minibatch-stddev groups (strided too: group = n % M,
              `tf_gans.layers.pggan.minibatch_stddev`) exactly the groups one
              device forms on the whole minibatch, provided every replica
              holds a multiple of the group size.

Input under several workers (PGGAN): `WorkerRows` names the rows of every
global minibatch that one worker's replicas train on, so that worker's data
stream can gather (or read and decode) only those rows; the trainer then
gives each local replica its strided rows of the worker's share
(`Shard.local`), the same rows the global rule gives it.

Seeds: both stacks draw from (seed, step * slots_per_step + slot)
(`step_seed`); the GAN has d_steps + 1 slots per step (`gan_seed`: its D
minibatches and the G step; stream 1, folded in, is the penalty's
interpolation weights), PGGAN 8 (`pggan_seed`).

Also here: the global means (`global_mean`
of per-replica means) and the pieces of PGGAN's distribution plumbing
(`replica_jit`, `apply_if_finite`), which the trainer's `_on_replicas`
composes around each step's replica part (`strategy.run`).
"""

import numpy as np
import tensorflow as tf

# PGGAN: stream slots per step of (seed, step * PGGAN_SLOTS + slot).
PGGAN_SLOTS = 8


def _replicas():
  """(replica context or None, replicas in sync, this replica's id)."""
  ctx = tf.distribute.get_replica_context()
  if ctx is None:
    return None, 1, 0
  return ctx, ctx.num_replicas_in_sync, ctx.replica_id_in_sync_group


# --- This replica's rows. ---


def contiguous_rows(sample_fn, num):
  """Draws the global batch with `sample_fn(R * num)`; this replica's `num` contiguous rows.

  The GAN/RGAN rule: replica r gets rows [r * num, (r + 1) * num).
  """
  ctx, count, _ = _replicas()
  x = sample_fn(count * num)
  if count == 1:
    return x
  rid = tf.cast(ctx.replica_id_in_sync_group, tf.int32)
  return tf.reshape(x, tf.concat([[count, num], tf.shape(x)[1:]], 0))[rid]


def strided_rows(x, index, count):
  """Rows index, index + count, index + 2 count, ... of `x` (the PGGAN rule)."""
  return x if count == 1 else x[index::count]


class Shard:
  """This replica's share of a global minibatch under the strided rule (PGGAN).

  The reference PGGAN `train.py` splits the minibatch across GPUs in
  contiguous blocks (`tf.split`); strided rows keep the minibatch-stddev
  groups one device's (see the module docstring), so a step on R replicas
  equals a step on one device (tested).

  Args:
    num_workers: the workers the replicas are spread over (W; `WorkerRows`);
      only `local` depends on it.

  Attributes:
    count: replicas in sync (R).
    index: this replica's id.
    local_count: replicas per worker (L = R / W).
    local_index: this replica's place among its worker's (index % L: the
      replica ids of worker w are w L .. w L + L - 1, as tf.distribute numbers them).
  """

  def __init__(self, num_workers=1):
    self.context, self.count, self.index = _replicas()
    if self.count % num_workers:
      raise ValueError(f'{self.count} replicas do not spread evenly over {num_workers} workers.')
    self.local_count = self.count // num_workers
    self.local_index = self.index % self.local_count if num_workers > 1 else self.index

  def __call__(self, x):
    """This replica's rows of a global minibatch (or of a global draw)."""
    return strided_rows(x, self.index, self.count)

  def local(self, x):
    """This replica's rows of its worker's share (`WorkerRows.select` of a global minibatch).

    The same rows `self(global minibatch)` gives: the worker's share lists the
    global rows k R + w L + l (k = 0, 1, ...; l < L) in order, so local row
    k L + l is global row k R + w L + l, and local replica l takes l, l + L, ...
    """
    return strided_rows(x, self.local_index, self.local_count)

  def global_mean(self, terms):
    """{name: local mean} -> {name: mean over the global minibatch} (equal shares)."""
    return global_mean(terms)


class WorkerRows:
  """The rows of every global minibatch that one worker's replicas train on (strided rule).

  Worker w of W hosts the replicas w L .. w L + L - 1 of R = W L
  (tf.distribute numbers a multi-worker strategy's replicas worker by worker),
  and replica r trains on rows r, r + R, r + 2R, ... of each global minibatch
  (`Shard`). Since every minibatch is a multiple of R rows (the trainer
  refuses others), the worker's rows of a stream of consecutive minibatches
  are, counting stream positions i from the stream's start, the positions
  with i % R in [w L, w L + L): `select` keeps those of a stream, in order,
  whatever the minibatch, so batching the selection by minibatch / W gives,
  minibatch after minibatch, the worker's rows of each (in global row order,
  as `Shard.local` expects). A data stream applies `select` to its positions
  or record indices, before any image is gathered, read or decoded
  (`tf_gans.progressive.data.ArrayLods.images`,
  `tf_gans.data.tfrecords.MultiResDataset.images`). With one worker every
  position is kept and `select` returns the stream itself.

  Args:
    worker: this worker's index w (the rank of its first replica / L).
    num_workers: W.
    local_replicas: L, replicas per worker.
  """

  def __init__(self, worker=0, num_workers=1, local_replicas=1):
    if not 0 <= worker < num_workers or local_replicas < 1:
      raise ValueError(f'worker {worker} of {num_workers} with {local_replicas} replicas each.')
    self.worker = int(worker)
    self.num_workers = int(num_workers)
    self.local_replicas = int(local_replicas)

  @classmethod
  def of_strategy(cls, strategy=None):
    """This process's rows under `strategy` (default: the current one).

    The local replicas' ids come from
    `strategy.experimental_distribute_values_from_function` (a
    `tf.distribute.ValueContext` per local replica). When they are not the
    contiguous, aligned block w L .. w L + L - 1 that MultiWorkerMirroredStrategy
    gives, the worker reads every row (`WorkerRows()`, the trainer's global
    path: exact for any numbering, only not thrifty).
    """
    strategy = strategy or tf.distribute.get_strategy()
    count = strategy.num_replicas_in_sync
    ids = strategy.experimental_local_results(
        strategy.experimental_distribute_values_from_function(
            lambda ctx: ctx.replica_id_in_sync_group))
    ids = sorted(int(i) for i in ids)
    local = len(ids)
    first = ids[0]
    if local == count:
      return cls(0, 1, count)
    aligned = not count % local and not first % local and ids == list(range(first, first + local))
    if not aligned:
      return cls()  # every row, as one worker
    return cls(first // local, count // local, local)

  @property
  def num_replicas(self):
    """R = W L."""
    return self.num_workers * self.local_replicas

  @property
  def first(self):
    """The worker's first replica id (w L)."""
    return self.worker * self.local_replicas

  @property
  def everything(self):
    """Whether the worker trains on every row (one worker)."""
    return self.num_workers == 1

  def share(self, minibatch):
    """Rows of a global minibatch the worker reads (minibatch / W)."""
    if minibatch % self.num_replicas:
      raise ValueError(f'a minibatch of {minibatch} does not split evenly over '
                       f'{self.num_replicas} replicas.')
    return minibatch // self.num_workers

  def select(self, stream):
    """The worker's elements of a `tf.data` stream of scalars (positions, record indices):
    of each R consecutive elements, elements w L .. w L + L - 1. The stream
    itself with one worker."""
    if self.everything:
      return stream
    first, local = self.first, self.local_replicas
    return (stream.batch(self.num_replicas, drop_remainder=True)
            .map(lambda block: block[first:first + local]).unbatch())

  def rows(self, minibatch):
    """numpy int indices of the worker's rows of a global minibatch of `minibatch` rows."""
    self.share(minibatch)  # checks the split
    i = np.arange(minibatch)
    return i[(i % self.num_replicas >= self.first)
             & (i % self.num_replicas < self.first + self.local_replicas)]

  def __repr__(self):
    return (f'WorkerRows(worker={self.worker}, num_workers={self.num_workers}, '
            f'local_replicas={self.local_replicas})')


# --- Stateless seeds. ---


def step_seed(seed, step, slots_per_step, slot, stream=0):
  """The shape-[2] int64 seed (seed, step * slots_per_step + slot) of draw `slot`.

  `stream` > 0 folds the stream in (`tf.random.experimental.stateless_fold_in`),
  a second independent sequence on the same slots.
  """
  out = tf.stack([tf.constant(seed, tf.int64), step * slots_per_step + slot])
  return tf.random.experimental.stateless_fold_in(out, stream) if stream else out


def gan_seed(seed, step, d_steps, slot, stream=0):
  """GAN/RGAN: minibatch `slot` of iteration `step` (d_steps + 1 slots; streams: 0 noise,
  1 the gradient penalty's interpolation weights)."""
  return step_seed(seed, step, d_steps + 1, slot, stream)


def pggan_seed(seed, step, slot):
  """PGGAN: draw `slot` (z, alpha, mirror flips, G's labels) of step `step`."""
  return step_seed(seed, step, PGGAN_SLOTS, slot)


# --- Global means. ---


def global_mean(terms):
  """A structure of per-replica means of equal shares -> their mean over the replicas."""
  ctx, count, _ = _replicas()
  if count == 1:
    return terms
  return ctx.all_reduce(tf.distribute.ReduceOp.MEAN, terms)


# --- Distribution plumbing of a step (PGGAN). ---


def replica_jit(fn, enabled):
  """`fn` XLA-compiled (one replica's forward and backward pass) if `enabled`.

  With replicas XLA cannot span the strategy (each replica's variables live on
  its own device), so only the per-replica part is compiled.
  """
  return tf.function(fn, jit_compile=True) if enabled else fn


def apply_if_finite(optimizer, grads_and_vars):
  """Applies the update on every replica unless a gradient is non-finite on any.

  Returns a bool tensor: applied. All replicas take the same branch (the
  reference PGGAN `tfutil.py` `Optimizer` skips a step whose gradients are not
  all finite). Called in replica context.
  """
  pairs = list(grads_and_vars)
  finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g, _ in pairs])
  ctx = tf.distribute.get_replica_context()
  if ctx.num_replicas_in_sync > 1:  # all replicas must take the same branch
    bad = ctx.all_reduce(tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(finite, tf.float32))
    finite = tf.equal(bad, 0.0)

  def apply():
    optimizer.apply_gradients(pairs)
    return tf.constant(True)

  def skip():
    return tf.constant(False)

  if tf.__internal__.distribute.strategy_supports_no_merge_call():
    return tf.cond(finite, apply, skip)

  # MirroredStrategy: apply_gradients calls merge_call, which cannot sit in a cond
  # inside a replica; decide in cross-replica context (as Keras' LossScaleOptimizer).
  variables = [v for _, v in pairs]

  def cross_replica(distribution, finite, grads):
    def apply_all():
      distribution.extended.call_for_each_replica(
          lambda g: optimizer.apply_gradients(zip(g, variables)), args=(grads,))
      return tf.constant(True)
    return tf.cond(distribution.experimental_local_results(finite)[0], apply_all, skip)

  return ctx.merge_call(cross_replica, args=(finite, [g for g, _ in pairs]))
