"""PGGAN input under several workers: each worker streams only its replicas' rows.

Worker w of W (L replicas each, R = W L) reads, of every global minibatch, the
rows its replicas train on under the strided rule (replica r: rows r, r + R, ...);
those rows, batched by minibatch / W, must be exactly what the old global stream
gave them (also from a resume position), and the images of other workers' rows
must not be gathered or read at all. The two-worker loopback run
(test_progressive_multi_worker.py) checks the whole trajectory on top of this.
"""

import numpy as np
import pytest
import tensorflow as tf

from tf_gans.data import tfrecords
from tf_gans.progressive import data as data_lib
from tf_gans.training import replicas

LAYOUTS = [(2, 1), (2, 2), (4, 1), (3, 2)]  # (workers, replicas per worker)


def _index_images(num, size=4):
  """Images whose pixels encode their index; labels too."""
  images = np.zeros([num, size, size, 3], np.uint8)
  images[..., 0] = np.arange(num)[:, None, None] % 256
  images[..., 1] = np.arange(num)[:, None, None] // 256
  labels = np.stack([np.arange(num), -np.arange(num)], axis=1).astype(np.float32)
  return images, labels


def _batches(stream, size, count):
  """[(images, labels)] of the first `count` batches of `size`."""
  return [(x.numpy(), y.numpy()) for x, y in stream.batch(size, drop_remainder=True).take(count)]


def _check_worker_streams(images_fn, minibatch, workers, local, steps):
  """Every worker's batches are its rows of the global batches; every replica's share of
  them is its strided rows of the global batch."""
  total = workers * local
  want = _batches(images_fn(None), minibatch, steps)
  for w in range(workers):
    rows = replicas.WorkerRows(w, workers, local)
    got = _batches(images_fn(rows), rows.share(minibatch), steps)
    assert len(got) == len(want) == steps
    for (gx, gy), (wx, wy) in zip(got, want):
      np.testing.assert_array_equal(gx, wx[rows.rows(minibatch)])
      np.testing.assert_array_equal(gy, wy[rows.rows(minibatch)])
      for l in range(local):  # Shard.local of the share == Shard of the global batch
        np.testing.assert_array_equal(replicas.strided_rows(gy, l, local),
                                      replicas.strided_rows(wy, w * local + l, total))


def test_worker_rows_are_the_strided_rows_of_the_worker_replicas():
  for workers, local in LAYOUTS:
    total = workers * local
    minibatch = 4 * total
    seen = []
    for w in range(workers):
      rows = replicas.WorkerRows(w, workers, local)
      assert rows.share(minibatch) == minibatch // workers == len(rows.rows(minibatch))
      want = np.sort(np.concatenate([np.arange(minibatch)[w * local + l::total]
                                     for l in range(local)]))
      np.testing.assert_array_equal(rows.rows(minibatch), want)
      seen.append(rows.rows(minibatch))
      positions = rows.select(tf.data.Dataset.range(3 * minibatch))
      np.testing.assert_array_equal(list(positions.as_numpy_iterator()),
                                    np.concatenate([want + k * minibatch for k in range(3)]))
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.arange(minibatch))
  with pytest.raises(ValueError, match='does not split evenly over 4 replicas'):
    replicas.WorkerRows(0, 2, 2).share(6)
  one = replicas.WorkerRows()
  stream = tf.data.Dataset.range(5)
  assert one.everything and one.select(stream) is stream


def test_strategies_on_one_worker_read_every_row():
  from tf_gans.training import strategy as strategy_lib  # pylint: disable=import-outside-toplevel
  for strategy in (tf.distribute.get_strategy(), strategy_lib.get('mirrored')):
    rows = replicas.WorkerRows.of_strategy(strategy)
    assert rows.everything and rows.num_replicas == strategy.num_replicas_in_sync


class _FakeWorker:
  """The two methods `WorkerRows.of_strategy` asks a strategy, for local replica ids."""

  def __init__(self, ids, count):
    self.ids, self.num_replicas_in_sync = ids, count

  def experimental_distribute_values_from_function(self, fn):
    return [fn(tf.distribute.experimental.ValueContext(i, self.num_replicas_in_sync))
            for i in self.ids]

  def experimental_local_results(self, values):
    return values


