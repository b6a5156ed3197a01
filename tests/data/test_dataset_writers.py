"""Tests of the dataset writers behind `python -m tf_gans.dataset_tool`.

The original PGGAN `dataset_tool.py` (`TFRecordExporter`, `create_*`).
"""

import bz2
import hashlib
import io
import os
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest
from PIL import Image

from tf_gans.data import dataset_writers
from tf_gans.data import mnist_idx
from tf_gans.data import tfrecords


def _save(path, array):
  Image.fromarray(array).save(path)


def _folder(tmp_path, count=5, size=8):
  """Writes grey and colour PNG/BMP files whose first pixel encodes their index."""
  folder = tmp_path / 'images'
  folder.mkdir()
  for i in range(count):
    if i % 2:
      array = np.full([size, size, 3], [i, 100, 200], np.uint8)
      _save(folder / f'img{i:02d}.png', array)
    else:
      _save(folder / f'img{i:02d}.bmp', np.full([size, size], i, np.uint8))
  (folder / 'readme.txt').write_text('not an image')
  return folder


def test_create_from_images_orders_and_channels(tmp_path):
  folder = _folder(tmp_path)
  summary = dataset_writers.create_from_images(tmp_path / 'sorted', folder, shuffle=False,
                                               progress=False)
  assert (summary.num_images, summary.resolution, summary.num_channels) == (5, 8, 3)
  images = tfrecords.MultiResDataset(tmp_path / 'sorted').load_images(0)
  assert images[:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4]  # Sorted file names.
  assert images[0, 0, 0].tolist() == [0, 0, 0]  # Grey file converted to RGB.
  assert images[1, 0, 0].tolist() == [1, 100, 200]
  dataset_writers.create_from_images(tmp_path / 'shuffled', folder, progress=False)
  shuffled = tfrecords.MultiResDataset(tmp_path / 'shuffled').load_images(0)
  order = np.arange(5)
  np.random.RandomState(123).shuffle(order)
  assert shuffled[:, 0, 0, 0].tolist() == order.tolist()
  assert order.tolist() != list(range(5))


def test_create_from_images_grey_stays_grey(tmp_path):
  folder = tmp_path / 'grey'
  folder.mkdir()
  for i in range(3):
    _save(folder / f'{i}.png', np.full([4, 4], 50 * i, np.uint8))
  summary = dataset_writers.create_from_images(tmp_path / 'out', folder, shuffle=False,
                                               progress=False)
  assert summary.num_channels == 1
  assert summary.files == ['out-r02.tfrecords']


@pytest.mark.parametrize('bad_shape, message', [
    ((8, 4, 3), 'is not square'),
    ((12, 12, 3), 'side 12 is not a power of two'),
    ((4, 4, 3), r'is 4x4x1 but the first image \(.*img00.bmp\) is 8x8x1'),
])
def test_create_from_images_names_the_bad_file(tmp_path, bad_shape, message):
  folder = _folder(tmp_path, count=2)
  _save(folder / 'zzz.jpg', np.zeros(bad_shape, np.uint8))
  with pytest.raises(ValueError, match=f'zzz.jpg.*{message}'):
    dataset_writers.create_from_images(tmp_path / 'out', folder, progress=False)
  assert sorted(os.listdir(tmp_path)) == ['images']


def test_create_mnist(tmp_path, mnist_dir):
  summary = dataset_writers.create_mnist(tmp_path / 'mnist', mnist_dir, 'test', progress=False)
  assert summary.files[0] == 'mnist-r02.tfrecords'
  assert summary.files[-1] == 'mnist-rxx.labels'
  dataset = tfrecords.MultiResDataset(tmp_path / 'mnist')
  assert (dataset.num_images, dataset.resolution, dataset.num_channels) == (10000, 32, 1)
  assert dataset.lods == [0, 1, 2, 3]
  assert dataset.image_shape(3) == (4, 4, 1)
  source = mnist_idx.load_mnist_idx(str(mnist_dir), 'test')
  order = np.arange(10000)
  np.random.RandomState(123).shuffle(order)
  assert dataset.labels.shape == (10000, 10)
  np.testing.assert_array_equal(dataset.labels.argmax(axis=1), source.labels[order])
  np.testing.assert_array_equal(dataset.labels.sum(axis=1), 1.0)
  images = dataset.load_images(0)
  np.testing.assert_array_equal(images[:, 2:30, 2:30], source.images[order])
  assert images[:, :2].max() == 0 and images[:, :, 30:].max() == 0  # 2-pixel zero border.


