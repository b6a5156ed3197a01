"""Writes PGGAN datasets: the create_* commands of the original `dataset_tool.py`, and more.

The library behind `python -m tf_gans.dataset_tool`: each `create_*` writes
a multi-resolution TFRecords folder (`tf_gans.data.tfrecords`) with the
original tool's conventions: images in `np.random.RandomState(123).shuffle(
arange(N))` order (create_from_images / create_from_hdf5 only with shuffle,
their default; create_mnistrgb and create_lsun never, as the original),
one-hot float32 labels where the source has classes, and an existing
non-empty folder refused before any slow work unless `overwrite`.

The original's sources: `create_mnist`, `create_mnistrgb` (IDX files),
`create_cifar10`, `create_cifar100`, `create_svhn` (python pickles, read
with an unpickler that rebuilds arrays only), `create_lsun` (LMDB, optional
`lmdb` package), `create_celeba`, `create_celebahq` (CelebA + the published
deltas, optional `cryptography` package), `create_from_images`,
`create_from_hdf5` (h5py). Ours besides: `create_from_tfds`,
`create_cifar10_tfds` (prepared TFDS folders), `create_photo_crops`.
`create_photo_crops` needs no download: random square crops of the colour
photographs shipped inside the scikit-learn and scikit-image wheels
(`PHOTOS`).
"""

import base64
import bz2
import collections
import hashlib
import io
import os
import pathlib
import pickle
import sys

import numpy as np

from tf_gans.data import tfrecords

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp')
SHUFFLE_SEED = 123  # RandomState seed of the original create_* commands.
MNIST_PAD = 2  # 28x28 -> 32x32, as the original create_mnist.
MNIST_CLASSES = 10
# Colour photographs available offline: (package, name). sklearn names are
# files of `load_sample_images()`, skimage names are `skimage.data` functions
# ('stereo_motorcycle' is the left image of the stereo pair).
PHOTOS = (
    ('sklearn', 'china.jpg'),
    ('sklearn', 'flower.jpg'),
    ('skimage', 'astronaut'),
    ('skimage', 'chelsea'),
    ('skimage', 'coffee'),
    ('skimage', 'rocket'),
    ('skimage', 'stereo_motorcycle'),
    ('skimage', 'hubble_deep_field'),
    ('skimage', 'immunohistochemistry'),
)
# A crop's side is uniform in [CROP_MIN_FRACTION * short side, short side].
CROP_MIN_FRACTION = 0.25
_GREY_MODES = frozenset(('1', 'L', 'LA', 'I', 'I;16', 'I;16B', 'I;16L', 'F'))


def shuffled_order(num_images):
  """The original's image order: `RandomState(123).shuffle(arange(N))`."""
  order = np.arange(num_images)
  np.random.RandomState(SHUFFLE_SEED).shuffle(order)
  return order


def one_hot(labels, num_classes):
  """float32 [N, num_classes] one-hot rows of integer `labels` [N]."""
  labels = np.asarray(labels, np.int64)
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
    raise ValueError(
        f'labels must lie in [0, {num_classes}), got [{labels.min()}, {labels.max()}].')
  onehot = np.zeros([labels.size, num_classes], np.float32)
  onehot[np.arange(labels.size), labels] = 1.0
  return onehot


def write_arrays(tfrecord_dir, images, labels=None, order=None, overwrite=False,
                 progress=True, names=None, count=None):
  """Writes images (and labels) to a dataset folder in the given order.

  Args:
    tfrecord_dir: The folder to create.
    images: Sequence of N arrays [H, W] or [H, W, C] (e.g. a uint8 [N, H, W, C]
      array), or a callable i -> image with `names` or `count` giving N.
    labels: Optional float array [N, label_size] in the same indexing.
    order: Optional permutation of range(N): record k is image order[k].
    overwrite: Replace an existing non-empty folder.
    progress: Print progress lines for long exports.
    names: Optional list of N names used in error messages.
    count: N, for a callable `images` without `names`.

  Returns:
    The `WriteSummary`.
  """
  if count is None:
    count = len(names) if names is not None else len(images)
  order = np.arange(count) if order is None else np.asarray(order)
  get = images if callable(images) else images.__getitem__
  with tfrecords.MultiResWriter(tfrecord_dir, expected_images=count, overwrite=overwrite,
                                progress=progress) as writer:
    for index in order:
      writer.add_image(get(int(index)), names[index] if names is not None else f'image {index}')
    if labels is not None:
      writer.add_labels(np.asarray(labels)[order])
  return writer.summary


# ---------------------------------------------------------------------------
# create_from_images