def test_worker_rows_of_a_multi_worker_layout():
  rows = replicas.WorkerRows.of_strategy(_FakeWorker([5, 4], 6))
  assert (rows.worker, rows.num_workers, rows.local_replicas) == (2, 3, 2)
  assert replicas.WorkerRows.of_strategy(_FakeWorker([1], 2)).first == 1
  for ids, count in (([1, 2], 4), ([0, 2], 4)):  # not an aligned block: read every row
    assert replicas.WorkerRows.of_strategy(_FakeWorker(ids, count)).everything


def test_shard_local_takes_the_replica_rows_of_its_worker_share():
  # Two logical CPUs, seen as two workers of one replica each: replica r gets worker r's
  # share (a per-replica value) and must take from it the rows Shard takes of the global x.
  from tf_gans.training import strategy as strategy_lib  # pylint: disable=import-outside-toplevel
  mirrored = strategy_lib.get('mirrored')
  x = tf.reshape(tf.range(16 * 3), [16, 3])
  shares = mirrored.experimental_distribute_values_from_function(
      lambda ctx: tf.gather(x, replicas.WorkerRows(ctx.replica_id_in_sync_group, 2, 1).rows(16)))

  def replica(share):
    shard = replicas.Shard(num_workers=2)
    return shard.local(share), shard(x)

  local, global_ = mirrored.run(replica, args=(shares,))
  for a, b in zip(mirrored.experimental_local_results(local),
                  mirrored.experimental_local_results(global_)):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  with pytest.raises(ValueError, match='do not spread evenly over 2 workers'):
    replicas.Shard(num_workers=2)  # one replica outside the strategy


@pytest.mark.parametrize('workers,local', LAYOUTS)
def test_array_lods_worker_streams_are_their_rows_of_the_global_stream(workers, local):
  images, labels = _index_images(37)  # epochs of 37 straddle the minibatches
  dataset = data_lib.ArrayLods(images, labels)
  minibatch = 2 * workers * local
  for skip in (0, 29, 3 * minibatch):  # resume positions: mid-epoch, whole minibatches
    _check_worker_streams(lambda rows, skip=skip: dataset.images(0, 7, skip=skip, rows=rows),
                          minibatch, workers, local, steps=9)
  # A resume continues the worker's stream exactly (the loop reopens it at data_pos).
  rows = replicas.WorkerRows(1, workers, local)
  straight = _batches(dataset.images(0, 7, rows=rows), rows.share(minibatch), 6)
  resumed = _batches(dataset.images(0, 7, skip=2 * minibatch, rows=rows), rows.share(minibatch), 4)
  for (a, b), (c, d) in zip(straight[2:], resumed):
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(b, d)


class _CountingLods(data_lib.ArrayLods):
  """ArrayLods that records the index of every image it gathers."""

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    self.gathered = []

  def _gather(self, images, labels, index):
    def note(i):
      self.gathered.append(int(i))
      return i
    index = tf.numpy_function(note, [index], index.dtype, stateful=True)
    return data_lib.ArrayLods._gather(images, labels, tf.reshape(index, []))