def test_create_photo_crops_is_deterministic_and_real(tmp_path):
  args = dict(resolution=16, num_images=64, progress=False)
  dataset_writers.create_photo_crops(tmp_path / 'a', seed=1, **args)
  dataset_writers.create_photo_crops(tmp_path / 'b', seed=1, **args)
  dataset_writers.create_photo_crops(tmp_path / 'c', seed=2, **args)
  for name in ('a-r02.tfrecords', 'a-r03.tfrecords', 'a-r04.tfrecords'):
    assert (tmp_path / 'a' / name).read_bytes() == (tmp_path / 'b' / name.replace('a-', 'b-')).read_bytes()
  a = tfrecords.MultiResDataset(tmp_path / 'a')
  assert (a.num_images, a.resolution, a.num_channels, a.label_size) == (64, 16, 3, 0)
  images = a.load_images(0).astype(np.float32)
  other = tfrecords.MultiResDataset(tmp_path / 'c').load_images(0)
  assert not np.array_equal(images, other)
  assert images.std(axis=(1, 2)).mean() > 10  # Real texture inside each crop.
  assert images.mean(axis=(1, 2, 3)).std() > 10  # Crops differ from one another.
  assert len({image.tobytes() for image in images}) == 64


def test_create_photo_crops_refuses_bad_resolution(tmp_path):
  with pytest.raises(ValueError, match='--resolution=24'):
    dataset_writers.create_photo_crops(tmp_path / 'x', resolution=24, num_images=2, progress=False)
  assert not os.listdir(tmp_path)


def test_create_from_tfds_with_mock_data(tmp_path):
  tfds = pytest.importorskip('tensorflow_datasets')
  with tfds.testing.mock_data(num_examples=6):
    summary = dataset_writers.create_cifar10_tfds(tmp_path / 'cifar10', progress=False)
    source = tfds.as_numpy(tfds.load('cifar10', split='train', download=False))
    raw = list(source)
  assert (summary.num_images, summary.resolution, summary.num_channels) == (6, 32, 3)
  dataset = tfrecords.MultiResDataset(tmp_path / 'cifar10')
  assert dataset.labels.shape == (6, 10)
  order = np.arange(6)
  np.random.RandomState(123).shuffle(order)
  np.testing.assert_array_equal(dataset.load_images(0), np.stack([raw[i]['image'] for i in order]))
  np.testing.assert_array_equal(dataset.labels.argmax(axis=1), [raw[i]['label'] for i in order])
  with tfds.testing.mock_data(num_examples=3):
    dataset_writers.create_from_tfds(tmp_path / 'small', 'mnist', 'test', resolution=8,
                                     progress=False)
  small = tfrecords.MultiResDataset(tmp_path / 'small')
  assert (small.num_images, small.resolution, small.num_channels) == (3, 8, 1)


def test_create_cifar10_tfds_not_prepared_is_clear(tmp_path):
  pytest.importorskip('tensorflow_datasets')
  with pytest.raises(FileNotFoundError, match=r"'cifar10' is not prepared.*tfds build cifar10"):
    dataset_writers.create_cifar10_tfds(tmp_path / 'out', data_dir=str(tmp_path / 'tfds'),
                                        progress=False)
  assert not (tmp_path / 'out').exists()


# ---------------------------------------------------------------------------
# The original's sources, on small synthetic inputs of the same formats.


def _order(n):
  order = np.arange(n)
  np.random.RandomState(123).shuffle(order)
  return order


def _chw_rows(rng, n):
  """Random uint8 [n, 3072] CHW rows, as in the CIFAR batches."""
  return rng.randint(0, 256, [n, 3 * 32 * 32]).astype(np.uint8)


