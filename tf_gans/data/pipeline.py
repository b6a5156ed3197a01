"""Deterministic, O(1)-resumable tf.data streams of shuffled image batches.

Batch b of the stream holds the examples at global sample positions
i = b * batch_size, ..., b * batch_size + batch_size - 1. Position i lies in
epoch e = i // N at slot p = i % N and shows example
index_shuffle(p, seed=(seed, e, 0), max_index=N - 1): every epoch is a fresh
permutation of all N examples (sampling without replacement within an epoch),
and a batch is a pure function of (seed, b). Resuming at batch b therefore
costs nothing: `make_dataset(..., start_batch=b)` yields exactly the batches
b, b + 1, ... of the stream started at 0.

With `sampling='independent'` each minibatch of `minibatch_size` examples is
instead drawn on its own, without replacement within the minibatch and
independently of every other minibatch (no epochs), as the RGAN code's
`numpy.random.choice(N, B, replace=False)` per call: minibatch q holds the
first B entries of the permutation index_shuffle(., seed=(seed, q, 1)).
"""

SAMPLING = ('epochs', 'independent')

import tensorflow as tf


def _check_args(batch_size, start_batch, value_range):
  """Raises ValueError for a bad batch size, start or value range."""
  if int(batch_size) <= 0:
    raise ValueError(f'batch_size must be positive, got {batch_size}.')
  if int(start_batch) < 0:
    raise ValueError(f'start_batch must be >= 0, got {start_batch}.')
  low, high = value_range
  if not float(low) < float(high):
    raise ValueError(f'value_range must be (low, high) with low < high, got '
                     f'{tuple(value_range)}.')


def example_indices(batch_index, batch_size, num_examples, seed):
  """Returns the example indices [batch_size] (int64) of one batch.

  Args:
    batch_index: Scalar int64 tensor, the batch number b.
    batch_size: Python int.
    num_examples: Python int N.
    seed: Python int.

  Returns:
    int64 tensor [batch_size]: entry k is the example at global sample
    position b * batch_size + k.
  """
  positions = batch_index * batch_size + tf.range(batch_size, dtype=tf.int64)
  epochs = positions // num_examples
  slots = positions % num_examples
  seeds = tf.stack(
      [tf.fill([batch_size], tf.constant(seed, tf.int64)), epochs,
       tf.zeros([batch_size], tf.int64)], axis=1)
  return tf.raw_ops.RandomIndexShuffle(
      index=slots, seed=seeds,
      max_index=tf.constant(num_examples - 1, tf.int64), rounds=4)


def independent_indices(batch_index, batch_size, minibatch_size, num_examples, seed):
  """Example indices [batch_size] of batch b made of independent minibatches.

  Minibatch q = b * (batch_size // minibatch_size) + j holds distinct examples
  (the first minibatch_size slots of a fresh permutation of all N).
  """
  per_batch = batch_size // minibatch_size
  minibatches = batch_index * per_batch + tf.range(per_batch, dtype=tf.int64)
  minibatches = tf.repeat(minibatches, minibatch_size)
  slots = tf.tile(tf.range(minibatch_size, dtype=tf.int64), [per_batch])
  seeds = tf.stack([tf.fill([batch_size], tf.constant(seed, tf.int64)), minibatches,
                    tf.ones([batch_size], tf.int64)], axis=1)
  return tf.raw_ops.RandomIndexShuffle(
      index=slots, seed=seeds, max_index=tf.constant(num_examples - 1, tf.int64), rounds=4)


def make_dataset(source, batch_size, seed, start_batch=0,
                 value_range=(0.0, 1.0), sampling='epochs', minibatch_size=None, rows=None):
  """Builds an infinite stream of shuffled float32 image batches.

  Args:
    source: An `ArraySource`.
    batch_size: Examples per batch (> 0); may exceed the number of examples.
    seed: Integer seed of the shuffle (fits in int64).
    start_batch: Number of the first batch to yield (to resume a run).
    value_range: (low, high): pixel values in [0, 1] are mapped linearly to
      [low, high], e.g. (-1, 1) for a tanh generator.
    sampling: 'epochs' (shuffled passes) or 'independent' (each minibatch
      drawn on its own; see the module docstring).
    minibatch_size: with 'independent', the size of one minibatch; must
      divide batch_size and be <= N (default: batch_size).
    rows: optional offsets within each batch (ints in [0, batch_size)): the
      stream then yields only those rows of every batch, in this order, and
      gathers only their images (one worker's share under multi-worker
      training; the positions, hence the shuffle, are the whole stream's).

  Returns:
    A `tf.data.Dataset` of float32 tensors [batch_size, H, W, C] (with rows:
    [len(rows), H, W, C]).
  """
  _check_args(batch_size, start_batch, value_range)
  batch_size = int(batch_size)
  num_examples = source.num_examples
  if sampling not in SAMPLING:
    raise ValueError(f'sampling must be one of {SAMPLING}, got {sampling!r}.')
  minibatch_size = int(minibatch_size or batch_size)
  if sampling == 'independent' and (batch_size % minibatch_size or minibatch_size > num_examples):
    raise ValueError(f'independent sampling needs minibatch_size ({minibatch_size}) to divide '
                     f'batch_size ({batch_size}) and not exceed the {num_examples} examples.')
  if rows is not None:
    rows = [int(r) for r in rows]
    if not rows or min(rows) < 0 or max(rows) >= batch_size:
      raise ValueError(f'rows must be offsets in [0, {batch_size}) of a batch, got {rows}.')
    rows = tf.constant(rows, tf.int64)
  images = tf.constant(source.images)
  low, high = float(value_range[0]), float(value_range[1])
  factor = tf.constant(source.scale * (high - low), tf.float32)
  offset = tf.constant(low, tf.float32)

  def to_batch(batch_index):
    if sampling == 'independent':
      indices = independent_indices(batch_index, batch_size, minibatch_size, num_examples,
                                    int(seed))
    else:
      indices = example_indices(batch_index, batch_size, num_examples, int(seed))
    if rows is not None:
      indices = tf.gather(indices, rows)
    batch = tf.cast(tf.gather(images, indices), tf.float32)
    return batch * factor + offset

  # A batch is one index shuffle and one gather from memory (well under a millisecond
  # for these images): one background thread a batch ahead is enough, and AUTOTUNE's
  # parallel map and prefetch added threads competing for the 2 cores with the step
  # (`python -m tf_gans.benchmark --loop_bench`).
  dataset = tf.data.Dataset.counter(start=int(start_batch), dtype=tf.int64)
  return dataset.map(to_batch).prefetch(1)