def test_array_lods_worker_stream_gathers_only_its_rows():
  # 256 images, 8 a step over 2 workers of 2 replicas: the first steps stay in epoch 0,
  # where each image is at one position only, so an image another worker trains on (by its
  # epoch-0 position) must never be gathered, even by tf.data's read-ahead.
  num, minibatch, steps, skip = 256, 8, 3, 4
  images, labels = _index_images(num)
  epoch0 = np.concatenate([y[:, 0] for _, y in _batches(
      data_lib.ArrayLods(images, labels).images(0, 5), num, 1)]).astype(np.int64)
  counting = _CountingLods(images, labels)
  _batches(counting.images(0, 5, skip=skip), minibatch, steps)
  everything = set(counting.gathered)
  assert len(counting.gathered) >= minibatch * steps  # the old stream: every row
  for w in range(2):
    counting.gathered = []
    rows = replicas.WorkerRows(w, 2, 2)
    got = _batches(counting.images(0, 5, skip=skip, rows=rows), rows.share(minibatch), steps)
    taken = np.concatenate([y[:, 0] for _, y in got]).astype(np.int64)
    positions = np.arange(num - skip)
    mine = epoch0[skip:][(positions % 4) // 2 == w]
    theirs = epoch0[skip:][(positions % 4) // 2 != w]
    np.testing.assert_array_equal(taken, mine[:len(taken)])
    assert len(taken) == minibatch // 2 * steps
    assert everything & set(theirs.tolist())  # what the old stream read for the other worker
    gathered = set(counting.gathered)
    assert set(taken.tolist()) <= gathered <= set(mine.tolist())
    assert not gathered & set(theirs.tolist()), 'gathered an image of the other worker'
    assert len(counting.gathered) < num // 4


def _write_records(path, num):
  images, labels = _index_images(num, size=4)
  with tfrecords.MultiResWriter(path, progress=False) as writer:
    for image in images:
      writer.add_image(image)
    writer.add_labels(labels)
  return tfrecords.MultiResDataset(path)


@pytest.mark.parametrize('in_memory', [True, False])
def test_tfrecords_worker_streams_are_their_rows_of_the_global_stream(tmp_path, in_memory):
  dataset = _write_records(tmp_path / 'ds', 13)
  for workers, local in LAYOUTS[:3]:
    minibatch = 2 * workers * local
    for skip in (0, 11, 2 * minibatch):
      _check_worker_streams(
          lambda rows, skip=skip: dataset.images(0, 3, skip=skip, in_memory=in_memory, rows=rows),
          minibatch, workers, local, steps=5)
  # The images are the records the labels name (the pixels encode the index).
  rows = replicas.WorkerRows(1, 2, 1)
  for x, y in _batches(dataset.images(0, 3, skip=5, in_memory=in_memory, rows=rows), 4, 3):
    np.testing.assert_array_equal(x[:, 0, 0, 0], y[:, 0])


def test_tfrecords_worker_reads_only_its_records_from_disk(tmp_path, monkeypatch):
  # 256 records, 8 images a step over 2 workers: the first few steps stay in epoch 0,
  # where each record is at one position only, so a record another worker trains on
  # (by its epoch-0 position) must never be read, even by tf.data's read-ahead.
  from tf_gans.data.tfrecords import reader  # pylint: disable=import-outside-toplevel
  num, minibatch, steps = 256, 8, 4
  dataset = _write_records(tmp_path / 'ds', num)
  epoch0 = np.concatenate([y[:, 0] for _, y in _batches(
      dataset.images(0, 9, in_memory=True), num, 1)]).astype(np.int64)
  reads = []
  original = reader._RecordReader.read  # pylint: disable=protected-access

  def counting_read(self, index):
    reads.append(int(index))
    return original(self, index)

  monkeypatch.setattr(reader._RecordReader, 'read', counting_read)  # pylint: disable=protected-access
  _batches(dataset.images(0, 9, in_memory=False), minibatch, steps)
  everything = set(reads)
  for w in range(2):
    reads.clear()
    rows = replicas.WorkerRows(w, 2, 1)
    got = _batches(dataset.images(0, 9, in_memory=False, rows=rows), rows.share(minibatch), steps)
    taken = np.concatenate([y[:, 0] for _, y in got]).astype(np.int64)
    mine = set(epoch0[w::2].tolist())
    theirs = set(epoch0[1 - w::2].tolist())
    assert everything & theirs  # what the old stream read for the other worker
    np.testing.assert_array_equal(taken, epoch0[w::2][:len(taken)])
    assert set(taken.tolist()) <= set(reads) <= mine, 'read a record of the other worker'
    assert not set(reads) & theirs
    assert len(reads) < num // 2


def test_benchmark_counts_the_images_each_worker_reads():
  from tf_gans.bench import distribute  # pylint: disable=import-outside-toplevel
  report = distribute.pggan_worker_reads(16, num_workers=2, local_replicas=2, steps=2)
  assert report['images_read_per_worker_per_step'] == dict(before=16, after=[8, 8])
  assert report['images_read_per_step_all_workers'] == dict(before=32, after=16)