def _pickle(path, obj, protocol=2):
  with open(path, 'wb') as f:
    pickle.dump(obj, f, protocol=protocol)


def _assert_records(tfrecord_dir, images_chw, labels, num_classes):
  """The dataset holds images/labels in RandomState(123) order, one-hot."""
  dataset = tfrecords.MultiResDataset(tfrecord_dir)
  order = _order(len(images_chw))
  assert (dataset.num_images, dataset.resolution, dataset.num_channels) == (len(order), 32, 3)
  np.testing.assert_array_equal(dataset.load_images(0),
                                np.transpose(images_chw, (0, 2, 3, 1))[order])
  assert dataset.labels.shape == (len(order), num_classes)
  np.testing.assert_array_equal(dataset.labels, np.eye(num_classes, dtype=np.float32)[labels[order]])


def test_create_cifar10_reads_the_five_batches_in_order(tmp_path):
  rng = np.random.RandomState(0)
  folder = tmp_path / 'cifar-10-batches-py'
  folder.mkdir()
  rows, labels = [], []
  for batch in range(1, 6):
    data, label = _chw_rows(rng, 3), rng.randint(0, 10, 3).tolist()
    rows.append(data)
    labels += label
    # Batches 1-3 with str keys (Python 2 pickles read as latin-1), 4-5 with bytes keys.
    key = (lambda k: k) if batch <= 3 else (lambda k: k.encode())
    _pickle(folder / f'data_batch_{batch}', {key('batch_label'): f'batch {batch}',
                                             key('data'): data, key('labels'): label,
                                             key('filenames'): ['a.png'] * 3},
            protocol=2 if batch % 2 else 5)
  _pickle(folder / 'test_batch', {'data': _chw_rows(rng, 2), 'labels': [0, 1]})
  summary = dataset_writers.create_cifar10(tmp_path / 'cifar10', folder, progress=False)
  assert (summary.num_images, summary.label_size) == (15, 10)
  images = np.concatenate(rows).reshape(-1, 3, 32, 32)
  _assert_records(tmp_path / 'cifar10', images, np.array(labels), 10)


def test_create_cifar10_missing_batch_is_named(tmp_path):
  (tmp_path / 'c10').mkdir()
  _pickle(tmp_path / 'c10' / 'data_batch_1', {'data': _chw_rows(np.random.RandomState(0), 1),
                                              'labels': [3]})
  with pytest.raises(FileNotFoundError, match='data_batch_2 does not exist'):
    dataset_writers.create_cifar10(tmp_path / 'out', tmp_path / 'c10', progress=False)
  assert not (tmp_path / 'out').exists()


