"""Tests of the multi-resolution TFRecords writer and reader.

The original PGGAN `dataset_tool.py` `TFRecordExporter` and `dataset.py`
`TFRecordDataset`.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from tf_gans.data import tfrecords


def _write(tfrecord_dir, images, labels=None, **kwargs):
  with tfrecords.MultiResWriter(tfrecord_dir, progress=False, **kwargs) as writer:
    for image in images:
      writer.add_image(image)
    if labels is not None:
      writer.add_labels(labels)
  return writer.summary


def _reference_lods(image):
  """Independent numpy version of the rule: float 2x2 means, rint each level."""
  x = image.astype(np.float64)
  levels = [np.clip(np.rint(x), 0, 255).astype(np.uint8)]
  while x.shape[0] > 4:
    h, w, c = x.shape
    x = x.reshape(h // 2, 2, w // 2, 2, c).mean(axis=(1, 3))
    levels.append(np.clip(np.rint(x), 0, 255).astype(np.uint8))
  return levels


def _index_images(num_images, size=8):
  """RGB images whose pixels encode their index (constant, so every lod too)."""
  images = np.zeros([num_images, size, size, 3], np.uint8)
  images[..., 0] = np.arange(num_images)[:, None, None] % 256
  images[..., 1] = np.arange(num_images)[:, None, None] // 256
  images[..., 2] = 7
  labels = np.stack([np.arange(num_images), -np.arange(num_images)], axis=1)
  return images, labels.astype(np.float32)


def _stream(dataset, count):
  images, labels = [], []
  for image, label in dataset.take(count):
    images.append(image.numpy())
    labels.append(label.numpy())
  return np.stack(images), np.stack(labels)


@pytest.mark.parametrize('channels', [1, 3])
def test_round_trip_every_lod(tmp_path, channels):
  rng = np.random.RandomState(channels)
  images = rng.randint(0, 256, [5, 16, 16, channels]).astype(np.uint8)
  labels = rng.randn(5, 4).astype(np.float32)
  summary = _write(tmp_path / 'ds', images if channels == 3 else images[..., 0], labels)
  assert summary.files == ['ds-r02.tfrecords', 'ds-r03.tfrecords', 'ds-r04.tfrecords',
                           'ds-rxx.labels']
  assert sorted(os.listdir(tmp_path)) == ['ds']  # No temporary folder left.
  dataset = tfrecords.MultiResDataset(tmp_path / 'ds')
  assert (dataset.resolution, dataset.resolution_log2) == (16, 4)
  assert (dataset.num_channels, dataset.num_images, dataset.label_size) == (channels, 5, 4)
  assert dataset.lods == [0, 1, 2]
  np.testing.assert_array_equal(dataset.labels, labels)
  assert dataset.labels.dtype == np.float32
  np.testing.assert_array_equal(dataset.load_images(0), images)  # Bit-exact top lod.
  expected = [_reference_lods(image) for image in images]
  for lod in (1, 2):
    loaded = dataset.load_images(lod)
    assert loaded.shape == (5, 16 >> lod, 16 >> lod, channels)
    np.testing.assert_array_equal(loaded, np.stack([e[lod] for e in expected]))


def test_lower_lods_round_half_to_even_from_unquantised_floats(tmp_path):
  # An 8x8 tile; each 2x2 block of its 4x4 half-size grid feeds one pixel of
  # the 2x2 quarter-size grid. The dataset image is 16x16 (2x2 tiles), so the
  # tile's half-size grid is in lod 1 (8x8) and its quarter-size grid in lod 2.
  block_means = np.array([[0.5, 0.5, 1.5, 1.5],
                          [0.5, 2.5, 1.5, 1.5],
                          [2.5, 2.5, 254.5, 255],
                          [2.5, 2.5, 255, 255]])
  blocks = {0.5: [0, 0, 0, 2], 1.5: [1, 1, 1, 3], 2.5: [2, 2, 2, 4],
            254.5: [255, 255, 255, 253], 255: [255] * 4}
  tile = np.zeros([8, 8], np.uint8)
  for i in range(4):
    for j in range(4):
      tile[2 * i:2 * i + 2, 2 * j:2 * j + 2] = np.reshape(blocks[block_means[i, j]], [2, 2])
  image = np.tile(tile, [2, 2])
  _write(tmp_path / 'ties', [image])
  dataset = tfrecords.MultiResDataset(tmp_path / 'ties')
  lod1 = dataset.load_images(1)[0, :, :, 0]
  # Ties go to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 254.5 -> 254.
  np.testing.assert_array_equal(lod1, np.tile([[0, 0, 2, 2], [0, 2, 2, 2], [2, 2, 254, 255],
                                               [2, 2, 255, 255]], [2, 2]))
  lod2 = dataset.load_images(2)[0, :, :, 0]
  # From the floats: (0.5 * 3 + 2.5) / 4 = 1.0 -> 1 (from the quantised lod 1 it
  # would be 0.5 -> 0); 1.5 -> 2; 2.5 -> 2 (not 3); (254.5 + 255 * 3) / 4 -> 255.
  expected = np.tile([[1, 2], [2, 255]], [2, 2])
  np.testing.assert_array_equal(lod2, expected)
  np.testing.assert_array_equal(tfrecords.build_lods(image[..., None])[2][..., 0], expected)


def test_records_are_chw_examples(tmp_path):
  image = np.zeros([4, 4, 3], np.uint8)
  image[..., 0], image[..., 1], image[..., 2] = 10, 20, 30
  image[0, 1, 2] = 99  # row 0, column 1, blue.
  _write(tmp_path / 'chw', [image, image], labels=np.eye(2))
  path = tmp_path / 'chw' / 'chw-r02.tfrecords'
  records = list(tf.data.TFRecordDataset(str(path)).as_numpy_iterator())
  assert len(records) == 2
  features = tf.train.Example.FromString(records[0]).features.feature
  assert sorted(features) == ['data', 'shape']
  assert list(features['shape'].int64_list.value) == [3, 4, 4]
  data = features['data'].bytes_list.value[0]
  assert data[:16] == bytes([10] * 16)  # First the whole red plane.
  chw = np.frombuffer(data, np.uint8).reshape(3, 4, 4)
  assert chw[2, 0, 1] == 99
  np.testing.assert_array_equal(chw, image.transpose(2, 0, 1))
  labels = np.load(tmp_path / 'chw' / 'chw-rxx.labels')
  assert labels.dtype == np.float32 and labels.shape == (2, 2)


@pytest.mark.parametrize('in_memory', [True, False])
def test_stream_is_a_pure_function_of_seed_and_skip(tmp_path, in_memory):
  num = 7
  images, labels = _index_images(num)
  _write(tmp_path / 'ds', images, labels)
  dataset = tfrecords.MultiResDataset(tmp_path / 'ds')
  count = 3 * num
  first_images, first_labels = _stream(dataset.images(0, seed=5, in_memory=in_memory), count)
  tf.random.set_seed(1234)  # The global seed must not matter (other processes).
  again = _stream(dataset.images(0, seed=5, in_memory=in_memory), count)
  np.testing.assert_array_equal(again[0], first_images)
  np.testing.assert_array_equal(again[1], first_labels)
  for skip in (1, 3, num, num + 2):
    tail = _stream(dataset.images(0, seed=5, skip=skip, in_memory=in_memory), count - skip)
    np.testing.assert_array_equal(tail[0], first_images[skip:])
    np.testing.assert_array_equal(tail[1], first_labels[skip:])
  index = first_labels[:, 0].astype(int)
  np.testing.assert_array_equal(first_labels[:, 1], -index)  # Rows stay whole.
  np.testing.assert_array_equal(first_images[:, 0, 0, 0], index)  # Image i has label i.
  epochs = index.reshape(3, num)
  for epoch in epochs:
    assert sorted(epoch) == list(range(num))  # Each image once per epoch.
  assert len({tuple(e) for e in epochs}) == 3  # A fresh order each epoch.
  other = _stream(dataset.images(0, seed=6, in_memory=in_memory), count)[1][:, 0]
  assert not np.array_equal(other, index)
  low_images, low_labels = _stream(dataset.images(1, seed=5, in_memory=in_memory), num)
  assert low_images.shape == (num, 4, 4, 3) and low_images.dtype == np.uint8
  np.testing.assert_array_equal(low_images[:, 2, 3, 0], low_labels[:, 0])


def test_memory_and_disk_paths_give_the_same_stream(tmp_path):
  rng = np.random.RandomState(0)
  images = rng.randint(0, 256, [6, 8, 8, 1]).astype(np.uint8)
  _write(tmp_path / 'ds', images)
  dataset = tfrecords.MultiResDataset(tmp_path / 'ds', in_memory_bytes=0)
  streamed = _stream(dataset.images(0, seed=3), 12)  # Auto: file >= 0 bytes -> disk.
  loaded = _stream(dataset.images(0, seed=3, in_memory=True), 12)
  np.testing.assert_array_equal(streamed[0], loaded[0])
  assert streamed[1].shape == (12, 0)
  order = [next(i for i in range(6) if np.array_equal(images[i], s)) for s in streamed[0]]
  assert sorted(order[:6]) == list(range(6))


def test_writer_refuses_bad_images(tmp_path):
  cases = [
      (np.zeros([8, 4, 3]), 'not square'),
      (np.zeros([12, 12, 3]), 'not a power of two'),
      (np.zeros([2, 2, 3]), 'not a power of two >= 4'),
      (np.zeros([8, 8, 4]), '4 channels'),
  ]
  for image, message in cases:
    with pytest.raises(ValueError, match=f'cat.png.*{message}'):
      with tfrecords.MultiResWriter(tmp_path / 'bad', progress=False) as writer:
        writer.add_image(image, name='cat.png')
    assert not os.listdir(tmp_path)  # Nothing left, not even the temporary folder.
  with pytest.raises(ValueError, match=r'image 1 is 4x4x3 but the first image \(image 0\) is 8x8x3'):
    _write(tmp_path / 'bad', [np.zeros([8, 8, 3]), np.zeros([4, 4, 3])])
  with pytest.raises(ValueError, match='2 label rows for 1 images'):
    _write(tmp_path / 'bad', [np.zeros([4, 4])], labels=np.zeros([2, 1]))
  with pytest.raises(ValueError, match='1 images were added, 3 expected'):
    _write(tmp_path / 'bad', [np.zeros([4, 4])], expected_images=3)
  assert not os.listdir(tmp_path)


def test_writer_refuses_an_existing_dataset_unless_overwrite(tmp_path):
  _write(tmp_path / 'ds', [np.full([4, 4], 1)])
  with pytest.raises(FileExistsError, match='overwrite'):
    _write(tmp_path / 'ds', [np.full([4, 4], 2)])
  _write(tmp_path / 'ds', [np.full([8, 8], 3)], overwrite=True)
  assert sorted(os.listdir(tmp_path / 'ds')) == ['ds-r02.tfrecords', 'ds-r03.tfrecords']
  assert tfrecords.MultiResDataset(tmp_path / 'ds').load_images(0)[0, 0, 0, 0] == 3
  (tmp_path / 'empty').mkdir()  # An empty folder is fine (e.g. made by the user).
  _write(tmp_path / 'empty', [np.full([4, 4], 4)])


def test_reader_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match='nope does not exist'):
    tfrecords.MultiResDataset(tmp_path / 'nope')
  (tmp_path / 'empty').mkdir()
  with pytest.raises(FileNotFoundError, match='empty is empty'):
    tfrecords.MultiResDataset(tmp_path / 'empty')
  (tmp_path / 'empty' / 'notes.txt').write_text('x')
  with pytest.raises(FileNotFoundError, match=r'no \*.tfrecords files.*notes.txt'):
    tfrecords.MultiResDataset(tmp_path / 'empty')
  _write(tmp_path / 'ds', np.zeros([3, 16, 16, 3], np.uint8), labels=np.zeros([3, 1]))
  dataset = tfrecords.MultiResDataset(tmp_path / 'ds')
  with pytest.raises(ValueError, match=r'no lod 3; available lods: 0, 1, 2'):
    dataset.images(3, seed=0)
  with pytest.raises(ValueError, match=r'no lod 0.5'):
    dataset.images(0.5, seed=0)
  np.save(open(tmp_path / 'ds' / 'ds-rxx.labels', 'wb'), np.zeros([4, 1], np.float32))
  with pytest.raises(ValueError, match=r'ds-rxx.labels has shape \(4, 1\); expected \[3,'):
    tfrecords.MultiResDataset(tmp_path / 'ds')
  os.remove(tmp_path / 'ds' / 'ds-rxx.labels')
  os.remove(tmp_path / 'ds' / 'ds-r03.tfrecords')
  with pytest.raises(FileNotFoundError, match=r'lacks lod 1 \(8x8\).*ds-r03.tfrecords'):
    tfrecords.MultiResDataset(tmp_path / 'ds')


def test_reader_refuses_mixed_channels_and_truncated_files(tmp_path):
  _write(tmp_path / 'a', np.zeros([2, 8, 8, 3], np.uint8))
  _write(tmp_path / 'b', np.zeros([2, 8, 8], np.uint8))
  os.replace(tmp_path / 'b' / 'b-r02.tfrecords', tmp_path / 'a' / 'a-r02.tfrecords')
  with pytest.raises(ValueError, match=r'a-r02.tfrecords has 1 channels but .*a-r03'):
    tfrecords.MultiResDataset(tmp_path / 'a')
  _write(tmp_path / 'c', np.zeros([2, 8, 8, 3], np.uint8))
  path = tmp_path / 'c' / 'c-r03.tfrecords'
  path.write_bytes(path.read_bytes()[:-10])
  with pytest.raises(ValueError, match=r'c-r03.tfrecords is not a complete uncompressed'):
    tfrecords.MultiResDataset(tmp_path / 'c')


def test_tfrecords_source_is_lod_0_with_class_labels(tmp_path, mnist_dir):
  from tf_gans import data  # pylint: disable=import-outside-toplevel
  from tf_gans.data import dataset_writers  # pylint: disable=import-outside-toplevel
  dataset_writers.create_mnist(tmp_path / 'm', mnist_dir, split='test', progress=False)
  source = data.load_source(f'tfrecords:{tmp_path / "m"}', 'train[:50]')
  folder = tfrecords.MultiResDataset(tmp_path / 'm')
  np.testing.assert_array_equal(source.images, folder.load_images(0)[:50])
  np.testing.assert_array_equal(source.labels, np.argmax(folder.labels[:50], axis=1))
  assert source.image_shape == (32, 32, 1) and abs(source.scale - 1 / 255) < 1e-12
  with pytest.raises(ValueError, match='tfrecords'):
    data.load_source(f'tfrecords:{tmp_path / "m"}', 'test')
  with pytest.raises(FileNotFoundError, match='dataset_tool'):
    data.load_source(f'tfrecords:{tmp_path / "nothing"}', 'train')


def test_each_lod_has_its_own_permutations(tmp_path):
  # The original gives each lod its own shuffled TFRecordDataset; here the lod
  # is folded into the index_shuffle seed: (seed, epoch, 2 + lod).
  num = 9
  images, labels = _index_images(num)
  _write(tmp_path / 'ds', images, labels)
  dataset = tfrecords.MultiResDataset(tmp_path / 'ds')
  streams = {}
  for lod in (0, 1):
    streamed_images, streamed_labels = _stream(dataset.images(lod, seed=5), 2 * num)
    index = streamed_labels[:, 0].astype(int)
    np.testing.assert_array_equal(streamed_images[:, 0, 0, 0], index)  # Every lod: image i, label i.
    expected = [int(tf.raw_ops.RandomIndexShuffle(
        index=tf.constant(p % num, tf.int64), seed=tf.constant([5, p // num, 2 + lod], tf.int64),
        max_index=tf.constant(num - 1, tf.int64), rounds=4)) for p in range(2 * num)]
    assert index.tolist() == expected
    streams[lod] = index
  assert streams[0][:num].tolist() != streams[1][:num].tolist()
  assert sorted(streams[1][:num]) == list(range(num))


def test_iter_images_is_file_order_in_batches(tmp_path):
  images, _ = _index_images(5)
  _write(tmp_path / 'ds', images)
  dataset = tfrecords.MultiResDataset(tmp_path / 'ds')
  batches = list(dataset.iter_images(1, batch_size=2))
  assert [len(b) for b in batches] == [2, 2, 1]
  np.testing.assert_array_equal(np.concatenate(batches)[:, 0, 0, 0], np.arange(5))


def test_extract_writes_full_resolution_pngs(tmp_path):
  from PIL import Image  # pylint: disable=import-outside-toplevel
  from tf_gans.data.tfrecords import tools  # pylint: disable=import-outside-toplevel
  rng = np.random.RandomState(0)
  colour = rng.randint(0, 256, [3, 8, 8, 3]).astype(np.uint8)
  grey = rng.randint(0, 256, [2, 4, 4]).astype(np.uint8)
  _write(tmp_path / 'colour', colour)
  _write(tmp_path / 'grey', grey)
  assert tools.extract(tmp_path / 'colour', tmp_path / 'out_c') == 3
  assert sorted(os.listdir(tmp_path / 'out_c')) == [
      'img00000000.png', 'img00000001.png', 'img00000002.png']
  for i in range(3):
    with Image.open(tmp_path / 'out_c' / f'img{i:08d}.png') as image:
      assert image.mode == 'RGB'
      np.testing.assert_array_equal(np.asarray(image), colour[i])
  assert tools.extract(tmp_path / 'grey', tmp_path / 'out_g') == 2
  with Image.open(tmp_path / 'out_g' / 'img00000001.png') as image:
    assert image.mode == 'L'
    np.testing.assert_array_equal(np.asarray(image), grey[1])


def test_compare_counts_identical_images_and_labels(tmp_path):
  from tf_gans.data.tfrecords import tools  # pylint: disable=import-outside-toplevel
  images, labels = _index_images(4)
  _write(tmp_path / 'a', images, labels)
  changed_images, changed_labels = images.copy(), labels.copy()
  changed_images[2, 1, 1, 2] = 0
  changed_labels[[0, 3], 1] = 9
  _write(tmp_path / 'b', changed_images, changed_labels)
  result = tools.compare(tmp_path / 'a', tmp_path / 'b')
  assert (result.num_compared, result.identical_images, result.identical_labels) == (4, 3, 2)
  assert result.report().splitlines() == [
      'Image 2 is different', 'Label 0 is different', 'Label 3 is different',
      'Identical images: 3 / 4', 'Identical labels: 2 / 4']
  _write(tmp_path / 'short', images[:3])  # No labels: every label pair differs.
  result = tools.compare(tmp_path / 'a', tmp_path / 'short', ignore_labels=True)
  assert result.report().splitlines() == [
      'Datasets contain different number of images', 'Identical images: 3 / 3']
  assert tools.compare(tmp_path / 'a', tmp_path / 'short').identical_labels == 0


def test_display_prints_labels_and_saves_a_grid(tmp_path):
  from PIL import Image  # pylint: disable=import-outside-toplevel
  from tf_gans.data.tfrecords import tools  # pylint: disable=import-outside-toplevel
  images, labels = _index_images(5)
  _write(tmp_path / 'ds', images, labels)
  text = tools.display(tmp_path / 'ds', num_images=3)
  lines = text.splitlines()
  assert lines[:3] == [f'idx = {i:<8d} label = {[float(i), float(-i)]}' for i in range(3)]
  grid_path = tmp_path / 'ds-display.png'
  assert lines[3] == f'Displayed 3 images (of 5) in {grid_path}.'
  with Image.open(grid_path) as grid:
    pixels = np.asarray(grid)
  assert pixels.shape == (16, 16, 3)  # 2x2 tiles of 8x8, the fourth empty.
  assert pixels[0, 8, 0] == 1 and pixels[8, 0, 0] == 2 and pixels[8, 8].tolist() == [0, 0, 0]


def test_tfrecords_source_reads_only_the_records_it_is_asked_for(tmp_path, monkeypatch):
  # The source over lod 0 is lazy: a minibatch of rows reads those records (by offset),
  # never the whole file; np.asarray reads them all, equal to load_images(0).
  from tf_gans import data  # pylint: disable=import-outside-toplevel
  from tf_gans.data import source as source_lib  # pylint: disable=import-outside-toplevel
  images, _ = _index_images(11, size=8)
  _write(tmp_path / 'ds', images)
  read = []
  original = tfrecords.MultiResDataset.read_records

  def counting(self, lod, indices):
    read.append((lod, np.asarray(indices).tolist()))
    return original(self, lod, indices)
  monkeypatch.setattr(tfrecords.MultiResDataset, 'read_records', counting)
  source = data.load_source(f'tfrecords:{tmp_path / "ds"}', 'train[2:9]')
  assert isinstance(source.images, source_lib.LazyImages) and read == []
  assert source.num_examples == 7 and source.image_shape == (8, 8, 3) and source.labels is None
  np.testing.assert_array_equal(source.images[[4, 0, 4]], images[[6, 2, 6]])
  assert read == [(0, [6, 2, 6])]
  np.testing.assert_array_equal(source.images[1:3], images[3:5])
  np.testing.assert_array_equal(source.images[-1], images[8])
  assert read[1:] == [(0, [3, 4]), (0, [8])]
  np.testing.assert_array_equal(np.asarray(source.images), images[2:9])
  np.testing.assert_allclose(source.pixel_mean(), images[2:9].mean(axis=0) / 255, rtol=1e-6)
  dataset = tfrecords.MultiResDataset(tmp_path / 'ds')
  np.testing.assert_array_equal(dataset.read_records(1, [10, 0]), dataset.load_images(1)[[10, 0]])
  with pytest.raises(ValueError, match=r'ds-r03.tfrecords: no record 11; it holds 11'):
    dataset.read_records(0, [11])


def test_tfrecords_source_keeps_multi_hot_labels_and_the_one_hot_width(tmp_path):
  # The original keeps its .labels rows as they are (dataset.py _np_labels); class
  # indices are given only for one-hot rows, with the file's width kept.
  from tf_gans import data  # pylint: disable=import-outside-toplevel
  images, _ = _index_images(6, size=8)
  multi = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0], [1, 0, 0], [0, 1, 1]],
                   np.float32)
  _write(tmp_path / 'multi', images, multi)
  source = data.load_source(f'tfrecords:{tmp_path / "multi"}', 'train[1:]')
  assert source.labels.shape == (5, 3) and source.label_size == 3
  np.testing.assert_array_equal(source.labels, multi[1:])
  np.testing.assert_array_equal(source.label_vectors(), multi[1:])
  with pytest.raises(ValueError, match=r"'tfrecords:.*multi\[1:\]'.* not one-hot"):
    source.class_indices()
  one_hot = np.eye(5, dtype=np.float32)[[0, 1, 0, 2, 1, 0]]  # classes 3, 4 never occur
  _write(tmp_path / 'onehot', images, one_hot)
  source = data.load_source(f'tfrecords:{tmp_path / "onehot"}', 'train[:4]')
  np.testing.assert_array_equal(source.labels, [0, 1, 0, 2])
  assert source.label_size == 5
  np.testing.assert_array_equal(source.label_vectors(), one_hot[:4])  # width 5, not 3