def list_image_files(image_dir):
  """Sorted PNG/JPEG/BMP files directly inside `image_dir` (not recursive)."""
  directory = pathlib.Path(image_dir)
  if not directory.is_dir():
    raise FileNotFoundError(f'Image folder {directory} does not exist.')
  paths = sorted(p for p in directory.iterdir()
                 if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
  if not paths:
    raise ValueError(
        f'Image folder {directory} holds no images ({", ".join(IMAGE_EXTENSIONS)}, any case).')
  return paths


def _read_header(path):
  """(width, height, mode) of an image file, without decoding its pixels."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  try:
    with Image.open(path) as image:
      return image.size[0], image.size[1], image.mode
  except OSError as error:
    raise ValueError(f'{path} cannot be read as an image: {error}') from None


def scan_images(paths):
  """Checks every file's size from its header; returns the Pillow mode to use.

  Every image must be square with a power-of-two side >= 4, all of one size,
  so an export fails before writing anything. The mode is 'RGB' if any image
  is colour, else 'L'.

  Raises:
    ValueError: Naming the file, for an unreadable or badly sized image.
  """
  first = None
  any_colour = False
  for path in paths:
    width, height, mode = _read_header(path)
    shape = (height, width, 1)
    if first is None:
      tfrecords.check_image_shape(shape, str(path))
      first = (shape, str(path))
    else:
      tfrecords.check_image_shape(shape, str(path), first)
    any_colour = any_colour or mode not in _GREY_MODES
  return 'RGB' if any_colour else 'L'


def _decode(path, mode):
  """uint8 pixels of `path` converted to `mode` ([H, W] or [H, W, 3])."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  try:
    with Image.open(path) as image:
      return np.asarray(image.convert(mode), dtype=np.uint8)
  except OSError as error:
    raise ValueError(f'{path} cannot be decoded: {error}') from None


def create_from_images(tfrecord_dir, image_dir, shuffle=True, overwrite=False, progress=True):
  """All PNG/JPEG/BMP images of a folder (original `dataset_tool.py` `create_from_images`).

  Files are taken in sorted name order, then shuffled with RandomState(123)
  when `shuffle` (the original's default). Grey images stay 1-channel unless
  the folder also holds colour images, in which case all become RGB.
  """
  _check_target(tfrecord_dir, overwrite)
  paths = list_image_files(image_dir)
  mode = scan_images(paths)
  order = shuffled_order(len(paths)) if shuffle else None
  return write_arrays(tfrecord_dir, lambda i: _decode(paths[i], mode), order=order,
                      overwrite=overwrite, progress=progress, names=[str(p) for p in paths])


# ---------------------------------------------------------------------------
# create_mnist


def create_mnist(tfrecord_dir, idx_dir, split='train', overwrite=False, progress=True):
  """MNIST IDX files padded to 32x32, 1 channel, one-hot labels [N, 10].

  Reads `train-images*idx3-ubyte*` / `t10k-...` with
  `tf_gans.data.mnist_idx`, pads 2 pixels on each side and writes the images
  in RandomState(123) order, as the original create_mnist.
  """
  from tf_gans.data import mnist_idx  # pylint: disable=import-outside-toplevel
  _check_target(tfrecord_dir, overwrite)
  source = mnist_idx.load_mnist_idx(os.fspath(idx_dir), split)
  if source.labels is None:
    raise FileNotFoundError(
        f'MNIST folder {idx_dir} has no labels file for split {split!r} '
        f"('{mnist_idx._PREFIX[split]}-labels-idx1-ubyte[.gz]').")  # pylint: disable=protected-access
  pad = ((0, 0), (MNIST_PAD, MNIST_PAD), (MNIST_PAD, MNIST_PAD), (0, 0))
  images = np.pad(source.images, pad)
  return write_arrays(tfrecord_dir, images, one_hot(source.labels, MNIST_CLASSES),
                      order=shuffled_order(len(images)), overwrite=overwrite, progress=progress)


# ---------------------------------------------------------------------------
# create_from_tfds / create_cifar10


def _tfds_num_classes(name, data_dir, labels):
  """Number of classes of a TFDS 'label' feature (from its info if possible)."""
  try:
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
    return int(tfds.builder(name, data_dir=data_dir).info.features['label'].num_classes)
  except Exception:  # pylint: disable=broad-except  (no info offline: use the data)
    return int(labels.max()) + 1


def create_from_tfds(tfrecord_dir, tfds_name, split='train', data_dir=None, resolution=None,
                     overwrite=False, progress=True):
  """One split of a prepared TFDS dataset; never downloads.

  Images are centre-cropped and resized (area) to `resolution` when given;
  a 'label' feature becomes one-hot labels. RandomState(123) order.

  Raises:
    FileNotFoundError: Naming the dataset and `tfds build <name>`, if it is
      not prepared in `data_dir`.
  """
  from tf_gans.data import tfds_source  # pylint: disable=import-outside-toplevel
  _check_target(tfrecord_dir, overwrite)
  if resolution is not None:
    _check_resolution(resolution)
  source = tfds_source.load_tfds(tfds_name, split, data_dir=data_dir, image_size=resolution)
  labels = None
  if source.labels is not None:
    labels = one_hot(source.labels, _tfds_num_classes(tfds_name, data_dir, source.labels))
  return write_arrays(tfrecord_dir, source.images, labels,
                      order=shuffled_order(source.num_examples), overwrite=overwrite,
                      progress=progress)


def create_cifar10_tfds(tfrecord_dir, data_dir=None, overwrite=False, progress=True):
  """CIFAR-10 training set (50000 x 32x32x3, one-hot labels [N, 10]) from a prepared TFDS folder.

  TFDS's own example order, so not the records of `create_cifar10` (which
  reads the original python batches as the original tool does).
  """
  return create_from_tfds(tfrecord_dir, 'cifar10', 'train', data_dir=data_dir,
                          overwrite=overwrite, progress=progress)


# ---------------------------------------------------------------------------
# create_photo_crops


def load_photos():
  """The colour photographs of `PHOTOS`, as a list of (name, uint8 [H, W, 3])."""
  from sklearn.datasets import load_sample_images  # pylint: disable=import-outside-toplevel
  import skimage.data  # pylint: disable=import-outside-toplevel
  sklearn_photos = load_sample_images()
  by_file = {os.path.basename(f): image
             for f, image in zip(sklearn_photos.filenames, sklearn_photos.images)}
  photos = []
  for package, name in PHOTOS:
    if package == 'sklearn':
      image = by_file[name]
    else:
      image = getattr(skimage.data, name)()
      if isinstance(image, tuple):  # stereo_motorcycle: (left, right, disparity).
        image = image[0]
    photos.append((f'{package}:{name}', np.asarray(image, np.uint8)))
  return photos


def random_crop(photo, resolution, rng):
  """One random square crop of `photo` resized to resolution x resolution.

  The side is uniform in [max(short / 4, min(resolution, short)), short]
  (no upscaling when the photo allows it), the position uniform; the crop
  is resized with Pillow's LANCZOS filter.
  """
  from PIL import Image  # pylint: disable=import-outside-toplevel
  height, width = photo.shape[:2]
  short = min(height, width)
  low = max(int(np.ceil(short * CROP_MIN_FRACTION)), min(resolution, short))
  side = rng.randint(low, short + 1)
  top = rng.randint(0, height - side + 1)
  left = rng.randint(0, width - side + 1)
  crop = Image.fromarray(photo[top:top + side, left:left + side])
  return np.asarray(crop.resize((resolution, resolution), Image.Resampling.LANCZOS), np.uint8)


def create_photo_crops(tfrecord_dir, resolution=32, num_images=2000, seed=0, overwrite=False,
                       progress=True):
  """Random square crops of real photographs, deterministic given `seed`.

  Crop k picks a photo of `PHOTOS` uniformly, then a crop (`random_crop`),
  all from `np.random.RandomState(seed)`; no labels.
  """
  if int(num_images) <= 0:
    raise ValueError(f'--num_images must be positive, got {num_images}.')
  _check_resolution(resolution)
  _check_target(tfrecord_dir, overwrite)
  photos = load_photos()
  rng = np.random.RandomState(int(seed))

  def crop(_):
    return random_crop(photos[rng.randint(len(photos))][1], int(resolution), rng)

  # Crops are drawn in record order, so the stream of rng draws is fixed.
  return write_arrays(tfrecord_dir, crop, overwrite=overwrite, progress=progress,
                      names=[f'crop {k}' for k in range(int(num_images))])


# ---------------------------------------------------------------------------
# Python-pickle sources: create_cifar10 / create_cifar100 / create_svhn

CIFAR_SIDE = 32
CIFAR10_CLASSES = 10
CIFAR100_CLASSES = 100
SVHN_CLASSES = 10


def _numpy_global(module, name):
  """numpy's `module.name`, also under the numpy 1 / numpy 2 spelling of the module."""
  import importlib  # pylint: disable=import-outside-toplevel
  for candidate in (module, module.replace('numpy.core', 'numpy._core'),
                    module.replace('numpy._core', 'numpy.core')):
    try:
      return getattr(importlib.import_module(candidate), name)
    except (ImportError, AttributeError):
      continue
  raise pickle.UnpicklingError(f'numpy has no {module}.{name}.')


# The globals a pickle of numpy arrays, lists and dicts needs (protocols 0-5,
# written by Python 2 or 3, numpy 1 or 2); nothing else is resolved.
_ARRAY_PICKLE_GLOBALS = frozenset([
    ('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar'),
    ('numpy.core.numeric', '_frombuffer'), ('numpy._core.numeric', '_frombuffer'),
    ('numpy', 'ndarray'), ('numpy', 'dtype'), ('_codecs', 'encode'),
    ('copy_reg', '_reconstructor'), ('copyreg', '_reconstructor'),
    ('__builtin__', 'object'), ('builtins', 'object'),
])


class _ArrayUnpickler(pickle.Unpickler):
  """Unpickles data (arrays, lists, dicts, tuples) and refuses any other global."""

  def find_class(self, module, name):
    if (module, name) not in _ARRAY_PICKLE_GLOBALS:
      raise pickle.UnpicklingError(
          f'refusing the global {module}.{name}: a dataset pickle holds only arrays, '
          'lists and dicts.')
    if module.startswith('numpy'):
      return _numpy_global(module, name)
    return super().find_class(module, name)  # Maps Python 2 names (copy_reg, __builtin__).


def load_pickle(path):
  """Loads a pickled dataset batch (Python 2 pickles decoded as latin-1, as the original).

  Only numpy arrays and plain containers are rebuilt (`_ArrayUnpickler`).

  Raises:
    FileNotFoundError: If `path` does not exist.
    ValueError: Naming `path`, for a file that is not such a pickle.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f'{path} does not exist.')
  with open(path, 'rb') as f:
    try:
      return _ArrayUnpickler(f, encoding='latin1').load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, UnicodeDecodeError) as error:
      raise ValueError(f'{path} is not a readable dataset pickle: {error}') from None


def _entry(batch, key, path):
  """`batch[key]` of an unpickled dict whose keys are str (latin-1) or bytes."""
  if isinstance(batch, dict):
    for candidate in (key, key.encode('ascii')):
      if candidate in batch:
        return batch[candidate]
  keys = ', '.join(repr(k) for k in batch) if isinstance(batch, dict) else type(batch).__name__
  raise ValueError(f'{path} has no {key!r} entry (it holds: {keys}).')


def _chw_images(array, path, side=CIFAR_SIDE):
  """uint8 [N, 3, side, side] from rows of 3 * side * side CHW bytes (or that shape)."""
  array = np.asarray(array)
  if array.dtype != np.uint8 or array.size % (3 * side * side) or (
      array.ndim != 2 and array.shape[1:] != (3, side, side)):
    raise ValueError(
        f'{path}: images are {array.dtype} {list(array.shape)}; expected uint8 '
        f'[N, {3 * side * side}] or [N, 3, {side}, {side}] (CHW).')
  return array.reshape(-1, 3, side, side)


def _class_labels(values, count, num_classes, path):
  """int64 [count] labels in [0, num_classes), checked against the image count."""
  labels = np.asarray(values).astype(np.int64).reshape(-1)
  if labels.size != count:
    raise ValueError(f'{path}: {labels.size} labels for {count} images.')
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
    raise ValueError(
        f'{path}: labels lie in [{labels.min()}, {labels.max()}], expected [0, {num_classes}).')
  return labels


def _write_classified(tfrecord_dir, images_chw, labels, num_classes, overwrite, progress):
  """CHW images with one-hot labels, in RandomState(123) order (the original's create_cifar*)."""
  images = np.transpose(images_chw, (0, 2, 3, 1))
  return write_arrays(tfrecord_dir, images, one_hot(labels, num_classes),
                      order=shuffled_order(len(images)), overwrite=overwrite, progress=progress)


def create_cifar10(tfrecord_dir, cifar10_dir, overwrite=False, progress=True):
  """CIFAR-10 from its python batches (original `dataset_tool.py` `create_cifar10`).

  Reads `data_batch_1` ... `data_batch_5` of `cifar10_dir` (the
  `cifar-10-batches-py` folder: dicts with `data` uint8 [10000, 3072], CHW
  rows, and `labels`), concatenated in that order, and writes them in
  RandomState(123) order with one-hot labels [N, 10]: the same records and
  labels as the original. (`create_cifar10_tfds` reads a TFDS folder.)
  """
  _check_target(tfrecord_dir, overwrite)
  images, labels = [], []
  for batch in range(1, 6):
    path = pathlib.Path(cifar10_dir) / f'data_batch_{batch}'
    data = load_pickle(path)
    chw = _chw_images(_entry(data, 'data', path), path)
    images.append(chw)
    labels.append(_class_labels(_entry(data, 'labels', path), len(chw), CIFAR10_CLASSES, path))
  return _write_classified(tfrecord_dir, np.concatenate(images), np.concatenate(labels),
                           CIFAR10_CLASSES, overwrite, progress)


def create_cifar100(tfrecord_dir, cifar100_dir, overwrite=False, progress=True):
  """CIFAR-100 from its python `train` file (original `dataset_tool.py` `create_cifar100`).

  `train` of the `cifar-100-python` folder (a dict with `data` uint8
  [50000, 3072] and `fine_labels`), in RandomState(123) order with one-hot
  fine labels [N, 100].
  """
  _check_target(tfrecord_dir, overwrite)
  path = pathlib.Path(cifar100_dir) / 'train'
  data = load_pickle(path)
  images = _chw_images(_entry(data, 'data', path), path)
  labels = _class_labels(_entry(data, 'fine_labels', path), len(images), CIFAR100_CLASSES, path)
  return _write_classified(tfrecord_dir, images, labels, CIFAR100_CLASSES, overwrite, progress)


def create_svhn(tfrecord_dir, svhn_dir, overwrite=False, progress=True):
  """SVHN from the original's pickles (original `dataset_tool.py` `create_svhn`).

  Reads `train_1.pkl`, `train_2.pkl`, `train_3.pkl` of `svhn_dir`, each a
  pair (uint8 images [n, 3, 32, 32], labels [n] in 0..9), concatenated in
  that order, and writes them in RandomState(123) order with one-hot labels
  [N, 10]. (These are the pickles the original expects, not the
  `train_32x32.mat` of the SVHN site.)
  """
  _check_target(tfrecord_dir, overwrite)
  images, labels = [], []
  for batch in range(1, 4):
    path = pathlib.Path(svhn_dir) / f'train_{batch}.pkl'
    data = load_pickle(path)
    if not isinstance(data, (tuple, list)) or len(data) < 2:
      raise ValueError(f'{path}: expected a pair (images, labels), got a {type(data).__name__}.')
    chw = _chw_images(data[0], path)
    images.append(chw)
    labels.append(_class_labels(data[1], len(chw), SVHN_CLASSES, path))
  return _write_classified(tfrecord_dir, np.concatenate(images), np.concatenate(labels),
                           SVHN_CLASSES, overwrite, progress)


# ---------------------------------------------------------------------------
# create_mnistrgb

MNISTRGB_IMAGES = 1000000
MNISTRGB_SEED = 123


def create_mnistrgb(tfrecord_dir, mnist_dir, num_images=MNISTRGB_IMAGES,
                    random_seed=MNISTRGB_SEED, overwrite=False, progress=True):
  """Three random MNIST digits as the R, G, B planes (original `dataset_tool.py` `create_mnistrgb`).

  The training images padded to 32x32; image k is `digits[rnd.randint(N,
  size=3)]` (CHW) with `rnd = RandomState(random_seed)` drawn in record
  order, as the original; no labels, no shuffle.
  """
  from tf_gans.data import mnist_idx  # pylint: disable=import-outside-toplevel
  if int(num_images) <= 0:
    raise ValueError(f'--num_images must be positive, got {num_images}.')
  _check_target(tfrecord_dir, overwrite)
  digits = mnist_idx.load_mnist_idx(os.fspath(mnist_dir), 'train').images[..., 0]
  digits = np.pad(digits, ((0, 0), (MNIST_PAD, MNIST_PAD), (MNIST_PAD, MNIST_PAD)))
  rnd = np.random.RandomState(int(random_seed))

  def composite(_):
    return np.transpose(digits[rnd.randint(digits.shape[0], size=3)], (1, 2, 0))

  return write_arrays(tfrecord_dir, composite, overwrite=overwrite, progress=progress,
                      count=int(num_images))


# ---------------------------------------------------------------------------
# create_lsun

LSUN_RESOLUTION = 256


def lsun_image(value, resolution=LSUN_RESOLUTION):
  """One LSUN record (encoded JPEG/PNG/WebP bytes) as the original `create_lsun` makes it.

  Decoded to RGB, centre-cropped to a square of the short side
  (`[(h - s) // 2:(h + s) // 2]`), resized with Pillow's LANCZOS (the
  original's ANTIALIAS). The original decodes with cv2 first; this uses
  Pillow only (no OpenCV dependency), so JPEG pixels may differ slightly.
  """
  from PIL import Image  # pylint: disable=import-outside-toplevel
  with Image.open(io.BytesIO(value)) as image:
    pixels = np.asarray(image.convert('RGB'))
  height, width = pixels.shape[:2]
  side = min(height, width)
  pixels = pixels[(height - side) // 2:(height + side) // 2,
                  (width - side) // 2:(width + side) // 2]
  resized = Image.fromarray(pixels, 'RGB').resize((resolution, resolution),
                                                  Image.Resampling.LANCZOS)
  return np.asarray(resized, np.uint8)


def create_lsun(tfrecord_dir, lmdb_dir, resolution=LSUN_RESOLUTION, max_images=None,
                overwrite=False, progress=True):
  """One LSUN category from its LMDB (original `dataset_tool.py` `create_lsun`).

  Needs the optional `lmdb` package (`pip install lmdb`), imported here
  only. Records are taken in the database's key order (the cursor's, no
  shuffle), each made by `lsun_image`; a record that cannot be decoded is
  reported on stderr and skipped, as the original does; stops after
  `max_images` images (default: all).

  Raises:
    ModuleNotFoundError: Naming `pip install lmdb`, if lmdb is absent.
  """
  _check_resolution(resolution)
  if max_images is not None and int(max_images) <= 0:
    raise ValueError(f'--max_images must be positive, got {max_images}.')
  _check_target(tfrecord_dir, overwrite)
  if not os.path.isdir(lmdb_dir):
    raise FileNotFoundError(f'LMDB folder {lmdb_dir} does not exist.')
  try:
    import lmdb  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise ModuleNotFoundError(
        'create_lsun reads LSUN through the optional lmdb package: pip install lmdb') from None
  try:
    env = lmdb.open(os.fspath(lmdb_dir), readonly=True, lock=False)
  except lmdb.Error as error:
    raise ValueError(f'{lmdb_dir} is not a readable LMDB database: {error}') from None
  try:
    with env.begin(write=False) as txn:
      total = int(txn.stat()['entries'])
      limit = total if max_images is None else int(max_images)
      with tfrecords.MultiResWriter(tfrecord_dir, overwrite=overwrite,
                                    progress=progress) as writer:
        for key, value in txn.cursor():
          if writer.cur_images >= limit:
            break
          try:
            image = lsun_image(bytes(value), int(resolution))
          except (OSError, ValueError) as error:  # Undecodable record: skip it.
            sys.stderr.write(f'{os.fspath(lmdb_dir)}: record {bytes(key)!r} skipped: {error}\n')
            continue
          writer.add_image(image, f'record {bytes(key)!r}')
  finally:
    env.close()
  return writer.summary


# ---------------------------------------------------------------------------
# create_celeba

CELEBA_IMAGES = 202599  # Images of CelebA (img_align_celeba and img_celeba).
CELEBA_ALIGNED_SHAPE = (218, 178, 3)
CELEBA_CROP = 128


def create_celeba(tfrecord_dir, celeba_dir, cx=89, cy=121, overwrite=False, progress=True,
                  expected_images=CELEBA_IMAGES):
  """CelebA 128x128 crops (original `dataset_tool.py` `create_celeba`).

  Reads `img_align_celeba_png/*.png` of `celeba_dir` (sorted; the original
  requires all 202599), checks each is 218x178 RGB and keeps
  `img[cy - 64:cy + 64, cx - 64:cx + 64]`, in RandomState(123) order, no
  labels. `expected_images=None` accepts any count (tests).
  """
  half = CELEBA_CROP // 2
  height, width, _ = CELEBA_ALIGNED_SHAPE
  if not (half <= int(cy) <= height - half and half <= int(cx) <= width - half):
    raise ValueError(
        f'--cx={cx} --cy={cy}: the {CELEBA_CROP}x{CELEBA_CROP} crop must lie inside the '
        f'{width}x{height} aligned images ({half} <= cx <= {width - half}, '
        f'{half} <= cy <= {height - half}).')
  _check_target(tfrecord_dir, overwrite)
  folder = pathlib.Path(celeba_dir) / 'img_align_celeba_png'
  paths = sorted(folder.glob('*.png')) if folder.is_dir() else []
  if expected_images is not None and len(paths) != int(expected_images):
    raise ValueError(
        f'Expected to find {expected_images} images in {folder}, found {len(paths)} '
        '(the PNG release of the aligned CelebA images, as the original).')
  if not paths:
    raise ValueError(f'No *.png images in {folder}.')

  def crop(i):
    from PIL import Image  # pylint: disable=import-outside-toplevel
    with Image.open(paths[i]) as image:
      pixels = np.asarray(image)
    if pixels.shape != CELEBA_ALIGNED_SHAPE:
      raise ValueError(
          f'{paths[i]} has shape {list(pixels.shape)}; aligned CelebA images are '
          f'{list(CELEBA_ALIGNED_SHAPE)} (H, W, C).')
    return pixels[int(cy) - half:int(cy) + half, int(cx) - half:int(cx) + half]

  return write_arrays(tfrecord_dir, crop, order=shuffled_order(len(paths)), overwrite=overwrite,
                      progress=progress, names=[str(p) for p in paths])


# ---------------------------------------------------------------------------
# create_celebahq

CELEBAHQ_RESOLUTION = 1024
CELEBAHQ_ZIPS = 30
CELEBAHQ_DELTA_BLOCK = 1000  # Deltas idx..idx+999 live in deltas<idx rounded down>.zip.
CELEBAHQ_KDF_ITERATIONS = 100000
# MD5 of the decoded pixels of img_celeba/000001.jpg under libjpeg 8d.
CELEBA_LIBJPEG_MD5 = '9cad8178d6cb0196b36f7b34bc5eb6d3'


def _rot90(v):
  return np.array([-v[1], v[0]])


def celebahq_quad(landmarks, resolution=CELEBAHQ_RESOLUTION):
  """The oriented crop of one face (original `create_celebahq` `process_func`).

  Args:
    landmarks: float [5, 2] (x, y) of left eye, right eye, nose, left and
      right mouth corners (a row of `list_landmarks_celeba.txt`).
    resolution: Side of the output image (1024 for CelebA-HQ).

  Returns:
    (quad, zoom): float [4, 2] corners of the crop in source pixels (top-left,
    bottom-left, bottom-right, top-right of the output) and the scale from
    source pixels to output pixels.
  """
  lm = np.asarray(landmarks, np.float32).reshape(5, 2)
  eye_avg = (lm[0] + lm[1]) * 0.5 + 0.5
  mouth_avg = (lm[3] + lm[4]) * 0.5 + 0.5
  eye_to_eye = lm[1] - lm[0]
  eye_to_mouth = mouth_avg - eye_avg
  x = eye_to_eye - _rot90(eye_to_mouth)
  x /= np.hypot(*x)
  x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
  y = _rot90(x)
  c = eye_avg + eye_to_mouth * 0.1
  quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
  zoom = resolution / (np.hypot(*x) * 2)
  return quad, zoom


def celebahq_process(image, landmarks, resolution=CELEBAHQ_RESOLUTION):
  """An in-the-wild CelebA image cropped as CelebA-HQ before its delta.

  The original `create_celebahq` `process_func` up to the first MD5: the
  oriented quad of `celebahq_quad`, shrink, crop, simulated super-resolution,
  reflect padding blurred towards the median, a bilinear quad transform to
  4 * resolution and a LANCZOS (ANTIALIAS) resize to `resolution`.

  Args:
    image: A Pillow RGB image.
    landmarks: float [5, 2] of that image.
    resolution: Output side (1024 for CelebA-HQ).

  Returns:
    uint8 [3, resolution, resolution] (CHW, as the deltas).
  """
  import scipy.ndimage  # pylint: disable=import-outside-toplevel
  from PIL import Image  # pylint: disable=import-outside-toplevel
  img = image
  quad, zoom = celebahq_quad(landmarks, resolution)

  shrink = int(np.floor(0.5 / zoom))
  if shrink > 1:
    size = (int(np.round(float(img.size[0]) / shrink)), int(np.round(float(img.size[1]) / shrink)))
    img = img.resize(size, Image.Resampling.LANCZOS)
    quad /= shrink
    zoom *= shrink

  border = max(int(np.round(resolution * 0.1 / zoom)), 3)
  crop = (int(np.floor(min(quad[:, 0]))), int(np.floor(min(quad[:, 1]))),
          int(np.ceil(max(quad[:, 0]))), int(np.ceil(max(quad[:, 1]))))
  crop = (max(crop[0] - border, 0), max(crop[1] - border, 0),
          min(crop[2] + border, img.size[0]), min(crop[3] + border, img.size[1]))
  if crop[2] - crop[0] < img.size[0] or crop[3] - crop[1] < img.size[1]:
    img = img.crop(crop)
    quad -= crop[0:2]

  superres = int(np.exp2(np.ceil(np.log2(zoom))))
  if superres > 1:
    img = img.resize((img.size[0] * superres, img.size[1] * superres), Image.Resampling.LANCZOS)
    quad *= superres
    zoom /= superres

  pad = (int(np.floor(min(quad[:, 0]))), int(np.floor(min(quad[:, 1]))),
         int(np.ceil(max(quad[:, 0]))), int(np.ceil(max(quad[:, 1]))))
  pad = (max(-pad[0] + border, 0), max(-pad[1] + border, 0),
         max(pad[2] - img.size[0] + border, 0), max(pad[3] - img.size[1] + border, 0))
  if max(pad) > border - 4:
    pad = np.maximum(pad, int(np.round(resolution * 0.3 / zoom)))
    pixels = np.pad(np.asarray(img, np.float32), ((pad[1], pad[3]), (pad[0], pad[2]), (0, 0)),
                    'reflect')
    h, w, _ = pixels.shape
    yy, xx, _ = np.mgrid[:h, :w, :1]
    mask = 1.0 - np.minimum(
        np.minimum(np.float32(xx) / pad[0], np.float32(yy) / pad[1]),
        np.minimum(np.float32(w - 1 - xx) / pad[2], np.float32(h - 1 - yy) / pad[3]))
    blur = resolution * 0.02 / zoom
    pixels += ((scipy.ndimage.gaussian_filter(pixels, [blur, blur, 0]) - pixels)
               * np.clip(mask * 3.0 + 1.0, 0.0, 1.0))
    pixels += (np.median(pixels, axis=(0, 1)) - pixels) * np.clip(mask, 0.0, 1.0)
    img = Image.fromarray(np.uint8(np.clip(np.round(pixels), 0, 255)), 'RGB')
    quad += pad[0:2]

  img = img.transform((4 * resolution, 4 * resolution), Image.Transform.QUAD,
                      (quad + 0.5).flatten(), Image.Resampling.BILINEAR)
  img = img.resize((resolution, resolution), Image.Resampling.LANCZOS)
  return np.asarray(img, np.uint8).transpose(2, 0, 1)


def _cryptography():
  """The optional `cryptography` modules create_celebahq needs, or a clear error."""
  try:
    # pylint: disable=import-outside-toplevel
    from cryptography import fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf import pbkdf2
  except ImportError:
    raise ModuleNotFoundError(
        'create_celebahq decrypts the CelebA-HQ deltas with the optional cryptography '
        'package: pip install cryptography') from None
  return fernet, hashes, pbkdf2


def celebahq_delta_key(orig_bytes, orig_file):
  """The Fernet key of one delta: PBKDF2-HMAC-SHA256 of the original JPEG's bytes.

  Salt = the JPEG's file name (ASCII), 100000 iterations, 32 bytes,
  URL-safe base64 (original `create_celebahq` `process_func`).
  """
  _, hashes, pbkdf2 = _cryptography()
  kdf = pbkdf2.PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=bytes(orig_file, 'ascii'),
                          iterations=CELEBAHQ_KDF_ITERATIONS)
  return base64.urlsafe_b64encode(kdf.derive(orig_bytes))


def celebahq_decode_delta(delta_bytes, orig_bytes, orig_file, resolution=CELEBAHQ_RESOLUTION):
  """Decrypts (Fernet, `celebahq_delta_key`) and bz2-decompresses one delta: uint8 [3, R, R]."""
  fernet, _, _ = _cryptography()
  try:
    plain = fernet.Fernet(celebahq_delta_key(orig_bytes, orig_file)).decrypt(delta_bytes)
  except fernet.InvalidToken:
    raise ValueError(
        f'The delta of {orig_file} does not decrypt with that JPEG as the key: the '
        'img_celeba file differs from the original CelebA release.') from None
  delta = np.frombuffer(bz2.decompress(plain), np.uint8)
  if delta.size != 3 * resolution * resolution:
    raise ValueError(f'The delta of {orig_file} holds {delta.size} bytes, not 3x{resolution}x'
                     f'{resolution}.')
  return delta.reshape(3, resolution, resolution)


def apply_delta(image_chw, delta):
  """The original's `img + delta` on uint8 arrays (modulo 256)."""
  return (np.asarray(image_chw, np.uint8) + np.asarray(delta, np.uint8)).astype(np.uint8)


def _md5(array):
  return hashlib.md5(np.ascontiguousarray(array).tobytes()).hexdigest()


def read_image_list(path):
  """`image_list.txt` of the deltas: {field: values}; fields ending in 'idx' are ints."""
  with open(path, 'rt', encoding='ascii') as f:
    lines = [line.split() for line in f if line.strip()]
  if not lines:
    raise ValueError(f'{path} is empty.')
  fields = {}
  for column, field in enumerate(lines[0]):
    kind = int if field.endswith('idx') else str
    fields[field] = [kind(line[column]) for line in lines[1:]]
  missing = [f for f in ('idx', 'orig_idx', 'orig_file', 'proc_md5', 'final_md5')
             if f not in fields]
  if missing:
    raise ValueError(f'{path} lacks the columns {", ".join(missing)}.')
  return fields


def read_celeba_landmarks(path):
  """`Anno/list_landmarks_celeba.txt`: float32 [N, 5, 2] (count line, header, then rows)."""
  with open(path, 'rt', encoding='ascii') as f:
    rows = [[float(v) for v in line.split()[1:]] for line in f.readlines()[2:] if line.strip()]
  return np.float32(rows).reshape(-1, 5, 2)


def create_celebahq(tfrecord_dir, celeba_dir, delta_dir, num_threads=4, num_tasks=100,
                    overwrite=False, progress=True, expected_images=CELEBA_IMAGES,
                    expected_zips=CELEBAHQ_ZIPS, check_libjpeg=True,
                    resolution=CELEBAHQ_RESOLUTION):
  """CelebA-HQ from CelebA and the published deltas (original `dataset_tool.py` `create_celebahq`).

  Needs `celeba_dir/img_celeba/*.jpg` (the in-the-wild images),
  `celeba_dir/Anno/list_landmarks_celeba.txt`, and in `delta_dir` the 30
  `deltasNNNNN.zip` (member `deltaNNNNN.dat`: Fernet-encrypted bz2 of a uint8
  [3, 1024, 1024] delta) and `image_list.txt` (`idx orig_idx orig_file
  proc_md5 final_md5`). For each row in RandomState(123) order: the face is
  cropped (`celebahq_process`), its MD5 checked against `proc_md5`, the
  delta decrypted with the JPEG itself as the key, added modulo 256, and
  the MD5 checked against `final_md5`. `num_threads` images are processed
  at once, at most `num_tasks` in flight, written in order.

  The deltas only fit the crop bit for bit when made with the Pillow and
  libjpeg the original requires (Pillow 3.1.1, libjpeg 8d): a mismatch
  stops with an error naming the image instead of writing wrong pixels.
  `check_libjpeg` tests the decoder on img_celeba/000001.jpg first, as the
  original; `expected_images`, `expected_zips` (None: any count) and
  `resolution` exist for tests on small synthetic inputs.

  Raises:
    ModuleNotFoundError: Naming `pip install cryptography`, if it is absent.
    ValueError: For missing files, a wrong decoder, or an MD5 mismatch.
  """
  from PIL import Image  # pylint: disable=import-outside-toplevel
  import concurrent.futures  # pylint: disable=import-outside-toplevel
  import zipfile  # pylint: disable=import-outside-toplevel
  if int(num_threads) < 1 or int(num_tasks) < 1:
    raise ValueError(f'--num_threads and --num_tasks must be >= 1, got {num_threads}, {num_tasks}.')
  _check_target(tfrecord_dir, overwrite)
  _cryptography()
  celeba_dir, delta_dir = pathlib.Path(celeba_dir), pathlib.Path(delta_dir)
  jpegs = celeba_dir / 'img_celeba'
  count = len(list(jpegs.glob('*.jpg'))) if jpegs.is_dir() else 0
  if expected_images is not None and count != int(expected_images):
    raise ValueError(f'Expected to find {expected_images} images in {jpegs}, found {count}.')
  landmarks = read_celeba_landmarks(celeba_dir / 'Anno' / 'list_landmarks_celeba.txt')
  zips = list(delta_dir.glob('delta*.zip')) if delta_dir.is_dir() else []
  if expected_zips is not None and len(zips) != int(expected_zips):
    raise ValueError(f'Expected to find {expected_zips} zips in {delta_dir}, found {len(zips)}.')
  fields = read_image_list(delta_dir / 'image_list.txt')
  indices = np.array(fields['idx'])
  if check_libjpeg:
    with Image.open(jpegs / '000001.jpg') as image:
      if _md5(np.asarray(image)) != CELEBA_LIBJPEG_MD5:
        raise ValueError(
            'create_celebahq needs the JPEG decoder of the original (libjpeg 8d): '
            f'{jpegs / "000001.jpg"} decodes to other pixels.')

  def process(idx):
    orig_file = fields['orig_file'][idx]
    orig_path = jpegs / orig_file
    with Image.open(orig_path) as image:
      img = celebahq_process(image.convert('RGB'), landmarks[fields['orig_idx'][idx]],
                             resolution)
    if _md5(img) != fields['proc_md5'][idx]:
      raise ValueError(
          f'{orig_path}: the cropped image (row idx {idx}) differs from the one the CelebA-HQ '
          'deltas were made for (proc_md5); they need Pillow 3.1.1 and libjpeg 8d bit for bit, '
          'as the original create_celebahq.')
    zip_path = delta_dir / f'deltas{idx - idx % CELEBAHQ_DELTA_BLOCK:05d}.zip'
    with zipfile.ZipFile(zip_path, 'r') as archive:
      delta_bytes = archive.read(f'delta{idx:05d}.dat')
    img = apply_delta(img, celebahq_decode_delta(delta_bytes, orig_path.read_bytes(), orig_file,
                                                 resolution))
    if _md5(img) != fields['final_md5'][idx]:
      raise ValueError(f'{orig_path}: the image after its delta (row idx {idx}) fails final_md5.')
    return img.transpose(1, 2, 0)

  order = shuffled_order(indices.size)
  with tfrecords.MultiResWriter(tfrecord_dir, expected_images=indices.size, overwrite=overwrite,
                                progress=progress) as writer:
    with concurrent.futures.ThreadPoolExecutor(int(num_threads)) as pool:
      pending = collections.deque()
      try:
        for idx in indices[order].tolist():
          pending.append((idx, pool.submit(process, idx)))
          if len(pending) >= int(num_tasks):
            done_idx, future = pending.popleft()
            writer.add_image(future.result(), f'CelebA-HQ idx {done_idx}')
        while pending:
          done_idx, future = pending.popleft()
          writer.add_image(future.result(), f'CelebA-HQ idx {done_idx}')
      finally:
        for _, future in pending:  # After an error: do not process the rest.
          future.cancel()
  return writer.summary


# ---------------------------------------------------------------------------
# create_from_hdf5


def create_from_hdf5(tfrecord_dir, hdf5_filename, shuffle=True, overwrite=False, progress=True):
  """A legacy PGGAN HDF5 archive (original `dataset_tool.py` `create_from_hdf5`).

  Takes the `data*` dataset with the largest side (uint8 [N, C, H, W],
  e.g. `data1024x1024`), in RandomState(123) order when `shuffle`, with
  labels from `<hdf5 name without extension>-labels.npy` if that file
  exists. Needs h5py (imported here only).
  """
  try:
    import h5py  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise ModuleNotFoundError('create_from_hdf5 needs the h5py package: pip install h5py') from None
  _check_target(tfrecord_dir, overwrite)
  hdf5_filename = os.fspath(hdf5_filename)
  if not os.path.isfile(hdf5_filename):
    raise FileNotFoundError(f'HDF5 archive {hdf5_filename} does not exist.')
  with h5py.File(hdf5_filename, 'r') as hdf5_file:
    candidates = [value for key, value in hdf5_file.items()
                  if key.startswith('data') and getattr(value, 'ndim', 0) == 4]
    if not candidates:
      raise ValueError(f'{hdf5_filename} holds no data* array [N, C, H, W] (it holds: '
                       f'{", ".join(hdf5_file.keys()) or "nothing"}).')
    data = max(candidates, key=lambda d: d.shape[3])
    count = int(data.shape[0])
    order = shuffled_order(count) if shuffle else np.arange(count)
    labels = None
    npy_filename = os.path.splitext(hdf5_filename)[0] + '-labels.npy'
    if os.path.isfile(npy_filename):
      labels = np.load(npy_filename, allow_pickle=False)
      if labels.ndim != 2 or labels.shape[0] != count:
        raise ValueError(f'{npy_filename} has shape {labels.shape}; expected [{count}, '
                         'label_size].')
    return write_arrays(tfrecord_dir, lambda i: np.transpose(data[i], (1, 2, 0)), labels,
                        order=order, overwrite=overwrite, progress=progress,
                        names=[f'{data.name}[{i}]' for i in range(count)])


def _check_target(tfrecord_dir, overwrite):
  """Refuses an existing dataset folder before any slow work (see MultiResWriter)."""
  tfrecords.check_target(tfrecord_dir, overwrite)


def _check_resolution(resolution):
  """Raises ValueError unless `resolution` is a power of two >= 4."""
  resolution = int(resolution)
  if resolution < 4 or resolution & (resolution - 1):
    raise ValueError(f'--resolution={resolution}: must be a power of two >= 4.')
