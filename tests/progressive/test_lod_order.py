"""In-memory PGGAN data (`ArrayLods`) draws its order per lod, as the original's per-lod
shuffled pipelines and our TFRecords reader do: the same images stream identically from
memory and from their TFRecords folder, at every lod and from any resume position."""

import numpy as np
import pytest

from tf_gans.data import tfrecords
from tf_gans.progressive import data as data_lib

NUM = 11  # epochs straddle every minibatch-sized read below


def _images(num=NUM, size=16):
  """Random RGB images; label row i = (i, -i), so a stream's labels name its images."""
  rng = np.random.default_rng(4)
  images = rng.integers(0, 256, [num, size, size, 3]).astype(np.uint8)
  labels = np.stack([np.arange(num), -np.arange(num)], axis=1).astype(np.float32)
  return images, labels


def _take(stream, count):
  pairs = list(stream.take(count).as_numpy_iterator())
  return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def _order(dataset, lod, seed, count, skip=0):
  return _take(dataset.images(lod, seed, skip=skip), count)[1][:, 0].astype(np.int64)


def test_every_lod_and_epoch_has_its_own_permutation():
  images, labels = _images()
  dataset = data_lib.ArrayLods(images, labels)
  assert dataset.lods == [0, 1, 2]
  orders = {lod: _order(dataset, lod, seed=5, count=3 * NUM).reshape(3, NUM)
            for lod in dataset.lods}
  for lod, epochs in orders.items():
    for epoch in epochs:
      assert sorted(epoch) == list(range(NUM)), lod  # each image once per epoch
    assert len({tuple(e) for e in epochs}) == 3, lod  # a fresh order every epoch
  # The old stream replayed lod 0's permutations at every lod; now each lod draws its own.
  assert len({tuple(orders[lod].ravel()) for lod in dataset.lods}) == 3
  # The seed decides; rows stay whole and match their images.
  assert not np.array_equal(_order(dataset, 0, seed=6, count=NUM), orders[0][0])
  got_images, got_labels = _take(dataset.images(1, 5), NUM)
  np.testing.assert_array_equal(got_labels[:, 1], -got_labels[:, 0])
  np.testing.assert_array_equal(got_images, dataset.level(1)[got_labels[:, 0].astype(int)])


def test_in_memory_and_tfrecords_streams_are_the_same(tmp_path):
  images, labels = _images()
  with tfrecords.MultiResWriter(tmp_path / 'ds', progress=False) as writer:
    for image in images:
      writer.add_image(image)
    writer.add_labels(labels)
  on_disk = tfrecords.MultiResDataset(tmp_path / 'ds')
  in_memory = data_lib.ArrayLods(images, labels)
  assert on_disk.lods == in_memory.lods
  for lod in in_memory.lods:
    for skip in (0, 7, 2 * NUM + 3):
      a_images, a_labels = _take(in_memory.images(lod, 9, skip=skip), 2 * NUM)
      b_images, b_labels = _take(on_disk.images(lod, 9, skip=skip), 2 * NUM)
      np.testing.assert_array_equal(a_labels, b_labels)
      np.testing.assert_array_equal(a_images, b_images)


def test_a_resumed_stream_is_the_straight_stream_without_its_head():
  images, labels = _images()
  dataset = data_lib.ArrayLods(images, labels)
  for lod in (0, 2):
    straight = _order(dataset, lod, seed=3, count=4 * NUM)
    for skip in (1, NUM - 1, NUM, 3 * NUM + 2):
      np.testing.assert_array_equal(_order(dataset, lod, 3, 4 * NUM - skip, skip=skip),
                                    straight[skip:])
  with pytest.raises(ValueError, match='skip must be >= 0'):
    dataset.images(0, 3, skip=-1)
  with pytest.raises(ValueError, match='no lod 3'):
    dataset.images(3, 3)