def test_create_cifar100_fine_labels(tmp_path):
  rng = np.random.RandomState(1)
  (tmp_path / 'c100').mkdir()
  data = _chw_rows(rng, 7)
  fine = np.array([0, 99, 5, 42, 99, 17, 63])
  _pickle(tmp_path / 'c100' / 'train', {'data': data, 'fine_labels': fine.tolist(),
                                        'coarse_labels': (fine // 5).tolist()})
  dataset_writers.create_cifar100(tmp_path / 'cifar100', tmp_path / 'c100', progress=False)
  _assert_records(tmp_path / 'cifar100', data.reshape(-1, 3, 32, 32), fine, 100)


def test_create_svhn_reads_the_three_pickles(tmp_path):
  rng = np.random.RandomState(2)
  (tmp_path / 'svhn').mkdir()
  images, labels = [], []
  for batch, n in zip((1, 2, 3), (2, 4, 3)):
    chw = rng.randint(0, 256, [n, 3, 32, 32]).astype(np.uint8)
    label = rng.randint(0, 10, n).astype(np.uint8)
    images.append(chw)
    labels.append(label)
    _pickle(tmp_path / 'svhn' / f'train_{batch}.pkl', (chw, label))
  dataset_writers.create_svhn(tmp_path / 'out', tmp_path / 'svhn', progress=False)
  _assert_records(tmp_path / 'out', np.concatenate(images), np.concatenate(labels), 10)


class _Evil:
  def __reduce__(self):
    return (os.getcwd, ())


def test_dataset_pickles_rebuild_arrays_only(tmp_path):
  _pickle(tmp_path / 'train', {'data': _Evil(), 'fine_labels': [1]})
  with pytest.raises(ValueError, match='refusing the global posix.getcwd'):
    dataset_writers.create_cifar100(tmp_path / 'out', tmp_path, progress=False)
  _pickle(tmp_path / 'train', {'data': np.zeros([1, 3072], np.float32), 'fine_labels': [1]})
  with pytest.raises(ValueError, match='expected uint8'):
    dataset_writers.create_cifar100(tmp_path / 'out', tmp_path, progress=False)
  _pickle(tmp_path / 'train', {'data': np.zeros([2, 3072], np.uint8), 'fine_labels': [1, 100]})
  with pytest.raises(ValueError, match=r'labels lie in \[1, 100\], expected \[0, 100\)'):
    dataset_writers.create_cifar100(tmp_path / 'out', tmp_path, progress=False)
  assert not (tmp_path / 'out').exists()


def test_create_mnistrgb_stacks_three_random_digits(tmp_path, mnist_dir):
  dataset_writers.create_mnistrgb(tmp_path / 'rgb', mnist_dir, num_images=6, random_seed=7,
                                  progress=False)
  dataset = tfrecords.MultiResDataset(tmp_path / 'rgb')
  assert (dataset.num_images, dataset.resolution, dataset.num_channels, dataset.label_size) == (
      6, 32, 3, 0)
  digits = mnist_idx.load_mnist_idx(str(mnist_dir), 'train').images[..., 0]
  rnd = np.random.RandomState(7)
  images = dataset.load_images(0)
  for image in images:  # The original's draws, in record order.
    picks = rnd.randint(digits.shape[0], size=3)
    np.testing.assert_array_equal(image[2:30, 2:30], np.transpose(digits[picks], (1, 2, 0)))
  assert images[:, :2].max() == 0 and images[:, 30:].max() == 0


def _jpeg_bytes(array, fmt='PNG'):
  buffer = io.BytesIO()
  Image.fromarray(array).save(buffer, format=fmt)
  return buffer.getvalue()


def test_lsun_image_centre_crops_and_resizes():
  wide = np.zeros([6, 10, 3], np.uint8)
  wide[:, 2:8] = 200  # The centre 6x6 square: (10 - 6) // 2 = 2 .. 8.
  wide[:, :2] = wide[:, 8:] = 10
  image = dataset_writers.lsun_image(_jpeg_bytes(wide), 4)
  assert image.shape == (4, 4, 3) and image.dtype == np.uint8
  assert (image == 200).all()  # Nothing of the side bands survives the crop.
  grey = dataset_writers.lsun_image(_jpeg_bytes(np.full([8, 8], 77, np.uint8)), 4)
  assert grey.shape == (4, 4, 3) and (grey == 77).all()


class _FakeLmdb(types.ModuleType):
  """The lmdb calls create_lsun makes, over an in-memory sorted dict."""

  def __init__(self, records):
    super().__init__('lmdb')
    self.records = dict(sorted(records.items()))
    self.opened = []

  def open(self, path, readonly, lock):  # pylint: disable=redefined-builtin
    assert readonly and not lock
    self.opened.append(path)
    fake = self

    class Txn:
      def __enter__(self):
        return self

      def __exit__(self, *args):
        return False

      def stat(self):
        return {'entries': len(fake.records)}

      def cursor(self):
        return iter(fake.records.items())

    class Env:
      def begin(self, write):
        assert not write
        return Txn()

      def close(self):
        pass

    return Env()


def _lsun_records():
  rng = np.random.RandomState(3)
  arrays = {f'{k:04d}'.encode(): rng.randint(0, 256, [12, 16, 3]).astype(np.uint8)
            for k in range(5)}
  records = {key: _jpeg_bytes(a) for key, a in arrays.items()}
  records[b'0002'] = b'not an image'
  return arrays, records


def test_create_lsun_key_order_skips_bad_records(tmp_path, monkeypatch, capsys):
  arrays, records = _lsun_records()
  fake = _FakeLmdb(records)
  monkeypatch.setitem(sys.modules, 'lmdb', fake)
  (tmp_path / 'car_lmdb').mkdir()
  summary = dataset_writers.create_lsun(tmp_path / 'lsun', tmp_path / 'car_lmdb', resolution=8,
                                        max_images=3, progress=False)
  assert "record b'0002' skipped" in capsys.readouterr().err
  assert (summary.num_images, summary.resolution, summary.label_size) == (3, 8, 0)
  expected = [dataset_writers.lsun_image(records[k], 8) for k in (b'0000', b'0001', b'0003')]
  np.testing.assert_array_equal(tfrecords.MultiResDataset(tmp_path / 'lsun').load_images(0),
                                np.stack(expected))
  dataset_writers.create_lsun(tmp_path / 'all', tmp_path / 'car_lmdb', resolution=4,
                              progress=False)
  assert tfrecords.MultiResDataset(tmp_path / 'all').num_images == 4
  assert len(arrays) == 5


def test_create_lsun_without_lmdb_names_pip(tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, 'lmdb', None)  # import lmdb -> ImportError.
  (tmp_path / 'db').mkdir()
  with pytest.raises(ModuleNotFoundError, match='pip install lmdb'):
    dataset_writers.create_lsun(tmp_path / 'out', tmp_path / 'db', progress=False)


def test_create_lsun_from_a_real_lmdb(tmp_path):
  lmdb = pytest.importorskip('lmdb', reason='the optional lmdb package is not installed '
                                            '(pip install lmdb)')
  _, records = _lsun_records()
  env = lmdb.open(str(tmp_path / 'db'), map_size=2**24)
  with env.begin(write=True) as txn:
    for key in (b'0003', b'0000', b'0004', b'0001', b'0002'):  # Stored sorted by key.
      txn.put(key, records[key])
  env.close()
  dataset_writers.create_lsun(tmp_path / 'lsun', tmp_path / 'db', resolution=8, progress=False)
  expected = [dataset_writers.lsun_image(records[k], 8) for k in (b'0000', b'0001', b'0003',
                                                                  b'0004')]
  np.testing.assert_array_equal(tfrecords.MultiResDataset(tmp_path / 'lsun').load_images(0),
                                np.stack(expected))


def test_create_celeba_crops_the_aligned_pngs(tmp_path):
  rng = np.random.RandomState(4)
  folder = tmp_path / 'celeba' / 'img_align_celeba_png'
  folder.mkdir(parents=True)
  faces = rng.randint(0, 256, [5, 218, 178, 3]).astype(np.uint8)
  for i, face in enumerate(faces):
    _save(folder / f'{i + 1:06d}.png', face)
  dataset_writers.create_celeba(tmp_path / 'out', tmp_path / 'celeba', expected_images=5,
                                progress=False)
  dataset = tfrecords.MultiResDataset(tmp_path / 'out')
  assert (dataset.num_images, dataset.resolution, dataset.num_channels) == (5, 128, 3)
  np.testing.assert_array_equal(dataset.load_images(0), faces[_order(5), 57:185, 25:153])
  dataset_writers.create_celeba(tmp_path / 'moved', tmp_path / 'celeba', cx=64, cy=64,
                                expected_images=None, progress=False)
  np.testing.assert_array_equal(tfrecords.MultiResDataset(tmp_path / 'moved').load_images(0),
                                faces[_order(5), :128, :128])
  with pytest.raises(ValueError, match='Expected to find 202599 images'):
    dataset_writers.create_celeba(tmp_path / 'x', tmp_path / 'celeba', progress=False)
  with pytest.raises(ValueError, match='--cx=10'):
    dataset_writers.create_celeba(tmp_path / 'x', tmp_path / 'celeba', cx=10, progress=False)
  _save(folder / '000009.png', np.zeros([218, 170, 3], np.uint8))
  with pytest.raises(ValueError, match=r'000009.png has shape \[218, 170, 3\]'):
    dataset_writers.create_celeba(tmp_path / 'x', tmp_path / 'celeba', expected_images=None,
                                  progress=False)
  assert not (tmp_path / 'x').exists()


def test_celebahq_quad_geometry():
  # Eyes (40, 50) and (60, 50), nose, mouth corners (42, 80) and (58, 80):
  # eye_avg (50.5, 50.5), eye_to_mouth (0, 30), so x = (20, 0) + (30, 0)
  # normalised and scaled by max(2 * 20, 1.8 * 30) = 54; centre (50.5, 53.5).
  landmarks = [[40, 50], [60, 50], [50, 65], [42, 80], [58, 80]]
  quad, zoom = dataset_writers.celebahq_quad(landmarks)
  np.testing.assert_allclose(quad, [[-3.5, -0.5], [-3.5, 107.5], [104.5, 107.5], [104.5, -0.5]],
                             atol=1e-5)
  assert zoom == pytest.approx(1024 / 108)
  # A face turned by 90 degrees turns the quad with it.
  turned = [[50, 40], [50, 60], [35, 50], [20, 42], [20, 58]]
  quad, _ = dataset_writers.celebahq_quad(turned)
  side = quad[1] - quad[0]
  assert np.hypot(*side) == pytest.approx(108, rel=1e-5) and abs(side[1]) < 1e-4


def test_apply_delta_wraps_modulo_256():
  image = np.array([[[250, 0, 7]]], np.uint8)
  delta = np.array([[[10, 255, 0]]], np.uint8)
  np.testing.assert_array_equal(dataset_writers.apply_delta(image, delta), [[[4, 255, 7]]])


def _celebahq_inputs(tmp_path, resolution):
  """Two in-the-wild JPEGs, landmarks, encrypted deltas and image_list.txt."""
  fernet = pytest.importorskip('cryptography.fernet')
  rng = np.random.RandomState(5)
  celeba = tmp_path / 'celeba'
  (celeba / 'img_celeba').mkdir(parents=True)
  (celeba / 'Anno').mkdir()
  deltas = tmp_path / 'deltas'
  deltas.mkdir()
  landmarks = [[[30, 40], [50, 41], [40, 50], [32, 62], [48, 63]],
               [[20, 30], [36, 28], [28, 38], [22, 48], [38, 47]]]
  lines = ['3', 'lefteye_x lefteye_y righteye_x ... (header)']
  for i, lm in enumerate(landmarks + [landmarks[0]]):
    lines.append(f'{i + 1:06d}.jpg ' + ' '.join(str(v) for v in np.ravel(lm)))
  (celeba / 'Anno' / 'list_landmarks_celeba.txt').write_text('\n'.join(lines) + '\n')
  rows = ['idx orig_idx orig_file proc_md5 final_md5']
  finals = []
  with zipfile.ZipFile(deltas / 'deltas00000.zip', 'w') as archive:
    for idx, orig_idx in enumerate((1, 0)):  # CelebA-HQ row idx uses CelebA image orig_idx.
      name = f'{orig_idx + 1:06d}.jpg'
      photo = rng.randint(0, 256, [90, 80, 3]).astype(np.uint8)
      Image.fromarray(photo).save(celeba / 'img_celeba' / name, quality=90)
      jpeg = (celeba / 'img_celeba' / name).read_bytes()
      with Image.open(celeba / 'img_celeba' / name) as image:
        proc = dataset_writers.celebahq_process(image.convert('RGB'),
                                                np.float32(landmarks[orig_idx]), resolution)
      delta = rng.randint(0, 256, [3, resolution, resolution]).astype(np.uint8)
      key = dataset_writers.celebahq_delta_key(jpeg, name)
      archive.writestr(f'delta{idx:05d}.dat',
                       fernet.Fernet(key).encrypt(bz2.compress(delta.tobytes())))
      final = (proc.astype(np.int64) + delta) % 256
      finals.append(final.astype(np.uint8))
      rows.append(f'{idx} {orig_idx} {name} {hashlib.md5(proc.tobytes()).hexdigest()} '
                  f'{hashlib.md5(final.astype(np.uint8).tobytes()).hexdigest()}')
  (deltas / 'image_list.txt').write_text('\n'.join(rows) + '\n')
  return celeba, deltas, finals


def test_create_celebahq_applies_the_encrypted_deltas(tmp_path):
  celeba, deltas, finals = _celebahq_inputs(tmp_path, 32)
  assert dataset_writers.celebahq_process(
      Image.open(celeba / 'img_celeba' / '000001.jpg').convert('RGB'),
      [[30, 40], [50, 41], [40, 50], [32, 62], [48, 63]], 32).shape == (3, 32, 32)
  args = dict(expected_images=2, expected_zips=1, check_libjpeg=False, resolution=32,
              progress=False)
  summary = dataset_writers.create_celebahq(tmp_path / 'hq', celeba, deltas, num_threads=2,
                                            num_tasks=1, **args)
  assert (summary.num_images, summary.resolution, summary.num_channels) == (2, 32, 3)
  stored = tfrecords.MultiResDataset(tmp_path / 'hq').load_images(0)
  np.testing.assert_array_equal(stored, np.stack(finals)[_order(2)].transpose(0, 2, 3, 1))
  with pytest.raises(ValueError, match='Expected to find 202599 images'):
    dataset_writers.create_celebahq(tmp_path / 'x', celeba, deltas, progress=False)
  # A crop that differs from the deltas' (here: another landmark row) is refused.
  text = (deltas / 'image_list.txt').read_text().splitlines()
  text[1] = text[1].replace(' 1 000002.jpg', ' 2 000002.jpg')
  (deltas / 'image_list.txt').write_text('\n'.join(text) + '\n')
  with pytest.raises(ValueError, match=r'000002.jpg: the cropped image .*Pillow 3.1.1'):
    dataset_writers.create_celebahq(tmp_path / 'x', celeba, deltas, **args)
  assert not (tmp_path / 'x').exists()


def test_celebahq_delta_needs_the_right_jpeg():
  pytest.importorskip('cryptography.fernet')
  from cryptography import fernet  # pylint: disable=import-outside-toplevel
  delta = np.arange(12, dtype=np.uint8).reshape(3, 2, 2)
  token = fernet.Fernet(dataset_writers.celebahq_delta_key(b'jpeg bytes', '000001.jpg')).encrypt(
      bz2.compress(delta.tobytes()))
  np.testing.assert_array_equal(
      dataset_writers.celebahq_decode_delta(token, b'jpeg bytes', '000001.jpg', 2), delta)
  with pytest.raises(ValueError, match='does not decrypt'):
    dataset_writers.celebahq_decode_delta(token, b'other bytes', '000001.jpg', 2)


def test_create_from_hdf5_takes_the_largest_lod(tmp_path):
  h5py = pytest.importorskip('h5py')
  rng = np.random.RandomState(6)
  full = rng.randint(0, 256, [5, 3, 8, 8]).astype(np.uint8)
  labels = rng.randn(5, 2).astype(np.float32)
  with h5py.File(tmp_path / 'faces.h5', 'w') as f:
    f['data4x4'] = full[:, :, ::2, ::2]
    f['data8x8'] = full
  np.save(tmp_path / 'faces-labels.npy', labels)
  dataset_writers.create_from_hdf5(tmp_path / 'shuffled', tmp_path / 'faces.h5', progress=False)
  shuffled = tfrecords.MultiResDataset(tmp_path / 'shuffled')
  np.testing.assert_array_equal(shuffled.load_images(0), full.transpose(0, 2, 3, 1)[_order(5)])
  np.testing.assert_array_equal(shuffled.labels, labels[_order(5)])
  os.remove(tmp_path / 'faces-labels.npy')
  dataset_writers.create_from_hdf5(tmp_path / 'plain', tmp_path / 'faces.h5', shuffle=False,
                                   progress=False)
  plain = tfrecords.MultiResDataset(tmp_path / 'plain')
  np.testing.assert_array_equal(plain.load_images(0), full.transpose(0, 2, 3, 1))
  assert plain.label_size == 0
